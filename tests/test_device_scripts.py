"""tools/device: pack a dump, train on it under a time budget (DEVICE=cpu here, cuda on a lent GPU), return slim
fp16 pieces, join them, and export a tts model from the result."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import torch

from helpers_lm import make_dump, make_tts_dir
from latentspeech.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_device_round_trip_on_cpu(tmp_path):
    phn, lat, _ = make_dump(tmp_path, n_utts=10, latent_dim=8)
    for src in (phn, lat):  # the packer wants train/ and dev/ under each root
        shutil.copytree(src, src.parent / "dev")
    block = tmp_path / "block"  # the GPU image has no audio/text stack: make importing it fail here too
    block.mkdir()
    (block / "sitecustomize.py").write_text(
        "import sys\nfor m in ('soundfile', 'librosa', 'phonemizer', 'encodec', 'speechbrain', 'soxr', 'jiwer', "
        "'espeakng_loader', 'faster_whisper', 'resemblyzer'):\n    sys.modules[m] = None\n")
    env = {**os.environ, "PYTHONPATH": str(block), "DEVICE_DIR": str(tmp_path / "carry"), "DEVICE": "cpu", "OUT": str(tmp_path / "out"),
           "EXP": str(tmp_path / "exp_device"), "CONFIG": "egs/synth/tts1/conf/lm_tiny.yaml"}
    run = dict(env=env, cwd=ROOT, capture_output=True, text=True)
    r = subprocess.run(["bash", "tools/device/pack_dump.sh", str(phn.parent), str(lat.parent)], **run)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "carry/dump/latents/dev/latents.scp").is_file()
    r = subprocess.run(["bash", "tools/device/train_lm.sh", "5", "--set", "train.max_steps=3",
                        "--set", "train.ema_decay=0.5", "--set", "train.valid_every=3"], **run)
    assert r.returncode == 0, r.stdout + r.stderr
    pieces = sorted((tmp_path / "out").glob("lm_step_3.pt.part*"))
    assert pieces and (tmp_path / "out/train_log_tail.txt").is_file()
    r = subprocess.run(["bash", "tools/device/train_lm.sh", "5", "--set", "train.max_steps=4",
                        "--set", "train.ema_decay=0.5"], **run)  # resumes
    assert r.returncode == 0 and "resumed from step 3" in (tmp_path / "exp_device/train.log").read_text()

    exp = tmp_path / "exp_here"
    r = subprocess.run(["bash", "tools/device/unpack.sh", str(tmp_path / "out"), str(exp)], **run)
    assert r.returncode == 0, r.stderr
    slim = torch.load(exp / "checkpoints/step_00000004.pt", weights_only=False)
    full = torch.load(tmp_path / "exp_device/checkpoints/step_00000004.pt", weights_only=False)
    assert set(slim) == {"model", "config", "step", "epoch"} and slim["step"] == 4
    torch.testing.assert_close(slim["model"]["frame_proj.weight"], full["ema"]["frame_proj.weight"].half())

    from latentspeech.api import TTS
    from latentspeech.vae.model import SigmaVAE

    vae_dir = tmp_path / "vae"
    SigmaVAE.save_pretrained(TTS.from_pretrained(make_tts_dir(tmp_path / "src")).vae, str(vae_dir))
    assert main(["-q", "export-tts", "--vae", str(vae_dir), "--lm", str(exp), "--out", str(tmp_path / "tts")]) == 0
