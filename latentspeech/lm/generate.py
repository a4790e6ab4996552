"""Autoregressive generation: prefill [phonemes] [BOS] [prompt frames] into the KV cache, then per step
h_t → stop check → diffusion head samples frame x_t (few solver steps, CFG) → feed x_t back.

Decoding options come from `DecodeConfig` (lm/decoding.py, the one home of decoding defaults).
Shape letters: P phonemes, N frames, D latent_dim, C d_model, S streams (1, or 2 with CFG:
conditional and text-dropped unconditional, batched through the transformer and the head).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Iterator

import torch
from torch import Tensor

from latentspeech.lm.decoding import DecodeConfig
from latentspeech.lm.model import LatentLM
from latentspeech.lm.sampler import CFGDenoiser, make_sampler

log = logging.getLogger(__name__)

__all__ = ["DecodeConfig", "GenerationOutput", "Generator"]


@dataclass
class GenerationOutput:
    frames: Tensor                          # [N, D] generated frames (normalised latents), prompt excluded
    stopped: bool                           # True: the stop classifier ended it; False: the length guard
    timings: dict[str, float] = field(default_factory=dict)


class Generator:
    """Next-frame generation with a LatentLM (moshi's LMGen / nanochat's Engine pattern)."""

    def __init__(self, lm: LatentLM, config: DecodeConfig | None = None, frame_rate: float = 12.5):
        self.lm = lm
        self.config = config or DecodeConfig()
        self.frame_rate = frame_rate
        self.sampler = make_sampler(self.config.solver, lm.schedule, self.config.steps, lm.config.prediction)
        self.timings: dict[str, float] = {}
        self.stopped = False

    def max_frames(self, n_text_phonemes: int) -> int:
        """Length guard: min(max_seconds, 1 s + max_seconds_per_phoneme · phonemes) in frames, ≥ 1."""
        c = self.config
        seconds = min(c.max_seconds, 1.0 + c.max_seconds_per_phoneme * n_text_phonemes)
        return max(1, math.ceil(seconds * self.frame_rate))

    def min_frames(self, n_text_phonemes: int) -> int:
        """Frames before which the stop classifier is not consulted: min_seconds_per_phoneme · phonemes, ≥ 1."""
        return max(1, math.floor(self.config.min_seconds_per_phoneme * n_text_phonemes * self.frame_rate))

    def _sync(self, device: torch.device) -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    @torch.inference_mode()
    def stream(self, phonemes: Tensor, prompt_frames: Tensor, n_text_phonemes: int | None = None,
               seed: int | None = None, max_frames: int | None = None) -> Iterator[Tensor]:
        """Yield generated frames [D] one by one. phonemes [P] = prompt text + text; prompt_frames [N_p, D].

        `n_text_phonemes` (phonemes of the text to speak, for the length guard; default all of P).
        After exhaustion `self.stopped` and `self.timings` describe the run.
        """
        lm, c = self.lm, self.config
        dev = phonemes.device
        guided = c.cfg_scale != 1.0
        s = 2 if guided else 1
        n_text = n_text_phonemes if n_text_phonemes is not None else phonemes.numel()
        limit = max_frames if max_frames is not None else self.max_frames(n_text)
        first_stop = self.min_frames(n_text)
        gen = torch.Generator(device=dev).manual_seed(seed) if seed is not None else None
        d = lm.config.latent_dim
        t = {"prefill_s": 0.0, "transformer_s": 0.0, "head_s": 0.0, "frames": 0}
        self.timings, self.stopped = t, False

        t0 = time.perf_counter()
        cache = lm.new_cache(s, phonemes.numel() + 1 + prompt_frames.shape[0] + limit + 1, dev)
        drop = torch.tensor([False, True], device=dev) if guided else None
        h = lm.prefill(phonemes.view(1, -1).expand(s, -1), prompt_frames.unsqueeze(0).expand(s, -1, -1),
                       cache, drop)  # [S, C]
        self._sync(dev)
        t["prefill_s"] = time.perf_counter() - t0

        for i in range(limit):
            if i >= first_stop and lm.stop_prob(h[0]).item() > c.stop_threshold:
                self.stopped = True
                return
            t0 = time.perf_counter()
            denoise = CFGDenoiser(lm.head, h[:1], h[1:] if guided else None, c.cfg_scale)
            noise = c.temperature * torch.randn(1, d, device=dev, generator=gen)
            frame = self.sampler.sample(denoise, noise, generator=gen)  # [1, D] fp32
            self._sync(dev)
            t1 = time.perf_counter()
            t["head_s"] += t1 - t0
            t["frames"] = i + 1
            yield frame[0]
            t1 = time.perf_counter()
            if i + 1 < limit:
                h = lm.step(frame.expand(s, -1), cache)
                self._sync(dev)
                t["transformer_s"] += time.perf_counter() - t1
        log.warning("generation hit the length guard (%d frames = %.1f s) before the stop classifier fired; "
                    "the text may be cut off (raise max_seconds, or check the model)", limit, limit / self.frame_rate)

    def generate(self, phonemes: Tensor, prompt_frames: Tensor, n_text_phonemes: int | None = None,
                 seed: int | None = None, max_frames: int | None = None) -> GenerationOutput:
        """All frames at once → GenerationOutput (frames [N, D], stopped, timings)."""
        frames = list(self.stream(phonemes, prompt_frames, n_text_phonemes, seed, max_frames))
        d = self.lm.config.latent_dim
        out = torch.stack(frames) if frames else prompt_frames.new_zeros(0, d)
        return GenerationOutput(frames=out.float(), stopped=self.stopped, timings=dict(self.timings))
