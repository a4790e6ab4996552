"""Speaking-rate transfer of generated speech (`latentspeech.eval.rate`), and WER by duration ratio.

    python benchmarks/speaking_rate.py --meta W/meta.lst --gen-dir W/tts_steps10_cfg1.5 \
        --scores W/scores_tts_steps10_cfg1.5 [--gt-dir W/ground_truth]

W is a `benchmarks/tts_quality.py --work-dir`. Prints the correlation of prompt and generated tempo next to that
of prompt and ground truth, the generated / ground-truth duration ratios, and (with --scores, a dir holding
`wer.tsv` from `latentspeech eval`) the WER of the utterances in each duration-ratio bin. --gt-dir names
ground-truth wavs `<utt>.wav` for lists without a fifth field. `--stretch-to-gt DIR` also writes every generated
wav time-stretched (sox `tempo`, WSOLA: pitch kept) to its ground truth's speech duration: an oracle for "is
the tempo the problem?" (score DIR with `latentspeech eval --meta W/meta.lst --gen-dir DIR --out-dir ...`).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np

BINS = (0.0, 0.8, 0.95, 1.1, 1.25, math.inf)


def wer_by_ratio(rows, wer: dict[str, float]) -> list[tuple[str, int, float]]:
    """(bin label, utterances, mean WER %) per duration-ratio bin."""
    out = []
    for lo, hi in zip(BINS[:-1], BINS[1:]):
        ws = [wer[r.utt] for r in rows if r.utt in wer and lo <= r.duration_ratio < hi]
        label = f"< {hi:g}" if lo == 0 else (f">= {lo:g}" if hi == math.inf else f"{lo:g}-{hi:g}")
        out.append((label, len(ws), 100 * float(np.mean(ws)) if ws else math.nan))
    return out


def stretch_to_gt(rows, gen_dir: str | Path, out_dir: str | Path, max_factor: float = 2.0) -> int:
    """Write <out_dir>/<utt>.wav = the generated wav at the ground truth's speech duration (tempo factor clipped to
    [1/max_factor, max_factor]; within 2 % it is copied). Returns the number stretched."""
    if shutil.which("sox") is None:
        raise SystemExit("--stretch-to-gt needs the sox binary (apt install sox)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for r in rows:
        src, dst = Path(gen_dir) / f"{r.utt}.wav", out / f"{r.utt}.wav"
        factor = min(max(r.duration_ratio, 1 / max_factor), max_factor)  # sox tempo > 1 = faster
        if not math.isfinite(factor) or abs(factor - 1) < 0.02:
            shutil.copyfile(src, dst)
            continue
        subprocess.run(["sox", str(src), str(dst), "tempo", "-s", f"{factor:.4f}"], check=True)
        n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    from latentspeech.eval.meta import read_meta
    from latentspeech.eval.rate import rate_rows, summarize_rates
    from latentspeech.eval.report import read_tsv

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--meta", required=True, help="meta list utt|prompt_text|prompt_wav|text[|gt_wav]")
    ap.add_argument("--gen-dir", required=True, help="generated audio <gen-dir>/<utt>.wav")
    ap.add_argument("--gt-dir", help="ground truth <gt-dir>/<utt>.wav (default: the list's fifth field)")
    ap.add_argument("--scores", help="a `latentspeech eval` out dir: WER per duration-ratio bin")
    ap.add_argument("--stretch-to-gt", metavar="DIR", help="write the generated wavs stretched to ground-truth length")
    args = ap.parse_args(argv)

    entries = read_meta(args.meta)
    if args.gt_dir:
        entries = [dataclasses.replace(e, gt_wav=Path(args.gt_dir) / f"{e.utt}.wav") for e in entries]
    rows = rate_rows(entries, args.gen_dir)
    s = summarize_rates(rows)
    print(f"{s.n} utterances; letters per speech second: generated {s.mean_gen_rate:.2f}, "
          f"ground truth {s.mean_gt_rate:.2f}")
    print("| | r(prompt rate, ·) |\n|---|---|")
    print(f"| ground truth | {s.r_prompt_gt:.2f} |\n| generated | {s.r_prompt_gen:.2f} |")
    print(f"duration ratio generated / ground truth: median {s.median_ratio:.2f}, "
          f"{100 * s.share_outside:.0f}% outside [0.8, 1.25]")
    if args.scores:
        wer = {r["utt"]: float(r["wer"]) for r in read_tsv(Path(args.scores) / "wer.tsv")}
        print("\n| duration ratio | utterances | WER % |\n|---|---|---|")
        for label, n, w in wer_by_ratio(rows, wer):
            print(f"| {label} | {n} | {w:.1f} |")
    if args.stretch_to_gt:
        n = stretch_to_gt(rows, args.gen_dir, args.stretch_to_gt)
        print(f"\nwrote {len(rows)} wavs to {args.stretch_to_gt} ({n} time-stretched)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
