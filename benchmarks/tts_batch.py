"""Batched synthesis: throughput of `TTS.synthesize_batch` (`latentspeech tts --text-file ... --batch-size N`)
against one utterance at a time, and a check that every batch size gives the same audio.

    python benchmarks/tts_batch.py --model default --batch-sizes 1 2 4 8 16 --threads 1 --report batch.md

Requests: a seed-tts-eval list (`--text-file`, utt|prompt_text|prompt_wav|text), or by default the model's
example prompts in turn with the sentences below (no corpus needed). Batch size 1 is `synthesize` per request;
RTF = wall time of the whole list (front end, LM, VAE decode) / seconds of audio made.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

from latentspeech.api import TTS

SENTENCES = [
    "Where did Julia repair the brown sack?", "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.", "It is easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.", "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.", "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.", "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.", "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.", "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.", "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.", "Smoky fires lack flame and heat.",
    "The soft cushion broke the man's fall.", "The salt breeze came across from the sea.",
    "The girl at the booth sold fifty bonds.", "The small pup gnawed a hole in the sock.",
    "The fish twisted and turned on the bent hook.", "Press the pants and sew a button on the vest.",
    "The swan dive was far short of perfect.", "The beauty of the view stunned the young boy.",
    "Two blue fish swam in the tank.", "Her purse was full of useless trash.",
    "The colt reared and threw the tall rider.", "It snowed, rained, and hailed the same morning.",
    "Read verse out loud for pleasure.", "Hoist the load to your left shoulder.",
]


def requests_from(args, tts: TTS) -> list[tuple[str, str, str]]:
    if args.text_file:
        from latentspeech.eval.meta import read_meta

        return [(e.text, e.prompt_wav, e.prompt_text) for e in read_meta(args.text_file)][: args.max_utts]
    names = sorted(tts.example_prompts())
    if not names:
        raise SystemExit(f"model {args.model} ships no example prompts: pass --text-file")
    out = []
    for i, text in enumerate(SENTENCES[: args.max_utts]):
        wav, prompt_text = tts.example_prompt(names[i % len(names)])
        out.append((text, str(wav), prompt_text))
    return out


def run(tts: TTS, requests: list, batch_size: int, seed: int) -> tuple[float, list[np.ndarray]]:
    t0 = time.perf_counter()
    if batch_size == 1:
        wavs = [tts.synthesize(*r, seed=seed).wav for r in requests]
    else:
        wavs = [r.wav for r in tts.synthesize_batch(requests, seed=seed, batch_size=batch_size)]
    return time.perf_counter() - t0, wavs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--text-file", default=None, help="seed-tts-eval list (default: example prompts x sentences)")
    ap.add_argument("--max-utts", type=int, default=32)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--report", default=None, help="also write the Markdown table here")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    tts = TTS.from_pretrained(args.model, device=args.device)
    requests = requests_from(args, tts)
    tts.synthesize(*requests[0], seed=args.seed)  # warm-up
    sizes = sorted(set([1] + args.batch_sizes))
    rows, reference = [], None
    for size in sizes:
        wall, wavs = run(tts, requests, size, args.seed)
        audio = sum(len(w) for w in wavs) / tts.sample_rate
        if reference is None:
            reference = wavs
        same_length = all(len(a) == len(b) for a, b in zip(wavs, reference))
        diff = max(float(np.abs(a - b).max()) if len(a) == len(b) and len(a) else 0.0 for a, b in zip(wavs, reference))
        rows.append({"batch_size": size, "utts": len(requests), "audio_s": audio, "wall_s": wall,
                     "rtf": wall / audio, "same_lengths": same_length, "max_abs_diff": diff})
        print(f"batch {size}: {wall:.1f} s for {audio:.1f} s of audio, RTF {wall / audio:.3f}", flush=True)
    base = rows[0]["rtf"]
    lines = [f"`python benchmarks/tts_batch.py --model {args.model} --batch-sizes {' '.join(map(str, sizes))} "
             f"--threads {args.threads}{' --text-file ' + args.text_file if args.text_file else ''}` "
             f"({len(requests)} utterances, {rows[0]['audio_s']:.0f} s of audio; {platform.machine()}, "
             f"{torch.get_num_threads()} thread(s), torch {torch.__version__})", "",
             "| batch size | wall s | RTF | speed-up | same lengths as batch 1 | max abs sample diff |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['batch_size']} | {r['wall_s']:.1f} | {r['rtf']:.3f} | {base / r['rtf']:.2f}x | "
                     f"{'yes' if r['same_lengths'] else 'NO'} | {r['max_abs_diff']:.1e} |")
    table = "\n".join(lines)
    print(table)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            f.write(table + "\n")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
