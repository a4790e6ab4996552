"""English WER normaliser: the same text in reference and ASR styles normalises to the same words."""

from __future__ import annotations

import pytest

from latentspeech.eval.normalize import normalize_english


@pytest.mark.parametrize("text, expected", [
    ("Hello, World!", "hello world"),
    ("  spaced\tout\n text ", "spaced out text"),
    ("Mr. Smith met Dr. Jones at St. Paul's.", "mister smith met doctor jones at saint pauls"),
    ("Mrs Brown vs. Prof Green", "missus brown versus professor green"),
    ("I won't, can't, didn't; we're, they'll, I've, I'm, let's",
     "i will not can not did not we are they will i have i am let us"),
    ("It's late; it's been long; John's hat", "it is late it has been long johns hat"),
    ("25 apples and 1,000 pears", "twenty five apples and one thousand pears"),
    ("In 1990, 2005 and 2023.", "in nineteen ninety two thousand five and twenty twenty three"),
    ("the 1st, 2nd, 3rd, 21st and 100th", "the first second third twenty first and one hundredth"),
    ("$3.50 and $1 and £20", "three dollars and fifty cents and one dollar and twenty pounds"),  # as the TTS reads
    ("$5 million", "five million dollars"),
    ("It costs $.50", "it costs fifty cents"),
    ("At 3:00pm or 12:30pm", "at three pm or twelve thirty pm"),
    ("50% of 3.14", "fifty percent of three point one four"),
    ("at 3:05 or 10:30", "at three oh five or ten thirty"),
    ("No. 7 said no.", "number seven said no"),
    ("the U.S.A. and rock & roll", "the usa and rock and roll"),
    ("well-known co-op", "well known co op"),
    ("[laughs] uh, um, okay (inaudible)", "ok"),
    ("Café naïve colour", "cafe naive color"),
    ("‘Quoted’ “words”", "quoted words"),
    ("-4 degrees", "minus four degrees"),
    ("the 1990s", "the nineteen nineties"),
    ("", ""),
])
def test_normalize_english_cases(text, expected):
    assert normalize_english(text) == expected


@pytest.mark.parametrize("n, words", [
    (0, "zero"), (13, "thirteen"), (40, "forty"), (101, "one hundred one"), (999, "nine hundred ninety nine"),
    (1000, "one thousand"), (1_000_001, "one million one"), (-12, "minus twelve"), (1999, "nineteen ninety nine"),
    (2_345_678, "two million three hundred forty five thousand six hundred seventy eight"),
])
def test_bare_numbers_become_unhyphenated_words(n, words):
    # number words come from latentspeech.text.normalize; the WER normaliser drops their hyphens
    assert normalize_english(str(n)) == words


@pytest.mark.parametrize("reference, hypothesis", [
    ("Mr. Smith paid 25 dollars.", "Mister Smith paid twenty-five dollars"),
    ("It is 10 o'clock, isn't it?", "it is ten o'clock is not it"),
    ("The colour grey", "The color gray."),
    ("Dr. Who's in the 21st century", "doctor who is in the twenty first century"),
    # the TTS front end's reading (what the TTS says) is the reference's
    ("He lives on Baker St. near the park.", "He lives on Baker Street near the park."),
    ("Fruit, e.g. apples, i.e. food.", "Fruit, for example, apples, that is, food."),
    ("Agent 007 and Acme Inc. arrived.", "Agent zero zero seven and Acme Incorporated arrived."),
    ("Meet me at 3:00.", "Meet me at 3 o'clock."),
    ("It costs $3.50.", "It costs three dollars and fifty cents."),
    ("Come at 5pm.", "Come at 5 p.m."),
])
def test_reference_and_asr_styles_agree(reference, hypothesis):
    assert normalize_english(reference) == normalize_english(hypothesis)


def test_normalize_is_idempotent():
    text = "Mr. O'Neil's 3rd bid: $2.75 (final), won't he?"
    once = normalize_english(text)
    assert normalize_english(once) == once
