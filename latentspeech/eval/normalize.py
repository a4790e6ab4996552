"""English text normaliser for WER: the same function is applied to the reference and the ASR hypothesis.

In the spirit of Whisper's `EnglishTextNormalizer` (Radford et al., 2022), written here, but numbers go the
other way — digits become words ("25" → "twenty five", "$3.50" → "three dollars fifty cents") — because our
references are TTS input text. Steps: unicode folding, bracketed asides and fillers removed, contractions
expanded, titles/abbreviations spelled out, numbers/currency/ordinals/percent to words, punctuation removed,
lower case, single spaces. Number words come from `latentspeech.text.normalize` (one implementation).
"""

from __future__ import annotations

import re
import unicodedata

from latentspeech.text.normalize import normalize_text, number_to_words, ordinal_to_words, year_to_words

__all__ = ["normalize_english"]


# Titles and common abbreviations (Whisper's `EnglishTextNormalizer` list, plus a few).
_ABBREVIATIONS = {
    "mr": "mister", "mrs": "missus", "ms": "miss", "dr": "doctor", "prof": "professor", "st": "saint",
    "jr": "junior", "sr": "senior", "esq": "esquire", "capt": "captain", "col": "colonel", "gen": "general",
    "gov": "governor", "lt": "lieutenant", "sgt": "sergeant", "rev": "reverend", "hon": "honorable",
    "sen": "senator", "rep": "representative", "pres": "president", "asst": "assistant", "mt": "mount",
    "vs": "versus", "etc": "et cetera", "approx": "approximately", "dept": "department", "no": None,
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
_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
             "€": ("euro", "euros", "cent", "cents")}
# Word-level map applied last (lower case, no punctuation): undotted titles, a few British spellings.
_WORDS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint", "prof": "professor", "vs": "versus",
          "colour": "color", "favourite": "favorite", "centre": "center", "theatre": "theater", "grey": "gray",
          "behaviour": "behavior", "honour": "honor", "labour": "labor", "neighbour": "neighbor",
          "realise": "realize", "organise": "organize", "okay": "ok", "etc": "et cetera"}


def _year_or_number(digits: str) -> str:
    """Four-digit numbers 1100–2099 read as years ("nineteen ninety"); else a cardinal."""
    n = int(digits)
    return year_to_words(n) if len(digits) == 4 and 1100 <= n <= 2099 else number_to_words(n)


def _digits(s: str) -> str:
    return " ".join(number_to_words(int(c)) for c in s)


def _money(m: re.Match) -> str:
    unit, units, sub, subs = _CURRENCY[m.group(1)]
    whole = int((m.group(2) or "0").replace(",", ""))
    frac = m.group(3)
    scale = m.group(4)
    if scale:  # "$3.5 million" → "three point five million dollars"
        amount = number_to_words(whole) + (" point " + _digits(frac) if frac else "")
        return f" {amount} {scale.lower()} {units} "
    parts = [f"{number_to_words(whole)} {unit if whole == 1 else units}"] if whole or not frac else []
    if frac:
        cents = int((frac + "0")[:2])
        if cents:
            parts.append(f"{number_to_words(cents)} {sub if cents == 1 else subs}")
    return " " + " ".join(parts or [f"zero {units}"]) + " "


def _time(m: re.Match) -> str:
    """3:30 → "three thirty", 3:05 → "three oh five", 3:00 → "three"."""
    hours, minutes = number_to_words(int(m.group(1))), int(m.group(2))
    if minutes == 0:
        return f" {hours} "
    return f" {hours} {'oh ' if minutes < 10 else ''}{number_to_words(minutes)} "


def _numbers(text: str) -> str:
    text = re.sub(r"([$£€])\s?(\d[\d,]*)?(?:\.(\d+))?(?:\s?(million|billion|thousand|trillion)\b)?",
                  lambda m: _money(m) if (m.group(2) or m.group(3)) else m.group(0), text, flags=re.I)
    text = re.sub(r"(\d+(?:\.\d+)?)\s?%", r"\1 percent", text)
    text = re.sub(r"\b(\d{1,2}):(\d{2})(?!\d)", _time, text)  # also "3:00pm"
    text = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: ordinal_to_words(int(m.group(1))), text, flags=re.I)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000 → 1000
    text = re.sub(r"(?<![\w.])-(?=\d)", " minus ", text)
    text = re.sub(r"\b(\d+)\.(\d+)\b", lambda m: f"{number_to_words(int(m.group(1)))} point {_digits(m.group(2))}",
                  text)
    text = re.sub(r"\b(\d+)s\b", lambda m: _plural_number(_year_or_number(m.group(1))), text)  # 1990s
    return re.sub(r"\d+", lambda m: f" {_year_or_number(m.group(0))} ", text)


def _plural_number(words: str) -> str:
    last = words.split()[-1]
    plural = last[:-1] + "ies" if last.endswith("y") else last + ("es" if last.endswith("x") else "s")
    return " ".join(words.split()[:-1] + [plural])


def _abbreviations(text: str) -> str:
    def expand(m: re.Match) -> str:
        word = m.group(1)
        full = _ABBREVIATIONS.get(word.lower())
        if word.lower() == "no":  # "No. 5" → "number 5" only before a digit
            return "number " if m.group(2) else m.group(0)
        return full + " " if full else m.group(0)

    return re.sub(r"\b([A-Za-z]+)\.(\s*(?=\d))?", expand, text)


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
    text = _numbers(text)
    text = text.lower()
    text = re.sub(r"&", " and ", text)
    for pattern, repl in _CONTRACTIONS:
        text = re.sub(pattern, repl, text)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = re.sub(r"[^\w\s']|_", " ", text)  # punctuation, hyphens, symbols → space
    text = text.replace("'", "")  # possessives and leftover apostrophes: "john's" ≡ "johns"
    text = _FILLERS.sub(" ", text)
    return " ".join(_WORDS.get(w, w) for w in text.split())
