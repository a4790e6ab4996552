"""Kaldi data dirs: round trip, every planted defect caught by validate_data_dir, subsets and speaker splits."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from latentspeech.cli import main
from latentspeech.data.kaldi import (DataDir, check_data_dir, read_kaldi_file, split_by_speakers, subset_data_dir,
                                     validate_data_dir, write_kaldi_file)
from latentspeech.errors import DataDirError

SPEAKERS = {"spkA": 3, "spkB": 2, "spkC": 2}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A valid data dir: 7 utterances of 3 speakers, real 0.2 s wavs, utt2dur and spk2gender."""
    wav_dir = tmp_path / "wav"
    wav_dir.mkdir()
    wav_scp, text, utt2spk, utt2dur = {}, {}, {}, {}
    for spk, n in SPEAKERS.items():
        for i in range(n):
            utt = f"{spk}_{i:03d}"
            path = wav_dir / f"{utt}.wav"
            sf.write(path, np.zeros(3200, dtype=np.float32), 16000)
            wav_scp[utt], text[utt], utt2spk[utt], utt2dur[utt] = str(path), f"hello  world {i}", spk, 0.2
    d = tmp_path / "data"
    DataDir(wav_scp, text, utt2spk, utt2dur=utt2dur, spk2gender={s: "f" for s in SPEAKERS}).save(d)
    return d


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _only_problem(d: Path, needle: str) -> str:
    problems = validate_data_dir(d)
    assert len(problems) == 1, problems
    assert needle in problems[0], problems[0]
    return problems[0]


# --- read / write / round trip ----------------------------------------------------------------------------


def test_valid_data_dir_has_no_problems(data_dir):
    assert validate_data_dir(data_dir, strict=True) == []
    check_data_dir(data_dir)


def test_round_trip_keeps_every_file(data_dir, tmp_path):
    a = DataDir.load(data_dir)
    a.save(tmp_path / "copy")
    b = DataDir.load(tmp_path / "copy")
    assert a == b
    for name in ("wav.scp", "text", "utt2spk", "spk2utt", "utt2dur", "spk2gender"):
        assert (data_dir / name).read_text() == (tmp_path / "copy" / name).read_text()
    assert b.text["spkA_000"] == "hello  world 0"  # inner spacing of the value is kept
    assert b.spk2utt["spkB"] == ["spkB_000", "spkB_001"]
    assert b.utt_ids == sorted(b.utt2spk)


def test_write_kaldi_file_sorts_in_c_locale_and_leaves_no_tmp(tmp_path):
    path = write_kaldi_file(tmp_path / "f", {"b": "2", "B": "1", "a": ["x", "y"], "_": 0.5})
    assert _lines(path) == ["B 1", "_ 0.500", "a x y", "b 2"]  # byte order: upper < '_' < lower
    assert list(read_kaldi_file(path)) == ["B", "_", "a", "b"]
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_write_kaldi_file_survives_concurrent_writers_of_one_file(tmp_path):
    # the last two shards of a dump-latents job both write its index; a shared temp name made one of them
    # fail (FileNotFoundError on rename) when the other renamed first
    from concurrent.futures import ThreadPoolExecutor

    mapping = {f"u{i:04d}": f"latents/u{i:04d}.npy" for i in range(2000)}
    with ThreadPoolExecutor(4) as ex:
        for f in [ex.submit(write_kaldi_file, tmp_path / "latents.scp", mapping) for _ in range(40)]:
            f.result()
    assert read_kaldi_file(tmp_path / "latents.scp") == mapping
    assert [p.name for p in tmp_path.iterdir()] == ["latents.scp"]


def test_write_kaldi_file_leaves_no_tmp_on_a_bad_id(tmp_path):
    with pytest.raises(DataDirError, match="contains whitespace"):
        write_kaldi_file(tmp_path / "f", {"a b": "1"})
    assert list(tmp_path.iterdir()) == []


def test_read_kaldi_file_rejects_duplicates(tmp_path):
    (tmp_path / "f").write_text("a 1\na 2\n")
    with pytest.raises(DataDirError, match="duplicate id 'a'"):
        read_kaldi_file(tmp_path / "f")


