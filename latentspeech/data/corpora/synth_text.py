"""Seeded generator of varied, grammatical English sentences for the synthetic corpus.

Harvard-sentence-like material (statements, questions, exclamations, commands, compound clauses,
numbers written as words) from a small template grammar; all words are plain dictionary English, so
every text engine reads them the same way and the transcript is exactly what was spoken (no digits,
abbreviations or symbols). `make_phrases` adds short utterances (answers, greetings, calls, noun phrases) so an
LM also learns how long "Yes." lasts. Written for LatentSpeech; public domain.
"""

from __future__ import annotations

import random

__all__ = ["SHORT_FRACTION", "make_phrases", "make_sentences"]

SHORT_FRACTION = 0.1  # share of a corpus's training utterances that are short phrases (0 before 2026-11-26)

NAMES = ("Anna Ben Clara David Emma Frank Grace Henry Irene Jack Kate Leo Maria Nathan Olivia Peter Rosa Samuel "
         "Tina Victor Wendy Zoe Arthur Beatrice Charlotte Daniel Eleanor George Harriet Isaac Julia Lucy Martin "
         "Nora Oscar Paul Ruth Simon Thomas Walter Agnes Felix Hugo Ivy Jasper Mabel Rupert Sophie Edith").split()
AGENTS = ("farmer teacher doctor sailor baker driver painter student soldier nurse pilot gardener fisherman clerk "
          "judge captain musician tailor carpenter shepherd mayor waiter librarian neighbor stranger boy girl "
          "child woman man guard miner cook singer porter").split()
ANIMALS = "dog cat horse fox bird goat rabbit owl cow mouse duck pig bear deer donkey squirrel".split()
RELATIVES = "brother sister mother father uncle aunt cousin grandmother grandfather friend".split()
OBJECTS = ("box basket letter lamp chair rope bottle key book hat cup stone brush plate ticket candle blanket jar "
           "map ring pencil drum bell wheel shoe coin glove kettle ladder bucket spoon bag clock mirror umbrella "
           "parcel sack shell trunk violin envelope helmet jacket saddle lantern suitcase crate barrel scarf vase "
           "tray knife hammer bench wagon net flag").split()
ADJECTIVES = ("old small heavy bright dark green red blue yellow wooden broken shiny narrow empty wet warm cold "
              "strange quiet golden dusty tiny huge smooth rough plain soft sharp round square clean dirty new "
              "torn thick thin silver crooked orange purple brown pale striped leather woolen ancient").split()
AGENT_ADJECTIVES = ("old young tall short tired cheerful clever busy quiet patient nervous kind proud lonely "
                    "friendly brave sleepy").split()
STATES = ("heavy empty broken clean wet warm cold new old dusty sharp smooth soft full light cheap expensive "
          "rusty sticky dry").split()
FEELINGS = "tired hungry happy busy late quiet calm careful nervous ready angry afraid glad curious cheerful".split()
PLACES = ("kitchen garden barn river station market library church bridge forest harbor field hill village school "
          "hall shop cellar attic porch road beach lake valley square tower mill yard park hospital bakery "
          "museum stable theater factory orchard meadow").split()
PREPS = ("near|behind|beside|across|past|toward|outside|in front of|at the back of|along|around|"
         "not far from|on the far side of").split("|")
# (base, past, past participle)
VERBS = [tuple(v.split("/")) for v in (
    "carry/carried/carried drop/dropped/dropped find/found/found lift/lifted/lifted paint/painted/painted "
    "clean/cleaned/cleaned sell/sold/sold buy/bought/bought hide/hid/hidden fix/fixed/fixed open/opened/opened "
    "pack/packed/packed pull/pulled/pulled push/pushed/pushed wash/washed/washed wrap/wrapped/wrapped "
    "move/moved/moved break/broke/broken borrow/borrowed/borrowed mend/mended/mended polish/polished/polished "
    "lose/lost/lost keep/kept/kept choose/chose/chosen bring/brought/brought leave/left/left throw/threw/thrown "
    "hold/held/held weigh/weighed/weighed measure/measured/measured check/checked/checked drag/dragged/dragged "
    "catch/caught/caught return/returned/returned deliver/delivered/delivered inspect/inspected/inspected "
    "sketch/sketched/sketched repair/repaired/repaired").split()]
