"""tools/device: pack a dump, train on it under a time budget (DEVICE=cpu here, cuda on a lent GPU), return slim
fp16 pieces, join them, and export a tts model from the result."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import torch

from helpers_lm import make_dump, make_tts_dir
from latentspeech.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _train_and_dev_dump(tmp_path: Path, n_utts: int) -> tuple[Path, Path]:
    """A tiny dump with train/ and dev/ under each root, as the packer wants; → (phn train dir, latent train dir)."""
    phn, lat, _ = make_dump(tmp_path, n_utts=n_utts, latent_dim=8)
    for src in (phn, lat):
        shutil.copytree(src, src.parent / "dev")
    return phn, lat


def _packed_dump(tmp_path: Path, tgz: bool = False) -> dict:
    """A packed tiny dump under tmp_path/carry (a folder, or with `tgz` one dump.tgz); → subprocess.run kwargs whose
    env is the GPU image's, on CPU."""
    phn, lat = _train_and_dev_dump(tmp_path, n_utts=10)
    block = tmp_path / "block"  # the GPU image has no audio/text stack: make importing it fail here too
    block.mkdir()
    (block / "sitecustomize.py").write_text(
        "import sys\nfor m in ('soundfile', 'librosa', 'phonemizer', 'encodec', 'speechbrain', 'soxr', 'jiwer', "
        "'espeakng_loader', 'faster_whisper', 'resemblyzer'):\n    sys.modules[m] = None\n")
    env = {**os.environ, "PYTHONPATH": str(block), "DEVICE_DIR": str(tmp_path / "carry"), "DEVICE": "cpu",
           "OUT": str(tmp_path / "out"), "EXP": str(tmp_path / "exp_device"),
           "CONFIG": "egs/synth/tts1/conf/lm_tiny.yaml"}
    run = dict(env=env, cwd=ROOT, capture_output=True, text=True)
    r = subprocess.run(["bash", "tools/device/pack_dump.sh", str(phn.parent), str(lat.parent)],
                       **{**run, "env": {**env, "TGZ": "1" if tgz else "0"}})
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "carry/dump/latents/dev/latents.scp").is_file() != tgz
    assert (tmp_path / "carry/dump.tgz").is_file() == tgz
    return run


