"""Phoneme vocabulary: fixed default table, round trips, unknown symbols, text_to_ids errors."""

from __future__ import annotations

import logging

import pytest

from latentspeech.errors import InputError
from latentspeech.text import Phonemizer, PhonemeVocab, text_to_ids
from latentspeech.text.vocab import PAD, UNK

VARIED = [
    "The quick brown fox jumps over the lazy dog; isn't it?",
    "She sells seashells by the seashore: \"really!\"",
    "Judge Jenkins measured the azure vision of Xavier's thirteenth birthday.",
    "On 4th July 1976, Dr. Smith paid $12.50 for 3.5 kg of bread...",
    "Rhythm, choir, colonel, Wednesday, queue, psychology, photosynthesis, genre, bouquet, cañon.",
    "Hmm, uh-huh, the NASA and FBI staff at 10:45 a.m. said OK.",
]


@pytest.fixture(scope="module")
def phonemizer():
    return Phonemizer()


def test_default_table_is_fixed():
    v = PhonemeVocab.default()
    assert v.version == "en-us-espeak-1" and len(v) == 72
    assert v.symbols[:3] == ["<pad>", "<unk>", " "] and v.pad_id == 0 and v.unk_id == 1
    assert all(s in v for s in "ˈˌːəɚᵻɾʔ,.?!")


def test_default_covers_varied_english(phonemizer):
    vocab = PhonemeVocab.default()
    for phonemes in phonemizer(VARIED):
        assert vocab.unk_id not in vocab.encode(phonemes), phonemes


def test_encode_decode_round_trip(phonemizer):
    vocab = PhonemeVocab.default()
    phonemes = phonemizer(VARIED[:2])[0]
    assert vocab.decode(vocab.encode(phonemes)) == phonemes
    assert vocab.decode([0, 0] + vocab.encode("ab") + [0]) == "ab"


def test_dict_and_yaml_round_trip(tmp_path):
    vocab = PhonemeVocab.default()
    assert PhonemeVocab.from_dict(vocab.to_dict()) == vocab
    assert PhonemeVocab.load(vocab.save(tmp_path / "vocab.yaml")) == vocab


def test_unknown_symbol_maps_to_unk_with_one_warning_each(caplog):
    vocab = PhonemeVocab.default()
    with caplog.at_level(logging.WARNING, logger="latentspeech.text.vocab"):
        ids = vocab.encode("aʁbʁ") + vocab.encode("ʁ1")
    assert ids == [vocab.encode("a")[0], 1, vocab.encode("b")[0], 1, 1, 1]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and "'ʁ'" in messages[0] and "'1'" in messages[1]


def test_malformed_vocab_dicts_are_input_errors(tmp_path):
    for bad in ({}, {"symbols": ["a", "b"]}, {"symbols": ["<pad>", "<unk>", "a", "a"]},
                {"symbols": ["<pad>", "<unk>", "ab"]}):
        with pytest.raises(InputError):
            PhonemeVocab.from_dict(bad)
    with pytest.raises(InputError, match="does not exist"):
        PhonemeVocab.load(tmp_path / "none.yaml")


def test_text_to_ids(phonemizer):
    vocab = PhonemeVocab.default()
    ids = text_to_ids("Hello world.", vocab, phonemizer)
    assert vocab.decode(ids) == "həlˈoʊ wˈɜːld."


@pytest.mark.parametrize("text, phrase", [("", "text is empty"), ("  \n ", "text is empty"),
                                          ("?!...", "nothing to speak"), ('"" -- ;', "nothing to speak")])
def test_unspeakable_text_errors(phonemizer, text, phrase):
    with pytest.raises(InputError) as e:
        text_to_ids(text, PhonemeVocab.default(), phonemizer)
    assert phrase in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("phonemes, ended", [
    ("hɛloʊ.", "hɛloʊ."), ("hɛloʊ?", "hɛloʊ?"), ("hɛloʊ!", "hɛloʊ!"), ("hɛloʊ…", "hɛloʊ…"),
    ("hɛloʊ", "hɛloʊ."), ("hɛloʊ,", "hɛloʊ."), ("wʌn; tuː:", "wʌn; tuː."), ("hɛloʊ ", "hɛloʊ. "),
    ('sɛd "ɡoʊ."', 'sɛd "ɡoʊ."'), ('sɛd "ɡoʊ"', 'sɛd "ɡoʊ."'), ("", ""), ('"', '"'),
])
def test_end_sentence_ends_with_a_sentence_mark(phonemes, ended):
    vocab = PhonemeVocab.default()
    assert vocab.decode(vocab.end_sentence(vocab.encode(phonemes))) == ended


def test_end_sentence_leaves_ids_alone_without_a_period_in_the_table():
    vocab = PhonemeVocab([PAD, UNK, "a", ","], version="no-period")
    assert vocab.end_sentence([2, 3]) == [2, 3]
