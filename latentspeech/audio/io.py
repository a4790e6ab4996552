"""Audio file I/O: load (any format soundfile reads, librosa as a fallback), mono mix-down, resampling, save.

Shape letters: T samples, C channels. Waveforms are float32 in [-1, 1]; sample rates in Hz.
Every problem with an input file is an `InputError` whose one-line message names the file and the fix.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from latentspeech.audio.dsp import is_silent
from latentspeech.errors import InputError

__all__ = ["load_audio", "save_audio", "resample", "to_mono"]

log = logging.getLogger(__name__)

# Containers libsndfile decodes itself; other extensions (m4a, aac, wma, ...) go through librosa/audioread.
_SOUNDFILE_EXTS = {".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".au", ".caf", ".w64",
                   ".rf64"}
_WRITE_FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16")}


def _read(path: Path) -> tuple[np.ndarray, int]:
    """Decode `path` → (float32 [C, T], sr). Raises InputError when no decoder can read it."""
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)  # [T, C]
        return np.ascontiguousarray(data.T), int(sr)
    except (sf.SoundFileError, RuntimeError, ValueError) as e:
        reason = (getattr(e, "error_string", None) or str(e) or type(e).__name__).replace("\n", " ").strip()
        if path.suffix.lower() in _SOUNDFILE_EXTS:
            raise InputError(f"cannot decode audio file '{path}' ({reason}); "
                             f"is it a valid {path.suffix.lstrip('.') or 'audio'} file? re-export it as wav/flac") from e
    try:  # librosa is slow to import: only for containers libsndfile does not handle (needs ffmpeg)
        import librosa

        data, sr = librosa.load(str(path), sr=None, mono=False)
    except Exception as e:  # noqa: BLE001 — audioread raises many unrelated types
        raise InputError(f"cannot decode audio file '{path}' ({type(e).__name__}); "
                         "convert it to wav/flac/mp3 first (e.g. `sox in out.wav` or ffmpeg)") from e
    return np.atleast_2d(data).astype(np.float32), int(sr)


def to_mono(wav: np.ndarray) -> np.ndarray:
    """[C, T] or [T] → [T] by averaging channels."""
    return wav if wav.ndim == 1 else wav.mean(axis=0, dtype=np.float32)


def resample(wav: np.ndarray | torch.Tensor, orig_sr: int, target_sr: int) -> np.ndarray:
    """[T] or [C, T] from `orig_sr` to `target_sr` Hz with soxr (high quality); float32 [T'] or [C, T']."""
    wav = wav.detach().cpu().numpy() if isinstance(wav, torch.Tensor) else np.asarray(wav)
    wav = wav.astype(np.float32, copy=False)
    if orig_sr <= 0 or target_sr <= 0:
        raise InputError(f"sample rates must be positive, got {orig_sr} → {target_sr} Hz")
    if orig_sr == target_sr:
        return wav
    import soxr

    out = soxr.resample(wav.T, orig_sr, target_sr, quality="HQ")  # soxr wants [T, C]
    return np.ascontiguousarray(out.T, dtype=np.float32)


def load_audio(
    path: str | os.PathLike,
    sample_rate: int | None = None,
    mono: bool = True,
    min_seconds: float = 0.0,
    *,
    reject_silent: bool = False,
) -> tuple[np.ndarray, int]:
    """Read an audio file → (float32 [T] if mono else [C, T], sample rate in Hz).

    Resampled to `sample_rate` when given. InputError (one line, names the file) when the file is missing,
    empty, undecodable, has NaN/Inf samples, is shorter than `min_seconds`, or, with `reject_silent` (use it
    for prompts and training clips; not for scoring generated audio), is silent (RMS < -60 dBFS, `dsp.is_silent`).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"audio file '{path}' does not exist; check the path")
    if not path.is_file():
        raise InputError(f"audio path '{path}' is not a file; give a wav/flac/mp3 file")
    if path.stat().st_size == 0:
        raise InputError(f"audio file '{path}' is empty (0 bytes); re-export or remove it")
    wav, sr = _read(path)
    if wav.shape[-1] == 0:
        raise InputError(f"audio file '{path}' contains no samples; re-export or remove it")
    if not np.isfinite(wav).all():
        raise InputError(f"audio file '{path}' contains NaN/Inf samples; re-export it from the source")
    if mono:
        wav = to_mono(wav)
    if sample_rate is not None and sample_rate != sr:
        wav, sr = resample(wav, sr, sample_rate), sample_rate
    seconds = wav.shape[-1] / sr
    if seconds < min_seconds:
        raise InputError(f"audio file '{path}' is {seconds:.2f} s long; need at least {min_seconds:.2f} s")
    if reject_silent and is_silent(wav):
        raise InputError(f"audio file '{path}' is silent (RMS below -60 dBFS); check the recording or remove it")
    return wav, sr


def save_audio(path: str | os.PathLike, wav: np.ndarray | torch.Tensor, sample_rate: int) -> Path:
    """Write [T] or [C, T] float audio as 16-bit PCM wav or flac (by extension); returns the path.

    Samples outside [-1, 1] are clipped with one warning. Written to `<path>.tmp` then renamed (atomic).
    """
    path = Path(path)
    fmt = _WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"cannot write '{path}': unsupported extension; use .wav or .flac")
    wav = wav.detach().float().cpu().numpy() if isinstance(wav, torch.Tensor) else np.asarray(wav, np.float32)
    if wav.ndim not in (1, 2):
        raise InputError(f"cannot write '{path}': audio must be [T] or [C, T], got shape {wav.shape}")
    if not np.isfinite(wav).all():
        raise InputError(f"cannot write '{path}': audio contains NaN/Inf samples")
    peak = float(np.abs(wav).max()) if wav.size else 0.0
    if peak > 1.0:
        log.warning("clipping %s: peak %.2f > 1.0 (use dsp.peak_normalize first)", path, peak)
        wav = np.clip(wav, -1.0, 1.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    sf.write(str(tmp), wav.T, int(sample_rate), format=fmt[0], subtype=fmt[1])
    os.replace(tmp, path)
    return path