def test_device_round_trip_on_cpu(tmp_path):
    run = _packed_dump(tmp_path)
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
    assert set(slim) == {"model", "ema_merged", "config", "step", "epoch"} and slim["step"] == 4 and slim["ema_merged"]
    torch.testing.assert_close(slim["model"]["frame_proj.weight"], full["ema"]["frame_proj.weight"].half())

    from latentspeech.api import TTS
    from latentspeech.vae.model import SigmaVAE

    vae_dir = tmp_path / "vae"
    SigmaVAE.save_pretrained(TTS.from_pretrained(make_tts_dir(tmp_path / "src")).vae, str(vae_dir))
    assert main(["-q", "export-tts", "--vae", str(vae_dir), "--lm", str(exp), "--out", str(tmp_path / "tts")]) == 0
    assert "step 4, EMA weights" in (tmp_path / "tts/README.md").read_text()

    # the exported model's LM alone travels (lm_init.py) and warm-starts a device run: lr 0 keeps its weights
    r = subprocess.run([sys.executable, "tools/device/lm_init.py", str(tmp_path / "tts"), str(tmp_path / "carry/init")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    from safetensors.torch import load_file
    lm = load_file(str(tmp_path / "carry/init/model.safetensors"))
    assert lm and all(k.startswith("lm.") and v.dtype == torch.float16 for k, v in lm.items() if v.is_floating_point())
    r = subprocess.run(["bash", "tools/device/train_lm.sh", "5", "--init-from", str(tmp_path / "carry/init"),
                        "--set", "train.max_steps=1", "--set", "optim.lr=0.0"],
                       **{**run, "env": {**run["env"], "EXP": str(tmp_path / "exp_init")}})
    assert r.returncode == 0, r.stdout + r.stderr
    state = torch.load(tmp_path / "exp_init/checkpoints/step_00000001.pt", weights_only=True)
    assert state["model"].keys() == {k[3:] for k in lm}
    for k, v in lm.items():
        assert torch.equal(state["model"][k[3:]], v.float() if v.is_floating_point() else v), k
    r = subprocess.run([sys.executable, "tools/device/lm_init.py", str(tmp_path / "vae"), str(tmp_path / "x")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "a tts model is needed" in r.stderr


def test_device_run_returns_milestone_checkpoints_and_unpacks_any_step(tmp_path):
    run = _packed_dump(tmp_path)
    r = subprocess.run(["bash", "tools/device/train_lm.sh", "5", "--set", "train.max_steps=5", "--set",
                        "train.save_every=1", "--set", "train.keep_last=1", "--set", "train.keep_every=2"],
                       **{**run, "env": {**run["env"], "SLIM_ALL": "1"}})
    assert r.returncode == 0, r.stdout + r.stderr
    returned = sorted(p.name.split(".")[0] for p in (tmp_path / "out").glob("lm_step_*.pt.part00"))
    assert returned == ["lm_step_2", "lm_step_4", "lm_step_5"]  # milestones 2 and 4, and the newest
    for step in ("", "2"):
        exp = tmp_path / f"exp_{step or 'newest'}"
        r = subprocess.run(["bash", "tools/device/unpack.sh", str(tmp_path / "out"), str(exp),
                            *([step] if step else [])], **run)
        assert r.returncode == 0, r.stderr
        assert [p.name for p in (exp / "checkpoints").iterdir()] == [f"step_0000000{step or 5}.pt"]
        full = torch.load(tmp_path / f"exp_device/checkpoints/step_0000000{step or 5}.pt", weights_only=False)
        slim = torch.load(exp / f"checkpoints/step_0000000{step or 5}.pt", weights_only=False)
        torch.testing.assert_close(slim["model"]["frame_proj.weight"], full["model"]["frame_proj.weight"].half())
    r = subprocess.run(["bash", "tools/device/unpack.sh", str(tmp_path / "out"), str(tmp_path / "x"), "3"], **run)
    assert r.returncode == 1 and r.stderr.strip().endswith("no lm_step_3.pt.part00 in " + str(tmp_path / "out"))


def test_variants_train_concurrently_with_a_schedule_fitted_to_the_time_budget(tmp_path):
    run = _packed_dump(tmp_path, tgz=True)  # the variants unpack it once, then run side by side
    run["env"].update(EXP_ROOT=str(tmp_path / "exps"), PROBE_MINUTES="0.05", RESERVE_SECONDS="2")
    r = subprocess.run(["bash", "tools/device/train_lm_variants.sh", "0.4", "shared=",
                        "sepos=model.separate_positions=true,train.ema_decay=0.5,train.attention_backends=[efficient;math]",
                        "--", "--set", "train.log_every=2"],
                       **run)
    assert r.returncode == 0, r.stdout + r.stderr
    logs = (tmp_path / "out/train_logs.txt").read_text()
    fitted = {}
    for name in ("shared", "sepos"):
        line = next(x for x in logs.splitlines() if x.startswith(f"{name}: probe"))
        probe_steps, max_steps = int(line.split()[2]), int(line.rsplit("=", 1)[1])
        assert max_steps > probe_steps > 0, line  # time was left after the probe: the schedule was stretched
        fitted[name] = max_steps
        assert f"=== {name}=" in logs
        assert len(list((tmp_path / "out" / name).glob("lm_step_*.pt.part00"))) == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["sepos", "shared", "train_logs.txt"]
    state = torch.load(max((tmp_path / "exps/device_sepos/checkpoints").glob("step_*.pt")), weights_only=False)
    assert state["config"]["model"]["separate_positions"] is True and "ema" in state
    assert state["config"]["train"]["attention_backends"] == ["efficient", "math"]  # ';' became ','
    assert state["step"] <= fitted["sepos"]

    r = subprocess.run(["bash", "tools/device/train_lm_variants.sh", "1", "bad name="], **run)
    assert r.returncode == 2 and "is not NAME=" in r.stderr

    shutil.rmtree(tmp_path / "carry/dump")  # here, as after a device call: only the tarball is left
    r = subprocess.run(["bash", "tools/device/unpack.sh", str(tmp_path / "out/sepos"), str(tmp_path / "lm_sepos")], **run)
    assert r.returncode == 0, r.stderr
    with tarfile.open(tmp_path / "carry/dump.tgz") as tar:
        for name, member in (("vocab.yaml", "dump/phn/train/vocab.yaml"), ("vae.yaml", "dump/latents/train/vae.yaml")):
            packed = tar.extractfile(member).read()
            assert packed and (tmp_path / "lm_sepos" / name).read_bytes() == packed


def test_pack_dump_can_keep_an_evenly_spread_share_of_the_training_hours(tmp_path):
    phn, lat = _train_and_dev_dump(tmp_path, n_utts=12)
    frames = {ln.split()[0]: int(ln.split()[1]) for ln in (lat / "utt2num_frames").read_text().splitlines()}
    rate = float(next(ln.split()[1] for ln in (lat / "vae.yaml").read_text().splitlines()
                      if ln.startswith("frame_rate:")))
    hours = sum(frames.values()) / rate / 3600
    env = {**os.environ, "DEVICE_DIR": str(tmp_path / "carry"), "MAX_HOURS": f"{hours / 2:.8f}"}
    r = subprocess.run(["bash", "tools/device/pack_dump.sh", str(phn.parent), str(lat.parent)], env=env, cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    t = tmp_path / "carry/dump/latents/train"
    kept = [ln.split()[0] for ln in (t / "latents.scp").read_text().splitlines()]
    assert 0 < len(kept) < len(frames)
    assert sorted(p.name for p in (t / "latents").iterdir()) == sorted(f"{u}.npy" for u in kept)
    assert [ln.split()[0] for ln in (t / "utt2num_frames").read_text().splitlines()] == kept
    assert abs(sum(frames[u] for u in kept) / rate / 3600 - hours / 2) <= max(frames.values()) / rate / 3600
    assert len((tmp_path / "carry/dump/latents/dev/latents.scp").read_text().splitlines()) == len(frames)  # dev whole
    for ln in (t / "latents.scp").read_text().splitlines():  # relative paths into the packed dump (the source's are
        assert ln.split()[1].startswith("latents/") and (t / ln.split()[1]).is_file()  # absolute here)


def test_pack_dump_gathers_a_combined_dumps_latents(tmp_path):
    """combine-data writes absolute paths into two dumps' files: the packed dump holds them all, with relative paths."""
    phn, lat = _train_and_dev_dump(tmp_path / "a", n_utts=6)
    copy_phn, copy_lat = tmp_path / "b/phn/train", tmp_path / "b/lat/train"
    (copy_lat / "latents").mkdir(parents=True)
    copy_phn.mkdir(parents=True)
    shutil.copy(phn / "vocab.yaml", copy_phn)
    shutil.copy(lat / "vae.yaml", copy_lat)
    texts, scp, n2f = [], [], []
    for ln in (phn / "text").read_text().splitlines():
        texts.append(ln.replace(" ", "-t080 ", 1))
    for ln in (lat / "latents.scp").read_text().splitlines():
        utt, path = ln.split()
        shutil.copy(path, copy_lat / "latents" / f"{utt}-t080.npy")
        scp.append(f"{utt}-t080 latents/{utt}-t080.npy")
    for ln in (lat / "utt2num_frames").read_text().splitlines():
        n2f.append(ln.replace(" ", "-t080 ", 1))
    (copy_phn / "text").write_text("\n".join(texts) + "\n")
    (copy_lat / "latents.scp").write_text("\n".join(scp) + "\n")
    (copy_lat / "utt2num_frames").write_text("\n".join(n2f) + "\n")
    root = tmp_path / "combined"
    assert main(["combine-data", "--out", str(root / "phn/train"), str(phn), str(copy_phn)]) == 0
    assert main(["combine-data", "--out", str(root / "lat/train"), str(lat), str(copy_lat)]) == 0
    shutil.copytree(phn.parent / "dev", root / "phn/dev")
    shutil.copytree(lat.parent / "dev", root / "lat/dev")
    env = {**os.environ, "DEVICE_DIR": str(tmp_path / "carry")}
    r = subprocess.run(["bash", "tools/device/pack_dump.sh", str(root / "phn"), str(root / "lat")], env=env, cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    t = tmp_path / "carry/dump/latents/train"
    rows = [ln.split() for ln in (t / "latents.scp").read_text().splitlines()]
    assert len(rows) == 12 and sum(u.endswith("-t080") for u, _ in rows) == 6
    assert all(p == f"latents/{u}.npy" and (t / p).is_file() for u, p in rows)
    assert sorted(p.name for p in (t / "latents").iterdir()) == sorted(f"{u}.npy" for u, _ in rows)


def test_pack_dump_takes_other_set_names_as_train_and_dev(tmp_path):
    """TRAIN_SET / VALID_SET: e.g. run.sh --tempo_factors' union `train_tp0.8` travels as train/."""
    phn, lat = _train_and_dev_dump(tmp_path, n_utts=4)
    for d in (phn, lat):
        shutil.copytree(d, d.parent / "train_tp0.8")   # its latents.scp names the train/ files: still there
    (phn.parent / "train_tp0.8/text").write_text((phn / "text").read_text().replace(" ", " ə ", 1))
    env = {**os.environ, "DEVICE_DIR": str(tmp_path / "carry")}
    pack = ["bash", "tools/device/pack_dump.sh", str(phn.parent), str(lat.parent)]
    r = subprocess.run(pack, env={**env, "TRAIN_SET": "train_sp"}, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 1 and "train_sp/text is missing" in r.stderr
    r = subprocess.run(pack, env={**env, "TRAIN_SET": "train_tp0.8"}, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    packed = tmp_path / "carry/dump"
    assert (packed / "phn/train/text").read_text() == (phn.parent / "train_tp0.8/text").read_text()
    assert len((packed / "latents/train/latents.scp").read_text().splitlines()) == 4
    assert sorted(p.name for p in (packed / "phn").iterdir()) == ["dev", "train"]


def test_speed_probe_times_each_variant_alone(tmp_path):
    run = _packed_dump(tmp_path)
    r = subprocess.run(["bash", "tools/device/speed_probe.sh", "4", "tight=", "padded=data.pad_multiple=16",
                        "listed=train.attention_backends=[efficient;math]", "effonly=train.attention_backends=[efficient]",
                        "--", "--set", "train.ema_decay=0"], **run)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = (tmp_path / "out/speed.txt").read_text().splitlines()
    assert rows[0].split()[:3] == ["variant", "steps", "it/s"]
    assert [x.split()[0].rstrip(":") for x in rows[1:]] == ["tight", "padded", "listed", "effonly"]
    for row in rows[1:4]:  # ';' in a list became ',' (else the value would not parse)
        name, steps, rate = row.split()[:3]
        assert int(steps) > 0 and float(rate) > 0, row
    assert "train-lm failed" in rows[4]  # no memory-efficient attention kernel on a CPU: that run cannot train
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["speed.txt"]
    r = subprocess.run(["bash", "tools/device/speed_probe.sh", "1", "bad name="], **run)
    assert r.returncode == 2 and "is not NAME=" in r.stderr


def test_vae_decoder_training_gathers_shares_of_audio_and_returns_a_swappable_decoder(tmp_path):
    """pack two shares of audio → stage the first, train two decoder variants on the pool (encoder frozen) →
    extract → swap into the init VAE: same encoder and statistics, the trained decoder; a decoder of another
    shape is refused in one line."""
    from safetensors.torch import load_file, save_file

    from helpers_vae import make_data_dir, make_model_dir
    from latentspeech.vae.model import SigmaVAE

    data = make_data_dir(tmp_path / "data", n=4, seconds=1.5)
    dev = make_data_dir(tmp_path / "dev", n=2)
    init = make_model_dir(tmp_path / "init")
    carry = tmp_path / "carry"
    env = {**os.environ, "DEVICE_DIR": str(carry), "EXP_ROOT": str(tmp_path / "exp"), "OUT": str(tmp_path / "out"),
           "PYTHON": sys.executable, "CONFIG": "egs/synth/tts1/conf/vae_tiny.yaml", "OMP_NUM_THREADS": "1"}

    def pack(*extra: str) -> None:
        subprocess.run([sys.executable, "tools/device/pack_vae_audio.py", "--data", str(data), "--valid-data",
                        str(dev), "--out", str(carry / "vae"), "--parts", "2", *extra], cwd=ROOT, env=env, check=True,
                       capture_output=True)

    pack("--part", "1", "--vae", str(init))
    staged = subprocess.run(["bash", "tools/device/stage_vae_audio.sh"], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True).stdout
    assert "2 training utterances" in staged and "init: yes" in staged
    pack("--part", "0")  # the next call carries the other share, without the init VAE
    run = subprocess.run(["bash", "tools/device/train_vae_variants.sh", "0.01", "mel=", "gan=loss.gan_start_step=0",
                          "--", "--set", "train.save_every=1", "--set", "train.valid_every=100",
                          "--set", "train.max_steps=100000"],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    pool = tmp_path / "exp" / "vae_pool" / "audio" / "train" / "wav.scp"
    assert sorted(line.split()[0] for line in pool.read_text().splitlines()) == [f"utt{i}" for i in range(4)]
    out = tmp_path / "out"
    assert (out / "mel.safetensors").is_file() and (out / "gan.safetensors").is_file()
    assert "max_minutes=0.01 reached" in (out / "train_logs.txt").read_text()

    swapped = tmp_path / "swapped"
    subprocess.run([sys.executable, "tools/device/vae_decoder.py", "swap", str(init), str(out / "gan.safetensors"),
                    str(swapped)], cwd=ROOT, env=env, check=True, capture_output=True)
    before, after = SigmaVAE.from_pretrained(str(init)), SigmaVAE.from_pretrained(str(swapped))
    for k, v in before.state_dict().items():
        if not k.startswith("decoder."):
            torch.testing.assert_close(after.state_dict()[k], v, rtol=0, atol=0)  # encoder + latent statistics
    trained = load_file(out / "gan.safetensors")
    for k, v in after.decoder.state_dict().items():
        torch.testing.assert_close(v, trained[k].float(), rtol=0, atol=0)
    assert any(not torch.equal(v, before.decoder.state_dict()[k]) for k, v in after.decoder.state_dict().items())

    save_file({"head.out.weight": torch.zeros(3, 3)}, tmp_path / "wrong.safetensors")
    bad = subprocess.run([sys.executable, "tools/device/vae_decoder.py", "swap", str(init),
                          str(tmp_path / "wrong.safetensors"), str(tmp_path / "bad")], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    assert bad.returncode != 0 and bad.stderr.strip().count("\n") == 0 and "does not match" in bad.stderr


def test_vae_decoder_swap_into_a_tts_model_keeps_its_lm(tmp_path):
    from safetensors.torch import save_file

    from latentspeech.api import TTS

    src = make_tts_dir(tmp_path / "tts")
    tts = TTS.from_pretrained(str(src))
    torch.manual_seed(1)
    new = {k: torch.randn_like(v) if v.is_floating_point() else v for k, v in tts.vae.decoder.state_dict().items()}
    save_file({k: v.contiguous() for k, v in new.items()}, tmp_path / "dec.safetensors")
    subprocess.run([sys.executable, "tools/device/vae_decoder.py", "swap", str(src), str(tmp_path / "dec.safetensors"),
                    str(tmp_path / "out")], cwd=ROOT, check=True, capture_output=True)
    out = TTS.from_pretrained(str(tmp_path / "out"))
    for k, v in out.vae.decoder.state_dict().items():
        torch.testing.assert_close(v, new[k].to(v.dtype), rtol=1e-3, atol=1e-3)  # fp16 storage when the source had it
    for k, v in tts.lm.state_dict().items():
        torch.testing.assert_close(out.lm.state_dict()[k], v, rtol=0, atol=0)
