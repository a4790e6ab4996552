"""Length-bucketed dynamic batches: as many utterances of similar length as fit a padded budget.

Every rank builds the same batch list from (seed, epoch), then takes every world_size-th batch, so all
ranks step the same number of times (DDP never waits on a rank that ran out). Lengths and the budget are
in latent frames (callers convert seconds with the frame rate).
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch

__all__ = ["DynamicBatchSampler", "make_batches"]


def make_batches(lengths: Sequence[int], max_batch_frames: int, rng: np.random.Generator | None = None,
                 jitter: float = 0.1) -> list[list[int]]:
    """Group indices so that len(batch) · max length ≤ max_batch_frames (one over-long item → its own batch).

    Items are sorted by length with a random ±`jitter`/2 relative wobble (so batches differ per epoch),
    then cut greedily; the batch order is shuffled when `rng` is given.
    """
    lengths = np.asarray(lengths, dtype=np.float64)
    if len(lengths) == 0:
        return []
    key = lengths * (1.0 + jitter * (rng.random(len(lengths)) - 0.5)) if rng is not None else lengths
    order = np.argsort(key, kind="stable")
    batches: list[list[int]] = []
    cur: list[int] = []
    cur_max = 0.0
    for i in order:
        new_max = max(cur_max, lengths[i])
        if cur and (len(cur) + 1) * new_max > max_batch_frames:
            batches.append(cur)
            cur, new_max = [], lengths[i]
        cur.append(int(i))
        cur_max = new_max
    if cur:
        batches.append(cur)
    if rng is not None:
        batches = [batches[k] for k in rng.permutation(len(batches))]
    return batches


class DynamicBatchSampler(torch.utils.data.Sampler):
    """Batch sampler for DataLoader(batch_sampler=...): dynamic, length-bucketed, DDP-aware, epoch-seeded."""

    def __init__(self, lengths: Sequence[int], max_batch_frames: int, shuffle: bool = True, seed: int = 0,
                 rank: int = 0, world_size: int = 1):
        self.lengths = list(lengths)
        self.max_batch_frames = max_batch_frames
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _mine(self) -> list[list[int]]:
        rng = np.random.default_rng((self.seed, self.epoch)) if self.shuffle else None
        batches = make_batches(self.lengths, self.max_batch_frames, rng)
        usable = len(batches) - len(batches) % self.world_size  # equal step counts on every rank
        return batches[self.rank : usable : self.world_size]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._mine())

    def __len__(self) -> int:
        return len(self._mine())
