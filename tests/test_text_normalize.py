"""English normalisation: numbers, currency, abbreviations, punctuation, quotes and whitespace."""

from __future__ import annotations

import pytest

from latentspeech.text.normalize import normalize_text, number_to_words, ordinal_to_words, year_to_words


@pytest.mark.parametrize("n, words", [
    (0, "zero"), (13, "thirteen"), (42, "forty-two"), (105, "one hundred five"),
    (1_000_000, "one million"), (2_345_678, "two million three hundred forty-five thousand six hundred seventy-eight"),
    (-7, "minus seven"),
])
def test_cardinals(n, words):
    assert number_to_words(n) == words


@pytest.mark.parametrize("n, words", [(1, "first"), (2, "second"), (3, "third"), (12, "twelfth"),
                                      (21, "twenty-first"), (40, "fortieth"), (100, "one hundredth")])
def test_ordinals(n, words):
    assert ordinal_to_words(n) == words


@pytest.mark.parametrize("year, words", [(1984, "nineteen eighty-four"), (1905, "nineteen oh five"),
                                         (1900, "nineteen hundred"), (2000, "two thousand"),
                                         (2005, "two thousand five"), (2024, "twenty twenty-four")])
def test_years(year, words):
    assert year_to_words(year) == words


@pytest.mark.parametrize("text, expected", [
    ("I have 3 cats.", "I have three cats."),
    ("It was 1,250,000 dollars.", "It was one million two hundred fifty thousand dollars."),
    ("Born in 1984, she left in 2005.", "Born in nineteen eighty-four, she left in two thousand five."),
    ("Pi is 3.14.", "Pi is three point one four."),
    ("It costs $5.50!", "It costs five dollars and fifty cents!"),
    ("Only $1 or £2 or €0.05", "Only one dollar or two pounds or five cents"),
    ("A $2.5 billion deal", "A two point five billion dollars deal"),
    ("The 21st century, the 3rd time.", "The twenty-first century, the third time."),
    ("Growth of 7% in the 1990s.", "Growth of seven percent in the nineteen nineties."),
    ("Meet at 3:30 or 4:00.", "Meet at three thirty or four o'clock."),
    ("At 3:00 o'clock, 3:00pm, 12:30 p.m. or 5am.", "At three o'clock, three PM, twelve thirty PM or five AM."),
    ("It was -5 outside.", "It was minus five outside."),
    ("Agent 007, room #12.", "Agent zero zero seven, room number twelve."),
])
def test_numbers(text, expected):
    assert normalize_text(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("Mr. Smith met Mrs. Jones.", "mister Smith met missus Jones."),
    ("Dr. Who lives on Baker St.", "doctor Who lives on Baker street."),
    ("St. Louis is on Main St., far away.", "saint Louis is on Main street, far away."),
    ("We met on Oak Dr. Then he prayed to St. Paul.", "We met on Oak drive. Then he prayed to saint Paul."),
    ("He lives on Baker St. He is nice. Visit St. Paul.", "He lives on Baker street. He is nice. Visit saint Paul."),
    ("Pope St. John Paul spoke to Mary Dr. Smith.", "Pope saint John Paul spoke to Mary doctor Smith."),
    ("Go to Mulholland Dr. The view is nice.", "Go to Mulholland drive. The view is nice."),
    ("Apples, pears, etc.", "Apples, pears, et cetera."),
    ("Bring food, e.g. bread.", "Bring food, for example bread."),
    ("Smith vs. Jones", "Smith versus Jones"),
])
def test_abbreviations(text, expected):
    assert normalize_text(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("“Hello,” she said…", '"Hello," she said...'),
    ("It’s fine — really?!", "It's fine, really?!"),
    ("  lots \t of\n\nspace  ", "lots of space"),
    ("Salt & pepper (fresh) here.", "Salt and pepper, fresh, here."),
    ("word , word .", "word, word."),
    ("*** ~~~", ""),
])
def test_punctuation_quotes_whitespace(text, expected):
    assert normalize_text(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("IT IS OK, LET US GO TO THE US.", "it IS OK, LET us GO TO THE US."),   # espeak spells IT and US: I.T., U.S.
    ("The IT team met us in the US.", "The IT team met us in the US."),      # mixed case keeps its acronyms
    ("IT WORKS", "IT WORKS"),                                               # too little to tell shouting
])
def test_text_in_capitals_reads_it_and_us_as_words(text, expected):
    assert normalize_text(text) == expected
