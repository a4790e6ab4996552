"""Corpus-level WER per group of utterances (e.g. per held-out voice) for several scored systems side by side.

    python benchmarks/wer_by_group.py W/scores_ground_truth W/scores_resynthesis W/scores_tts_steps10_cfg1.5_n4

Each argument is a `latentspeech eval` out dir (its wer.tsv). The group of an utterance is the first match group
of --group (default `^(.+)-s\\d+_`: the synth corpus's base voice, `rms-s1_t003` → `rms`); utterances it does not
match form the group "other". WER = errors / reference words over the group (not a mean of utterance WERs), on
the utterances every system scored.

    python benchmarks/wer_by_group.py --by-position 3 W/scores_ground_truth S_A S_B

--by-position N groups errors by where they fall in the reference instead: the N equal parts of each utterance's
(normalised) reference words, from the evaluator's alignment (a substitution or deletion counts at its reference
word, an insertion at the word it comes before, or the last word); errors that grow along an utterance (a model
losing its place as it runs on its own samples) show in the last parts.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

DEFAULT_GROUP = r"^(.+)-s\d+_"


def group_errors(rows: list[dict[str, str]], pattern: str) -> dict[str, tuple[int, int]]:
    """wer.tsv rows → {group: (errors, reference words)}."""
    regex = re.compile(pattern)
    out: dict[str, tuple[int, int]] = {}
    for r in rows:
        m = regex.search(r["utt"])
        g = (m.group(1) if m.groups() else m.group(0)) if m else "other"
        e, n = out.get(g, (0, 0))
        out[g] = (e + int(r["errors"]), n + int(r["ref_words"]))
    return out


def position_errors(rows: list[dict[str, str]], parts: int) -> dict[str, tuple[int, int]]:
    """wer.tsv rows (ref_norm, hyp_norm) → {"k/parts": (errors, reference words)}: each utterance's reference words
    split into `parts` equal spans, errors placed by the word alignment (jiwer, as the evaluator)."""
    import jiwer

    errors, words = [0] * parts, [0] * parts
    for r in rows:
        ref, hyp = r["ref_norm"].split(), r["hyp_norm"].split()
        n = len(ref)
        if not n:
            continue
        part = [min(parts - 1, parts * i // n) for i in range(n)]
        for k in part:
            words[k] += 1
        if not hyp:
            for k in part:
                errors[k] += 1
            continue
        for chunk in jiwer.process_words(" ".join(ref), " ".join(hyp)).alignments[0]:
            if chunk.type in ("substitute", "delete"):
                for i in range(chunk.ref_start_idx, chunk.ref_end_idx):
                    errors[part[i]] += 1
            elif chunk.type == "insert":
                errors[part[min(chunk.ref_start_idx, n - 1)]] += chunk.hyp_end_idx - chunk.hyp_start_idx
    return {f"{k + 1}/{parts}": (errors[k], words[k]) for k in range(parts)}


def main(argv: list[str] | None = None) -> int:
    from latentspeech.eval.report import read_tsv

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scores", nargs="+", help="`latentspeech eval` out dirs (wer.tsv)")
    ap.add_argument("--group", default=DEFAULT_GROUP, help=f"regex; group 1 names the group (default {DEFAULT_GROUP})")
    ap.add_argument("--by-position", type=int, metavar="N", default=0,
                    help="group by position in the reference (N equal parts of each utterance) instead")
    args = ap.parse_args(argv)
    if args.by_position < 0:
        ap.error(f"--by-position must be >= 1, got {args.by_position}")

    tables = [read_tsv(Path(d) / "wer.tsv") for d in args.scores]
    for d, t in zip(args.scores, tables):
        if not t:
            raise SystemExit(f"{d}: no wer.tsv rows; run `latentspeech eval` first")
    shared = set.intersection(*({r["utt"] for r in t} for t in tables))
    if args.by_position:
        per_system = [position_errors([r for r in t if r["utt"] in shared], args.by_position) for t in tables]
        groups = list(per_system[0])
    else:
        per_system = [group_errors([r for r in t if r["utt"] in shared], args.group) for t in tables]
        groups = sorted(per_system[0])
    names = [Path(d).name.removeprefix("scores_") for d in args.scores]
    what = "part of the reference" if args.by_position else "group"
    print(f"WER % per {what}, {len(shared)} utterances scored by all\n")
    print("| group | words | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for g in groups + ["all"]:
        cells = []
        for errs in per_system:
            e, n = (sum(v[0] for v in errs.values()), sum(v[1] for v in errs.values())) if g == "all" else errs[g]
            cells.append(f"{100 * e / n:.1f}" if n else "–")
        words = sum(v[1] for v in per_system[0].values()) if g == "all" else per_system[0][g][1]
        print(f"| {g} | {words} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
