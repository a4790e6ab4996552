"""Autoregressive generation: prefill [phonemes] [BOS] [prompt frames] into the KV cache, then per step
h_t → stop check → diffusion head samples frame x_t (few solver steps, CFG) → feed x_t back.

Decoding options come from `DecodeConfig` (lm/decoding.py, the one home of decoding defaults).
Shape letters: P phonemes, N frames, D latent_dim, C d_model, S streams (1, or 2 with CFG:
conditional and text-dropped unconditional, batched through the transformer and the head; × K candidates for
best-of-N, the conditional rows first).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import torch
from torch import Tensor

from latentspeech.lm.decoding import DecodeConfig
from latentspeech.lm.layers import KVCache
from latentspeech.lm.model import LatentLM
from latentspeech.lm.sampler import CFGDenoiser, Generators, make_sampler, randn_rows

log = logging.getLogger(__name__)

__all__ = ["DecodeConfig", "GenerationOutput", "Generator", "choose_candidate", "guided_denoiser"]


@dataclass
class GenerationOutput:
    frames: Tensor                          # [N, D] generated frames (normalised latents), prompt excluded
    stopped: bool                           # True: the stop classifier ended it; False: the length guard
    timings: dict[str, float] = field(default_factory=dict)
    candidates: list[Tensor] = field(default_factory=list)  # best_of: every candidate's frames [N_i, D]


@dataclass
class _Plan:
    """One utterance's length guards."""

    first_stop: int      # the stop classifier is consulted from this frame on
    limit: int           # at most this many frames (the length guard)


def choose_candidate(scores: Tensor, lengths: Tensor) -> int:
    """Index of the best-of-N winner: the lowest CTC loss per phoneme. All scores infinite (no candidate can spell
    the text in its frames) → the longest candidate."""
    scores = scores.detach().float().cpu()
    lengths = lengths.detach().cpu()
    if not bool(torch.isfinite(scores).any()):
        return int(torch.argmax(lengths))
    return int(torch.argmin(scores))


def guided_denoiser(lm: LatentLM, cond: Tensor, uncond: Tensor | None, config: DecodeConfig,
                    times: Tensor | None = None) -> CFGDenoiser:
    """The LM's diffusion head as the solver's denoiser, guided as `config` says (scale, interval, rescale,
    projection) on states cond [M, C] and text-dropped uncond [M, C] (None: unguided); `times`: the solver's
    eval_times, to precompute the head's modulations. One place for generation and GTA dumps."""
    return CFGDenoiser(lm.head, cond, uncond, config.cfg_scale, times=times,
                       interval=(config.cfg_t_min, config.cfg_t_max), rescale=config.cfg_rescale,
                       parallel=config.cfg_parallel, schedule=lm.schedule, prediction=lm.config.prediction)


