"""English text normalisation for TTS: numbers and symbols → words, abbreviations, quotes, dashes, whitespace.

`normalize_text` runs before phonemization so that espeak-ng sees words it can pronounce and the punctuation
set the phoneme vocabulary knows (`, . ; : ! ? "` and apostrophes inside words). Numbers are read in
American English: cardinals ("105" → "one hundred five"), ordinals ("21st"), years ("1984" → "nineteen
eighty-four"), decades ("1990s"), decimals ("3.14" → "three point one four"), currency ("$5.50"),
percentages, clock times ("3:30") and signs ("-4" → "minus four").
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize_text", "number_to_words", "ordinal_to_words", "year_to_words"]

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
_ORDINAL_IRREGULAR = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                      "nine": "ninth", "twelve": "twelfth"}
_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
             "€": ("euro", "euros", "cent", "cents"), "¥": ("yen", "yen", "sen", "sen")}

# Titles come before a name: the period is never a sentence end, so it is dropped.
_TITLES = {"mr": "mister", "mrs": "missus", "ms": "miz", "prof": "professor", "gen": "general",
           "gov": "governor", "lt": "lieutenant", "col": "colonel", "capt": "captain", "sgt": "sergeant",
           "rev": "reverend", "hon": "honorable", "sen": "senator", "rep": "representative", "mt": "mount",
           "ft": "fort", "messrs": "messieurs"}
# Other abbreviations may end a sentence: the period is kept when nothing but punctuation follows.
_ABBREVIATIONS = {"jr": "junior", "sr": "senior", "vs": "versus", "etc": "et cetera", "inc": "incorporated",
                  "ltd": "limited", "co": "company", "corp": "corporation", "dept": "department",
                  "approx": "approximately", "ave": "avenue", "blvd": "boulevard", "rd": "road", "vol": "volume",
                  "fig": "figure", "e.g": "for example", "i.e": "that is",
                  "a.m": "AM", "p.m": "PM"}  # espeak says "AM" eɪɛm; "a m" was read ɐ ɛm


def number_to_words(n: int) -> str:
    """Cardinal in American English words: 1105 → "one thousand one hundred five" (no "and")."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {number_to_words(rest)}" if rest else "")
    if n >= 10**15:  # no one says these: read digit by digit
        return " ".join(_ONES[int(d)] for d in str(n))
    for scale, name in _SCALES:
        if n >= scale:
            head, rest = divmod(n, scale)
            return f"{number_to_words(head)} {name}" + (f" {number_to_words(rest)}" if rest else "")
    raise AssertionError("unreachable")


def ordinal_to_words(n: int) -> str:
    """21 → "twenty-first", 100 → "one hundredth"."""
    words = number_to_words(n)
    head, last = re.match(r"(.*?)([a-z]+)$", words).groups()
    if last in _ORDINAL_IRREGULAR:
        return head + _ORDINAL_IRREGULAR[last]
    return head + (last[:-1] + "ieth" if last.endswith("y") else last + "th")


def year_to_words(year: int) -> str:
    """Years read in pairs: 1984 → "nineteen eighty-four", 1905 → "nineteen oh five", 2005 → "two thousand five"."""
    if not 1000 <= year <= 2999 or year % 1000 == 0 or 2001 <= year <= 2009:
        return number_to_words(year)
    head, tail = divmod(year, 100)
    if tail == 0:
        return f"{number_to_words(head)} hundred"
    return f"{number_to_words(head)} " + (f"oh {_ONES[tail]}" if tail < 10 else number_to_words(tail))


