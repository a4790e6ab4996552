"""latentspeech.data.perturb / `latentspeech perturb-tempo`: tempo-perturbed copies of a data dir, pitch kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from latentspeech.cli import main
from latentspeech.data.kaldi import DataDir, validate_data_dir
from latentspeech.errors import InputError

SR = 16_000


def _data_dir(root: Path, n: int = 6) -> Path:
    """Two speakers of 200 Hz tones, 1 s each, audio named relative to the dir."""
    (root / "wav").mkdir(parents=True)
    tone = (0.3 * np.sin(2 * np.pi * 200 * np.arange(SR) / SR)).astype(np.float32)
    utts = [f"spk{i % 2}_{i}" for i in range(n)]
    for u in utts:
        sf.write(root / "wav" / f"{u}.wav", tone, SR)
    DataDir(wav_scp={u: f"wav/{u}.wav" for u in utts}, text={u: f"text of {u}" for u in utts},
            utt2spk={u: u.split("_")[0] for u in utts}).save(root)
    return root


def test_copies_are_slower_keep_pitch_text_and_make_a_valid_dir(tmp_path):
    src = _data_dir(tmp_path / "src")
    assert main(["perturb-tempo", str(src), "--out", str(tmp_path / "slow"), "--factor", "0.8", "--every", "2"]) == 0
    assert validate_data_dir(tmp_path / "slow", strict=True) == []  # speaker ids prefix utterance ids
    new = DataDir.load(tmp_path / "slow")
    original = DataDir.load(src)
    assert new.utt_ids == [f"tempo0.8-{u}" for u in original.utt_ids[1::2]]
    for u in new.utt_ids:
        orig = u.removeprefix("tempo0.8-")
        assert new.text[u] == original.text[orig] and new.utt2spk[u] == "tempo0.8-" + original.utt2spk[orig]
        wav, sr = sf.read(new.wav_scp[u], dtype="float32")
        assert sr == SR and len(wav) == round(SR / 0.8) and new.utt2dur[u] == pytest.approx(1 / 0.8, abs=1e-3)
        spec = np.abs(np.fft.rfft(wav * np.hanning(len(wav))))
        assert np.argmax(spec) * SR / len(wav) == pytest.approx(200, abs=3)  # pitch kept, not resampled


def test_copies_keep_their_speakers_genders_and_combine_with_the_source(tmp_path):
    src = _data_dir(tmp_path / "src")
    data = DataDir.load(src)
    data.spk2gender = {"spk0": "f", "spk1": "m"}
    data.save(src)
    assert main(["perturb-tempo", str(src), "--out", str(tmp_path / "slow"), "--factor", "0.8", "--every", "3"]) == 0
    assert DataDir.load(tmp_path / "slow").spk2gender == {"tempo0.8-spk0": "f", "tempo0.8-spk1": "m"}
    assert main(["combine-data", str(src), str(tmp_path / "slow"), "--out", str(tmp_path / "union")]) == 0
    assert validate_data_dir(tmp_path / "union", strict=True) == []


def test_faster_copies_in_parallel_match_serial_ones(tmp_path):
    from latentspeech.data.perturb import perturb_tempo

    src = _data_dir(tmp_path / "src")
    serial = perturb_tempo(src, tmp_path / "a", 1.25)
    parallel = perturb_tempo(src, tmp_path / "b", 1.25, nj=2)
    assert serial.utt_ids == parallel.utt_ids and len(serial.utt_ids) == 6
    for u in serial.utt_ids:
        a, b = sf.read(serial.wav_scp[u])[0], sf.read(parallel.wav_scp[u])[0]
        assert len(a) == round(SR / 1.25) and np.array_equal(a, b)


def test_bad_arguments_are_one_line_errors(tmp_path):
    from latentspeech.data.perturb import perturb_tempo

    src = _data_dir(tmp_path / "src", n=2)
    with pytest.raises(InputError, match="tempo factor must be > 0 and not 1"):
        perturb_tempo(src, tmp_path / "x", 1.0)
    with pytest.raises(InputError, match="--every must be ≥ 1"):
        perturb_tempo(src, tmp_path / "x", 0.8, every=0)
    with pytest.raises(Exception, match="does not exist|missing"):
        perturb_tempo(tmp_path / "nowhere", tmp_path / "x", 0.8)


def test_a_segments_dir_is_copied_one_file_per_segment(tmp_path):
    """Each copy is its segment's span at the new tempo, not the whole recording."""
    src = tmp_path / "src"
    src.mkdir()
    tone = (0.3 * np.sin(2 * np.pi * 200 * np.arange(2 * SR) / SR)).astype(np.float32)
    sf.write(src / "rec.wav", tone, SR)
    DataDir(wav_scp={"rec": "rec.wav"}, text={"s_a": "one", "s_b": "two"}, utt2spk={"s_a": "s", "s_b": "s"},
            segments={"s_a": ("rec", 0.0, 0.5), "s_b": ("rec", 0.5, 2.0)}).save(src)
    new = DataDir.load(tmp_path / "fast") if main(["perturb-tempo", str(src), "--out", str(tmp_path / "fast"),
                                                   "--factor", "1.25"]) == 0 else None
    assert new is not None and new.segments is None and validate_data_dir(tmp_path / "fast", strict=True) == []
    assert new.utt2dur == pytest.approx({"tempo1.25-s_a": 0.4, "tempo1.25-s_b": 1.2}, abs=0.02)


def test_copies_are_never_written_over_their_source(tmp_path):
    from latentspeech.data.perturb import perturb_tempo

    src = _data_dir(tmp_path / "src")
    before = (src / "wav.scp").read_text()
    with pytest.raises(InputError, match="is the source data dir"):
        perturb_tempo(src, src / ".." / "src", 0.9)
    assert (src / "wav.scp").read_text() == before
