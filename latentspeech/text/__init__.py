"""Text front end: English normalisation → IPA phonemes (espeak-ng) → character-level phoneme ids."""

from latentspeech.text.normalize import normalize_text
from latentspeech.text.phonemize import Phonemizer
from latentspeech.text.vocab import PhonemeVocab, text_to_ids

__all__ = ["normalize_text", "Phonemizer", "PhonemeVocab", "text_to_ids"]
