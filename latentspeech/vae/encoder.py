"""Light encoder: waveform [B, 1, T] → log-mel frames → ConvNeXt → strided merge → [B, C_out, N].

Shape letters: B batch, T = N * hop_length samples, M = N * K STFT frames (K = hop_length / frame_hop),
N latent frames. The mel filterbank comes from torchaudio (`melscale_fbanks`). Non-causal: the STFT is centred
(frame m looks at samples around m * frame_hop; the last, extra frame is dropped). Causal: each window ends where
its frame ends (left padding), so no latent frame sees audio of a later frame.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
import torchaudio

from latentspeech.vae.decoder import ConvNeXtBlock, conv1d_same

__all__ = ["MelConvNeXtEncoder"]


class MelConvNeXtEncoder(nn.Module):
    """[B, 1, N * hop] → [B, out_dim, N]."""

    def __init__(self, config, out_dim: int):
        super().__init__()
        c = config
        self.n_fft, self.frame_hop, self.k = c.enc_n_fft, c.frame_hop, c.hop_length // c.frame_hop
        self.causal = c.causal
        self.register_buffer("window", torch.hann_window(c.enc_n_fft), persistent=False)
        fb = torchaudio.functional.melscale_fbanks(c.enc_n_fft // 2 + 1, 0.0, c.sample_rate / 2, c.n_mels,
                                                   c.sample_rate, norm="slaney", mel_scale="slaney")
        self.register_buffer("mel_fb", fb, persistent=False)  # [F, n_mels]
        self.embed = conv1d_same(c.n_mels, c.enc_dim, c.kernel_size, c.causal)
        self.norm = nn.LayerNorm(c.enc_dim, eps=1e-6)
        self.frame_blocks = nn.ModuleList(
            ConvNeXtBlock(c.enc_dim, 3 * c.enc_dim, c.kernel_size, c.causal) for _ in range(c.enc_frame_layers))
        self.merge = nn.Conv1d(c.enc_dim, c.enc_dim, self.k, stride=self.k)  # K frames → 1 latent frame
        self.latent_blocks = nn.ModuleList(
            ConvNeXtBlock(c.enc_dim, 3 * c.enc_dim, c.kernel_size, c.causal) for _ in range(c.enc_latent_layers))
        self.out_norm = nn.LayerNorm(c.enc_dim, eps=1e-6)
        self.out = nn.Linear(c.enc_dim, out_dim)

    def log_mel(self, wav: Tensor) -> Tensor:
        """[B, 1, T] → [B, n_mels, T / frame_hop]."""
        x = wav.squeeze(1).float()
        if self.causal:  # window of frame m = samples [(m + 1) * hop − n_fft, (m + 1) * hop)
            x = nn.functional.pad(x, (self.n_fft - self.frame_hop, 0))
        spec = torch.stft(x, self.n_fft, self.frame_hop, window=self.window, center=not self.causal,
                          return_complex=True).abs()  # [B, F, M (+ 1 when centred)]
        mel = torch.matmul(spec.transpose(1, 2), self.mel_fb).transpose(1, 2)
        m = wav.shape[-1] // self.frame_hop
        return mel[..., :m].clamp(min=1e-5).log()

    def forward(self, wav: Tensor) -> Tensor:
        x = self.embed(self.log_mel(wav))  # [B, n_mels, M] → [B, C, M]
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        for block in self.frame_blocks:
            x = block(x)
        x = self.merge(x)  # [B, C, M] → [B, C, N]
        for block in self.latent_blocks:
            x = block(x)
        return self.out(self.out_norm(x.transpose(1, 2))).transpose(1, 2)  # [B, out_dim, N]
