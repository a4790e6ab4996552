"""Discriminators (training only): encodec's `MultiScaleSTFTDiscriminator` + an optional small multi-period one.

Every discriminator maps a waveform [B, 1, T] to (logits: list[Tensor], fmaps: list[list[Tensor]]), one entry
per sub-discriminator. The multi-period discriminator is HiFi-GAN's (Kong et al., 2020), with fewer channels.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import weight_norm

__all__ = ["DiscConfig", "MultiPeriodDiscriminator", "Discriminators"]


@dataclass
class DiscConfig:
    msstft_filters: int = 32                         # encodec default; 16 for CPU configs
    msstft_n_ffts: tuple[int, ...] = (1024, 2048, 512)
    mpd_periods: tuple[int, ...] = ()                # e.g. (2, 3, 5, 7, 11); empty = no multi-period disc
    mpd_channels: int = 16


class PeriodDiscriminator(nn.Module):
    """[B, 1, T] → logits [B, 1, T/p', p] over the signal folded into columns of `period` samples."""

    def __init__(self, period: int, channels: int = 16):
        super().__init__()
        self.period = period
        chans = [1, channels, 2 * channels, 4 * channels, 8 * channels]
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(chans[i], chans[i + 1], (5, 1), (3, 1), padding=(2, 0))) for i in range(4))
        self.post = weight_norm(nn.Conv2d(chans[-1], 1, (3, 1), padding=(1, 0)))

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        b, c, t = x.shape
        if t % self.period:
            x = F.pad(x, (0, self.period - t % self.period), mode="reflect")
        x = x.view(b, c, -1, self.period)  # [B, 1, T] → [B, 1, T / p, p]
        fmap = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.1)
            fmap.append(x)
        return self.post(x), fmap


class MultiPeriodDiscriminator(nn.Module):
    def __init__(self, periods: tuple[int, ...], channels: int = 16):
        super().__init__()
        self.discriminators = nn.ModuleList(PeriodDiscriminator(p, channels) for p in periods)

    def forward(self, x: Tensor) -> tuple[list[Tensor], list[list[Tensor]]]:
        outs = [d(x) for d in self.discriminators]
        return [o[0] for o in outs], [o[1] for o in outs]


class Discriminators(nn.Module):
    """All configured discriminators behind one call: wav → (logits, fmaps)."""

    def __init__(self, config: DiscConfig):
        super().__init__()
        from encodec.msstftd import MultiScaleSTFTDiscriminator

        n_ffts = list(config.msstft_n_ffts)
        self.msstft = MultiScaleSTFTDiscriminator(filters=config.msstft_filters, n_ffts=n_ffts,
                                                  hop_lengths=[n // 4 for n in n_ffts], win_lengths=n_ffts)
        self.mpd = MultiPeriodDiscriminator(config.mpd_periods, config.mpd_channels) if config.mpd_periods else None

    def forward(self, wav: Tensor) -> tuple[list[Tensor], list[list[Tensor]]]:
        logits, fmaps = self.msstft(wav)
        logits, fmaps = list(logits), list(fmaps)
        if self.mpd is not None:
            l2, f2 = self.mpd(wav)
            logits += l2
            fmaps += f2
        return logits, fmaps