def _plural(words: str) -> str:
    """"nineteen ninety" → "nineteen nineties", "six" → "sixes"."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    return words + ("es" if words.endswith(("x", "s")) else "s")


def _digits(s: str) -> str:
    return " ".join(_ONES[int(d)] for d in s)


def _currency(m: re.Match) -> str:
    one, many, sub_one, sub_many = _CURRENCY[m.group(1)]
    whole, frac, scale = m.group(2), m.group(3), m.group(4)
    if scale:  # "$1.5 million" → "one point five million dollars"
        return f"{_decimal_words(whole, frac)} {scale.lower()} {many}"
    units, cents = int(whole or 0), int((frac or "0")[:2].ljust(2, "0"))
    parts = []
    if units or not cents:
        parts.append(f"{number_to_words(units)} {one if units == 1 else many}")
    if cents:
        parts.append(f"{number_to_words(cents)} {sub_one if cents == 1 else sub_many}")
    return " and ".join(parts)


def _decimal_words(whole: str, frac: str | None) -> str:
    return number_to_words(int(whole or 0)) + (f" point {_digits(frac)}" if frac else "")


def _time(m: re.Match) -> str:
    """"3:30" → "three thirty"; "3:00" (and "3:00 o'clock") → "three o'clock", but "three" before am/pm."""
    hours, minutes = int(m.group(1)), int(m.group(2))
    if minutes == 0:
        return number_to_words(hours) + (" " if m.group(4) else " o'clock")
    return (f"{number_to_words(hours)} " + (f"oh {_ONES[minutes]}" if minutes < 10 else number_to_words(minutes))
            + (" " if m.group(4) else ""))


def _integer(s: str) -> str:
    """Digits → words; 1100-2099 read as years, leading zeros digit by digit."""
    if len(s) > 1 and s.startswith("0"):  # "007", zip codes
        return _digits(s)
    n = int(s)
    return year_to_words(n) if 1100 <= n <= 2099 else number_to_words(n)


def _normalize_numbers(text: str) -> str:
    if not any(c.isdigit() for c in text):
        return text
    text = re.sub(r"(?<=\d)\s*([ap])m\b", lambda m: f" {m.group(1).upper()}M", text, flags=re.I)  # 3pm → 3 PM
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000,000 → 1000000
    text = re.sub(r"#\s?(?=\d)", "number ", text)
    text = re.sub(r"\b[Nn]o\.\s?(?=\d)", "number ", text)
    text = re.sub(r"([$£€¥])\s?(\d+|(?=\.\d))(?:\.(\d+))?(?:\s(million|billion|trillion|thousand)\b)?", _currency,
                  text, flags=re.IGNORECASE)  # "$.50" too
    text = re.sub(r"(\d+)(?:\.(\d+))?\s?%", lambda m: _decimal_words(m.group(1), m.group(2)) + " percent", text)
    text = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: ordinal_to_words(int(m.group(1))), text, flags=re.I)
    text = re.sub(r"'(\d\d)s\b", lambda m: _plural(number_to_words(int(m.group(1)))), text)  # '90s
    text = re.sub(r"\b(\d+)s\b", lambda m: _plural(_integer(m.group(1))), text)  # 1990s
    text = re.sub(r"\b(\d{1,2}):(\d\d)(?!\d)(\s*o'clock\b)?(?=( [AP]M\b)?)", _time, text)
    text = re.sub(r"(?<=\d)\s?–\s?(?=\d)", " to ", text)  # en dash range: 1990–1995
    text = re.sub(r"(?<![\w.])-(?=\d)", "minus ", text)
    text = re.sub(r"\b(\d+)\.(\d+)\b", lambda m: _decimal_words(m.group(1), m.group(2)), text)
    text = re.sub(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])", " ", text)  # "A4" → "A 4", "10kg" → "10 kg"
    text = re.sub(r"(?<=\d)-(?=\d)", " ", text)  # 555-1234
    return re.sub(r"\d+", lambda m: _integer(m.group(0)), text)


# Words that begin sentences far more often than they follow "Baker St." as part of a name.
_SENTENCE_STARTERS = frozenset("""
    a an the he she it i we you they this that these those there then but and so or yet his her its our their my
    your after before when while later now in on at as if some all no yes what where why how who one it's i'm
    we're they're he's she's there's let let's please today tomorrow yesterday soon meanwhile however