# --- planted defects: one test each ---------------------------------------------------------------------


def test_missing_audio_file_is_reported(data_dir):
    Path(read_kaldi_file(data_dir / "wav.scp")["spkB_001"]).unlink()
    assert "'spkB_001'" in _only_problem(data_dir, "wav.scp: 1 audio files do not exist")


def test_utterance_without_text_is_reported(data_dir):
    (data_dir / "text").write_text("\n".join(_lines(data_dir / "text")[1:]) + "\n")
    assert "'spkA_000'" in _only_problem(data_dir, "1 utterances in utt2spk are missing from text")


def test_utterance_without_speaker_is_reported(data_dir):
    with open(data_dir / "text", "a") as f:
        f.write("spkC_999 an extra line\n")
    assert "'spkC_999'" in _only_problem(data_dir, "1 utterances in text are missing from utt2spk")


def test_unsorted_file_is_reported(data_dir):
    lines = _lines(data_dir / "utt2spk")
    lines[0], lines[1] = lines[1], lines[0]
    (data_dir / "utt2spk").write_text("\n".join(lines) + "\n")
    _only_problem(data_dir, "utt2spk: not sorted in C-locale order")


def test_case_insensitive_sort_is_not_c_locale(data_dir):
    """'a' < 'B' in a natural (en_US) sort but not in C-locale byte order (B=0x42 < a=0x61)."""
    (data_dir / "spk2gender").write_text("spkA f\nspka f\nspkB f\nspkC f\n")
    problems = validate_data_dir(data_dir)
    assert any("spk2gender: not sorted in C-locale order" in p and "'spkB' after 'spka'" in p for p in problems)


def test_duplicate_ids_are_reported(data_dir):
    lines = _lines(data_dir / "text")
    (data_dir / "text").write_text("\n".join(lines[:1] + lines) + "\n")
    assert "'spkA_000' (line 2)" in _only_problem(data_dir, "text: 1 duplicate ids")


def test_spk2utt_not_matching_utt2spk_is_reported(data_dir):
    lines = _lines(data_dir / "spk2utt")
    lines[1] = "spkB spkB_000"  # spkB_001 dropped
    (data_dir / "spk2utt").write_text("\n".join(lines) + "\n")
    assert "'spkB'" in _only_problem(data_dir, "spk2utt: does not match utt2spk for 1 speakers")


def test_empty_transcript_is_reported(data_dir):
    lines = _lines(data_dir / "text")
    lines[2] = lines[2].split()[0]
    (data_dir / "text").write_text("\n".join(lines) + "\n")
    assert "'spkA_002'" in _only_problem(data_dir, "text: 1 lines with empty transcript")


def test_speaker_not_prefix_of_utterance_is_a_warning(data_dir, caplog):
    utt2spk = read_kaldi_file(data_dir / "utt2spk")
    utt2spk["spkA_000"] = "zed"  # still sorted consistently, but 'zed' is not a prefix of 'spkA_000'
    data = DataDir.load(data_dir)
    data.utt2spk, data.spk2gender = utt2spk, None
    data.save(data_dir)
    with caplog.at_level(logging.WARNING):
        assert validate_data_dir(data_dir) == []
    assert "do not start with their speaker id: 'spkA_000'" in caplog.text
    problems = validate_data_dir(data_dir, strict=True)
    assert problems == [p for p in problems if p.startswith("warning: utt2spk: 1 utterance ids")]


@pytest.mark.parametrize("bad", ["-1.0", "0", "nan", "inf", "abc", ""])
def test_bad_utt2dur_values_are_reported(data_dir, bad):
    lines = _lines(data_dir / "utt2dur")
    lines[3] = f"{lines[3].split()[0]} {bad}".strip()
    (data_dir / "utt2dur").write_text("\n".join(lines) + "\n")
    problems = validate_data_dir(data_dir)
    what = "lines with no value" if not bad else "durations are not positive finite seconds"
    assert len(problems) == 1 and f"utt2dur: 1 {what}" in problems[0] and "spkB_000" in problems[0], problems


