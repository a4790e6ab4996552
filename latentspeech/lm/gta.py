"""Ground-truth-aligned (GTA) latents: what the LM makes of every frame of a real utterance when it is fed the true
frames before it (teacher forcing), sampled with the decoding settings used at inference (solver, steps, CFG,
temperature).

A σ-VAE decoder fine-tuned on them (`train-vae` with `data.latents`) learns to turn the kind of latents the LM
produces, not only the encoder's, into the recorded audio: the counterpart of fine-tuning a vocoder on a
Tacotron's ground-truth-aligned mels (Shen et al. 2018). Frame k of a GTA dump is aligned with the audio of frame k,
so the dump pairs with the utterance's waveform like a `dump-latents` dump, and with the utterance's true latents:
`train-lm` with `data.history_latents` feeds some of them to the LM as its input history in place of the true
frames (scheduled sampling with the LM's own samples, LMDataConfig.history_prob).

    latentspeech dump-gta-latents --model default --data dump/phn/train --latents dump/latents/train \
        --out dump/gta/train
"""

from __future__ import annotations

import logging
import math
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from latentspeech.lm.decoding import DecodeConfig
from latentspeech.lm.model import LatentLM
from latentspeech.lm.generate import guided_denoiser
from latentspeech.lm.sampler import make_sampler

log = logging.getLogger(__name__)

__all__ = ["gta_frames", "gta_prompt_len", "dump_gta_latents"]


def gta_prompt_len(num_frames: int, frame_rate: float, prompt_seconds: float = 3.0, max_frac: float = 0.5) -> int:
    """Frames kept as the (true) prompt: min(prompt_seconds, max_frac of the utterance), in [1, num_frames − 1]."""
    n = round(min(prompt_seconds * frame_rate, max_frac * num_frames))
    return max(1, min(n, num_frames - 1))


@torch.inference_mode()
def gta_frames(lm: LatentLM, phonemes: Tensor, frames: Tensor, prompt_len: int, decode: DecodeConfig,
               generator: torch.Generator | None = None) -> Tensor:
    """One utterance → its GTA frames [N, D]: frames [:prompt_len] as given, every later frame k sampled by the
    diffusion head from the state the LM computes over the true frames before k (CFG on the text as in decoding).

    phonemes [P] (long), frames [N, D] normalised latents, 1 ≤ prompt_len < N."""
    n, d = frames.shape
    if not 1 <= prompt_len < n:
        raise ValueError(f"prompt_len must be in [1, {n - 1}] for {n} frames, got {prompt_len}")
    guided = decode.cfg_scale != 1.0
    s = 2 if guided else 1
    dev = frames.device
    drop = torch.tensor([False, True], device=dev) if guided else None
    out = lm(phonemes.view(1, -1).expand(s, -1), torch.full((s,), phonemes.numel(), device=dev),
             frames.unsqueeze(0).expand(s, -1, -1), torch.full((s,), n, device=dev), drop)
    h = out.hidden[:, prompt_len:n].float()  # [S, M, C]: state j predicts frame j
    denoise = guided_denoiser(lm, h[0], h[1] if guided else None, decode)
    sampler = make_sampler(decode.solver, lm.schedule, decode.steps, lm.config.prediction)
    noise = decode.temperature * torch.randn(n - prompt_len, d, device=dev, generator=generator)
    made = sampler.sample(denoise, noise, generator=generator)  # [M, D]
    return torch.cat([frames[:prompt_len].float(), made.float()])


def dump_gta_latents(model: str | Path, phn_dir: str | Path, latent_dir: str | Path, out_dir: str | Path,
                     decode: dict[str, Any] | None = None, prompt_seconds: float = 3.0, seed: int = 0,
                     max_utts: int | None = None, shard: tuple[int, int] | None = None, force: bool = False,
                     device: str = "cpu") -> Path:
    """GTA frames for the utterances of a phoneme + latent dump, written as a latent dump (`out_dir`/latents/<utt>.npy,
    float16 normalised, + latents.scp, utt2num_frames, vae.yaml, utt2spk once every utterance is done).

    `model`: a "tts" model dir or name whose VAE made `latent_dir` (its LM and phoneme table are used); `decode`:
    overrides of the model's decode config (steps, cfg_scale, temperature, solver). An utterance's noise comes
    from (seed, utt) alone, so shards and resumed runs give the same files. `max_utts`: an evenly spaced subset of
    the dump (so every speaker of a dump sorted by speaker), the same for every shard."""
    from tqdm import tqdm

    from latentspeech.api import TTS
    from latentspeech.data.datasets import LMDataConfig, LMDataset
    from latentspeech.data.dump import save_npy, write_index
    from latentspeech.errors import DataDirError

    tts = TTS.from_pretrained(model, device=device)
    decode_config = tts.decode_options(**(decode or {}))
    latent_dir, out = Path(latent_dir), Path(out_dir)
    data = LMDataset(phn_dir, latent_dir, tts.vocab, LMDataConfig(cross_prompt_prob=0.0, min_utt_seconds=0.0))
    vae = tts.vae
    if data.latent_dim not in (None, vae.latent_dim) or not math.isclose(data.frame_rate, vae.frame_rate):
        raise DataDirError(f"{latent_dir} holds {data.latent_dim}-dim latents at {data.frame_rate:g} Hz; the model's "
                           f"σ-VAE makes {vae.latent_dim} at {vae.frame_rate:g} Hz: dump them with its VAE")
    index = list(range(len(data)))
    if max_utts is not None and max_utts < len(index):
        index = sorted(set(np.linspace(0, len(index) - 1, max(1, max_utts)).round().astype(int).tolist()))
    mine = index if shard is None else index[shard[0] - 1:: shard[1]]
    (out / "latents").mkdir(parents=True, exist_ok=True)
    todo = [i for i in mine if force or not (out / "latents" / f"{data.utts[i]}.npy").is_file()]
    log.info("dump-gta-latents: %d utterances, %d to make; %d steps, CFG %g, temperature %g, %s",
             len(index), len(todo), decode_config.steps, decode_config.cfg_scale, decode_config.temperature,
             decode_config.solver)
    t0, frames_made = time.perf_counter(), 0
    for i in tqdm(todo, unit="utt", mininterval=10):
        frames = torch.from_numpy(data.load_frames(i)).to(device)
        p = gta_prompt_len(frames.shape[0], data.frame_rate, prompt_seconds)
        gen = torch.Generator(device=device).manual_seed(seed * 1_000_003 + zlib.crc32(data.utts[i].encode()))
        ids = torch.tensor(data.ids[i], dtype=torch.long, device=device)
        z = gta_frames(tts.lm, ids, frames, p, decode_config, gen)
        save_npy(out / "latents" / f"{data.utts[i]}.npy", z.cpu().numpy().astype(np.float16))
        frames_made += z.shape[0] - p
    dt = time.perf_counter() - t0
    log.info("made %d frames in %.1f s (%.0f frames/s)", frames_made, dt, frames_made / max(dt, 1e-9))
    if write_index(out, [data.utts[i] for i in index], latent_dir / "vae.yaml", latent_dir / "utt2spk"):
        log.info("wrote %s/latents.scp (%d utterances)", out, len(index))
    return out
