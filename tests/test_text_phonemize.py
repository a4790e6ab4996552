"""Phonemization through espeak-ng: exact strings, punctuation and stress kept, batching, cache, njobs."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys

import pytest

import latentspeech.text.phonemize as phonemize_mod
from latentspeech.text import Phonemizer


@pytest.fixture(scope="module")
def phonemizer():
    return Phonemizer()


def test_uses_bundled_espeak_ng(phonemizer):
    assert phonemizer.library == "espeakng-loader" and phonemizer.espeak_version.startswith("1.52")


def test_known_sentence_exact(phonemizer):
    assert phonemizer(["Hello world, this is a test."]) == ["həlˈoʊ wˈɜːld, ðɪs ɪz ɐ tˈɛst."]


def test_normalisation_and_punctuation_kept(phonemizer):
    out = phonemizer(['Dr. Smith paid $5, right?', '"Quoted!" she said; yes: no...'])
    assert out == ["dˈɑːktɚ smˈɪθ pˈeɪd fˈaɪv dˈɑːlɚz, ɹˈaɪt?", '"kwˈoʊɾᵻd!" ʃiː sˈɛd; jˈɛs: nˈoʊ...']


def test_batch_alignment_with_empty_and_punctuation_only_texts(phonemizer):
    texts = ["", "Hello.", "!!!", "   ", "a (b) c", "Hello."]
    assert phonemizer(texts) == ["", "həlˈoʊ.", "!!!", "", "ˈeɪ, bˈiː, sˈiː", "həlˈoʊ."]


def test_cache_phonemizes_each_text_once(monkeypatch):
    calls = []
    real = phonemize_mod._phonemize_texts
    monkeypatch.setattr(phonemize_mod, "_phonemize_texts", lambda b, t, n: calls.append(list(t)) or real(b, t, n))
    p = Phonemizer()
    first = p(["one two", "three", "one two"])
    assert p(["three", "one two"]) == [first[1], first[0]]
    assert calls == [["one two", "three"]]
    calls.clear()
    off, tiny = Phonemizer(cache_size=0), Phonemizer(cache_size=1)
    assert off(["three", "one two", "three"]) == tiny(["three", "one two", "three"]) == [first[1], first[0], first[1]]
    assert calls == [["three", "one two"]] * 2 and off._cache == {} and list(tiny._cache) == ["one two"]


def test_single_string_is_rejected(phonemizer):
    with pytest.raises(TypeError, match="list of strings"):
        phonemizer("Hello")


def test_njobs_matches_single_process():
    texts = [f"Sentence number {i}, with words like rhythm and queue." for i in range(1200)]
    assert Phonemizer(njobs=2)(texts) == Phonemizer(njobs=1)(texts)


@pytest.mark.system
@pytest.mark.skipif(not ctypes.util.find_library("espeak-ng"), reason="no system espeak-ng")
def test_falls_back_to_system_espeak_without_loader():
    code = ("import sys; sys.modules['espeakng_loader'] = None\n"
            "from latentspeech.text import Phonemizer\n"
            "p = Phonemizer(); print(p.library, p(['Hello world.'])[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["system", "həlˈoʊ", "wˈɜːld."]


def test_pickled_phonemizer_keeps_bundled_library(phonemizer):
    import pickle

    clone = pickle.loads(pickle.dumps(phonemizer))
    assert clone.library == "espeakng-loader" and clone(["rhythm"]) == phonemizer(["rhythm"])


COMMON_SHORT_WORDS = ("A I IT IS IN ON AT TO OF OR AN AS BE BY DO GO HE ME MY NO SO UP US WE AM ARE YOU THE AND FOR "
                      "NOT BUT HIS HER HAS HAD WAS ONE ALL CAN OUT WHO HOW NOW NEW OLD OUR TWO WAY DAY GET SEE SAW "
                      "SAY OK HI OH YES SHE ITS LET PUT RUN MAN BOY DOG CAT SUN CAR BIG RED ANY TOO ASK TRY USE WHY")


def test_espeak_spells_only_it_and_us_among_common_words_in_capitals():
    """Why normalize_text's `_all_caps_words` handles exactly IT and US (77 common short words checked)."""
    words = COMMON_SHORT_WORDS.split()
    raw = Phonemizer(normalize=False)
    spelled = [w for w, up, lo in zip(words, raw(words), raw([w.lower() for w in words])) if up != lo]
    assert len(words) == 77 and spelled == ["IT", "US"]
    shouted = Phonemizer()(["IT IS OK, LET US GO."])[0]
    assert shouted == Phonemizer()(["it is OK, let us go."])[0]
