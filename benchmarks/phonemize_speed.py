"""Phonemization throughput (sentences/s): normalise + espeak-ng, cold (empty cache) and cached.

    python benchmarks/phonemize_speed.py                     # 5000 generated sentences, njobs 1 and 2
    python benchmarks/phonemize_speed.py --text-file data/train/text --kaldi --njobs 1 2 4

Sentences are generated from a fixed seed (12-18 words, numbers, abbreviations, punctuation) unless
--text-file is given. Prints one Markdown table row per njobs setting, ready for the README.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time

_WORDS = (
    "the a of and to in is was that it for on with as his her they at be this from have or by one had not but "
    "what all were when we there can an your which their said if do will each about how up out them then she "
    "many some so these would other into has more two like him see time could people my than first water been "
    "called who oil its now find long down day did get come made may part over new sound take only little work "
    "know place year live me back give most very after thing our just name good sentence man think say great "
    "where help through much before line right too mean old any same tell boy follow came want show also around "
    "form three small set put end does another well large must big even such because turn here why ask went men "
    "read need land different home us move try kind hand picture again change off play spell air away animal "
    "house point page letter mother answer found study still learn should America world high every near add food "
    "between own below country plant last school father keep tree never start city earth eye light thought head "
    "under story saw left few while along might close something seem next hard open example begin life always "
    "those both paper together got group often run important until children side feet car mile night walk white "
    "sea began grow took river four carry state once book hear stop without second later miss idea enough eat "
    "face watch far Indian really almost let above girl sometimes mountain cut young talk soon list song leave "
    "family it's photosynthesis extraordinary knowledge psychology rhythm queue colonel Wednesday choir"
).split()
_EXTRAS = ("Dr. Smith", "Mr. Jones", "St. Louis", "$5.50", "3.14", "the 21st", "in 1984", "42", "50%", "at 3:30",
           "e.g.", "etc.", "Main St.", "1,250", "the 1990s")


def make_sentences(n: int, seed: int = 0) -> list[str]:
    """`n` distinct pseudo-random English sentences (reproducible)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = rng.choices(_WORDS, k=rng.randint(12, 18))
        words.insert(rng.randrange(len(words)), rng.choice(_EXTRAS))
        cut = rng.randrange(3, len(words) - 2)
        text = " ".join(words[:cut]) + rng.choice([", ", "; ", " — ", " "]) + " ".join(words[cut:])
        out.append(f"{text[0].upper()}{text[1:]} {i}{rng.choice('.?!')}")
    return out


def read_texts(path: str, kaldi: bool) -> list[str]:
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f if line.strip()]
    return [line.partition(" ")[2] for line in lines] if kaldi else lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=5000, help="generated sentences (default 5000)")
    ap.add_argument("--text-file", help="one sentence per line instead of generated ones")
    ap.add_argument("--kaldi", action="store_true", help="--text-file is kaldi 'utt text'")
    ap.add_argument("--njobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--language", default="en-us")
    args = ap.parse_args()

    from latentspeech.text import Phonemizer

    texts = read_texts(args.text_file, args.kaldi) if args.text_file else make_sentences(args.n)
    words = sum(len(t.split()) for t in texts) / len(texts)
    print(f"# {len(texts)} sentences ({words:.1f} words each), {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs")
    print("| njobs | init s | cold sent/s | cached sent/s | espeak-ng |")
    print("|---|---|---|---|---|")
    for njobs in args.njobs:
        t0 = time.perf_counter()
        phonemizer = Phonemizer(language=args.language, njobs=njobs)
        t1 = time.perf_counter()
        phonemizer(texts)
        t2 = time.perf_counter()
        phonemizer(texts)
        t3 = time.perf_counter()
        print(f"| {njobs} | {t1 - t0:.2f} | {len(texts) / (t2 - t1):,.0f} | {len(texts) / (t3 - t2):,.0f} "
              f"| {phonemizer.espeak_version} ({phonemizer.library}) |")


if __name__ == "__main__":
    main()