INTRANSITIVE = ("laughed waited slept shouted sang smiled stopped rested wandered hurried paused listened "
                "whispered returned stayed danced worked cried").split()
GERUNDS = "running sleeping singing waiting walking dancing hiding working reading laughing resting standing".split()
ADVERBS = ("slowly quickly carefully quietly suddenly gently happily loudly nervously patiently proudly silently "
           "calmly eagerly").split()
TIMES = ("yesterday|this morning|last night|at noon|on Sunday|before dinner|after the storm|in the spring|"
         "every evening|at dawn|late in the afternoon|on Tuesday|during the winter|two days ago|last summer|"
         "on Monday morning|after school|at midnight").split("|")
FUTURES = ("before sunset|by tomorrow morning|next week|on Friday|after lunch|before the guests arrive|"
           "at the end of the month|tonight|as soon as possible|before the train leaves|early tomorrow").split("|")
WEATHER = "raining|snowing|very windy|terribly hot|bitterly cold|foggy|sunny and warm|cloudy".split("|")
NUMBERS = ("two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty "
           "sixty a hundred").split()
COMMANDS = "Put Take Leave Bring Hide Carry Place Set".split()
MODALS = "must should will can might could".split()
PRONOUNS = "we they she he I".split()


_IRREGULAR_PLURALS = {"man": "men", "woman": "women", "child": "children", "mouse": "mice", "deer": "deer",
                      "fisherman": "fishermen"}


def _plural(noun: str) -> str:
    if noun in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[noun]
    if noun.endswith("fe"):
        return noun[:-2] + "ves"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _sentence(r: random.Random) -> str:
    """One sentence from a randomly chosen template."""
    c = r.choice
    name, name2 = r.sample(NAMES, 2)
    agent, obj, obj2 = c(AGENTS), c(OBJECTS), c(OBJECTS)
    adj, adj2 = r.sample(ADJECTIVES, 2)
    base, past, pp = c(VERBS)
    place, prep = c(PLACES), c(PREPS)
    n1, n2 = r.sample(NUMBERS, 2)
    templates = [
        lambda: f"The {c(AGENT_ADJECTIVES)} {agent} {past} the {adj} {obj} {prep} the {place}.",
        lambda: f"{name} {past} {_a(adj)} {obj} {c(TIMES)}.",
        lambda: f"{name} and {name2} {c(INTRANSITIVE)} {c(ADVERBS)} {prep} the {place}.",
        lambda: f"Did you see the {c(ANIMALS)} {c(GERUNDS)} {prep} the {place}?",
        lambda: f"We {c(MODALS)} {base} the {obj} {c(FUTURES)}.",
        lambda: f"When the {agent} {c(INTRANSITIVE)}, {name} {past} the {adj} {obj}.",
        lambda: f"{c(COMMANDS)} the {adj} {obj} {prep} the {place}.",
        lambda: f"Where did {name} {base} the {adj} {obj}?",
        lambda: f"Why was the {agent} so {c(FEELINGS)} {c(TIMES)}?",
        lambda: f"It was {c(WEATHER)} {c(TIMES)}, so {c(PRONOUNS)} stayed {prep} the {place}.",
        lambda: f"What {_a(adj)} {obj} that was!",
        lambda: f"{name} bought {n1} {_plural(obj)} for {n2} dollars.",
        lambda: f"{name} said that the {agent} {c(INTRANSITIVE)} {c(ADVERBS)} {c(TIMES)}.",
        lambda: f"The {obj} was {c(STATES)}, but the {obj2} was {c(STATES)}.",
        lambda: f"There were {n1} {_plural(obj)} {prep} the {place}.",
        lambda: f"If it is {c(WEATHER)} {c(['tomorrow', 'on Friday', 'next week', 'tonight', 'this weekend'])}, "
                f"the {agent} will stay at home.",
        lambda: f"{c(PRONOUNS).capitalize()} {past} the {obj} because the {obj2} was {c(STATES)}.",
        lambda: f"Have you ever {pp} {_a(adj)} {obj}?",
        lambda: f"The {c(ANIMALS)} {c(INTRANSITIVE)} {prep} the {place} {c(TIMES)}.",
        lambda: f"{name} asked {name2} to {base} the {obj} {c(FUTURES)}.",
        lambda: f"Please {base} the {adj} {obj} before you leave.",
        lambda: f"{name}'s {c(RELATIVES)} {past} the {adj} {obj} {c(TIMES)}.",
        lambda: f"After the {c(['storm', 'meeting', 'concert', 'wedding', 'race', 'harvest'])}, the "
                f"{_plural(agent)} {c(INTRANSITIVE)} {prep} the {place}.",
        lambda: f"Nobody knew why the {adj} {obj} was {prep} the {place}.",
        lambda: f"The {_plural(agent)} {c(INTRANSITIVE)} {c(ADVERBS)} while the {c(ANIMALS)} "
                f"{c(INTRANSITIVE)} {prep} the {place}.",
        lambda: f"{name} was too {c(FEELINGS)} to {base} the {obj}, so {name2} did it {c(FUTURES)}.",
        lambda: f"How {c(FEELINGS)} the {agent} looked {c(TIMES)}!",
        lambda: f"Is the {adj} {obj} still {prep} the {place}, or did someone {base} it?",
    ]
    s = c(templates)()
    return s[0].upper() + s[1:]