def test_missing_required_file_is_reported(data_dir):
    (data_dir / "spk2utt").unlink()
    _only_problem(data_dir, "spk2utt: missing")


def test_pipe_in_wav_scp_is_reported(data_dir):
    wav_scp = read_kaldi_file(data_dir / "wav.scp")
    wav_scp["spkA_001"] = "sox x.flac -t wav - |"
    write_kaldi_file(data_dir / "wav.scp", wav_scp)
    _only_problem(data_dir, "wav.scp: 1 entries are pipe commands")


def test_crlf_line_endings_are_reported(data_dir):
    (data_dir / "text").write_bytes((data_dir / "text").read_bytes().replace(b"\n", b"\r\n"))
    _only_problem(data_dir, "text: has Windows (CRLF) line endings")


def test_bad_gender_is_reported(data_dir):
    (data_dir / "spk2gender").write_text("spkA f\nspkB x\nspkC m\n")
    _only_problem(data_dir, "spk2gender: 1 genders are not 'm' or 'f'")


def test_segments_with_bad_times_or_unknown_recordings_are_reported(data_dir):
    utts = read_kaldi_file(data_dir / "utt2spk")
    segments = {u: f"rec1 {i * 0.1:.1f} {i * 0.1 + 0.1:.1f}" for i, u in enumerate(utts)}
    segments["spkA_001"] = "rec1 0.5 0.2"  # start > end
    segments["spkC_000"] = "rec9 0.0 0.1"  # unknown recording
    write_kaldi_file(data_dir / "segments", segments)
    write_kaldi_file(data_dir / "wav.scp", {"rec1": read_kaldi_file(data_dir / "wav.scp")["spkA_000"]})
    problems = validate_data_dir(data_dir)
    assert len(problems) == 2, problems
    assert "segments: 1 lines are not" in problems[0] and "'spkA_001'" in problems[0]
    assert "segments: 1 segments name recordings missing from wav.scp: 'spkC_000' → 'rec9'" in problems[1]


def test_every_problem_is_reported_at_once(data_dir):
    Path(read_kaldi_file(data_dir / "wav.scp")["spkC_001"]).unlink()
    (data_dir / "spk2utt").write_text("spkA spkA_000\n")
    (data_dir / "utt2dur").write_text("spkA_000 x\n")
    problems = validate_data_dir(data_dir)
    assert len(problems) == 4, problems  # missing audio, spk2utt mismatch, utt2dur ids, utt2dur value
    with pytest.raises(DataDirError, match=r"\(\+3 more; run `latentspeech validate-data"):
        check_data_dir(data_dir)


# --- subsets and speaker splits --------------------------------------------------------------------------


def test_subset_by_utterances_and_speakers(data_dir, tmp_path):
    sub = subset_data_dir(data_dir, tmp_path / "sub", utt_ids=["spkA_000", "spkA_001", "spkB_000"], speakers=["spkA"])
    assert sub.utt_ids == ["spkA_000", "spkA_001"]
    assert validate_data_dir(tmp_path / "sub", strict=True) == []
    assert DataDir.load(tmp_path / "sub").spk2gender == {"spkA": "f"}
    with pytest.raises(DataDirError, match="not in the data dir"):
        subset_data_dir(data_dir, tmp_path / "bad", utt_ids=["nope"])


def test_split_by_speakers_gives_disjoint_valid_sets(data_dir, tmp_path):
    train, test = split_by_speakers(data_dir, tmp_path / "tr", tmp_path / "te", num_test_speakers=1, seed=3)
    assert set(train.speakers).isdisjoint(test.speakers)
    assert set(train.utt_ids) | set(test.utt_ids) == set(DataDir.load(data_dir).utt_ids)
    assert validate_data_dir(tmp_path / "tr") == [] and validate_data_dir(tmp_path / "te") == []
    _, again = split_by_speakers(data_dir, tmp_path / "tr2", tmp_path / "te2", num_test_speakers=1, seed=3)
    assert again.speakers == test.speakers  # seeded
    _, named = split_by_speakers(data_dir, tmp_path / "tr3", tmp_path / "te3", test_speakers=["spkC"])
    assert named.speakers == ["spkC"]


