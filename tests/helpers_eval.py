"""Fixtures for the eval tests: espeak-ng voices as speakers, and stand-in ASR/speaker backends."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

VOICES = ("m3", "f2", "m7")  # espeak-ng variants: three "speakers"
SENTENCES = (
    "Hello world, this is a simple test of speech recognition.",
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
)

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng binary not installed")


def espeak_corpus(root: Path) -> dict[str, list[Path]]:
    """`root/<voice>_<i>.wav` for every voice and sentence (made once per session root); voice → wavs."""
    root.mkdir(parents=True, exist_ok=True)
    out: dict[str, list[Path]] = {}
    for voice in VOICES:
        for i, text in enumerate(SENTENCES):
            path = root / f"{voice}_{i}.wav"
            if not path.exists():
                subprocess.run(["espeak-ng", "-v", f"en-us+{voice}", "-s", "150", "-w", str(path), text], check=True)
            out.setdefault(voice, []).append(path)
    return out


def tone(path: Path, freq_hz: float, seconds: float, sr: int = 16_000) -> Path:
    """A sine wav (a stand-in 'speaker' for the stub embedder: its frequency)."""
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32), sr)
    return path


class StubASR:
    """Returns the text registered for a wav's length in samples; counts calls."""

    name = "stub-asr"

    def __init__(self, texts: dict[int, str]):
        self.texts, self.calls = texts, 0

    def transcribe(self, wav: np.ndarray, sr: int) -> str:
        self.calls += 1
        return self.texts.get(len(wav), "")

    def transcribe_words(self, wav, sr):
        raise NotImplementedError


class StubEmbedder:
    """Embedding = energy in 64 frequency bands of 125 Hz: same tone → cosine 1."""

    name = "stub-speaker"
    sample_rate = 16_000

    def __init__(self):
        self.calls = 0

    def embed(self, wav: np.ndarray, sr: int) -> np.ndarray:
        self.calls += 1
        spec = np.abs(np.fft.rfft(wav, n=4096))
        return np.array([b.sum() for b in np.array_split(spec, 64)], dtype=np.float32)


def tone_data_dir(root: Path) -> Path:
    """Kaldi data dir of tones: speaker s1 (200 Hz) has 2, 3, 5 s utterances, s2 (300 Hz) 1 s and 3 s."""
    from latentspeech.data.kaldi import DataDir

    wav_dir = root / "wav"
    wav_dir.mkdir(parents=True)
    spec = {"s1_a": 2.0, "s1_b": 3.0, "s1_c": 5.0, "s2_a": 1.0, "s2_b": 3.0}
    wav_scp = {u: str(tone(wav_dir / f"{u}.wav", 200.0 if u.startswith("s1") else 300.0, d)) for u, d in spec.items()}
    text = {u: f"words of {u.replace('_', ' ')} here" for u in spec}
    DataDir(wav_scp=wav_scp, text=text, utt2spk={u: u[:2] for u in spec}).save(root / "data")
    return root / "data"
