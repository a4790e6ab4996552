"""benchmarks/latent_roundtrip.py: frames through the σ-VAE's decoder and encoder, recorded vs generated."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from helpers_bench import load_benchmark
from helpers_lm import make_tts_dir

bench = load_benchmark("latent_roundtrip")


@pytest.fixture
def tiny(tmp_path):
    return make_tts_dir(tmp_path / "tiny", stop_bias=-10.0)


def test_frames_the_encoder_made_come_back_closer_than_noise(tiny):
    from latentspeech.api import TTS

    vae = TTS.from_pretrained(tiny).vae
    t = np.arange(16_000) / 16_000
    wav = torch.from_numpy((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)).view(1, 1, -1)
    with torch.inference_mode():
        made = vae.encode(wav, normalize=True)[0]
    noise = torch.randn(made.shape, generator=torch.Generator().manual_seed(0)) * 3.0
    encoded, random = bench.frame_stats(vae, made), bench.frame_stats(vae, noise)
    assert set(encoded) == set(bench.KEYS) and all(np.isfinite(v) for v in encoded.values())
    assert random["std"] == pytest.approx(float(noise.std(0).mean()))
    assert random["step"] == pytest.approx(float((noise[1:] - noise[:-1]).pow(2).mean()))
    assert encoded["round_trip"] < random["round_trip"]  # off-manifold frames move more


def test_cli_reports_recorded_and_generated_frames_and_is_deterministic(tiny, tmp_path):
    t = np.arange(24_000) / 16_000
    for name, f in (("p", 180), ("gt", 240)):
        sf.write(tmp_path / f"{name}.wav", (0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32), 16_000)
    meta = tmp_path / "meta.lst"
    meta.write_text("u1|A prompt.|p.wav|Hello there.|gt.wav\nu2|A prompt.|p.wav|No reference here.\n")
    reports = []
    for k in range(2):
        assert bench.main(["--model", str(tiny), "--meta", str(meta), "--report", str(tmp_path / f"r{k}.md")]) == 0
        reports.append((tmp_path / f"r{k}.md").read_text())
    assert reports[0] == reports[1]
    assert "| recorded | 1 |" in reports[0] and "| generated | 1 |" in reports[0]  # the line without a recording: out
    meta.write_text("u2|A prompt.|p.wav|No reference here.\n")
    with pytest.raises(SystemExit):
        bench.main(["--model", str(tiny), "--meta", str(meta)])
