"""What a recognised prompt transcript costs: `tts --transcribe-prompt` against the true transcripts.

    # the list without its prompt texts, next to it (its paths are relative to its folder)
    awk -F'|' -v OFS='|' '{$2=""; print}' W/meta.lst > W/meta_blank.lst
    latentspeech tts --text-file W/meta_blank.lst --transcribe-prompt --out-dir G --seed 0 --batch-size 16
    latentspeech eval --meta W/meta.lst --gen-dir G --out-dir S          # scored against the true list
    python benchmarks/prompt_transcripts.py --meta W/meta.lst --gen G [G2 ...] --scores S [S2 ...] --base B [B2 ...]

G/generation.jsonl holds each line's recognised transcript (`prompt_transcript`); S are the scores of those runs
and B the scores of runs with the true transcripts (same seeds, in the same order). Prints the transcripts' own
WER against the meta list's prompt texts, and the TTS's WER with true and with recognised transcripts, paired,
over all utterances and split into those whose transcript was recognised exactly (after WER normalisation) and
the rest.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def read_transcripts(gen_dir: str | Path) -> dict[str, str]:
    """utt → recognised prompt transcript, from a `tts --transcribe-prompt` run's generation.jsonl."""
    rows = [json.loads(line) for line in (Path(gen_dir) / "generation.jsonl").read_text().splitlines() if line]
    return {r["utt"]: r["prompt_transcript"] for r in rows if "prompt_transcript" in r}


def transcript_errors(truth: dict[str, str], heard: dict[str, str]) -> dict[str, tuple[int, int]]:
    """utt → (word errors, reference words) of each recognised transcript against the true one (normalised)."""
    from latentspeech.eval.score import wer_scores

    out = {}
    for utt, text in heard.items():
        s = wer_scores(truth[utt], text)
        out[utt] = (int(s["errors"]), int(s["ref_words"]))
    return out


def table(errors: dict[str, tuple[int, int]], base: dict[str, float], new: dict[str, float]) -> str:
    """Markdown: prompt-transcript WER, then TTS WER true vs recognised, over all / exact / wrong transcripts."""
    from latentspeech.eval.compare import paired_difference

    utts = sorted(set(errors) & set(base) & set(new))
    e, n = sum(errors[u][0] for u in utts), sum(errors[u][1] for u in utts)
    lines = [f"Recognised prompt transcripts: corpus WER {100 * e / max(n, 1):.1f} % over {len(utts)} prompts, "
             f"{sum(errors[u][0] == 0 for u in utts)} exact.", "",
             "| utterances | n | TTS WER %, true transcripts | recognised | paired difference [95% CI] |",
             "|---|---|---|---|---|"]
    groups = {"all": utts, "transcript exact": [u for u in utts if errors[u][0] == 0],
              "transcript wrong": [u for u in utts if errors[u][0] > 0]}
    for name, group in groups.items():
        if not group:
            continue
        d = paired_difference({u: base[u] for u in group}, {u: new[u] for u in group}, "wer")
        lines.append(f"| {name} | {d.n} | {100 * d.mean_a:.1f} | {100 * d.mean_b:.1f} | "
                     f"{100 * d.diff:+.1f} [{100 * d.ci_low:+.1f}, {100 * d.ci_high:+.1f}] |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--meta", required=True, help="the meta list with the true prompt texts")
    ap.add_argument("--gen", nargs="+", required=True, help="tts --transcribe-prompt out dirs (generation.jsonl)")
    ap.add_argument("--scores", nargs="+", required=True, help="latentspeech eval dirs of those runs")
    ap.add_argument("--base", nargs="+", required=True, help="eval dirs of runs with the true transcripts")
    ap.add_argument("--report", help="also write the Markdown table here")
    args = ap.parse_args(argv)
    if not len(args.scores) == len(args.base):
        ap.error("give one --base run per --scores run (the same seeds, in the same order)")

    from latentspeech.eval.compare import read_runs
    from latentspeech.eval.meta import read_meta

    truth = {e.utt: e.prompt_text for e in read_meta(args.meta)}
    heard: dict[str, str] = {}
    for g in args.gen:
        for utt, text in read_transcripts(g).items():
            if heard.setdefault(utt, text) != text:
                raise SystemExit(f"{g}: another transcript of {utt}'s prompt than an earlier run's")
    text = table(transcript_errors(truth, heard), read_runs(args.base, "wer"), read_runs(args.scores, "wer"))
    print(text)
    if args.report:
        Path(args.report).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
