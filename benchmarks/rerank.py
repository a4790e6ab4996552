"""How well does best-of-N pick? Every candidate's audio, scored by the evaluator, under several selection rules.

    # 1. every candidate of every utterance (W = a benchmarks/tts_quality.py --work-dir, run from W: meta paths
    #    are relative to it); writes R/cand<i>/<utt>.wav and R/candidates.jsonl
    python benchmarks/rerank.py generate --model default --meta W/meta.lst --out R --candidates 4 --steps 10 \
        --cfg 2.5 --seed 0 --threads 1
    # 2. score each candidate dir
    for i in 0 1 2 3; do latentspeech eval --meta W/meta.lst --gen-dir R/cand$i --out-dir R/scores_cand$i; done
    # 3. WER/CER of each rule, paired against the CTC head's choice (several R: pooled, e.g. sampling seeds)
    python benchmarks/rerank.py analyze R [R2 ...]

Rules: `first` (candidate 0 alone: best of 1), `ctc` (the LM's CTC head: what `tts --candidates N` keeps),
`oracle` (the lowest WER: the head-room of any reranker). The same samples under every rule: differences are the
choice alone. (A LatentReader judge and a length prior were compared here too until session 22; neither beat the
CTC head: docs/experiments.md *Who picks the best of N?*, code at commit 6818663.)
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch


def cmd_generate(args) -> int:
    from tqdm import tqdm

    from latentspeech.api import TTS
    from latentspeech.audio import save_audio
    from latentspeech.eval.meta import read_meta

    torch.set_num_threads(args.threads)
    tts = TTS.from_pretrained(args.model)
    entries = read_meta(args.meta)[: args.max_utts or None]
    out = Path(args.out)
    log_path = out / "candidates.jsonl"
    done = set()
    if log_path.exists():  # resumable: utterances already logged are skipped
        done = {json.loads(line)["utt"] for line in log_path.read_text().splitlines() if line.strip()}
    for i in range(args.candidates):
        (out / f"cand{i}").mkdir(parents=True, exist_ok=True)
    for e in tqdm([e for e in entries if e.utt not in done], desc="candidates", unit="utt"):
        wavs, info = tts.synthesize_candidates(e.text, e.prompt_wav, e.prompt_text, seed=args.seed,
                                               steps=args.steps, cfg_scale=args.cfg, candidates=args.candidates)
        for i, wav in enumerate(wavs):
            save_audio(out / f"cand{i}" / f"{e.utt}.wav", wav, tts.sample_rate)
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"utt": e.utt, "seed": args.seed, "frame_rate": tts.vae.frame_rate,
                                "gt_wav": str(e.gt_wav) if e.gt_wav else None, **info}) + "\n")
    return 0


RULES = ("first", "ctc", "oracle")


def choose(rule: str, row: dict) -> int:
    """The candidate a rule keeps (see the module docstring) for one utterance's candidates.jsonl row (+ `wer`
    per candidate for the oracle)."""
    from latentspeech.lm.generate import choose_candidate

    if rule == "first":
        return 0
    if rule == "oracle":
        return int(np.argmin(row["wer"]))
    if rule == "ctc":
        return choose_candidate(torch.tensor(row["ctc_scores"]), torch.tensor(row["candidate_frames"]))
    raise ValueError(f"unknown rule {rule!r}")


def _load(run: Path) -> list[dict]:
    from latentspeech.eval.report import read_tsv

    rows = [json.loads(line) for line in (run / "candidates.jsonl").read_text().splitlines() if line.strip()]
    k = len(rows[0]["ctc_scores"])
    scores = [{r["utt"]: r for r in read_tsv(run / f"scores_cand{i}" / "wer.tsv")} for i in range(k)]
    for r in rows:
        r["wer"] = [float(scores[i][r["utt"]]["wer"]) for i in range(k)]
        r["cer"] = [float(scores[i][r["utt"]]["cer"]) for i in range(k)]
        r["key"] = f"{run}:{r['utt']}"
    return rows


def _gt_seconds(path: str | None) -> float:
    import soundfile as sf

    return sf.info(path).duration if path else math.nan


def cmd_analyze(args) -> int:
    from latentspeech.eval.report import bootstrap_ci

    rows = [r for run in args.runs for r in _load(Path(run))]
    gt = {r["key"]: _gt_seconds(r["gt_wav"]) for r in rows}
    picks = {rule: [choose(rule, r) for r in rows] for rule in RULES}
    base = np.array([r["wer"][c] for r, c in zip(rows, picks["ctc"])])
    print(f"{len(rows)} utterances × {len(rows[0]['ctc_scores'])} candidates from {len(args.runs)} run(s); "
          "duration = generated / ground-truth file length\n")
    print("| rule | WER % | CER % | vs ctc: WER, paired [95% CI] | same choice as ctc | duration ratio: median, "
          "outside [0.8, 1.25] |")
    print("|---|---|---|---|---|---|")
    for name, pick in picks.items():
        wer = np.array([r["wer"][c] for r, c in zip(rows, pick)])
        cer = np.array([r["cer"][c] for r, c in zip(rows, pick)])
        ratio = np.array([r["candidate_frames"][c] / r["frame_rate"] / gt[r["key"]] for r, c in zip(rows, pick)])
        lo, hi = bootstrap_ci(wer - base, seed=0)
        same = np.mean([a == b for a, b in zip(pick, picks["ctc"])])
        outside = np.mean((ratio < 0.8) | (ratio >= 1.25))
        print(f"| {name} | {100 * wer.mean():.1f} | {100 * cer.mean():.1f} | {100 * (wer - base).mean():+.1f} "
              f"[{100 * lo:+.1f}, {100 * hi:+.1f}] | {100 * same:.0f} % | {np.nanmedian(ratio):.2f}, "
              f"{100 * outside:.0f} % |")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="write every best-of-N candidate's wav and scores")
    g.add_argument("--model", default="default")
    g.add_argument("--meta", required=True, help="seed-tts-eval list (5th field: ground-truth wav)")
    g.add_argument("--out", required=True)
    g.add_argument("--candidates", type=int, default=4)
    g.add_argument("--steps", type=int, default=10)
    g.add_argument("--cfg", type=float, default=2.5)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--threads", type=int, default=1)
    g.add_argument("--max-utts", type=int, default=0, help="first N lines only (0 = all)")
    g.set_defaults(func=cmd_generate)
    a = sub.add_parser("analyze", help="WER of each selection rule over generated + scored runs")
    a.add_argument("runs", nargs="+", help="generate --out dirs, each with scores_cand<i>/ from latentspeech eval")
    a.set_defaults(func=cmd_analyze)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
