"""Offline synthetic corpus: speaker plan (zero-shot split, seeded consistent parameters), texts, and a tiny
espeak-ng corpus end to end (system test: needs the espeak-ng and sox binaries)."""

from __future__ import annotations

import os
import re
import shutil

import numpy as np
import pytest
import soundfile as sf

from latentspeech.audio.dsp import loudness
from latentspeech.cli import main
from latentspeech.data.corpora import synth_engines
from latentspeech.data.corpora.synth import (FAMILY_WEIGHT, SynthSpeaker, SynthUtterance, _render_chunk,
                                             plan_speakers, plan_utterances, read_speakers, select_voices)
from latentspeech.data.corpora.synth_engines import DEFAULT_TEST_VOICES, EXTRA_VOICES, VOICES, available_voices
from latentspeech.data.corpora.synth_text import make_phrases, make_sentences
from latentspeech.data.kaldi import DataDir, validate_data_dir
from latentspeech.errors import InputError

needs_espeak_sox = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="espeak-ng and sox binaries are not installed (apt-get install espeak-ng sox, or tools/install.sh --system)")


def _all_voices() -> dict[str, tuple]:
    """Every base voice as if installed, with its first engine."""
    return {v.name: (v, *v.engines[0]) for v in VOICES}


# --- plan (no binaries needed) ----------------------------------------------------------------------------


def test_full_plan_has_40_training_and_8_zero_shot_test_speakers():
    speakers = plan_speakers(_all_voices(), list(DEFAULT_TEST_VOICES))
    train = {s.base_voice for s in speakers if s.split == "train"}
    test = {s.base_voice for s in speakers if s.split == "test"}
    assert train.isdisjoint(test)
    assert sum(s.split == "train" for s in speakers) >= 40 and sum(s.split == "test" for s in speakers) >= 8


def test_one_voice_through_two_engines_is_one_base_voice():
    names = [v.name for v in VOICES]
    assert len(names) == len(set(names))
    engine_voices = [ev for v in VOICES for _, ev in v.engines]
    assert len(engine_voices) == len(set(engine_voices))
    slt = next(v for v in VOICES if v.name == "slt")
    assert {e for e, _ in slt.engines} == {"festival", "flite"}


def test_speaker_parameters_are_seeded_and_do_not_depend_on_other_voices():
    full = {s.speaker: s for s in plan_speakers(_all_voices(), ["rms"], seed=1)}
    some = plan_speakers({k: v for k, v in _all_voices().items() if k in ("awb", "rms")}, ["rms"], seed=1)
    assert all(full[s.speaker] == s for s in some)
    other = {s.speaker: s for s in plan_speakers(_all_voices(), ["rms"], seed=2)}
    assert full["awb-s1"].pitch_cents != other["awb-s1"].pitch_cents


def test_extra_voices_are_new_identities_and_opt_in():
    every = VOICES + EXTRA_VOICES
    assert len({v.name for v in every}) == len(every)
    assert len({ev for v in every for _, ev in v.engines}) == sum(len(v.engines) for v in every)
    assert all(v.family in FAMILY_WEIGHT for v in EXTRA_VOICES)
    assert not {v.name for v in EXTRA_VOICES} & set(DEFAULT_TEST_VOICES)
    installed = {v.name: (v, *v.engines[0]) for v in every}
    found, held = select_voices(installed)
    assert set(found) == {v.name for v in VOICES} and held == list(DEFAULT_TEST_VOICES)
    # installing the extra voices leaves the plan of a default corpus as it was
    assert plan_speakers(found, held) == plan_speakers(_all_voices(), list(DEFAULT_TEST_VOICES))
    assert set(select_voices(installed, extra_voices=True)[0]) == set(installed)
    found, held = select_voices(installed, voices="bdl,clb", test_only=True)
    assert list(found) == ["bdl", "clb"] and held == ["bdl", "clb"]
    with pytest.raises(InputError, match="pass voices, not test_voices"):
        select_voices(installed, voices="bdl,clb", test_voices="bdl", test_only=True)
    with pytest.raises(InputError, match="leave some for training"):
        select_voices(installed, voices="bdl", test_voices="bdl")
    with pytest.raises(InputError, match="not installed or unknown: nobody"):
        select_voices(installed, voices="bdl,nobody")


