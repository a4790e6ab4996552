"""σ-VAE benchmark: reconstruction quality on a data dir (held-out speakers) and CPU speed.

    python benchmarks/vae.py --vae exp/vae/model --data /work/corpus/synth/data/test [--report vae.md]

Prints (and writes with --report) a Markdown table: log-mel distance, multi-resolution STFT distance, SI-SDR,
PESQ/STOI when installed, encode/decode speed as × real time (batch 1, whole utterances, this CPU, `--threads`),
latent frame rate and floats per second.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--vae", required=True, help="VAE model dir")
    p.add_argument("--data", required=True, help="data dir with wav.scp (e.g. held-out test speakers)")
    p.add_argument("--max-utts", type=int, default=50,
                   help="utterances, evenly spaced over the data dir (its segments, if any)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads for the speed numbers")
    p.add_argument("--report", help="also write the Markdown table here")
    args = p.parse_args(argv)

    from latentspeech.data.dump import load_utterance, read_utterance_list
    from latentspeech.vae.metrics import mel_distance, optional_pesq_stoi, si_sdr, stft_distance
    from latentspeech.vae.model import SigmaVAE

    torch.set_num_threads(args.threads)
    vae = SigmaVAE.from_pretrained(args.vae)
    items = read_utterance_list(args.data)
    items = items[:: max(1, len(items) // args.max_utts)][: args.max_utts]  # evenly spread over speakers
    rows: dict[str, list[float]] = {"mel": [], "stft": [], "sisdr": [], "pesq": [], "stoi": []}
    audio_s = enc_s = dec_s = 0.0
    with torch.inference_mode():
        for item in items:
            wav = load_utterance(item, vae.sample_rate)
            x = torch.from_numpy(wav).view(1, 1, -1)
            t0 = time.perf_counter()
            mu = vae.encode(x)
            t1 = time.perf_counter()
            hat = vae.decode(mu)[0, 0, : len(wav)].numpy()
            t2 = time.perf_counter()
            audio_s += len(wav) / vae.sample_rate
            enc_s += t1 - t0
            dec_s += t2 - t1
            rows["mel"].append(mel_distance(wav, hat, vae.sample_rate))
            rows["stft"].append(stft_distance(wav, hat))
            rows["sisdr"].append(si_sdr(wav, hat))
            for k, v in optional_pesq_stoi(wav, hat, vae.sample_rate).items():
                rows[k].append(v)

    def cell(k: str) -> str:
        v = rows[k]
        return f"{np.mean(v):.3f} ± {1.96 * np.std(v) / max(1, len(v)) ** 0.5:.3f}" if v else "n/a (not installed)"

    lines = [
        f"σ-VAE benchmark: `{args.vae}` on `{args.data}` ({len(items)} utterances, {audio_s:.1f} s)",
        "",
        "| metric | value |",
        "|---|---|",
        f"| log-mel L1 distance ↓ | {cell('mel')} |",
        f"| multi-res STFT distance ↓ | {cell('stft')} |",
        f"| SI-SDR (dB) ↑ | {cell('sisdr')} |",
        f"| PESQ (wb) ↑ | {cell('pesq')} |",
        f"| STOI ↑ | {cell('stoi')} |",
        f"| encode speed (× real time, {args.threads} thread{'s' if args.threads > 1 else ''}, fp32) | "
        f"{audio_s / enc_s:.0f}× |",
        f"| decode speed (× real time, {args.threads} thread{'s' if args.threads > 1 else ''}, fp32) | "
        f"{audio_s / dec_s:.0f}× |",
        f"| latent frame rate | {vae.frame_rate:g} Hz × {vae.latent_dim} dims |",
        f"| floats per second | {vae.frame_rate * vae.latent_dim:g} |",
        f"| parameters | {sum(p.numel() for p in vae.parameters()) / 1e6:.2f} M |",
        "",
        f"CPU: {platform.processor() or platform.machine()}, torch {torch.__version__}; ± = 95% CI.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.report:
        Path(args.report).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
