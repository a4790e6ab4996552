"""Vocos-style decoder: latent frames [B, D, N] → ConvNeXt → expand to STFT frames → iSTFT → [B, 1, N * hop].

Shape letters: B batch, D latent_dim, N latent frames, K = hop_length / frame_hop STFT frames per latent
frame, M = N * K, F = dec_n_fft / 2 + 1 bins. Follows Vocos (Siuzdenko et al., 2023): ConvNeXt backbone and
a head predicting log-magnitude and phase; here each latent frame is expanded to K frames by one linear map
(the cheapest upsampler on CPU) and a few ConvNeXt blocks at the STFT frame rate smooth the joins.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
import torch.nn.functional as F

__all__ = ["ConvNeXtBlock", "VocosDecoder", "ISTFTHead"]


class ConvNeXtBlock(nn.Module):
    """[B, C, L] → [B, C, L]: depthwise conv, LayerNorm, MLP, layer scale, residual (ConvNeXt/Vocos)."""

    def __init__(self, dim: int, intermediate_dim: int, kernel_size: int = 7, causal: bool = False,
                 layer_scale: float = 1e-2):
        super().__init__()
        self.pad = (kernel_size - 1, 0) if causal else ((kernel_size - 1) // 2, kernel_size // 2)
        self.dwconv = nn.Conv1d(dim, dim, kernel_size, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, intermediate_dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(intermediate_dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x: Tensor) -> Tensor:
        h = self.dwconv(F.pad(x, self.pad)).transpose(1, 2)  # [B, C, L] → [B, L, C]
        h = self.pwconv2(self.act(self.pwconv1(self.norm(h))))
        return x + (self.gamma * h).transpose(1, 2)


def conv1d_same(dim_in: int, dim_out: int, kernel_size: int, causal: bool) -> nn.Module:
    """Length-preserving Conv1d (left-only padding when causal)."""
    pad = (kernel_size - 1, 0) if causal else ((kernel_size - 1) // 2, kernel_size // 2)
    return nn.Sequential(nn.ConstantPad1d(pad, 0.0), nn.Conv1d(dim_in, dim_out, kernel_size))


class ISTFTHead(nn.Module):
    """[B, M, C] → waveform [B, 1, M * hop]: linear → (log|S|, phase) → torch.istft (centred frames)."""

    def __init__(self, dim: int, n_fft: int, hop_length: int):
        super().__init__()
        self.n_fft, self.hop_length = n_fft, hop_length
        self.proj = nn.Linear(dim, n_fft + 2)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        m = x.shape[1]
        mag, phase = self.proj(x).float().transpose(1, 2).chunk(2, dim=1)  # [B, F, M] each
        mag = mag.exp().clamp(max=1e2)  # Vocos: safeguard against exploding magnitudes
        spec = torch.polar(mag, phase)
        wav = torch.istft(spec, self.n_fft, self.hop_length, window=self.window, center=True,
                          length=m * self.hop_length)
        return wav.unsqueeze(1)


class VocosDecoder(nn.Module):
    """[B, D, N] → [B, 1, N * hop_length]."""

    def __init__(self, config):
        super().__init__()
        c = config
        self.k = c.hop_length // c.frame_hop
        causal = c.causal_decoder
        self.embed = conv1d_same(c.latent_dim, c.dec_dim, c.kernel_size, causal)
        self.norm = nn.LayerNorm(c.dec_dim, eps=1e-6)
        self.latent_blocks = nn.ModuleList(
            ConvNeXtBlock(c.dec_dim, 3 * c.dec_dim, c.kernel_size, causal) for _ in range(c.dec_latent_layers))
        self.expand = nn.Linear(c.dec_dim, self.k * c.dec_frame_dim)
        self.frame_blocks = nn.ModuleList(
            ConvNeXtBlock(c.dec_frame_dim, 3 * c.dec_frame_dim, c.kernel_size, causal)
            for _ in range(c.dec_frame_layers))
        self.final_norm = nn.LayerNorm(c.dec_frame_dim, eps=1e-6)
        self.head = ISTFTHead(c.dec_frame_dim, c.dec_n_fft, c.frame_hop)

    def forward(self, z: Tensor) -> Tensor:
        b, _, n = z.shape
        x = self.embed(z)  # [B, D, N] → [B, dec_dim, N]
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        for block in self.latent_blocks:
            x = block(x)
        x = self.expand(x.transpose(1, 2))  # [B, N, dec_dim] → [B, N, K * frame_dim]
        x = x.reshape(b, n * self.k, -1).transpose(1, 2)  # → [B, frame_dim, M]
        for block in self.frame_blocks:
            x = block(x)
        x = self.final_norm(x.transpose(1, 2))  # [B, M, frame_dim]
        return self.head(x)
