"""TTS speed: RTF, time to first audio, per-frame latency split into transformer / diffusion head / VAE decode,
and how generation time scales with output length (KV cache vs recomputing the whole prefix).

Works before any model is trained (random weights give the same speed):
    python benchmarks/tts_speed.py --random-init --config egs/synth/tts1/conf/lm.yaml \
        --vae-config egs/synth/tts1/conf/vae.yaml --dtype float32 bfloat16
or on a model dir:
    python benchmarks/tts_speed.py --model pretrained/default --dtype bfloat16
Prints a Markdown table (and --json FILE). Stop is disabled so every run makes exactly --frames frames.
`--batch-sizes 1 16 64` adds throughput of `Generator.generate_batch` (that many utterances per batch, each
--frames long, then one batched VAE decode): what `latentspeech tts --text-file ... --batch-size N` runs, without
the text front end, so it needs only torch (e.g. on a GPU machine: `--device cuda`).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import statistics
import time
from pathlib import Path

import torch
import yaml

from latentspeech.config import config_from_dict
from latentspeech.lm.decoding import DecodeConfig
from latentspeech.lm.generate import Generator
from latentspeech.lm.model import LatentLM, LMConfig
from latentspeech.vae.model import SigmaVAE, VAEConfig

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build(args, dtype: torch.dtype, device: torch.device) -> tuple[LatentLM, SigmaVAE]:
    if args.model:
        from latentspeech.api import TTS

        tts = TTS.from_pretrained(args.model, device=device, dtype=dtype)
        return tts.lm, tts.vae
    lm_doc = yaml.safe_load(Path(args.config).read_text()) or {}
    lm_cfg = config_from_dict(lm_doc.get("model", {}), LMConfig, args.config)
    lm_cfg.vocab_size = 80
    vae_doc = yaml.safe_load(Path(args.vae_config).read_text()) if args.vae_config else {}
    vae_cfg = config_from_dict((vae_doc or {}).get("model", {}), VAEConfig, args.vae_config or "VAE defaults")
    if vae_cfg.latent_dim != lm_cfg.latent_dim:
        raise SystemExit(f"VAE latent_dim {vae_cfg.latent_dim} != LM latent_dim {lm_cfg.latent_dim}")
    torch.manual_seed(0)
    lm = LatentLM(lm_cfg).to(device=device, dtype=dtype).eval()
    vae = SigmaVAE(vae_cfg).to(device).eval()
    return lm, vae


def timed(fn, device, repeat: int) -> float:
    """Median seconds of `repeat` calls after one warm-up."""
    fn()
    times = []
    for _ in range(repeat):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


@torch.inference_mode()
def scaling(lm: LatentLM, lengths: list[int], n_phonemes: int, device: torch.device) -> list[dict]:
    """Transformer-only time to produce L frames: KV-cache steps vs full recompute of the prefix each step."""
    d = lm.config.latent_dim
    phon = torch.randint(2, lm.config.vocab_size, (1, n_phonemes), device=device)
    rows = []
    for n in lengths:
        frames = torch.randn(1, n, d, device=device)

        def cached():
            cache = lm.new_cache(1, n_phonemes + n + 2, device)
            lm.prefill(phon, frames[:, :0], cache)
            for j in range(n):
                lm.step(frames[:, j], cache)

        def recompute():
            for j in range(n):  # what a model without a cache does: the whole sequence again, every frame
                lm(phon, torch.tensor([n_phonemes], device=device), frames[:, :j],
                   torch.tensor([j], device=device))

        row = {"frames": n, "cache_s": timed(cached, device, 1)}
        row["recompute_s"] = timed(recompute, device, 1) if n <= 400 else float("nan")
        rows.append(row)
    return rows


@torch.inference_mode()
def bench(args, dtype_name: str, device: torch.device) -> dict:
    lm, vae = build(args, DTYPES[dtype_name], device)
    rate = vae.frame_rate
    n_prompt = round(args.prompt_seconds * rate)
    cfg = DecodeConfig(steps=args.steps, cfg_scale=args.cfg_scale, stop_threshold=1.0, max_seconds=1e6)
    gen = Generator(lm, cfg, rate)
    phon = torch.randint(2, lm.config.vocab_size, (args.phonemes,), device=device)
    prompt = torch.randn(n_prompt, lm.config.latent_dim, device=device)

    gen.generate(phon, prompt, seed=0, max_frames=8)  # warm-up
    runs = [gen.generate(phon, prompt, seed=0, max_frames=args.frames) for _ in range(args.repeat)]
    t = min(runs, key=lambda r: r.timings["transformer_s"] + r.timings["head_s"]).timings
    frames = torch.randn(1, args.frames, lm.config.latent_dim, device=device)
    vae_full = timed(lambda: vae.decode(frames, denormalize=True), device, args.repeat)
    chunk = args.chunk_frames + DecodeConfig.stream_lookahead_frames  # frames generated before the first audio
    first = torch.randn(1, 8 + chunk, lm.config.latent_dim, device=device)  # + 8 prompt frames of left context
    vae_first = timed(lambda: vae.decode(first, denormalize=True), device, args.repeat)

    per_tf = t["transformer_s"] / max(1, args.frames - 1)
    per_head = t["head_s"] / args.frames
    per_vae = vae_full / args.frames
    gen_s = t["prefill_s"] + t["transformer_s"] + t["head_s"] + vae_full
    audio_s = args.frames / rate
    result = {
        "dtype": dtype_name, "device": str(device), "threads": torch.get_num_threads(),
        "params_lm_M": lm.num_parameters()["total"] / 1e6,
        "params_vae_M": sum(p.numel() for p in vae.parameters()) / 1e6, "frame_rate": rate,
        "steps": args.steps, "cfg_scale": args.cfg_scale, "frames": args.frames, "prompt_frames": n_prompt,
        "phonemes": args.phonemes, "prefill_ms": 1e3 * t["prefill_s"], "transformer_ms_per_frame": 1e3 * per_tf,
        "head_ms_per_frame": 1e3 * per_head, "vae_ms_per_frame": 1e3 * per_vae,
        "total_ms_per_frame": 1e3 * (per_tf + per_head + per_vae), "rtf": gen_s / audio_s,
        "first_audio_ms": 1e3 * (t["prefill_s"] + chunk * (per_tf + per_head) + vae_first),
    }
    if args.lengths:
        result["scaling"] = scaling(lm, args.lengths, args.phonemes, device)
    if args.batch_sizes:
        result["batches"] = batches(gen, vae, phon, prompt, args.batch_sizes, args.frames, args.repeat, device)
    return result


@torch.inference_mode()
def batches(gen: Generator, vae: SigmaVAE, phon: torch.Tensor, prompt: torch.Tensor, sizes: list[int],
            frames: int, repeat: int, device: torch.device) -> list[dict]:
    """Throughput of `generate_batch`: B utterances of `frames` frames each (seeds 0..B-1), then one VAE decode of
    all of them; RTF = seconds per second of audio made, over the whole batch."""
    rows = []
    for b in sizes:
        requests = [(phon, prompt, None)] * b

        def run():
            outs = gen.generate_batch(requests, seeds=list(range(b)), max_frames=frames)
            vae.decode(torch.stack([o.frames for o in outs]), denormalize=True)

        s = timed(run, device, repeat)
        audio_s = b * frames / vae.frame_rate
        rows.append({"batch": b, "seconds": s, "rtf": s / audio_s, "audio_per_second": audio_s / s,
                     "ms_per_step": 1e3 * s / frames})
    return rows


def _table(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    """A titled Markdown table, preceded by a blank line."""
    return ["", title, "| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows)]


def report(results: list[dict]) -> str:
    r0 = results[0]
    lines = [f"LM {r0['params_lm_M']:.2f}M params, VAE {r0['params_vae_M']:.2f}M, {r0['frame_rate']:g} Hz, "
             f"{r0['steps']} solver steps, cfg {r0['cfg_scale']:g}, {r0['frames']} frames after a "
             f"{r0['prompt_frames']}-frame prompt + {r0['phonemes']} phonemes; {r0['device']}, "
             f"{r0['threads']} threads, {platform.processor() or platform.machine()}", "",
             "| dtype | transformer ms/frame | head ms/frame | VAE ms/frame | total ms/frame | prefill ms "
             "| first audio ms | RTF |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['dtype']} | {r['transformer_ms_per_frame']:.1f} | {r['head_ms_per_frame']:.1f} | "
                     f"{r['vae_ms_per_frame']:.2f} | {r['total_ms_per_frame']:.1f} | {r['prefill_ms']:.0f} | "
                     f"{r['first_audio_ms']:.0f} | {r['rtf']:.3f} |")
    for r in results:
        if "scaling" in r:
            lines += _table(f"Scaling ({r['dtype']}, transformer only): seconds to produce N frames",
                            ["N frames", "KV cache s", "ms/frame", "recompute s", "ms/frame"],
                            [[f"{s['frames']}", f"{s['cache_s']:.3f}", f"{1e3 * s['cache_s'] / s['frames']:.1f}",
                              f"{s['recompute_s']:.3f}", f"{1e3 * s['recompute_s'] / s['frames']:.1f}"]
                             for s in r["scaling"]])
        if "batches" in r:
            lines += _table(f"Batched ({r['dtype']}, generate_batch + VAE decode): {r['frames']} frames per utterance",
                            ["batch", "s per batch", "ms per step", "RTF", "audio s per s"],
                            [[f"{b['batch']}", f"{b['seconds']:.2f}", f"{b['ms_per_step']:.1f}", f"{b['rtf']:.4f}",
                              f"{b['audio_per_second']:.1f}"] for b in r["batches"]])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=None, help="a 'tts' model dir (else --random-init)")
    p.add_argument("--random-init", action="store_true", help="random weights from --config/--vae-config")
    p.add_argument("--config", default="egs/synth/tts1/conf/lm.yaml")
    p.add_argument("--vae-config", default="egs/synth/tts1/conf/vae.yaml")
    p.add_argument("--dtype", nargs="+", default=["float32", "bfloat16"], choices=list(DTYPES))
    p.add_argument("--steps", type=int, default=DecodeConfig.steps)
    p.add_argument("--cfg-scale", type=float, default=DecodeConfig.cfg_scale)
    p.add_argument("--frames", type=int, default=100, help="generated frames per run")
    p.add_argument("--prompt-seconds", type=float, default=3.0)
    p.add_argument("--phonemes", type=int, default=120, help="prompt text + text phonemes")
    p.add_argument("--chunk-frames", type=int, default=DecodeConfig.stream_chunk_frames)
    p.add_argument("--lengths", type=lambda s: [int(x) for x in s.split(",") if x], default=[25, 50, 100, 200],
                   help="comma-separated frame counts for the scaling table ('' to skip)")
    p.add_argument("--batch-sizes", type=int, nargs="*", default=[],
                   help="also measure generate_batch throughput at these batch sizes (e.g. 1 16 64)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="auto")
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)
    if not args.model and not args.random_init:
        p.error("give --model DIR or --random-init")
    torch.set_num_threads(args.threads)
    logging.getLogger("latentspeech.lm.generate").setLevel(logging.ERROR)  # the fixed length is intended
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          "cpu" if args.device == "auto" else args.device)
    results = [bench(args, d, device) for d in args.dtype]
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