class Generator:
    """Next-frame generation with a LatentLM (moshi's LMGen / nanochat's Engine pattern)."""

    def __init__(self, lm: LatentLM, config: DecodeConfig | None = None, frame_rate: float = 12.5):
        self.lm = lm
        self.config = config or DecodeConfig()
        self.frame_rate = frame_rate
        self.sampler = make_sampler(self.config.solver, lm.schedule, self.config.steps, lm.config.prediction)
        self._eval_times = self.sampler.eval_times()  # lets CFGDenoiser batch the head's adaLN over all steps
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

    def _plan(self, n_phonemes: int, n_text_phonemes: int | None, max_frames: int | None) -> _Plan:
        """One utterance's length guards from its phoneme count (prompt text + separator + text) and its text's
        phonemes (default: all)."""
        n_text = n_text_phonemes if n_text_phonemes is not None else n_phonemes
        limit = max_frames if max_frames is not None else self.max_frames(n_text)
        return _Plan(first_stop=self.min_frames(n_text), limit=limit)

    def _reset_timings(self) -> None:
        self.timings = {"prefill_s": 0.0, "transformer_s": 0.0, "head_s": 0.0, "frames": 0}
        self.stopped = False

    def _start(self, phonemes: Tensor, prompt_frames: Tensor, n_text_phonemes: int | None, max_frames: int | None,
               k: int) -> tuple[Tensor, KVCache, int, int]:
        """Prefill k conditional (+ k text-dropped with CFG) streams → (states [S, C], cache, limit, first_stop)."""
        plan = self._plan(phonemes.numel(), n_text_phonemes, max_frames)
        self._reset_timings()
        h, cache = self._prefill(phonemes, prompt_frames, k, room=plan.limit + 1)
        return h, cache, plan.limit, plan.first_stop

    def _prefill(self, phonemes: Tensor, prompt_frames: Tensor, k: int, room: int = 0) -> tuple[Tensor, KVCache]:
        """Run one utterance's prefix into a new cache for k conditional (+ k text-dropped with CFG) streams, with
        `room` free positions after it → (states [S, C], cache); adds the time to timings['prefill_s']."""
        lm, dev = self.lm, phonemes.device
        guided = self.config.cfg_scale != 1.0
        s = 2 * k if guided else k
        t0 = time.perf_counter()
        cache = lm.new_cache(s, phonemes.numel() + 1 + prompt_frames.shape[0] + room, dev)
        drop = torch.arange(s, device=dev) >= k if guided else None
        h = lm.prefill(phonemes.view(1, -1).expand(s, -1), prompt_frames.unsqueeze(0).expand(s, -1, -1), cache, drop)
        self._sync(dev)
        self.timings["prefill_s"] += time.perf_counter() - t0
        return h, cache

    def _sample(self, h: Tensor, k: int, gen: Generators) -> Tensor:
        """States [S, C] → k frames [k, D] (CFG over the conditional first k rows and the text-dropped rest);
        `gen`: one generator, or one per row (each row then draws what it would alone)."""
        c = self.config
        t0 = time.perf_counter()
        guided = h.shape[0] > k
        denoise = guided_denoiser(self.lm, h[:k], h[k:] if guided else None, c, self._eval_times.to(h.device))
        noise = c.temperature * randn_rows((k, self.lm.config.latent_dim), h.device, gen)
        frame = self.sampler.sample(denoise, noise, generator=gen)  # [k, D] fp32
        self._sync(h.device)
        self.timings["head_s"] += time.perf_counter() - t0
        return frame

    def _step(self, frame: Tensor, cache: KVCache, streams: int) -> Tensor:
        """Feed k frames [k, D] (one per stream of the conditional rows) to all S streams (conditional and
        text-dropped rows alike) → states [S, C]."""
        t0 = time.perf_counter()
        h = self.lm.step(frame.repeat(streams // frame.shape[0], 1), cache)
        self._sync(frame.device)
        self.timings["transformer_s"] += time.perf_counter() - t0
        return h

    def _warn_length_guard(self, limit: int) -> None:
        log.warning("generation hit the length guard (%d frames = %.1f s) before the stop classifier fired; "
                    "the text may be cut off (raise max_seconds, or check the model)", limit, limit / self.frame_rate)

    @torch.inference_mode()
    def stream(self, phonemes: Tensor, prompt_frames: Tensor, n_text_phonemes: int | None = None,
               seed: int | None = None, max_frames: int | None = None) -> Iterator[Tensor]:
        """Yield generated frames [D] one by one. phonemes [P] = prompt text + text; prompt_frames [N_p, D].

        `n_text_phonemes` (phonemes of the text to speak, for the length guard; default all of P).
        After exhaustion `self.stopped` and `self.timings` describe the run. One candidate (no best-of-N).
        """
        gen = torch.Generator(device=phonemes.device).manual_seed(seed) if seed is not None else None
        h, cache, limit, first_stop = self._start(phonemes, prompt_frames, n_text_phonemes, max_frames, 1)
        for i in range(limit):
            if i >= first_stop and self.lm.stop_prob(h[0]).item() > self.config.stop_threshold:
                self.stopped = True
                return
            frame = self._sample(h, 1, gen)
            self.timings["frames"] = i + 1
            yield frame[0]
            if i + 1 < limit:
                h = self._step(frame, cache, h.shape[0])
        self._warn_length_guard(limit)

    @torch.inference_mode()
    def best_of(self, phonemes: Tensor, prompt_frames: Tensor, n_text_phonemes: int | None = None,
                seed: int | None = None, max_frames: int | None = None,
                candidates: int | None = None) -> GenerationOutput:
        """Best-of-N: sample N candidates (default `config.candidates`) in one batch and return the one whose
        frame-predicting states the LM's CTC head reads as the text best (`LatentLM.ctc_scores` against the last
        `n_text_phonemes` phonemes). Each candidate stops on its own; the batch runs until all have.
        `timings` adds every candidate's `ctc_scores` and `candidate_frames`, and the winner's index `chosen`.
        """
        lm = self.lm
        k = candidates or self.config.candidates
        if not lm.has_ctc_head:
            raise ValueError("best-of-N by the LM's CTC head needs an LM trained with model.ctc_weight > 0; "
                             "use candidates=1 with this model")
        dev = phonemes.device
        gen = torch.Generator(device=dev).manual_seed(seed) if seed is not None else None
        h, cache, limit, first_stop = self._start(phonemes, prompt_frames, n_text_phonemes, max_frames, k)
        lengths = torch.full((k,), limit, dtype=torch.long)
        done = torch.zeros(k, dtype=torch.bool)
        states, frames = [], []
        for i in range(limit):
            if i >= first_stop:
                stop = (lm.stop_prob(h[:k]) > self.config.stop_threshold).cpu() & ~done
                lengths[stop] = i
                done |= stop
                if bool(done.all()):
                    break
            states.append(h[:k].float())
            frames.append(self._sample(h, k, gen))
            self.timings["frames"] = i + 1
            if i + 1 < limit:
                h = self._step(frames[-1], cache, h.shape[0])
        n_text = n_text_phonemes if n_text_phonemes is not None else phonemes.numel()
        d = lm.config.latent_dim
        every = torch.stack(frames, 1).float() if frames else prompt_frames.new_zeros(k, 0, d).float()
        kept = [every[i, : int(lengths[i])] for i in range(k)]
        text = phonemes[phonemes.numel() - n_text:]
        scores = lm.ctc_scores(torch.stack(states, 1), lengths, text).float().cpu()
        self.timings["ctc_scores"] = [float(x) for x in scores]
        best = choose_candidate(scores, lengths)
        self.stopped = bool(done[best])
        if not self.stopped:
            self._warn_length_guard(limit)
        self.timings.update(candidate_frames=lengths.tolist(), chosen=best)
        return GenerationOutput(frames=kept[best], stopped=self.stopped, timings=dict(self.timings), candidates=kept)

    @torch.inference_mode()
    def generate_batch(self, requests: Sequence[tuple[Tensor, Tensor, int | None]],
                       seeds: Sequence[int | None] | None = None,
                       max_frames: int | None = None) -> list[GenerationOutput]:
        """Several utterances in one batch (throughput: at small batches a step costs about what one row does).

        `requests`: (phonemes [P_b], prompt_frames [N_b, D], n_text_phonemes) per utterance, any lengths; `seeds`
        one per request. Each output equals `generate` of its request alone with its seed, to float round-off:
        rows are left-padded and keep their own positions, guards and random generator. One candidate per
        utterance (best-of-N batches its candidates already); an utterance that stops leaves the batch. Prefixes
        are prefilled one utterance at a time (compute-bound), the steps batched. `timings`
        are the batch's, with the utterance's own `frames` and `batch_size`.
        """
        lm, c = self.lm, self.config
        if c.candidates > 1:
            raise ValueError(f"generate_batch samples one candidate per utterance (candidates={c.candidates}); "
                             "use best_of per utterance for best-of-N")
        n = len(requests)
        seeds = list(seeds) if seeds is not None else [None] * n
        if len(seeds) != n:
            raise ValueError(f"{len(seeds)} seeds for {n} requests")
        if n == 0:
            return []
        dev = requests[0][0].device
        gens = [torch.Generator(device=dev).manual_seed(s) if s is not None else None for s in seeds]
        plans = [self._plan(ph.numel(), nt, max_frames) for ph, _, nt in requests]
        guided = c.cfg_scale != 1.0
        copies = 2 if guided else 1  # the conditional rows, then the text-dropped ones in the same order
        self._reset_timings()
        # prefill each utterance alone (compute-bound: batching gains nothing) into a cache just its prefix long,
        # then batch the steps in one cache with room for the longest utterance
        prefilled = [self._prefill(ph, pf, 1) for ph, pf, _ in requests]
        order = [(r, j) for j in range(copies) for r in range(n)]  # the conditional rows, then the text-dropped
        width = max(one.length for _, one in prefilled)
        cache = KVCache.gather_rows([one for _, one in prefilled], order, width + max(p.limit for p in plans) + 1)
        h = torch.stack([prefilled[r][0][j] for r, j in order])  # [S, C]
        active = list(range(n))  # the utterances still in the batch, in row order
        frames: list[list[Tensor]] = [[] for _ in range(n)]
        stopped = [False] * n
        for i in range(max(p.limit for p in plans)):
            k = len(active)
            stop = lm.stop_prob(h[:k]).cpu()
            keep = []
            for a, r in enumerate(active):
                if i >= plans[r].limit:
                    continue  # the length guard
                if i >= plans[r].first_stop and float(stop[a]) > c.stop_threshold:
                    stopped[r] = True
                    continue
                keep.append(a)
            if not keep:
                break
            if len(keep) < k:  # finished utterances leave the batch (and the cache)
                rows = torch.tensor([a + j * k for j in range(copies) for a in keep], device=dev)
                cache.select(rows)
                h = h.index_select(0, rows)
                active = [active[a] for a in keep]
            frame = self._sample(h, len(active), [gens[r] for r in active])
            for a, r in enumerate(active):
                frames[r].append(frame[a])
            self.timings["frames"] += len(active)
            if any(i + 1 < plans[r].limit for r in active):
                h = self._step(frame, cache, h.shape[0])
        guarded = [r for r in range(n) if not stopped[r]]
        if guarded:
            log.warning("%d of %d utterances hit the length guard before the stop classifier fired; the text may "
                        "be cut off", len(guarded), n)
        d = lm.config.latent_dim
        shared = dict(self.timings, batch_size=n)
        return [GenerationOutput(frames=torch.stack(f).float() if f else requests[r][1].new_zeros(0, d).float(),
                                 stopped=stopped[r],
                                 timings=dict(shared, frames=len(f)))
                for r, f in enumerate(frames)]

    def generate(self, phonemes: Tensor, prompt_frames: Tensor, n_text_phonemes: int | None = None,
                 seed: int | None = None, max_frames: int | None = None) -> GenerationOutput:
        """All frames at once → GenerationOutput (frames [N, D], stopped, timings); best-of-N (`best_of`) when
        `config.candidates` > 1."""
        if self.config.candidates > 1:
            return self.best_of(phonemes, prompt_frames, n_text_phonemes, seed, max_frames)
        frames = list(self.stream(phonemes, prompt_frames, n_text_phonemes, seed, max_frames))
        d = self.lm.config.latent_dim
        out = torch.stack(frames) if frames else prompt_frames.new_zeros(0, d)
        return GenerationOutput(frames=out.float(), stopped=self.stopped, timings=dict(self.timings))
