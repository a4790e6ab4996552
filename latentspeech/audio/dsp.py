"""Waveform utilities: loudness and peak normalisation, silence trimming and detection, cropping and padding.

Shape letters: T samples, C channels; functions act on the last axis. Levels are in dB relative to full
scale (dBFS: a full-scale square wave is 0 dB, a full-scale sine -3.01 dB).

Loudness here is "LUFS-approx": ITU-R BS.1770-4 integrated loudness with its gating (400 ms blocks,
75 % overlap, -70 dB absolute gate, -10 dB relative gate) but WITHOUT the K-weighting pre-filter, i.e. the
gated mean-square level in dBFS. For speech this reads within ~1-2 dB of true LUFS and, like LUFS, ignores
pauses; for a 1 kHz sine it equals LUFS exactly.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

__all__ = ["loudness", "loudness_normalize", "peak_normalize", "trim_silence", "is_silent", "rms_db",
           "random_crop", "pad_or_crop", "time_stretch"]

log = logging.getLogger(__name__)

_EPS = 1e-12


def _power(wav: np.ndarray) -> np.ndarray:
    """[T] or [C, T] → per-sample power [T], summed over channels (BS.1770 with unit channel weights)."""
    x = np.asarray(wav, dtype=np.float64)
    return x * x if x.ndim == 1 else (x * x).sum(axis=0)


def _block_mean(power: np.ndarray, block: int, hop: int) -> np.ndarray:
    """Mean of `power` [T] over blocks of `block` samples every `hop` → [n_blocks]; one block if T < block."""
    if power.size <= block:
        return np.array([power.mean()]) if power.size else np.zeros(0)
    cs = np.concatenate([[0.0], np.cumsum(power)])
    starts = np.arange(0, power.size - block + 1, hop)
    return (cs[starts + block] - cs[starts]) / block


def rms_db(wav: np.ndarray) -> float:
    """RMS level of the whole signal in dBFS (-inf for an all-zero or empty signal)."""
    p = _power(wav)
    return float(10 * np.log10(p.mean())) if p.size and p.mean() > 0 else float("-inf")


def loudness(wav: np.ndarray, sr: int) -> float:
    """LUFS-approx integrated loudness (gated mean-square dBFS, see module docstring); -inf if all gated."""
    blocks = _block_mean(_power(wav), max(1, round(0.4 * sr)), max(1, round(0.1 * sr)))
    blocks = blocks[blocks > 10 ** (-70 / 10)]  # absolute gate
    if blocks.size == 0:
        return float("-inf")
    relative_gate = blocks.mean() * 10 ** (-10 / 10)
    return float(10 * np.log10(blocks[blocks > relative_gate].mean()))


def loudness_normalize(wav: np.ndarray, sr: int, target_lufs: float = -23.0) -> np.ndarray:
    """Scale [T] or [C, T] to `target_lufs` LUFS-approx; float32, same shape.

    Silent input (nothing above the -70 dB gate) is returned unchanged with a warning; if the gain would push
    peaks past full scale, it is reduced to keep the peak at 0.999 (warning says by how much the target is missed).
    """
    wav = np.asarray(wav, dtype=np.float32)
    level = loudness(wav, sr)
    if not np.isfinite(level):
        log.warning("loudness_normalize: signal is silent (below -70 dBFS); left unchanged")
        return wav.copy()
    gain = 10 ** ((target_lufs - level) / 20)
    peak = float(np.abs(wav).max()) * gain
    if peak > 0.999:
        log.warning("loudness_normalize: %.1f LUFS-approx would clip (peak %.2f); reaching %.1f instead",
                    target_lufs, peak, target_lufs - 20 * np.log10(peak / 0.999))
        gain *= 0.999 / peak
    return (wav * gain).astype(np.float32)


def peak_normalize(wav: np.ndarray, peak: float = 0.95) -> np.ndarray:
    """Scale so that max |x| = `peak` (linear, full scale = 1); an all-zero signal is returned unchanged."""
    wav = np.asarray(wav, dtype=np.float32)
    current = float(np.abs(wav).max()) if wav.size else 0.0
    return wav.copy() if current == 0.0 else (wav * (peak / current)).astype(np.float32)


def trim_silence(wav: np.ndarray, sr: int, top_db: float = 40.0) -> np.ndarray:
    """Cut leading/trailing audio quieter than `top_db` below the loudest 25 ms frame (10 ms hop).

    [T] or [C, T] → same layout, shorter T. A silent signal is returned unchanged.
    """
    wav = np.asarray(wav, dtype=np.float32)
    frame, hop = max(1, round(0.025 * sr)), max(1, round(0.010 * sr))
    frame_power = _block_mean(_power(wav), frame, hop)
    if frame_power.size == 0 or frame_power.max() <= 0:
        return wav
    level_db = 10 * np.log10(frame_power + _EPS)
    loud = np.flatnonzero(level_db > level_db.max() - top_db)
    start = int(loud[0]) * hop
    end = min(wav.shape[-1], int(loud[-1]) * hop + frame)
    return wav[..., start:end]


def is_silent(wav: np.ndarray, threshold_db: float = -60.0) -> bool:
    """True if the RMS level of the whole signal is below `threshold_db` dBFS (or the signal is empty)."""
    return rms_db(wav) < threshold_db


def pad_or_crop(wav: np.ndarray | torch.Tensor, n: int) -> np.ndarray | torch.Tensor:
    """Zero-pad at the end or cut the end so the last axis has exactly `n` samples (numpy or torch in, same out)."""
    length = wav.shape[-1]
    if length >= n:
        return wav[..., :n]
    if isinstance(wav, torch.Tensor):
        return torch.nn.functional.pad(wav, (0, n - length))
    pad = [(0, 0)] * (wav.ndim - 1) + [(0, n - length)]
    return np.pad(wav, pad)


def random_crop(
    wav: np.ndarray | torch.Tensor, n_samples: int, rng: np.random.Generator | None = None
) -> np.ndarray | torch.Tensor:
    """A random window of `n_samples` along the last axis (uniform start from `rng`); shorter input is zero-padded."""
    length = wav.shape[-1]
    if length <= n_samples:
        return pad_or_crop(wav, n_samples)
    rng = rng if rng is not None else np.random.default_rng()
    start = int(rng.integers(0, length - n_samples + 1))
    return wav[..., start:start + n_samples]


def wsola_speech_params(speed: float, sample_rate: int) -> dict[str, int]:
    """WSOLA frame, synthesis hop and search tolerance (samples) tuned for speech, as sox `tempo -s` chooses them.

    Segments of 35 ms / speed^(1/3) (sox's speech profile: 32 ms at ×1.25), neighbours cross-faded over 40 % of a
    segment (segment / 2.5) and shifted by up to ± segment / 4.28 (sox searches a segment / 2.14 window) to line
    their waveforms up.
    """
    segment_s = 0.035 / max(speed, 1.0 / speed) ** (1.0 / 3.0)
    frame = max(16, int(round(segment_s * sample_rate)))
    overlap = int(round(frame / 2.5))
    return {"frame_length": frame, "synthesis_hop": frame - overlap, "tolerance": int(round(frame / 4.28))}


def time_stretch(wav: np.ndarray, speed: float, sample_rate: int) -> np.ndarray:
    """[T] float → float32 [~T / speed]: the same speech `speed` times faster (> 1) or slower, pitch kept.

    WSOLA (audiotsm) with sox `tempo -s`'s speech settings (`wsola_speech_params`: ~32 ms segments): it repeats or
    drops whole waveform periods, so a voice keeps its timbre where a phase vocoder (librosa's) smears it. The
    speech settings matter: audiotsm's default 64 ms frames did not help the LM read slow prompts, sox's did, and
    these reproduce sox (docs/experiments.md, "Six more voices" and "A speech WSOLA").
    """
    from audiotsm import wsola
    from audiotsm.io.array import ArrayReader, ArrayWriter

    if speed <= 0:
        raise ValueError(f"speed must be > 0, got {speed}")
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim != 1:
        raise ValueError(f"time_stretch expects a mono [T] signal, got shape {wav.shape}")
    if speed == 1.0 or wav.size == 0:
        return wav.copy()
    params = wsola_speech_params(speed, sample_rate)
    # audiotsm's output starts up to half a frame late and its last frame is lost without padding: pad the end,
    # keep the length the speed asks for (the first ~15 ms fade in; prompts start with trimmed silence anyway)
    writer = ArrayWriter(channels=1)
    padded = np.concatenate([wav, np.zeros(2 * params["frame_length"], dtype=np.float32)]).astype(np.float64)
    wsola(1, speed=speed, **params).run(ArrayReader(padded[None, :]), writer)
    n = max(1, int(round(wav.size / speed)))
    out = writer.data[0][:n]
    return np.pad(out, (0, n - out.size)).astype(np.float32)
