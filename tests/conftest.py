"""Shared fixtures: seeded synthetic audio. Area-specific fixtures live in their own test modules."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _seed_and_threads():
    """Every test starts from the same seeds; torch uses at most 2 threads (CI has 2 cores)."""
    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    yield


@pytest.fixture
def sine_wav():
    """A 1.5 s 440 Hz sine at 16 kHz, float32 in [-0.5, 0.5]."""
    sr = 16_000
    t = np.arange(int(1.5 * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32), sr