def test_available_voices_lists_rhvoice_voices_only_when_asked(monkeypatch):
    monkeypatch.setattr(synth_engines, "_installed_engine_voices", lambda: {"rhvoice": {"bdl", "clb"},
                                                                          "flite": {"rms"}})
    monkeypatch.setattr(synth_engines.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert set(available_voices()) == {"rms"}
    assert set(available_voices(extra=True)) == {"rms", "bdl", "clb"}
    assert available_voices(extra=True)["bdl"][1:] == ("rhvoice", "bdl")


def test_speakers_of_one_voice_are_far_apart_in_pitch():
    speakers = plan_speakers(_all_voices(), [], speakers_per_voice=3)
    for voice in VOICES:
        cents = sorted(s.pitch_cents for s in speakers if s.base_voice == voice.name)
        assert min(np.diff(cents)) >= 270 and max(abs(c) for c in cents) <= 440


def test_more_hours_only_adds_utterances_and_test_texts_are_unseen():
    speakers = plan_speakers({k: v for k, v in _all_voices().items() if k in ("awb", "kal", "rms")}, ["rms"])
    small = {u.utt: u for u in plan_utterances(speakers, hours=0.05)}
    big = {u.utt: u for u in plan_utterances(speakers, hours=0.1)}
    assert small.keys() < big.keys() and all(big[k] == u for k, u in small.items())
    train_texts = {u.text for u in big.values() if u.split != "test"}
    test_texts = {u.text for u in big.values() if u.split == "test"}
    assert test_texts and train_texts.isdisjoint(test_texts)
    assert all(u.utt.startswith(u.speaker + "_") for u in big.values())


def test_phrases_are_short_distinct_seeded_and_speakable():
    phrases = make_phrases(1500, seed=4)
    assert len(set(phrases)) == 1500 and phrases[:50] == make_phrases(50, seed=4)
    assert all(re.fullmatch(r"[A-Z][A-Za-z',.?! ]*[.?!]", t) for t in phrases)
    assert max(len(t.split()) for t in phrases) <= 6 and np.mean([len(t.split()) for t in phrases]) < 4
    with pytest.raises(ValueError, match="distinct"):
        make_phrases(100_000)


def test_short_phrases_are_interleaved_without_moving_the_sentences():
    """short_fraction only inserts phrases: the sentences keep their order, dev/test are untouched."""
    speakers = plan_speakers({k: v for k, v in _all_voices().items() if k in ("awb", "kal", "rms")}, ["rms"])
    plain = plan_utterances(speakers, hours=0.2, short_fraction=0.0)
    mixed = plan_utterances(speakers, hours=0.2, short_fraction=0.2)
    phrases = set(make_phrases(1500))
    for spk in {u.speaker for u in plain if u.split == "train"}:
        a = [u.text for u in plain if u.speaker == spk and u.split == "train"]
        b = [u.text for u in mixed if u.speaker == spk and u.split == "train"]
        sentences = [t for t in b if t not in phrases]
        assert sentences == a[:len(sentences)]
        assert 0.05 < (len(b) - len(sentences)) / len(b) < 0.5
    assert [u for u in plain if u.split != "train"] == [u for u in mixed if u.split != "train"]
    assert not any(u.text in phrases for u in plain)
    with pytest.raises(InputError, match="short_fraction"):
        plan_utterances(speakers, hours=0.2, short_fraction=1.0)


def test_sentences_are_distinct_seeded_and_speakable():
    texts = make_sentences(3000, seed=4)
    assert len(set(texts)) == 3000 and texts == make_sentences(3000, seed=4)
    assert texts[:100] == make_sentences(100, seed=4)
    assert all(re.fullmatch(r"[A-Z][A-Za-z',.?! ]*[.?!]", t) for t in texts)
    assert 8 <= np.mean([len(t.split()) for t in texts]) <= 16


# --- audio (system) ---------------------------------------------------------------------------------------


def _median_f0(wav: np.ndarray, sr: int) -> float:
    """Median autocorrelation F0 (60-400 Hz) over voiced 40 ms frames."""
    frame, hop, lo, hi = int(0.04 * sr), int(0.01 * sr), sr // 400, sr // 60
    f0 = []
    for start in range(0, len(wav) - frame, hop):
        x = wav[start:start + frame] - wav[start:start + frame].mean()
        if np.sqrt(np.mean(x ** 2)) < 0.02:
            continue
        ac = np.correlate(x, x, "full")[frame - 1:]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.6 * ac[0]:
            f0.append(sr / lag)
    return float(np.median(f0))


@pytest.mark.system
@needs_espeak_sox
def test_pitch_and_rate_follow_the_speaker_parameters(tmp_path):
    """Same speaker → same F0 on other texts; +400 cents → F0 × 1.26; rate 1.25 → duration ÷ 1.25."""
    def spk(name: str, cents: int, rate: float) -> SynthSpeaker:
        return SynthSpeaker(name, "train", "espeak-m1", "espeak", "m", "espeak", "en-us+m1", cents, rate)

    texts = make_sentences(2, seed=7)
    wavs = {}
    for s in (spk("a", 0, 1.0), spk("b", 400, 1.0), spk("c", 0, 1.25)):
        _render_chunk(s, [SynthUtterance(f"{s.speaker}_{i}", s.speaker, "train", t) for i, t in enumerate(texts)],
                      tmp_path, 16000)
        wavs[s.speaker] = [sf.read(tmp_path / s.speaker / f"{s.speaker}_{i}.wav")[0] for i in range(2)]
    f0 = {k: [_median_f0(w, 16000) for w in v] for k, v in wavs.items()}
    assert f0["a"][1] == pytest.approx(f0["a"][0], rel=0.1)
    assert f0["b"][0] / f0["a"][0] == pytest.approx(2 ** (400 / 1200), rel=0.06)
    speech = {k: [len(w) / 16000 - 0.2 for w in v] for k, v in wavs.items()}  # minus the 2 × 0.1 s margins
    assert speech["a"][0] / speech["c"][0] == pytest.approx(1.25, rel=0.06)


@pytest.mark.system
@needs_espeak_sox
def test_tiny_espeak_corpus_is_valid_zero_shot_and_resumable(tmp_path):
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    args = ["prepare-synth", "--corpus-dir", str(corpus), "--data-dir", str(data), "--hours", "0.02",
            "--voices", "espeak-m1,espeak-f2,espeak-m3,espeak-f3", "--test-voices", "espeak-m3",
            "--speakers-per-voice", "2", "--test-utts-per-speaker", "2", "--dev-utts-per-speaker", "1"]
    assert main(args) == 0
    sets = {name: DataDir.load(data / name) for name in ("train", "dev", "test")}
    for name in sets:
        assert validate_data_dir(data / name, strict=True) == []
    speakers = {s.speaker: s for s in read_speakers(corpus)}
    train_voices = {speakers[s].base_voice for s in sets["train"].speakers}
    assert {speakers[s].base_voice for s in sets["test"].speakers} == {"espeak-m3"}
    assert "espeak-m3" not in train_voices and len(train_voices) >= 2
    assert set(sets["dev"].speakers) <= set(sets["train"].speakers)
    utt = sets["test"].utt_ids[0]
    wav, sr = sf.read(sets["test"].wav_scp[utt], dtype="float32")
    assert sr == 16000 and wav.ndim == 1 and loudness(wav, sr) == pytest.approx(-23.0, abs=0.5)
    assert sets["test"].utt2dur[utt] == pytest.approx(len(wav) / sr, abs=1e-3)
    assert not list(corpus.rglob("*.part.wav"))

    mtimes = {p: p.stat().st_mtime_ns for p in corpus.rglob("*.wav")}
    assert main(args) == 0  # resume: nothing to re-render
    assert {p: p.stat().st_mtime_ns for p in corpus.rglob("*.wav")} == mtimes

    # a remake with another short-phrase share reuses every wav whose speaker and text it shares
    other = tmp_path / "other"
    remake = args[:2] + [str(other), "--data-dir", str(tmp_path / "data2")] + args[5:]
    assert main(remake + ["--short-fraction", "0.3", "--reuse-from", str(corpus)]) == 0
    new_sets = {name: DataDir.load(tmp_path / "data2" / name) for name in ("train", "dev", "test")}
    old_by_text = {(sets[n].utt2spk[u], sets[n].text[u]): sets[n].wav_scp[u] for n in sets for u in sets[n].utt_ids}
    linked = [(k, p) for n in new_sets for u, p in new_sets[n].wav_scp.items()
              if (k := (new_sets[n].utt2spk[u], new_sets[n].text[u])) in old_by_text]
    assert len(linked) >= len(sets["dev"].utt_ids) + len(sets["test"].utt_ids)
    assert all(os.path.samefile(p, old_by_text[k]) for k, p in linked)
    assert main(args + ["--reuse-from", str(tmp_path / "nowhere")]) == 1  # checked even with nothing to render


@pytest.mark.system
@needs_espeak_sox
def test_test_only_corpus_is_a_test_set_of_its_voices(tmp_path):
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    args = ["prepare-synth", "--corpus-dir", str(corpus), "--data-dir", str(data), "--voices", "espeak-m1,espeak-f2",
            "--test-only", "--speakers-per-voice", "1", "--test-utts-per-speaker", "2"]
    assert main(args) == 0
    assert [p.name for p in data.iterdir()] == ["test"]
    assert validate_data_dir(data / "test", strict=True) == []
    assert len(DataDir.load(data / "test").utt_ids) == 4
    speakers = read_speakers(corpus)
    assert {s.base_voice for s in speakers} == {"espeak-m1", "espeak-f2"} and {s.split for s in speakers} == {"test"}
    assert main(args + ["--test-voices", "espeak-m1"]) == 1


@pytest.mark.system
@pytest.mark.skipif(shutil.which("RHVoice-test") is None or shutil.which("sox") is None,
                    reason="RHVoice and sox are not installed (tools/install.sh --system)")
def test_rhvoice_voice_renders_as_a_corpus_speaker(tmp_path):
    spk = SynthSpeaker("bdl-s1", "test", "bdl", "natural", "m", "rhvoice", "bdl", 0, 1.0)
    _render_chunk(spk, [SynthUtterance("bdl-s1_t000", "bdl-s1", "test", "Please call Stella.")], tmp_path, 16000)
    wav, sr = sf.read(tmp_path / "bdl-s1" / "bdl-s1_t000.wav", dtype="float32")
    assert sr == 16000 and 0.8 < len(wav) / sr < 4.0 and loudness(wav, sr) == pytest.approx(-23.0, abs=0.5)
