"""How far into the future does a σ-VAE latent frame look? (What an autoregressive LM can read off its history.)

    python benchmarks/vae_lookahead.py --vae vae_synth_cpu --data /work/corpus/synth/data/test --max-utts 40

For each utterance, the audio after a frame boundary (latent frame k) is replaced by other audio of the same
utterance; the table gives, for each earlier frame k − d, the mean relative change ‖Δz‖ / ‖z‖ of its
(normalised) latent. A causal encoder gives 0 for every d ≥ 1. Non-zero values at d = 1, 2, ... mean that in
teacher-forced LM training the previous frames already carry part of the frame to predict, so the LM can lower
its loss without reading the text; at inference that information is not there.
"""

from __future__ import annotations

import argparse

import numpy as np


def lookahead_profile(vae, wavs: list[np.ndarray], max_offset: int = 8, seed: int = 0) -> np.ndarray:
    """Mean relative latent change at offsets d = 0..max_offset frames before the first changed frame."""
    import torch

    rng = np.random.default_rng(seed)
    hop = vae.hop_length
    rows = []
    for w in wavs:
        n = len(w) // hop
        if n < max_offset + 3:
            continue
        k = int(rng.integers(max_offset + 1, n - 1))
        changed = w.copy()
        changed[k * hop:] = np.roll(w, int(rng.integers(hop, len(w) - hop)))[k * hop:]
        with torch.inference_mode():
            z = vae.encode(torch.from_numpy(np.stack([w, changed]))[:, None], normalize=True)
        rel = ((z[0] - z[1]).norm(dim=-1) / z[0].norm(dim=-1).clamp_min(1e-8)).numpy()
        rows.append([rel[k - d] for d in range(max_offset + 1)])
    return np.asarray(rows).mean(0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--vae", required=True, help="VAE model name under pretrained/ or model dir")
    p.add_argument("--data", required=True, help="kaldi data dir")
    p.add_argument("--max-utts", type=int, default=40)
    p.add_argument("--max-offset", type=int, default=6)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    import torch

    from latentspeech.audio.io import load_audio
    from latentspeech.data.kaldi import DataDir
    from latentspeech.vae.model import SigmaVAE

    torch.set_num_threads(args.threads)
    vae = SigmaVAE.from_pretrained(args.vae)
    data = DataDir.load(args.data)
    utts = sorted(data.wav_scp)[: args.max_utts]
    wavs = [load_audio(data.wav_path(u), sample_rate=vae.sample_rate)[0] for u in utts]
    profile = lookahead_profile(vae, wavs, args.max_offset)
    ms = 1000 * vae.hop_length / vae.sample_rate
    print(f"`{args.vae}` ({'causal' if vae.config.causal else 'non-causal'} encoder, {ms:g} ms frames), "
          f"{len(wavs)} utterances of `{args.data}`: mean ‖Δz‖/‖z‖ of frame k − d when the audio from frame k on "
          "changes\n")
    print("| d (frames before the change) | " + " | ".join(str(d) for d in range(len(profile))) + " |")
    print("|---|" + "---|" * len(profile))
    print("| relative latent change | " + " | ".join(f"{v:.3f}" for v in profile) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
