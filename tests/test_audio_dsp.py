"""Waveform utilities: loudness (LUFS-approx) and peak normalisation, trimming, silence, crop/pad."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from latentspeech.audio import dsp


def _speechlike(seconds: float = 3.0, sr: int = 16_000, seed: int = 0) -> np.ndarray:
    """Noise with a 4 Hz syllable envelope and a 20 % pause: loudness gating matters for it."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    wav = rng.standard_normal(t.size) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) * 0.05
    wav[int(0.4 * t.size): int(0.6 * t.size)] = 0.0
    return wav.astype(np.float32)


def test_full_scale_sine_reads_minus_3_db(sine_wav):
    wav, sr = sine_wav
    assert dsp.loudness(wav / 0.5, sr) == pytest.approx(-3.01, abs=0.01)


@pytest.mark.parametrize("target", [-30.0, -23.0, -20.0])
def test_loudness_normalisation_hits_target(target):
    wav = _speechlike()
    out = dsp.loudness_normalize(wav, 16_000, target_lufs=target)
    assert out.dtype == np.float32 and out.shape == wav.shape
    assert dsp.loudness(out, 16_000) == pytest.approx(target, abs=0.05)


def test_loudness_gating_ignores_pauses():
    wav = _speechlike()
    padded = np.concatenate([wav, np.zeros_like(wav)])
    assert abs(dsp.loudness(padded, 16_000) - dsp.loudness(wav, 16_000)) < 0.5
    assert dsp.rms_db(padded) == pytest.approx(dsp.rms_db(wav) - 3.01, abs=0.01)  # plain RMS does not


def test_loudness_normalize_never_clips(caplog):
    wav = np.zeros(16_000, np.float32)
    wav[::400] = 0.5  # clicks: huge crest factor
    with caplog.at_level(logging.WARNING, logger="latentspeech.audio.dsp"):
        out = dsp.loudness_normalize(wav, 16_000, target_lufs=-3.0)
    assert np.abs(out).max() <= 0.999 + 1e-6 and "would clip" in caplog.text


def test_silent_signal_left_unchanged_by_normalisers():
    z = np.zeros(8000, np.float32)
    assert not dsp.loudness_normalize(z, 16_000).any() and not dsp.peak_normalize(z).any()
    assert dsp.is_silent(z) and dsp.is_silent(np.full(8000, 1e-4, np.float32))
    assert not dsp.is_silent(_speechlike())


def test_peak_normalize_sets_peak(sine_wav):
    assert np.abs(dsp.peak_normalize(sine_wav[0], peak=0.9)).max() == pytest.approx(0.9, abs=1e-6)


def test_trim_silence_cuts_leading_and_trailing_silence(sine_wav):
    wav, sr = sine_wav
    padded = np.concatenate([np.zeros(sr // 2, np.float32), wav, np.zeros(sr, np.float32)])
    trimmed = dsp.trim_silence(padded, sr, top_db=40)
    assert abs(len(trimmed) - len(wav)) < 0.05 * sr  # within a 25 ms frame + 10 ms hop at each end
    assert dsp.trim_silence(np.stack([padded, padded]), sr).shape[0] == 2


def test_pad_or_crop_numpy_and_torch():
    x = np.arange(10, dtype=np.float32)
    assert dsp.pad_or_crop(x, 4).tolist() == [0, 1, 2, 3]
    assert dsp.pad_or_crop(x, 12).tolist() == list(range(10)) + [0, 0]
    t = dsp.pad_or_crop(torch.ones(2, 3), 5)
    assert isinstance(t, torch.Tensor) and t.shape == (2, 5) and t[:, 3:].abs().sum() == 0


def test_random_crop_is_seeded_window():
    x = np.arange(1000, dtype=np.float32)
    a = dsp.random_crop(x, 100, np.random.default_rng(3))
    b = dsp.random_crop(x, 100, np.random.default_rng(3))
    assert a.shape == (100,) and np.array_equal(a, b) and np.all(np.diff(a) == 1)
    assert dsp.random_crop(x[:50], 100, np.random.default_rng(0)).shape == (100,)
    assert dsp.random_crop(torch.zeros(1, 300), 100, np.random.default_rng(0)).shape == (1, 100)


def test_time_stretch_changes_duration_and_keeps_pitch():
    sr = 16_000
    t = np.arange(2 * sr) / sr
    tone = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    faster = dsp.time_stretch(tone, 1.5, sr)
    assert faster.dtype == np.float32 and len(faster) == pytest.approx(len(tone) / 1.5, rel=0.03)
    assert len(dsp.time_stretch(tone, 0.8, sr)) == pytest.approx(len(tone) / 0.8, rel=0.03)

    def peak_hz(x: np.ndarray) -> float:
        spec = np.abs(np.fft.rfft(x[sr // 4: -sr // 4] * np.hanning(len(x) - sr // 2)))
        return float(np.argmax(spec) * sr / (len(x) - sr // 2))

    assert peak_hz(faster) == pytest.approx(200.0, abs=3.0)  # a resampler would give 300 Hz
    assert np.array_equal(dsp.time_stretch(tone, 1.0, sr), tone)
    with pytest.raises(ValueError, match="speed must be > 0"):
        dsp.time_stretch(tone, 0.0, sr)


def test_wsola_speech_params_follow_sox_speech_profile():
    p = dsp.wsola_speech_params(1.25, 16_000)  # sox's manual: `tempo -s 1.25` uses 32 ms segments
    assert p["frame_length"] / 16_000 == pytest.approx(0.032, abs=0.001)
    assert p["synthesis_hop"] == p["frame_length"] - round(p["frame_length"] / 2.5)
    assert 0 < p["tolerance"] < p["frame_length"] // 2
    assert dsp.wsola_speech_params(1.25, 24_000)["frame_length"] == pytest.approx(1.5 * p["frame_length"], abs=1)
    assert dsp.wsola_speech_params(0.8, 16_000) == p  # slowing down by the inverse factor: the same segments


def test_time_stretch_keeps_a_tone_pure():
    # WSOLA lines each segment's waveform up with the last one: a steady tone comes out a steady tone, where
    # segments overlapped without the search would beat and splatter energy away from 200 Hz
    sr = 16_000
    t = np.arange(sr) / sr
    tone = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    out = dsp.time_stretch(tone, 1.4, sr)[sr // 10: -sr // 10]
    spec = np.abs(np.fft.rfft(out * np.hanning(len(out)))) ** 2
    hz = np.fft.rfftfreq(len(out), 1 / sr)
    assert spec[np.abs(hz - 200) <= 20].sum() / spec.sum() > 0.99
