"""Text as users type it: the same meta list without each text's final mark, or lower-cased without any
punctuation (prompt transcripts too, as ASR-style corpora give them), and what `end_sentences` recovers.

    # 1. lists beside META: noend.lst (texts without their final . ? !) and plain.lst (no punctuation, lower case)
    python benchmarks/unpunctuated_text.py make W/meta.lst
    # 2. each list, seeds 0 and 1, with the decode config's end_sentences on (the default) and off
    latentspeech tts --text-file W/noend.lst --out-dir G --seed 0 --batch-size 16
    latentspeech tts --text-file W/noend.lst --out-dir G_off --seed 0 --batch-size 16 --decode-config OFF.yaml
    latentspeech eval --meta W/meta.lst --gen-dir G --out-dir S      # scored against the punctuated texts
    # 3. paired against the list as written (B0, B1), overall and on the texts of more than one sentence
    python benchmarks/unpunctuated_text.py table --meta W/meta.lst --base B0 B1 \\
        --run "no final mark, end_sentences off" S_off0 S_off1 --run "no final mark" S0 S1
    # 4. how long each run spoke, per utterance against the same seed's run of the list as written
    python benchmarks/unpunctuated_text.py lengths --base GB0 GB1 --run "no final mark" G0 G1

OFF.yaml is the model's decode config (`latentspeech tts --list-models` shows where) with `end_sentences: false`.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np

FINAL_MARK = re.compile(r"[.?!…]+\s*$")
SENTENCE_BREAK = re.compile(r"[.?!…]\s+\S")


def without_final_mark(text: str) -> str:
    """`text` without the sentence mark(s) it ends with."""
    return FINAL_MARK.sub("", text).strip()


def plain(text: str) -> str:
    """`text` lower-cased, with every mark but the apostrophe taken out (ASR-style transcripts)."""
    return " ".join(re.sub(r"[^\w\s']", " ", text).split()).lower()


def cmd_make(args) -> int:
    from latentspeech.eval.meta import read_meta, write_meta

    meta = Path(args.meta)
    entries = read_meta(meta)
    variants = {"noend": lambda e: replace(e, text=without_final_mark(e.text)),
                "plain": lambda e: replace(e, prompt_text=plain(e.prompt_text), text=plain(e.text))}
    for name, change in variants.items():
        write_meta(meta.parent / f"{name}.lst", [change(e) for e in entries])
    print(f"wrote noend.lst and plain.lst ({len(entries)} utterances each) beside {meta}")
    return 0


def table(texts: dict[str, str], base: dict[str, float], runs: list[tuple[str, dict[str, float]]]) -> str:
    """Markdown: each run's WER and its paired difference from `base`, over all texts and over those of more than
    one sentence (whose inner marks `end_sentences` cannot restore)."""
    from latentspeech.eval.compare import paired_difference

    multi = {u for u, t in texts.items() if SENTENCE_BREAK.search(t)}
    lines = [f"| text | WER % | paired vs as written [95% CI] | {len(multi)} texts of 2+ sentences: WER % | paired |",
             "|---|---|---|---|---|",
             f"| as written | {100 * sum(base.values()) / len(base):.1f} | – | "
             f"{100 * sum(base[u] for u in multi if u in base) / max(1, len(multi & base.keys())):.1f} | – |"]
    for label, wer in runs:
        d = paired_difference(base, wer, "wer")
        cells = [label, f"{100 * d.mean_b:.1f}", f"{100 * d.diff:+.1f} [{100 * d.ci_low:+.1f}, {100 * d.ci_high:+.1f}]"]
        sub = {u: w for u, w in wer.items() if u in multi}
        if sub:
            m = paired_difference(base, sub, "wer")
            cells += [f"{100 * m.mean_b:.1f}", f"{100 * m.diff:+.1f} [{100 * m.ci_low:+.1f}, {100 * m.ci_high:+.1f}]"]
        else:
            cells += ["–", "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def length_table(base: list[dict[str, float]], runs: list[tuple[str, list[dict[str, float]]]]) -> str:
    """Markdown: each run's audio seconds against the base runs of the same seeds (utterance by utterance)."""
    lines = ["| text | audio s | median length ratio | ≥ 1.3× | ≤ 0.77× | utterances |", "|---|---|---|---|---|---|"]
    for label, seconds in [("as written", base), *runs]:
        ratios = [run[u] / ref[u] for run, ref in zip(seconds, base) for u in run if u in ref]
        lines.append(f"| {label} | {sum(sum(r.values()) for r in seconds):.0f} | {float(np.median(ratios)):.3f} | "
                     f"{sum(x >= 1.3 for x in ratios)} | {sum(x <= 0.77 for x in ratios)} | {len(ratios)} |")
    return "\n".join(lines)


def audio_seconds(gen_dir: str) -> dict[str, float]:
    """{utt: seconds of audio} from a `latentspeech tts --text-file` out dir's generation.jsonl."""
    with open(Path(gen_dir) / "generation.jsonl", encoding="utf-8") as f:
        return {row["utt"]: float(row["audio_s"]) for row in map(json.loads, f)}


def cmd_lengths(args) -> int:
    runs = [(label, [audio_seconds(d) for d in dirs]) for label, *dirs in args.run]
    if any(len(dirs) != len(args.base) for _, dirs in runs):
        raise SystemExit("each --run needs as many gen dirs as --base (one per seed, in the same order)")
    print(length_table([audio_seconds(d) for d in args.base], runs))
    return 0


def cmd_table(args) -> int:
    from latentspeech.eval.compare import read_runs
    from latentspeech.eval.meta import read_meta

    texts = {e.utt: e.text for e in read_meta(args.meta)}
    runs = [(label, read_runs(dirs, "wer")) for label, *dirs in args.run]
    text = table(texts, read_runs(args.base, "wer"), runs)
    print(text)
    if args.report:
        Path(args.report).write_text(text + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make", help="write noend.lst and plain.lst beside a meta list")
    m.add_argument("meta", help="meta list with punctuated texts (make-eval-list writes one)")
    m.set_defaults(func=cmd_make)
    t = sub.add_parser("table", help="paired WER of each run against the list as written")
    t.add_argument("--meta", required=True, help="the punctuated meta list (which texts have 2+ sentences)")
    t.add_argument("--base", nargs="+", required=True, help="score dirs of the list as written (one per seed)")
    t.add_argument("--run", nargs="+", action="append", required=True, metavar=("LABEL", "SCORES"),
                   help="a label and the score dirs of one run (one per seed); repeatable")
    t.add_argument("--report", default=None, help="also write the table here")
    t.set_defaults(func=cmd_table)
    n = sub.add_parser("lengths", help="audio lengths of each run against the list as written, seed by seed")
    n.add_argument("--base", nargs="+", required=True, help="gen dirs of the list as written (one per seed)")
    n.add_argument("--run", nargs="+", action="append", required=True, metavar=("LABEL", "GEN"),
                   help="a label and the gen dirs of one run, seeds in --base's order; repeatable")
    n.set_defaults(func=cmd_lengths)
    args = p.parse_args(argv)
    if args.cmd in ("table", "lengths") and any(len(r) < 2 for r in args.run):
        p.error("--run needs a label and at least one dir")
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
