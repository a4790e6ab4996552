"""`latentspeech phonemize`, in-process: --text to stdout, --data → OUT/text + vocab.yaml, errors."""

from __future__ import annotations

import pytest

from latentspeech.cli import main
from latentspeech.text import PhonemeVocab


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "text").write_text("utt2 Dr. Smith paid $5.\nutt1 Hello there, world!\nutt3 ...\nutt4 so it goes\n",
                            encoding="utf-8")
    return d


def test_phonemize_text_prints_phonemes(capsys):
    assert main(["phonemize", "--text", "Hello there.", "--ids"]) == 0
    phonemes, ids = capsys.readouterr().out.splitlines()
    assert phonemes == "həlˈoʊ ðˈɛɹ."
    assert PhonemeVocab.default().decode([int(i) for i in ids.split()]) == phonemes


def test_phonemize_data_dir_writes_text_and_vocab(data_dir, tmp_path, caplog):
    out = tmp_path / "dump" / "phn"
    assert main(["phonemize", "--data", str(data_dir), "--out", str(out)]) == 0
    assert (out / "text").read_text(encoding="utf-8").splitlines() == [
        "utt1 həlˈoʊ ðˈɛɹ, wˈɜːld!", "utt2 dˈɑːktɚ smˈɪθ pˈeɪd fˈaɪv dˈɑːlɚz.", "utt4 sˌoʊ ɪt ɡˈoʊz."]
    assert PhonemeVocab.load(out / "vocab.yaml") == PhonemeVocab.default()
    assert "utt3" in caplog.text  # skipped: nothing to speak
    assert "1 transcript(s) without a final . ! ? end with '.'" in caplog.text  # utt4, as at inference


def test_missing_data_dir_exits_1_with_one_line(tmp_path, capsys):
    assert main(["phonemize", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("latentspeech phonemize: error: ") and "text' does not exist" in err[-1]


def test_unspeakable_text_exits_1(capsys):
    assert main(["phonemize", "--text", "?!"]) == 1
    assert "nothing to speak" in capsys.readouterr().err


def test_data_without_out_is_a_usage_error(data_dir):
    with pytest.raises(SystemExit) as e:
        main(["phonemize", "--data", str(data_dir)])
    assert e.value.code == 2
