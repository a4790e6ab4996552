"""Where does the stop head fire? Teacher-forced on a latent dump, per model: its loss split into the end frame
(positive) and the frames before it (negatives), and when p(stop) first crosses the threshold.

    python benchmarks/stop_head.py --models default /path/to/model ... --phn /work/dump20s/phn/dev \
        --latents /work/dump20s/latents_causal/dev --max-utts 400 --threads 2 [--report stop.md]

Each model reads the same examples (`LMDataset`, seed 0: prompt/target splits and cross-utterance prompts drawn
once), in eval mode, with the text. The stop head is read on the target positions j ∈ [prompt_len, N], where j = N
(after the last frame) is the one positive — exactly the `stop` term of the training/validation loss
(`LatentLM.loss`, BCE with `stop_pos_weight`, mean over the target positions: `stop loss`), which this splits into:

- `end` = −log p(stop) at j = N, mean over utterances;
- `before` = −log(1 − p(stop)) summed over an utterance's frames before its end, mean over utterances (a false
  alarm anywhere costs here);
- `early %` = utterances whose p(stop) crosses the threshold before the end frame (N − 1 counts as on time: one
  frame, 80 ms), with the median frames early; `never %` = it does not cross even at the end;
- after the decoding guard: the same, ignoring crossings before `min_seconds_per_phoneme` × the target's phonemes
  (what `Generator` does, rounded up here; the target's phonemes = all of a cross-utterance example's own text, or
  the share of a continuation's text proportional to its target frames); `guard past the end %` = examples whose
  recording ends before the guard lets the head be heard (decoding could not stop them on time).

Teacher forcing reads ground-truth frames: it says whether the head knows where speech ends, not where the LM's own
samples make it stop (`benchmarks/speaking_rate.py` on generated audio does that).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch


def stop_stats(stop_logits: torch.Tensor, prompt_len: int, frame_len: int, threshold: float,
               guard_frames: int = 0) -> dict[str, float]:
    """One example's stop-head statistics from its logits [N + 1] (see the module docstring)."""
    s = stop_logits[prompt_len: frame_len + 1].double()  # target positions j = prompt_len .. N
    end = float(-torch.nn.functional.logsigmoid(s[-1]))
    before = float(-torch.nn.functional.logsigmoid(-s[:-1]).sum()) if len(s) > 1 else 0.0
    fired = torch.nonzero(torch.sigmoid(s) > threshold).flatten()
    first = int(fired[0]) if len(fired) else None  # offset from prompt_len
    last = len(s) - 1  # the end frame's offset
    guarded = fired[fired >= guard_frames]
    first_g = int(guarded[0]) if len(guarded) else None
    return {"end": end, "before": before, "positions": float(len(s)),
            "early_frames": (last - 1 - first) if first is not None and first < last - 1 else 0,
            "early": float(first is not None and first < last - 1), "never": float(first is None),
            "early_guarded": float(first_g is not None and first_g < last - 1),
            "guard_past_end": float(guard_frames > last), "p_end": float(torch.sigmoid(s[-1]))}


def summarize(rows: list[dict[str, float]]) -> dict[str, float]:
    """Means over examples; `early_median` = median frames early over the early ones (0 if none)."""
    out = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k not in ("early_frames", "positions")}
    early = [r["early_frames"] for r in rows if r["early"]]
    out["early_median"] = float(np.median(early)) if early else 0.0
    return out


def guard_frames(dataset, index: int, item: dict, min_seconds_per_phoneme: float) -> int:
    """Frames of an example's target before decoding's guard lets the stop head be heard (rounded up): the guard
    per phoneme × the target's phonemes (the item's own text after a cross-utterance prompt, else the share of its
    text proportional to its target frames)."""
    own = len(dataset.ids[index])
    n, prompt_len = item["frames"].shape[0], item["prompt_len"]
    target_phonemes = own if len(item["phonemes"]) > own else own * (n - prompt_len) / n
    return math.ceil(min_seconds_per_phoneme * dataset.frame_rate * target_phonemes)


def run_model(name: str, loader, guards: list[list[int]], threshold: float) -> dict[str, float]:
    """Stop statistics of one model over the collated batches; `guards[b][k]` = guard frames of batch b's item k."""
    from latentspeech.api import TTS

    lm = TTS.from_pretrained(name).lm.eval()
    rows = []
    with torch.inference_mode():
        for batch, batch_guards in zip(loader, guards):
            out = lm(batch["phonemes"], batch["phoneme_lens"], batch["frames"], batch["frame_lens"])
            for k, guard in enumerate(batch_guards):
                pl, fl = int(batch["prompt_lens"][k]), int(batch["frame_lens"][k])
                rows.append(stop_stats(out.stop_logits[k].float(), pl, fl, threshold, guard_frames=guard))
    # the `stop` term of LatentLM.loss over these examples: mean BCE over all target positions, positives weighted
    loss = sum(lm.config.stop_pos_weight * r["end"] + r["before"] for r in rows) / sum(r["positions"] for r in rows)
    return summarize(rows) | {"utts": len(rows), "loss": loss}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", required=True, help="model names or dirs (TTS model dirs)")
    ap.add_argument("--phn", required=True, help="phoneme dump dir (text)")
    ap.add_argument("--latents", required=True, help="latent dump dir (feats.scp / latents.scp, utt2spk)")
    ap.add_argument("--max-utts", type=int, default=400)
    ap.add_argument("--threshold", type=float, default=0.5, help="p(stop) threshold (decode.stop_threshold)")
    ap.add_argument("--min-seconds-per-phoneme", type=float, default=0.04, help="the decoding guard")
    ap.add_argument("--batch-seconds", type=float, default=120.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--report", help="also write the Markdown table here")
    args = ap.parse_args(argv)

    from latentspeech.api import TTS
    from latentspeech.data.batching import make_batches
    from latentspeech.data.datasets import LMDataConfig, LMDataset, collate_lm

    torch.set_num_threads(args.threads)
    vocab = TTS.from_pretrained(args.models[0]).vocab
    dataset = LMDataset(args.phn, args.latents, vocab, LMDataConfig(), seed=0)
    keep = list(range(min(args.max_utts, len(dataset))))
    items = [dataset[i] for i in keep]
    frame_budget = int(args.batch_seconds * dataset.frame_rate)
    batches = make_batches([it["frames"].shape[0] for it in items], frame_budget)
    loader = [collate_lm([items[i] for i in b]) for b in batches]
    guards = [[guard_frames(dataset, i, items[i], args.min_seconds_per_phoneme) for i in b] for b in batches]

    lines = ["| model | utts | stop loss | its terms: end | before | p(stop) at end | early % | "
             "median frames early | never % | early % (guarded) | guard past the end % |", "|" + "---|" * 11]
    for name in args.models:
        s = run_model(name, loader, guards, args.threshold)
        lines.append(f"| {name} | {s['utts']} | {s['loss']:.4f} | {s['end']:.3f} | {s['before']:.3f} | "
                     f"{s['p_end']:.3f} | {100 * s['early']:.1f} | {s['early_median']:.0f} | {100 * s['never']:.1f} | "
                     f"{100 * s['early_guarded']:.1f} | {100 * s['guard_past_end']:.1f} |")
        print(lines[-1], flush=True)
    table = "\n".join(lines)
    print(table)
    if args.report:
        Path(args.report).write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
