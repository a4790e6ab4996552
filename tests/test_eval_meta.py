"""Meta lists: round trip, parse errors with line numbers, list building from a kaldi data dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers_eval import tone_data_dir
from latentspeech.errors import InputError
from latentspeech.eval.asr import WordTiming
from latentspeech.eval.make_list import build_continuation, build_cross_sentence, find_cut
from latentspeech.eval.meta import MetaEntry, read_meta, write_meta


def test_meta_round_trip_with_relative_paths(tmp_path):
    (tmp_path / "wavs").mkdir()
    entries = [MetaEntry("u1", "Prompt one.", tmp_path / "wavs" / "p1.wav", "Target one."),
               MetaEntry("u2", "", tmp_path / "wavs" / "p2.wav", "Target, two!", tmp_path / "wavs" / "g2.wav")]
    path = write_meta(tmp_path / "lists" / "meta.lst", entries)
    assert path.read_text().splitlines()[0] == "u1|Prompt one.|../wavs/p1.wav|Target one."
    back = read_meta(path)
    assert back == entries


@pytest.mark.parametrize("lines, message", [
    (["u1|p|a.wav|t", "u2|p|a.wav"], r"meta.lst:2: expected 4"),
    (["u1|p|a.wav|t", "", "u1|p|b.wav|t2"], r"meta.lst:3: duplicate utterance id 'u1' \(first on line 1\)"),
    (["u 1|p|a.wav|t"], r"meta.lst:1: utterance id"),
    (["u1|p|a.wav|"], r"meta.lst:1: empty text"),
    (["u1|p|a.wav|Choose A | B or C."], r"meta.lst:1: ground-truth wav 'B or C.' of 'u1' is not an audio file name"),
    (["u1|p | q|a.wav|t"], r"meta.lst:1: prompt_wav 'q' of 'u1' is not an audio file name"),
    ([], r"has no entries"),
])
def test_meta_parse_errors_name_the_line(tmp_path, lines, message):
    path = tmp_path / "meta.lst"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=message):
        read_meta(path)


def test_missing_meta_and_unwritable_text_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_meta(tmp_path / "nope.lst")
    with pytest.raises(InputError, match=r"contains '\|'"):
        write_meta(tmp_path / "m.lst", [MetaEntry("u", "p", tmp_path / "a.wav", "a|b")])


def _words(spec):
    return [WordTiming(w, s, e) for w, s, e in spec]


def test_find_cut_picks_an_agreed_word_boundary_near_the_target():
    ref = "Well, Mr. Smith bought 25 red apples today.".split()
    asr = _words([("Well", 0.0, 0.4), ("mister", 0.6, 1.0), ("Smith", 1.0, 1.5), ("bought", 1.6, 2.0),
                  ("twenty", 2.1, 2.5), ("five", 2.5, 2.9), ("read", 3.1, 3.4), ("apples", 3.5, 4.0),
                  ("today.", 4.1, 4.6)])
    n_ref, end, nxt = find_cut(ref, asr, prompt_seconds=3.0)
    # after "25" (= "twenty five", ends 2.9 s); "red"/"read" disagree, so there is no cut after it
    assert (n_ref, end, nxt) == (5, 2.9, 3.1)
    assert find_cut(ref, asr, prompt_seconds=10.0)[0] == 7  # never the last word: something must remain
    assert find_cut(ref, asr, prompt_seconds=10.0, max_prompt_seconds=3.0)[:2] == (5, 2.9)  # the last one by 3 s
    assert find_cut(ref, asr, prompt_seconds=3.0, max_prompt_seconds=0.9) is None  # only "Well" ends by 0.9 s: < min
    assert find_cut(ref, _words([("no", 0.0, 1.0), ("match", 1.2, 2.0)]), 3.0) is None


@pytest.fixture
def kaldi_dir(tmp_path):
    return tone_data_dir(tmp_path)


def test_cross_sentence_prompts_come_from_the_same_speaker_and_are_seeded(kaldi_dir):
    a = build_cross_sentence(kaldi_dir, prompt_seconds=3.0, seed=0)
    assert [e.utt for e in a] == ["s1_a", "s1_b", "s1_c", "s2_a", "s2_b"]
    for e in a:
        prompt_utt = Path(e.prompt_wav).stem
        assert prompt_utt != e.utt and prompt_utt[:2] == e.utt[:2]
        assert e.prompt_text == f"words of {prompt_utt.replace('_', ' ')} here"
        assert Path(e.gt_wav).stem == e.utt
    assert a == build_cross_sentence(kaldi_dir, prompt_seconds=3.0, seed=0)
    subset = build_cross_sentence(kaldi_dir, seed=1, max_utts=2)
    assert len(subset) == 2 and subset == build_cross_sentence(kaldi_dir, seed=1, max_utts=2)


def test_cross_sentence_prompts_stay_within_max_prompt_seconds(kaldi_dir, caplog):
    # s1: 2, 3, 5 s; s2: 1, 3 s. At most 2.5 s: s1_a and s2_a have no prompt left and are skipped.
    entries = build_cross_sentence(kaldi_dir, prompt_seconds=2.0, max_prompt_seconds=2.5)
    assert {e.utt: Path(e.prompt_wav).stem for e in entries} == {"s1_b": "s1_a", "s1_c": "s1_a", "s2_b": "s2_a"}
    assert "2 utterances skipped" in caplog.text and "s1_a s2_a" in caplog.text
    # the default limit (6 s) keeps every prompt the unlimited list picks here (the 5 s one is allowed)
    assert build_cross_sentence(kaldi_dir, seed=2) == build_cross_sentence(kaldi_dir, seed=2, max_prompt_seconds=0)
    with pytest.raises(InputError, match="prompt_seconds 4 exceeds max_prompt_seconds 3"):
        build_cross_sentence(kaldi_dir, prompt_seconds=4.0, max_prompt_seconds=3.0)
    with pytest.raises(InputError, match="must be >= 0"):
        build_cross_sentence(kaldi_dir, max_prompt_seconds=-1.0)


def test_continuation_cuts_prompt_and_remainder_at_the_word_boundary(kaldi_dir, tmp_path):
    class TimedASR:
        name = "timed"

        def transcribe_words(self, wav, sr):  # every utterance "words of sX Y here", one word per second
            return _words([("words", 0.0, 0.9), ("of", 1.0, 1.9), ("s1", 2.0, 2.9), ("c", 3.0, 3.9),
                           ("here", 4.0, 4.9)])

    import soundfile as sf

    entries = build_continuation(kaldi_dir, TimedASR(), tmp_path / "cuts", prompt_seconds=3.0)
    assert [e.utt for e in entries] == ["s1_c"]  # the only one ≥ prompt + 1 s
    e = entries[0]
    assert (e.prompt_text, e.text) == ("words of s1", "c here")
    prompt_s = sf.info(str(e.prompt_wav)).duration
    assert 2.85 <= prompt_s <= 3.05
    assert prompt_s + sf.info(str(e.gt_wav)).duration == pytest.approx(5.0, abs=1e-3)
