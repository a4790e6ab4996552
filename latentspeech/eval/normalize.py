"""English text normaliser for WER: the same function is applied to the reference and the ASR hypothesis.

In the spirit of Whisper's `EnglishTextNormalizer` (Radford et al., 2022), written here, but numbers go the
other way — digits become words ("25" → "twenty five", "$3.50" → "three dollars and fifty cents") — because our
references are TTS input text. Steps: unicode folding, bracketed asides removed, the TTS front end's reading
(`latentspeech.text.normalize_text`: numbers, currency, ordinals, times, percent and abbreviations as the TTS
says them; no digit survives it), titles/abbreviations it leaves spelled out, contractions expanded, fillers and
punctuation removed, lower case, single spaces.
"""

from __future__ import annotations

import re
import unicodedata

from latentspeech.text.normalize import normalize_text

__all__ = ["normalize_english"]


# Titles and common abbreviations (Whisper's `EnglishTextNormalizer` list, plus a few).
_ABBREVIATIONS = {
    "mr": "mister", "mrs": "missus", "ms": "miss", "dr": "doctor", "prof": "professor", "st": "saint",
    "jr": "junior", "sr": "senior", "esq": "esquire", "capt": "captain", "col": "colonel", "gen": "general",
    "gov": "governor", "lt": "lieutenant", "sgt": "sergeant", "rev": "reverend", "hon": "honorable",
    "sen": "senator", "rep": "representative", "pres": "president", "asst": "assistant", "mt": "mount",
    "vs": "versus", "etc": "et cetera", "approx": "approximately", "dept": "department",
}
_CONTRACTIONS = (
    (r"\bwon't\b", "will not"), (r"\bcan't\b", "can not"), (r"\bcannot\b", "can not"), (r"\bshan't\b", "shall not"),
    (r"\bain't\b", "is not"), (r"\blet's\b", "let us"), (r"\by'all\b", "you all"), (r"\bma'am\b", "madam"),
    (r"'d\s+(been|better)\b", r" had \1"), (r"'s\s+been\b", " has been"),
    (r"\b(it|that|there|here|what|where|who|he|she|how)'s\b", r"\1 is"),  # possessive "'s" stays (then dropped)
    (r"'d\b", " would"), (r"n't\b", " not"), (r"'re\b", " are"), (r"'ll\b", " will"), (r"'ve\b", " have"),
    (r"'m\b", " am"),
    (r"\bgonna\b", "going to"), (r"\bwanna\b", "want to"), (r"\bgotta\b", "got to"),
)
_FILLERS = re.compile(r"\b(uh+|um+|hmm+|mm+|mhm|ah|er|erm)\b")
# Word-level map applied last (lower case, no punctuation): undotted titles, a few British spellings.
_WORDS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint", "prof": "professor", "vs": "versus",
          "colour": "color", "favourite": "favorite", "centre": "center", "theatre": "theater", "grey": "gray",
          "behaviour": "behavior", "honour": "honor", "labour": "labor", "neighbour": "neighbor",
          "realise": "realize", "organise": "organize", "okay": "ok", "etc": "et cetera"}


def _abbreviations(text: str) -> str:
    def expand(m: re.Match) -> str:
        full = _ABBREVIATIONS.get(m.group(1).lower())
        return full + " " if full else m.group(0)

    return re.sub(r"\b([A-Za-z]+)\.", expand, text)  # "No. 5" is the front end's: no digit is left here


def normalize_english(text: str) -> str:
    """Text for WER/CER: "Mr. Smith's 2nd car, won't it?" → "mister smiths second car will not it".

    The TTS front end's reading (`latentspeech.text.normalize_text`) comes first, so that a reference is read as
    the TTS was told to read it ("Baker St." → street, "007" → zero zero seven, "e.g." → for example, "3:00" →
    three o'clock), and a transcript that writes those words as digits or abbreviations reads the same way."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'")
    text = re.sub(r"[\[(<{][^\])>}]*[\])>}]", " ", text)  # bracketed asides: [laughs], (inaudible)
    text = normalize_text(text)
    text = re.sub(r"\b(?:[A-Za-z]\.){2,}", lambda m: m.group(0).replace(".", "") + " ", text)  # U.S.A. → USA
    text = _abbreviations(text)
    text = text.lower()
    for pattern, repl in _CONTRACTIONS:
        text = re.sub(pattern, repl, text)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = re.sub(r"[^\w\s']|_", " ", text)  # punctuation, hyphens, symbols → space
    text = text.replace("'", "")  # possessives and leftover apostrophes: "john's" ≡ "johns"
    text = _FILLERS.sub(" ", text)
    return " ".join(_WORDS.get(w, w) for w in text.split())