def make_sentences(n: int, seed: int = 0, pair_fraction: float = 0.25) -> list[str]:
    """`n` distinct texts, the same for the same (n, seed), each a prefix of a longer list.

    A `pair_fraction` of them are two sentences (longer utterances with a pause inside); 5 to 35 words.
    """
    r = random.Random(seed)
    seen: dict[str, None] = {}
    while len(seen) < n:
        text = _sentence(r)
        if r.random() < pair_fraction:
            text = f"{text} {_sentence(r)}"
        seen.setdefault(text, None)
    return list(seen)


GREETINGS = "Hello|Good morning|Good evening|Goodbye|Thank you|Excuse me|Well done|Welcome back|Good night".split("|")
ANSWERS = ("Yes.|No.|Okay.|Of course.|Not yet.|Me too.|Why not?|Really?|I know.|Thank you.|Thank you very much.|"
           "Yes, please.|No, thank you.|Of course not.|Not at all.|I think so.|Maybe later.|All right.|Wait!|"
           "Hurry up!|Come in.|Sit down, please.|Good luck!|See you soon.|Never mind.|That is fine.|Listen!|"
           "Be careful!|What happened?|Who is there?|Where are you?|How are you?|I am sorry.|Let us go.").split("|")


def _phrase(r: random.Random) -> str:
    """One short utterance (1 to 6 words): an answer, a greeting, a call or a noun phrase."""
    c = r.choice
    name, adj, obj = c(NAMES), c(ADJECTIVES), c(OBJECTS)
    templates = [
        lambda: c(ANSWERS),
        lambda: f"{c(GREETINGS)}, {name}.",
        lambda: f"{c(GREETINGS)}!",
        lambda: f"{name}!",
        lambda: f"{name}?",
        lambda: f"The {adj} {obj}.",
        lambda: f"{c(NUMBERS).capitalize()} {_plural(obj)}.",
        lambda: f"Where is the {obj}?",
        lambda: f"Look at the {c(ANIMALS)}!",
        lambda: f"Come here, {name}.",
        lambda: f"It is {c(WEATHER)}.",
        lambda: f"{c(PLACES).capitalize()}.",
        lambda: f"Not the {obj}, {name}.",
        lambda: f"{c(FUTURES).capitalize()}.",
    ]
    s = c(templates)()
    return s[0].upper() + s[1:]


def make_phrases(n: int, seed: int = 0) -> list[str]:
    """`n` distinct short texts (1 to 6 words), the same for the same (n, seed), each a prefix of a longer list.

    Corpora of sentences only teach an LM that speech lasts seconds: short answers then stop too early or ramble.
    The grammar can make only a few thousand distinct phrases; `n` above that raises ValueError.
    """
    r = random.Random(seed)
    seen: dict[str, None] = {}
    tries = 0
    while len(seen) < n:
        seen.setdefault(_phrase(r), None)
        tries += 1
        if tries > 50 * n + 1000:
            raise ValueError(f"the phrase grammar cannot make {n} distinct phrases")
    return list(seen)
