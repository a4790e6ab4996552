"""Audio file I/O: save/load round trips, mono mix-down, resampling, and one-line errors for bad files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from latentspeech.audio.io import load_audio, resample, save_audio
from latentspeech.errors import InputError


def _peak_hz(wav: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(wav * np.hanning(len(wav))))
    return float(np.fft.rfftfreq(len(wav), 1 / sr)[spectrum.argmax()])


@pytest.mark.parametrize("ext", ["wav", "flac"])
def test_save_load_round_trip_keeps_samples_and_rate(tmp_path, sine_wav, ext):
    wav, sr = sine_wav
    path = save_audio(tmp_path / f"x.{ext}", wav, sr)
    back, back_sr = load_audio(path)
    assert back_sr == sr and back.dtype == np.float32 and back.shape == wav.shape
    np.testing.assert_allclose(back, wav, atol=2 / 32768)  # PCM16 quantisation


def test_save_accepts_torch_and_channels_first(tmp_path, sine_wav):
    wav, sr = sine_wav
    stereo = torch.from_numpy(np.stack([wav, -wav]))
    back, _ = load_audio(save_audio(tmp_path / "s.wav", stereo, sr), mono=False)
    assert back.shape == (2, len(wav))
    np.testing.assert_allclose(back[1], -wav, atol=2 / 32768)


def test_save_clips_out_of_range_with_warning(tmp_path, caplog):
    with caplog.at_level("WARNING", logger="latentspeech.audio.io"):
        back, _ = load_audio(save_audio(tmp_path / "c.wav", np.full(1600, 1.5, np.float32), 16_000))
    assert back.max() <= 1.0 and "clipping" in caplog.text


def test_mono_mixdown_averages_channels(tmp_path):
    sr, t = 16_000, np.arange(16_000) / 16_000
    left, right = 0.4 * np.sin(2 * np.pi * 300 * t), 0.2 * np.sin(2 * np.pi * 700 * t)
    sf.write(tmp_path / "st.wav", np.stack([left, right], axis=1), sr, subtype="FLOAT")
    mono, _ = load_audio(tmp_path / "st.wav")
    assert mono.shape == (sr,)
    np.testing.assert_allclose(mono, (left + right) / 2, atol=1e-6)


@pytest.mark.parametrize("target_sr", [8_000, 24_000, 44_100])
def test_resampling_keeps_sine_frequency_and_duration(sine_wav, target_sr):
    wav, sr = sine_wav
    out = resample(wav, sr, target_sr)
    assert out.dtype == np.float32 and abs(len(out) - len(wav) * target_sr / sr) <= 1
    assert abs(_peak_hz(out, target_sr) - 440.0) < 2.0
    assert abs(np.abs(out[200:-200]).max() - 0.5) < 0.01  # amplitude kept


def test_load_resamples_and_channels_first_resample(tmp_path, sine_wav):
    wav, sr = sine_wav
    out, out_sr = load_audio(save_audio(tmp_path / "r.flac", wav, sr), sample_rate=24_000)
    assert out_sr == 24_000 and abs(_peak_hz(out, out_sr) - 440.0) < 2.0
    assert resample(np.stack([wav, wav]), sr, 8_000).shape == (2, len(wav) // 2)


def test_mp3_loads(tmp_path, sine_wav):
    wav, sr = sine_wav
    sf.write(tmp_path / "m.mp3", wav, sr)
    out, out_sr = load_audio(tmp_path / "m.mp3")
    assert out_sr == sr and abs(_peak_hz(out, sr) - 440.0) < 2.0


# --- bad inputs: one line naming the file and the fix -------------------------------------------------------

def _error(path, **kw) -> str:
    with pytest.raises(InputError) as e:
        load_audio(path, **kw)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_missing_file_error(tmp_path):
    assert "does not exist" in _error(tmp_path / "nope.wav")


def test_empty_file_error(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    assert "empty (0 bytes)" in _error(tmp_path / "empty.wav")


def test_corrupt_file_error(tmp_path):
    (tmp_path / "bad.wav").write_bytes(b"RIFF\x00\x01\x00\x00WAVEjunk" * 20)
    assert "cannot decode" in _error(tmp_path / "bad.wav")


def test_nan_samples_error(tmp_path):
    wav = np.zeros(1600, np.float32)
    wav[100] = np.nan
    sf.write(tmp_path / "nan.wav", wav, 16_000, subtype="FLOAT")
    assert "NaN/Inf" in _error(tmp_path / "nan.wav")


def test_silent_file_error_only_when_rejecting_silence(tmp_path):
    save_audio(tmp_path / "silent.wav", np.zeros(16_000, np.float32), 16_000)
    assert "silent" in _error(tmp_path / "silent.wav", reject_silent=True)
    wav, _ = load_audio(tmp_path / "silent.wav")  # scoring generated audio must still load it
    assert not wav.any()


def test_too_short_clip_error(tmp_path, sine_wav):
    wav, sr = sine_wav
    save_audio(tmp_path / "short.wav", wav[: sr // 2], sr)
    assert "0.50 s long; need at least 1.00 s" in _error(tmp_path / "short.wav", min_seconds=1.0)


def test_unsupported_output_extension_error(tmp_path, sine_wav):
    with pytest.raises(InputError, match=r"\.wav or \.flac"):
        save_audio(tmp_path / "x.xyz", *sine_wav)
