"""Noise schedule, prediction targets and the diffusion loss of the head.

Variance-preserving diffusion in angle form: x_t = α(t)·x0 + σ(t)·ε with α = cos θ(t), σ = sin θ(t).
θ grows linearly in t ∈ [0, 1], which is the cosine schedule of Nichol & Dhariwal (2021)
(ᾱ = cos²((t + s)/(1 + s)·π/2), s = 0.008), truncated where ᾱ(1) = `min_alpha_bar` so that x0 stays
recoverable from an ε-prediction at t = 1. Training draws t from `n_train_steps` (~1000) discrete levels.
Targets: v = α·ε − σ·x0 (Salimans & Ho 2022; default) or ε.
Shape letters: M flat frames, D latent_dim, C condition width; `...` any leading shape.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

__all__ = ["CosineSchedule", "diffusion_loss", "Prediction"]

Prediction = Literal["v", "eps"]


class CosineSchedule:
    """α(t), σ(t) of the truncated cosine schedule; conversions between x0, ε, v and model outputs."""

    def __init__(self, n_train_steps: int = 1000, s: float = 0.008, min_alpha_bar: float = 1e-4):
        self.n_train_steps = n_train_steps
        self.theta_min = 0.5 * math.pi * s / (1.0 + s)
        self.theta_max = math.acos(math.sqrt(min_alpha_bar))

    def alpha_sigma(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """t [...] in [0, 1] (0 = data, 1 = noise) → α, σ of the same shape, fp32."""
        theta = self.theta_min + t.float() * (self.theta_max - self.theta_min)
        return torch.cos(theta), torch.sin(theta)

    def log_snr(self, t: Tensor) -> Tensor:
        """λ(t) = log(α/σ), decreasing in t."""
        a, s = self.alpha_sigma(t)
        return torch.log(a) - torch.log(s)

    def t_from_log_snr(self, lam: Tensor) -> Tensor:
        """Inverse of `log_snr`: λ = log cot θ → t."""
        theta = torch.atan(torch.exp(-lam.float()))
        return ((theta - self.theta_min) / (self.theta_max - self.theta_min)).clamp(0.0, 1.0)

    def sample_t(self, n: int, device: torch.device, generator: torch.Generator | None = None) -> Tensor:
        """n training times from the discrete levels k/n_train_steps, k = 1 .. n_train_steps."""
        k = torch.randint(1, self.n_train_steps + 1, (n,), device=device, generator=generator)
        return k.float() / self.n_train_steps

    def add_noise(self, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
        """x_t = α x0 + σ ε for x0, noise [M, D], t [M]."""
        a, s = self.alpha_sigma(t)
        return a[:, None] * x0 + s[:, None] * noise

    def target(self, x0: Tensor, noise: Tensor, t: Tensor, prediction: Prediction) -> Tensor:
        """What the head regresses: v = α ε − σ x0, or ε."""
        if prediction == "eps":
            return noise
        a, s = self.alpha_sigma(t)
        return a[:, None] * noise - s[:, None] * x0

    def predict_x0(self, x_t: Tensor, t: Tensor, out: Tensor, prediction: Prediction) -> Tensor:
        """x0 estimate from a model output `out` [M, D] at time t [M]."""
        a, s = self.alpha_sigma(t)
        a, s = a[:, None], s[:, None]
        if prediction == "eps":
            return (x_t - s * out) / a
        return a * x_t - s * out

    def output_from_x0(self, x_t: Tensor, t: Tensor, x0: Tensor, prediction: Prediction) -> Tensor:
        """The model output that corresponds to the x0 estimate `x0` (for oracle denoisers in tests)."""
        a, s = self.alpha_sigma(t)
        a, s = a[:, None], s[:, None]
        eps = (x_t - a * x0) / s
        return eps if prediction == "eps" else a * eps - s * x0


def diffusion_loss(
    head: torch.nn.Module,
    x0: Tensor,
    cond: Tensor,
    mask: Tensor | None = None,
    schedule: CosineSchedule | None = None,
    prediction: Prediction = "v",
    batch_mul: int = 4,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Mean-squared error of the head on target frames x0 [..., D] given cond [..., C].

    `mask` [...] (bool) keeps only the frames that are trained on (generated frames: not the prompt, not
    padding). Each kept frame is noised at `batch_mul` independent times (MAR's diffusion_batch_mul: the
    transformer runs once, the cheap head several times). Returns a scalar; 0 when nothing is kept.
    """
    schedule = schedule or CosineSchedule()
    d = x0.shape[-1]
    x0 = x0.reshape(-1, d)
    cond = cond.reshape(-1, cond.shape[-1])
    if mask is not None:
        keep = mask.reshape(-1)
        x0, cond = x0[keep], cond[keep]  # [M, D], [M, C]
    if x0.shape[0] == 0:
        return cond.sum() * 0.0  # keeps the graph (DDP needs every parameter used)
    x0 = x0.float().repeat(batch_mul, 1)  # [M·mul, D]
    cond = cond.repeat(batch_mul, 1)
    t = schedule.sample_t(x0.shape[0], x0.device, generator)
    noise = torch.randn(x0.shape, device=x0.device, generator=generator)
    x_t = schedule.add_noise(x0, t, noise)
    out = head(x_t, t, cond).float()
    return (out - schedule.target(x0, noise, t, prediction)).pow(2).mean()
