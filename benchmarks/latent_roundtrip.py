"""Are the LM's generated latents where the σ-VAE's encoder puts real speech? Round trip z → decode → encode for the
frames of recorded utterances and for the frames the TTS generates for the same texts and prompts.

    python benchmarks/latent_roundtrip.py --model default --meta W/meta.lst [--max-utts 20] [--seed 0] \
        [--threads 1] [--report rt.md]

`--meta`: a seed-tts-eval list (`utt|prompt_text|prompt_wav|text[|ground-truth wav]`, relative paths from its
folder) whose lines carry the recording of the text (`latentspeech make-eval-list` writes it). Per utterance, in
normalised latent units: `round trip` = mean squared change of the frames through the σ-VAE's decoder and
encoder (0 for frames the encoder could have made), `std` = the frames' per-dimension standard deviation,
`step` = mean squared change from one frame to the next. Generated frames far off the encoder's manifold
(a round trip well above the recordings') would say that the LM feeds itself frames unlike those it was trained
on; re-encoding them would be a decode-time fix. The TTS runs with the model's decode config (one candidate).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

KEYS = ("round_trip", "std", "step")


def frame_stats(vae, z: torch.Tensor) -> dict[str, float]:
    """Round trip, per-dimension std and frame-to-frame change of normalised latents z [N, D]."""
    with torch.inference_mode():
        again = vae.encode(vae.decode(z.unsqueeze(0).float(), denormalize=True), normalize=True)[0]
    n = min(len(again), len(z))
    return {"round_trip": float((again[:n] - z[:n]).pow(2).mean()), "std": float(z.std(0).mean()),
            "step": float((z[1:] - z[:-1]).pow(2).mean()) if len(z) > 1 else 0.0}


def generated_frames(tts, text: str, prompt_wav: str, prompt_text: str, seed: int) -> torch.Tensor:
    """The frames the TTS generates for `text` (first sentence chunk) with the model's decode config."""
    from latentspeech.lm.generate import Generator

    prep = tts.prepare(text, prompt_wav, prompt_text)
    gen = Generator(tts.lm, tts.decode_config, tts.vae.frame_rate)
    return tts._generate_chunk(gen, prep, 0, seed).frames.float()  # the LM input synthesize() builds


def table(rows: dict[str, list[dict[str, float]]]) -> str:
    lines = ["| frames | utts | round trip | std | step |", "|---|---|---|---|---|"]
    for name, stats in rows.items():
        means = {k: np.mean([s[k] for s in stats]) for k in KEYS}
        lines.append(f"| {name} | {len(stats)} | {means['round_trip']:.4f} | {means['std']:.3f} | {means['step']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="default")
    p.add_argument("--meta", required=True, help="seed-tts-eval list with ground-truth wavs")
    p.add_argument("--max-utts", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--report", help="also write the table here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    from latentspeech.api import TTS
    from latentspeech.audio import load_audio
    from latentspeech.eval.meta import read_meta

    tts = TTS.from_pretrained(args.model)
    entries = [e for e in read_meta(args.meta) if e.gt_wav][: args.max_utts]
    if not entries:
        p.error(f"{args.meta} has no line with a ground-truth wav (5th field)")
    rows: dict[str, list[dict[str, float]]] = {"recorded": [], "generated": []}
    for e in entries:
        wav, _ = load_audio(e.gt_wav, tts.sample_rate)
        with torch.inference_mode():
            real = tts.vae.encode(torch.from_numpy(wav).view(1, 1, -1), normalize=True)[0]
        rows["recorded"].append(frame_stats(tts.vae, real))
        made = generated_frames(tts, e.text, e.prompt_wav, e.prompt_text, args.seed)
        rows["generated"].append(frame_stats(tts.vae, made))
    text = table(rows)
    print(text)
    if args.report:
        Path(args.report).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
