"""Teacher-forced losses of TTS models per group of utterances (e.g. per held-out voice): are a voice's frames hard
to predict (diffusion loss), does the LM use the text on them (text gain), do its states spell the text (CTC)?

    python benchmarks/teacher_forced.py --models default EXP_TTS --phn P --latents L [--group '^(.+)-s\\d+_'] \
        [--max-utts 400] [--threads 1] [--report tf.md] [--rows rows.tsv]

P / L: a phoneme dump and a latent dump of the same data dir (`latentspeech phonemize`, `dump-latents` with the
models' σ-VAE). Every example gets a cross-utterance prompt of its speaker (`LMDataset`, cross-utterance prompts
only, seed 0: the same examples for every model), as `latentspeech tts` is run on the evaluation lists, and is
scored on its target frames alone, in eval mode: `diffusion` with the text and `no text` with every phoneme
replaced by the CFG null vector, both with the same timesteps and noise (a generator seeded per example), so
`text gain` = no text − diffusion is paired; `ctc` = the CTC head's loss per label (models with one); `stop` = the
stop term. Means over the examples of each group, then over all; `--rows` writes every example's losses with its
target's pace (frames per phoneme) and its prompt's. Teacher forcing reads the recorded frames: it
says how well a model knows a voice, not how its own samples drift (generate and score for that).
"""

from __future__ import annotations

import argparse
import math
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

KEYS = ("diffusion", "no_text", "text_gain", "ctc", "stop")


def example_losses(lm, batch: dict, seed: int) -> dict[str, float]:
    """Teacher-forced losses of one collated example (batch of 1), with and without the text, same noise."""
    args = (batch["phonemes"], batch["phoneme_lens"], batch["frames"], batch["frame_lens"], batch["prompt_lens"])
    with_text = lm.loss(*args, generator=torch.Generator().manual_seed(seed))
    no_text = lm.loss(*args, generator=torch.Generator().manual_seed(seed), drop_text=True)
    diffusion, blind = float(with_text["diffusion"]), float(no_text["diffusion"])
    return {"diffusion": diffusion, "no_text": blind, "text_gain": blind - diffusion,
            "ctc": float(with_text["ctc"]) if "ctc" in with_text else math.nan, "stop": float(with_text["stop"])}


def pace_of(batch: dict, target_phonemes: int) -> tuple[float, float]:
    """(target, prompt) frames per phoneme of a collated cross-utterance example whose phonemes end with the
    target's `target_phonemes` (after the prompt's and the separator)."""
    n, p, pl = int(batch["frame_lens"][0]), int(batch["phoneme_lens"][0]), int(batch["prompt_lens"][0])
    return (n - pl) / max(1, target_phonemes), pl / max(1, p - target_phonemes - 1)


def group_means(rows: list[tuple[str, dict[str, float]]], pattern: str) -> dict[str, dict[str, float]]:
    """{group: {key: mean}, ..., 'all': ...} with 'utts'; group = regex group 1 of the utterance id (else 'other')."""
    groups: dict[str, list[dict[str, float]]] = defaultdict(list)
    rx = re.compile(pattern)
    for utt, r in rows:
        m = rx.search(utt)
        groups[m.group(1) if m else "other"].append(r)
    groups = dict(sorted(groups.items()))
    groups["all"] = [r for _, r in rows]
    return {g: {k: float(np.mean([r[k] for r in rs])) for k in KEYS} | {"utts": len(rs)} for g, rs in groups.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", required=True, help="TTS model names or dirs")
    ap.add_argument("--phn", required=True, help="phoneme dump dir (text, vocab.yaml)")
    ap.add_argument("--latents", required=True, help="latent dump dir (latents.scp, utt2spk)")
    ap.add_argument("--group", default=r"^(.+)-s\d+_", help="regex; group 1 of an utterance id names its group")
    ap.add_argument("--max-utts", type=int, default=400)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--report", help="also write the Markdown table here")
    ap.add_argument("--rows", help="also write one line per model and example here (TSV, with the paces)")
    args = ap.parse_args(argv)

    from latentspeech.api import TTS
    from latentspeech.data.datasets import LMDataConfig, LMDataset, collate_lm

    torch.set_num_threads(args.threads)
    vocab = TTS.from_pretrained(args.models[0]).vocab
    dataset = LMDataset(args.phn, args.latents, vocab, LMDataConfig(cross_prompt_prob=1.0), seed=0)
    picks = np.linspace(0, len(dataset) - 1, min(args.max_utts, len(dataset))).round().astype(int)
    picks = list(dict.fromkeys(picks.tolist()))
    examples = [(dataset.utts[i], collate_lm([dataset[i]])) for i in picks]
    paces = {utt: pace_of(batch, len(dataset.ids[i])) for i, (utt, batch) in zip(picks, examples)}
    out_rows = ["model\tutt\ttarget_pace\tprompt_pace\t" + "\t".join(KEYS)]
    lines = ["| model | group | utts | diffusion | no text | text gain | CTC per label | stop |", "|" + "---|" * 8]
    for name in args.models:
        lm = TTS.from_pretrained(name).lm.eval()
        with torch.inference_mode():
            rows = [(utt, example_losses(lm, batch, seed=k)) for k, (utt, batch) in enumerate(examples)]
        out_rows += [f"{name}\t{utt}\t{paces[utt][0]:.4f}\t{paces[utt][1]:.4f}\t" +
                     "\t".join(f"{r[k]:.5f}" for k in KEYS) for utt, r in rows]
        for group, s in group_means(rows, args.group).items():
            lines.append(f"| {name} | {group} | {s['utts']} | {s['diffusion']:.4f} | {s['no_text']:.4f} | "
                         f"{s['text_gain']:.4f} | {s['ctc']:.3f} | {s['stop']:.4f} |")
            print(lines[-1], flush=True)
    table = "\n".join(lines)
    print(table)
    if args.report:
        Path(args.report).write_text(table + "\n")
    if args.rows:
        Path(args.rows).write_text("\n".join(out_rows) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
