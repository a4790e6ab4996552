"""Real-corpus preparers (LibriTTS, LJSpeech, VCTK) on small fake trees laid out like the real corpora."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from latentspeech.data.corpora.libritts import prepare_libritts
from latentspeech.data.corpora.ljspeech import prepare_ljspeech
from latentspeech.data.corpora.vctk import prepare_vctk
from latentspeech.data.kaldi import DataDir, check_data_dir, read_kaldi_file
from latentspeech.errors import InputError


def _wav(path: Path, sr: int = 16000, seconds: float = 0.1, fmt: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(sr * seconds)) / sr
    sf.write(path, (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sr, format=fmt)


# --- LibriTTS -------------------------------------------------------------------------------------------

# subset → speaker → chapter → number of utterances
_LIBRITTS = {
    "train-clean-100": {"19": {"198": 2}, "103": {"1240": 2}},
    "train-clean-360": {"100": {"121669": 1}},
    "dev-clean": {"84": {"121123": 2}},
    "test-clean": {"1089": {"134686": 2}, "121": {"121726": 1}},
}


def make_libritts(root: Path, layout=_LIBRITTS, tsv: bool = True) -> Path:
    """<root>/LibriTTS/<subset>/<spk>/<chapter>/<utt>.{wav,normalized.txt,original.txt} + <spk>_<chapter>.trans.tsv."""
    base = root / "LibriTTS"
    for subset, speakers in layout.items():
        for spk, chapters in speakers.items():
            for chapter, n in chapters.items():
                d = base / subset / spk / chapter
                rows = []
                for i in range(n):
                    utt = f"{spk}_{chapter}_{i:06d}_000000"
                    _wav(d / f"{utt}.wav", sr=24000)
                    original = f"Chapter {i + 1}: Mr. Smith's {spk}  dogs."
                    normalized = f"Chapter {['one', 'two', 'three'][i]}: Mister Smith's dogs."
                    (d / f"{utt}.original.txt").write_text(original)
                    (d / f"{utt}.normalized.txt").write_text(normalized)
                    rows.append(f"{utt}\t{original}\t{normalized}")
                if tsv:
                    (d / f"{spk}_{chapter}.trans.tsv").write_text("\n".join(rows) + "\n")
                (d / f"{spk}_{chapter}.book.tsv").write_text("")
    (base / "SPEAKERS.txt").write_text(";ID  |SEX| SUBSET |MINUTES| NAME\n")
    return root


def test_libritts_official_splits_and_disjoint_test_speakers(tmp_path):
    make_libritts(tmp_path / "corpus")
    dirs = prepare_libritts(tmp_path / "corpus", tmp_path / "data")
    assert set(dirs) == {"train", "dev", "test"}
    for d in dirs.values():
        check_data_dir(d)
    train, dev, test = (DataDir.load(dirs[k]) for k in ("train", "dev", "test"))
    assert sorted(train.speakers) == ["100", "103", "19"]          # train-clean-100 + train-clean-360
    assert dev.speakers == ["84"]
    assert sorted(test.speakers) == ["1089", "121"]
    assert not set(test.speakers) & set(train.speakers)
    assert len(train.utt_ids) == 5 and len(test.utt_ids) == 3
    utt = "1089_134686_000001_000000"
    assert test.text[utt] == "Chapter two: Mister Smith's dogs."   # normalized column by default
    assert test.utt2spk[utt] == "1089"
    assert Path(test.wav_scp[utt]).is_absolute() and Path(test.wav_scp[utt]).is_file()


def test_libritts_original_text_and_per_utterance_fallback(tmp_path):
    make_libritts(tmp_path / "corpus", {"train-clean-100": {"19": {"198": 2}}, "dev-clean": {"84": {"1": 1}},
                                        "test-clean": {"121": {"2": 1}}}, tsv=False)
    dirs = prepare_libritts(tmp_path / "corpus" / "LibriTTS", tmp_path / "data", train_subsets="train-clean-100",
                            text_kind="original")
    text = read_kaldi_file(dirs["train"] / "text")
    assert text["19_198_000000_000000"] == "Chapter 1: Mr. Smith's 19 dogs."   # whitespace collapsed


def test_libritts_wav_without_text_is_skipped_with_a_warning(tmp_path, caplog):
    root = make_libritts(tmp_path / "corpus")
    _wav(root / "LibriTTS/train-clean-100/19/198/19_198_000009_000000.wav")
    with caplog.at_level(logging.WARNING):
        dirs = prepare_libritts(root, tmp_path / "data")
    assert "19_198_000009_000000" not in read_kaldi_file(dirs["train"] / "wav.scp")
    assert "without normalized text" in caplog.text


def test_libritts_drops_test_speakers_seen_in_training(tmp_path, caplog):
    layout = {"train-clean-100": {"19": {"198": 1}}, "dev-clean": {"84": {"1": 1}},
              "test-clean": {"19": {"300": 1}, "121": {"2": 1}}}
    make_libritts(tmp_path / "corpus", layout)
    with caplog.at_level(logging.WARNING):
        dirs = prepare_libritts(tmp_path / "corpus", tmp_path / "data", train_subsets=["train-clean-100"])
    assert DataDir.load(dirs["test"]).speakers == ["121"]
    assert "zero-shot" in caplog.text


def test_libritts_missing_subset_names_it(tmp_path):
    make_libritts(tmp_path / "corpus", {"train-clean-100": {"19": {"198": 1}}})
    with pytest.raises(InputError, match="dev-clean"):
        prepare_libritts(tmp_path / "corpus", tmp_path / "data")


def test_libritts_missing_corpus_dir_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        prepare_libritts(tmp_path / "nope", tmp_path / "data")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="does not look like LibriTTS"):
        prepare_libritts(tmp_path / "empty", tmp_path / "data")


def test_libritts_is_idempotent(tmp_path):
    make_libritts(tmp_path / "corpus")
    prepare_libritts(tmp_path / "corpus", tmp_path / "data")
    first = {p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file()}
    prepare_libritts(tmp_path / "corpus", tmp_path / "data")
    second = {p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file()}
    assert first == second
    assert not list((tmp_path / "data").glob("*.tmp"))


# --- LJSpeech -------------------------------------------------------------------------------------------

def make_ljspeech(root: Path, n: int = 12, missing_wav: str | None = None) -> Path:
    """<root>/LJSpeech-1.1/{metadata.csv, wavs/LJ00C-NNNN.wav}; metadata 'id|raw|normalized', unquoted."""
    base = root / "LJSpeech-1.1"
    rows = []
    for i in range(n):
        utt = f"LJ00{1 + i // 5}-{i % 5 + 1:04d}"
        if utt != missing_wav:
            _wav(base / "wavs" / f"{utt}.wav", sr=22050)
        raw = f'"Printing," in {1800 + i}, the only sense'
        norm = "" if i == 0 else f'"Printing," in eighteen {i}, the only sense'
        rows.append(f"{utt}|{raw}|{norm}")
    (base / "metadata.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def test_ljspeech_split_takes_dev_and_test_from_the_end(tmp_path):
    make_ljspeech(tmp_path / "corpus")
    dirs = prepare_ljspeech(tmp_path / "corpus", tmp_path / "data", n_dev=2, n_test=3)
    ids = {k: DataDir.load(v).utt_ids for k, v in dirs.items()}
    assert ids["test"] == ["LJ002-0005", "LJ003-0001", "LJ003-0002"]   # the last 3 clips by id
    assert ids["dev"] == ["LJ002-0003", "LJ002-0004"]                  # the 2 before them
    assert len(ids["train"]) == 7 and ids["train"][0] == "LJ001-0001"
    train = DataDir.load(dirs["train"])
    assert set(train.utt2spk.values()) == {"LJ"}
    assert train.text["LJ001-0002"] == '"Printing," in eighteen 1, the only sense'
    assert train.text["LJ001-0001"] == '"Printing," in 1800, the only sense'   # empty normalized → raw
    for d in dirs.values():
        check_data_dir(d)


def test_ljspeech_raw_text_and_missing_wav(tmp_path, caplog):
    make_ljspeech(tmp_path / "corpus", missing_wav="LJ001-0003")
    with caplog.at_level(logging.WARNING):
        dirs = prepare_ljspeech(tmp_path / "corpus" / "LJSpeech-1.1", tmp_path / "data", n_dev=1, n_test=1,
                                text_kind="raw")
    text = read_kaldi_file(dirs["train"] / "text")
    assert "LJ001-0003" not in text and "skipped 1" in caplog.text
    assert text["LJ001-0002"] == '"Printing," in 1801, the only sense'


def test_ljspeech_too_few_clips_for_the_split(tmp_path):
    make_ljspeech(tmp_path / "corpus", n=4)
    with pytest.raises(InputError, match="usable clips"):
        prepare_ljspeech(tmp_path / "corpus", tmp_path / "data")


# --- VCTK -----------------------------------------------------------------------------------------------

def make_vctk(root: Path, speakers=("p225", "p226", "p227", "p228", "p229"), new: bool = True) -> Path:
    """0.92: VCTK-Corpus-0.92/wav48_silence_trimmed/<spk>/<spk>_NNN_mic{1,2}.flac + txt/<spk>/<spk>_NNN.txt
    (p315 and s5 without transcripts); 0.80: VCTK-Corpus/wav48/<spk>/<spk>_NNN.wav + txt/."""
    base = root / ("VCTK-Corpus-0.92" if new else "VCTK-Corpus")
    for spk in (*speakers, "p315", *(("s5",) if new else ())):
        for i in (1, 2):
            utt = f"{spk}_{i:03d}"
            if new:
                for mic in ("mic1", "mic2"):
                    _wav(base / "wav48_silence_trimmed" / spk / f"{utt}_{mic}.flac", sr=48000, fmt="FLAC")
            else:
                _wav(base / "wav48" / spk / f"{utt}.wav", sr=48000)
            if spk not in ("p315", "s5"):
                (base / "txt" / spk).mkdir(parents=True, exist_ok=True)
                (base / "txt" / spk / f"{utt}.txt").write_text(f"Please call Stella {spk}.\n")
    (base / "speaker-info.txt").write_text("ID  AGE  GENDER  ACCENTS  REGION COMMENTS\n")
    return root


def test_vctk_092_holds_out_speakers_and_drops_mic_suffix(tmp_path, caplog):
    make_vctk(tmp_path / "corpus")
    with caplog.at_level(logging.WARNING):
        dirs = prepare_vctk(tmp_path / "corpus", tmp_path / "data", test_speakers=["p225", "p226"],
                            dev_speakers="p227")
    train, dev, test = (DataDir.load(dirs[k]) for k in ("train", "dev", "test"))
    assert test.speakers == ["p225", "p226"] and dev.speakers == ["p227"]
    assert train.speakers == ["p228", "p229"]                     # p315, s5: no transcripts
    assert "p315" in caplog.text and "s5" in caplog.text
    assert test.utt_ids == ["p225_001", "p225_002", "p226_001", "p226_002"]
    assert test.wav_scp["p225_001"].endswith("wav48_silence_trimmed/p225/p225_001_mic1.flac")
    assert test.text["p225_001"] == "Please call Stella p225."
    for d in dirs.values():
        check_data_dir(d)


def test_vctk_092_mic2(tmp_path):
    make_vctk(tmp_path / "corpus")
    dirs = prepare_vctk(tmp_path / "corpus" / "VCTK-Corpus-0.92", tmp_path / "data", mic="mic2",
                        test_speakers="p225", dev_speakers="p226")
    assert read_kaldi_file(dirs["train"] / "wav.scp")["p228_002"].endswith("p228_002_mic2.flac")


def test_vctk_old_wav48_layout(tmp_path):
    make_vctk(tmp_path / "corpus", new=False)
    dirs = prepare_vctk(tmp_path / "corpus", tmp_path / "data", test_speakers="p229", dev_speakers="p228 p227")
    wav_scp = read_kaldi_file(dirs["test"] / "wav.scp")
    assert list(wav_scp) == ["p229_001", "p229_002"] and wav_scp["p229_001"].endswith("wav48/p229/p229_001.wav")
    assert DataDir.load(dirs["dev"]).speakers == ["p227", "p228"]


def test_vctk_default_test_speakers_must_exist(tmp_path):
    make_vctk(tmp_path / "corpus", speakers=("p228", "p229"))
    with pytest.raises(InputError, match="--test_speakers"):
        prepare_vctk(tmp_path / "corpus", tmp_path / "data")


def test_vctk_rejects_bad_options(tmp_path):
    make_vctk(tmp_path / "corpus")
    with pytest.raises(InputError, match="mic"):
        prepare_vctk(tmp_path / "corpus", tmp_path / "data", mic="mic3")
    with pytest.raises(InputError, match="both test and dev"):
        prepare_vctk(tmp_path / "corpus", tmp_path / "data", test_speakers="p225", dev_speakers="p225")


# --- the CLI and the recipes' local/data.sh on the fake trees -------------------------------------------

def test_cli_prepare_dispatches_with_string_options(tmp_path):
    from latentspeech.cli import main

    make_vctk(tmp_path / "corpus")
    rc = main(["prepare", "vctk", str(tmp_path / "corpus"), str(tmp_path / "data"),
               "--opt", "test_speakers=p225,p226", "--opt", "dev_speakers=p227", "--opt", "mic=mic2"])
    assert rc == 0
    assert DataDir.load(tmp_path / "data/test").speakers == ["p225", "p226"]
    assert main(["prepare", "ljspeech", str(tmp_path / "nope"), str(tmp_path / "data")]) == 1


@pytest.mark.parametrize("corpus, make, opts", [
    ("libritts", make_libritts, ["--train_subsets", "train-clean-100 train-clean-360"]),
    ("ljspeech", make_ljspeech, ["--n_dev", "2", "--n_test", "2"]),
    ("vctk", make_vctk, ["--test_speakers", "p225 p226", "--dev_speakers", "p227"]),
])
def test_recipe_local_data_sh_converts_a_local_corpus(tmp_path, corpus, make, opts):
    from helpers_recipes import make_recipe_dir, recipe_env, run

    make(tmp_path / "corpus")
    d = make_recipe_dir(tmp_path, corpus)
    r = run(["local/data.sh", "--download", "false", "--corpus_dir", str(tmp_path / "corpus"), *opts], d, recipe_env())
    assert r.returncode == 0, r.stderr
    for name in ("train", "dev", "test"):
        check_data_dir(d / "data" / name)
    assert "done:" in r.stderr
