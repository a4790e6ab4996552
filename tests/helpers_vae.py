"""Fixtures for the σ-VAE tests: the tiny config, synthetic speech-like audio, a tiny model dir and data dir."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from latentspeech.config import load_config
from latentspeech.vae.model import SigmaVAE, VAEConfig

REPO = Path(__file__).resolve().parents[1]
TINY_YAML = REPO / "egs" / "synth" / "tts1" / "conf" / "vae_tiny.yaml"


def tiny_train_config(overrides: list[str] | None = None):
    from latentspeech.vae.train import VAETrainConfig

    return load_config(TINY_YAML, VAETrainConfig, overrides)


def tiny_model_config(**changes) -> VAEConfig:
    cfg = tiny_train_config().model
    for k, v in changes.items():
        setattr(cfg, k, v)
    return VAEConfig(**cfg.__dict__)


def speechy_wav(seconds: float = 1.0, sr: int = 16_000, f0: float = 140.0, seed: int = 0) -> np.ndarray:
    """A gliding harmonic tone with syllable-rate amplitude modulation + a little noise, float32 in [-0.5, 0.5]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.2 * np.sin(2 * np.pi * 1.5 * t))) / sr
    wav = sum(np.sin(k * phase) / k for k in range(1, 12))
    wav = wav * (0.55 + 0.45 * np.sin(2 * np.pi * 4 * t)) + 0.02 * rng.standard_normal(len(t))
    return (0.5 * wav / np.abs(wav).max()).astype(np.float32)


def make_model_dir(path: Path, seed: int = 0, **changes) -> Path:
    torch.manual_seed(seed)
    model = SigmaVAE(tiny_model_config(**changes))
    model.latent_mean.normal_()
    model.latent_std.uniform_(0.5, 2.0)
    model.save_pretrained(str(path))
    return path


def make_data_dir(path: Path, n: int = 3, seconds: float = 1.0) -> Path:
    (path / "wav").mkdir(parents=True, exist_ok=True)
    lines, spk = [], []
    for i in range(n):
        wav_path = path / "wav" / f"utt{i}.wav"
        sf.write(wav_path, speechy_wav(seconds + 0.13 * i, f0=110 + 30 * i, seed=i), 16_000)
        lines.append(f"utt{i} {wav_path}")
        spk.append(f"utt{i} spk{i % 2}")
    (path / "wav.scp").write_text("\n".join(lines) + "\n")
    (path / "utt2spk").write_text("\n".join(spk) + "\n")
    return path