""".split())


def _expand_abbreviations(text: str) -> str:
    if "." not in text:
        return text

    def title(m: re.Match) -> str:
        return _TITLES[m.group(1).lower()]

    text = re.sub(r"\b(" + "|".join(_TITLES) + r")\.(?=\s)", title, text, flags=re.IGNORECASE)

    # Dr./St. are Doctor/Saint before a capitalised name ("St. Paul", "to Dr. Who", "Pope St. John"), else
    # Drive/Street after a word ("Main St. is", "on Baker St. He left": after a name inside a sentence, a capital
    # word that usually starts sentences starts a new one).
    def dr_st(m: re.Match) -> str:
        before, word, after = m.group(1), m.group(2).lower(), m.group(3)
        next_word = re.match(r"\s+([A-Z][\w']*)", m.string[m.start(3):])
        after_name = bool(before) and before[0].isupper() and not re.search(r"(^|[.!?][\"')\]]*)\s*$",
                                                                              m.string[: m.start()])
        new_sentence = after_name and next_word is not None and next_word.group(1).lower() in _SENTENCE_STARTERS
        is_title = not before or (next_word is not None and not new_sentence)
        next_capital = next_word is not None
        expanded = {"dr": ("doctor", "drive"), "st": ("saint", "street")}[word][0 if is_title else 1]
        sentence_end = not is_title and (m.end() == len(m.string) or next_capital)
        return (before or "") + expanded + ("." if sentence_end else "") + after

    text = re.sub(r"(\b\w+\s+)?\b(dr|st)\.(\s+\S|\s*$|\s*(?=[,;:!?\"]))", dr_st, text, flags=re.IGNORECASE)

    def other(m: re.Match) -> str:
        word = _ABBREVIATIONS[m.group(1).lower()]
        return word + ("." if m.group(2) is not None else "")

    keys = "|".join(re.escape(k) for k in sorted(_ABBREVIATIONS, key=len, reverse=True))
    return re.sub(r"(?<![\w.])(" + keys + r")\.(\s*$)?", other, text, flags=re.IGNORECASE)


_CHAR_MAP = str.maketrans({
    "“": '"', "”": '"', "„": '"', "‟": '"', "«": '"', "»": '"', "″": '"',
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'",
    "…": "...", "&": " and ", "+": " plus ", "@": " at ", "=": " equals ",
    "(": ", ", ")": ", ", "[": ", ", "]": ", ", "{": ", ", "}": ", ",
    "¡": "", "¿": "", "/": " ", "\\": " ", "*": " ", "_": " ", "~": " ", "^": " ", "|": " ", "<": " ",
    ">": " ",
})


def _all_caps_words(text: str) -> str:
    """Text typed in capitals: the two common words espeak-ng spells as letters read as words ("IT" → it, "US" →
    us, but "THE US" stays the country); mixed-case text keeps its acronyms ("the IT department")."""
    if any(c.islower() for c in text) or len(re.findall(r"\b[A-Z]{2,}\b", text)) < 3:
        return text
    return re.sub(r"(?<!THE )\bUS\b", "us", re.sub(r"\bIT\b", "it", text))


def normalize_text(text: str) -> str:
    """Raw English text → speakable text: numbers and symbols as words, abbreviations expanded, quotes and
    dashes unified, whitespace collapsed. Letters keep their case (but see `_all_caps_words`); returns "" for
    text with nothing in it."""
    text = unicodedata.normalize("NFKC", text)
    text = _all_caps_words(re.sub(r"\s+", " ", text))
    text = text.translate({ord("—"): "–", ord("―"): "–"})
    text = _normalize_numbers(_expand_abbreviations(text.translate(_CHAR_MAP)))
    text = re.sub(r"\s*(–|--+|\s-\s)\s*", ", ", text)  # dashes between phrases read as a pause
    text = re.sub(r"[^\w\s'\-,.;:!?\"]", " ", text)  # any other symbol is not spoken
    text = re.sub(r"(?<!\w)-+|-+(?!\w)", " ", text)  # stray hyphens
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)  # no space before punctuation
    text = re.sub(r",+\s*(?=[,.;:!?])", "", text)  # ", ." → "."
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"^[,;:]\s*", "", text)
