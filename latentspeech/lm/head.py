"""Diffusion head: predicts the noise-free target of one latent frame from its noisy version x_t,
the diffusion time t and the transformer state h (MAR's `SimpleMLPAdaLN`, Li et al. 2024; LatentLM).

Shape letters: M a flat batch of frames (no sequence axis), D latent_dim, C transformer width,
W head width. adaLN modulation layers and the output layer start at zero, so an untrained head
outputs 0 and every residual block starts as the identity.

The adaLN modulations depend on (t, h) only, not on x_t, and hold over half the head's weights. A sampler that
knows its time grid computes them for all its steps in one batch (`modulations`) and then runs only the
x_t path per step (`forward_modulated`): at batch 1-2 on a CPU the head is bound by reading its weights, so
this reads the modulation weights once per frame instead of once per solver step.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["DiffusionHead", "TimestepEmbedder", "Modulations"]

Modulations = list[tuple[Tensor, ...]]  # per block (shift, scale, gate), then the final layer's (shift, scale)


def _modulate(x: Tensor, shift: Tensor, scale: Tensor) -> Tensor:
    return x * (1 + scale) + shift


class TimestepEmbedder(nn.Module):
    """t ∈ [0, 1] → sinusoidal features of 1000·t (DDPM's integer-step scale) → MLP → [M, W]."""

    def __init__(self, width: int, freq_dim: int = 256):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, width), nn.SiLU(), nn.Linear(width, width))

    def forward(self, t: Tensor) -> Tensor:
        half = self.freq_dim // 2
        freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
        args = (1000.0 * t.float())[:, None] * freqs[None]  # [M, F/2]
        emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
        return self.mlp(emb.to(self.mlp[0].weight.dtype))


class ResBlock(nn.Module):
    """x + gate · MLP(modulate(LN(x), shift, scale)), (shift, scale, gate) from the condition."""

    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(width, 3 * width))

    def modulation(self, c: Tensor) -> tuple[Tensor, ...]:
        return self.ada(c).chunk(3, dim=-1)

    def modulated(self, x: Tensor, mod: tuple[Tensor, ...]) -> Tensor:
        shift, scale, gate = mod
        return x + gate * self.mlp(_modulate(self.norm(x), shift, scale))

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        return self.modulated(x, self.modulation(c))


class FinalLayer(nn.Module):
    def __init__(self, width: int, out_dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))
        self.linear = nn.Linear(width, out_dim)

    def modulation(self, c: Tensor) -> tuple[Tensor, ...]:
        return self.ada(c).chunk(2, dim=-1)

    def modulated(self, x: Tensor, mod: tuple[Tensor, ...]) -> Tensor:
        shift, scale = mod
        return self.linear(_modulate(self.norm(x), shift, scale))

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        return self.modulated(x, self.modulation(c))


class DiffusionHead(nn.Module):
    """(x_t [M, D], t [M] in [0, 1], cond [M, C]) → model output [M, D] (v or ε, see schedule.py)."""

    def __init__(self, latent_dim: int, cond_dim: int, width: int = 512, depth: int = 3):
        super().__init__()
        self.time_embed = TimestepEmbedder(width)
        self.cond_embed = nn.Linear(cond_dim, width)
        self.input_proj = nn.Linear(latent_dim, width)
        self.blocks = nn.ModuleList(ResBlock(width) for _ in range(depth))
        self.final = FinalLayer(width, latent_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier linears, N(0, 0.02) time MLP, zero adaLN and output layers (MAR)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        for m in self.time_embed.mlp:
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.02)
        for block in self.blocks:
            nn.init.zeros_(block.ada[-1].weight)
            nn.init.zeros_(block.ada[-1].bias)
        for m in (self.final.ada[-1], self.final.linear):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)

    def modulations(self, t: Tensor, cond: Tensor) -> Modulations:
        """The adaLN modulations of every block and the final layer for times t [M] and states cond [M, C]."""
        c = self.time_embed(t) + self.cond_embed(cond.to(self.input_proj.weight.dtype))  # [M, W]
        return [block.modulation(c) for block in self.blocks] + [self.final.modulation(c)]

    def forward_modulated(self, x_t: Tensor, mods: Modulations) -> Tensor:
        """The head's output for x_t [M, D] under modulations computed by `modulations` for the same M rows."""
        x = self.input_proj(x_t.to(self.input_proj.weight.dtype))  # [M, D] → [M, W]
        for block, mod in zip(self.blocks, mods):
            x = block.modulated(x, mod)
        return self.final.modulated(x, mods[-1]).to(x_t.dtype)  # [M, W] → [M, D]

    def forward(self, x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        return self.forward_modulated(x_t, self.modulations(t, cond))