# --- CLI -------------------------------------------------------------------------------------------------


def test_cli_validate_data_lists_problems_and_exits_1(data_dir, capsys):
    assert main(["validate-data", str(data_dir)]) == 0
    assert "ok (7 utterances, 3 speakers, 0.00 h)" in capsys.readouterr().out
    (data_dir / "spk2utt").unlink()
    assert main(["validate-data", str(data_dir)]) == 1
    out, err = capsys.readouterr()
    assert "spk2utt: missing" in out and "1 of 1 data dirs have problems" in err


def test_cli_prepare_rejects_unknown_corpus_option(tmp_path, capsys):
    assert main(["prepare", "synth", str(tmp_path / "c"), str(tmp_path / "d"), "--opt", "bogus=1"]) == 1
    assert "prepare_synth has no option 'bogus'" in capsys.readouterr().err


def test_relative_audio_paths_resolve_against_the_data_dir_or_the_working_dir(data_dir, tmp_path, monkeypatch):
    """Kaldi recipes write paths relative to the recipe dir; hand-made dirs often relative to themselves."""
    scp = read_kaldi_file(data_dir / "wav.scp")
    (data_dir / "audio").mkdir()
    for utt, path in list(scp.items())[:3]:  # relative to the data dir
        Path(path).rename(data_dir / "audio" / Path(path).name)
        scp[utt] = f"audio/{Path(path).name}"
    for utt, path in list(scp.items())[3:]:  # relative to the working dir
        scp[utt] = str(Path(path).relative_to(tmp_path))
    write_kaldi_file(data_dir / "wav.scp", scp)
    (data_dir / "utt2dur").unlink()
    monkeypatch.chdir(tmp_path)
    assert validate_data_dir(data_dir) == []
    script = Path(__file__).resolve().parents[1] / "recipes" / "tts1" / "utils" / "validate_data.py"
    subprocess.run([sys.executable, str(script), str(data_dir)], check=True, capture_output=True)
    assert set(read_kaldi_file(data_dir / "utt2dur").values()) == {"0.200"}
    # every reader resolves them alike: trainers and dumps, DataDir, eval lists
    from latentspeech.data.dump import read_wav_list
    from latentspeech.eval.make_list import _Utterances

    data, corpus = DataDir.load(data_dir), _Utterances(data_dir)
    for utt, path in read_wav_list(data_dir):
        assert Path(path).is_file() and Path(data.wav_path(utt)) == Path(path) == corpus.wav_path(utt)
    sub = subset_data_dir(data_dir, tmp_path / "elsewhere" / "sub", utt_ids=list(scp)[2:5])  # both kinds
    monkeypatch.chdir(data_dir.parent.parent)
    assert validate_data_dir(tmp_path / "elsewhere" / "sub") == []
    assert all(Path(p).is_absolute() for p in sub.wav_scp.values())
    assert "audio files do not exist" in validate_data_dir(data_dir)[0]  # neither: reported, not crashed


def test_speaker_ids_that_prefix_each_other_are_reported_as_kaldi_does(tmp_path):
    """LibriTTS-style '19_...' and '198_...': byte order puts 198_ first, sorting by speaker puts 19 first."""
    utts = {"198_1_0": "198", "19_1_0": "19"}
    (tmp_path / "a.wav").write_bytes(b"")
    DataDir(wav_scp={u: str(tmp_path / "a.wav") for u in utts}, text={u: "hi" for u in utts}, utt2spk=utts).save(
        tmp_path / "d")
    problems = validate_data_dir(tmp_path / "d", strict=True)
    assert any("utterance order differs from the speaker order (first at '198_1_0'" in p for p in problems)
    assert not any("speaker order" in p for p in validate_data_dir(tmp_path / "d"))  # a warning unless --strict
