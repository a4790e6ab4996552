"""σ-VAE training losses (training only): multi-resolution mel and STFT reconstruction, hinge GAN, feature matching.

Shape letters: B batch, T samples. Mel filterbanks come from torchaudio (`melscale_fbanks`), never hand-written.
Reconstruction losses follow HiFi-GAN/EnCodec (L1 on log-mel at several resolutions) and Parallel WaveGAN
(spectral convergence + log-magnitude L1); the adversarial part is HiFi-GAN's hinge/feature-matching recipe.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
import torch.nn.functional as F
import torchaudio

__all__ = ["MultiResolutionMelLoss", "MultiResolutionSTFTLoss", "discriminator_loss", "generator_loss",
           "feature_matching_loss"]


def _stft_mag(wav: Tensor, n_fft: int, hop: int, window: Tensor) -> Tensor:
    """[B, 1, T] → |STFT| [B, F, L] (fp32)."""
    spec = torch.stft(wav.squeeze(1).float(), n_fft, hop, window=window, center=True, return_complex=True)
    return spec.abs().clamp(min=1e-7)


class MultiResolutionMelLoss(nn.Module):
    """Mean over resolutions of L1(log mel(x̂), log mel(x))."""

    def __init__(self, sample_rate: int, n_ffts: tuple[int, ...] = (512, 1024, 2048),
                 n_mels: tuple[int, ...] = (40, 80, 128)):
        super().__init__()
        self.n_ffts = list(n_ffts)
        for i, (n_fft, n_mel) in enumerate(zip(n_ffts, n_mels)):
            fb = torchaudio.functional.melscale_fbanks(n_fft // 2 + 1, 0.0, sample_rate / 2, n_mel, sample_rate,
                                                       norm="slaney", mel_scale="slaney")
            self.register_buffer(f"fb{i}", fb, persistent=False)
            self.register_buffer(f"win{i}", torch.hann_window(n_fft), persistent=False)

    def log_mels(self, wav: Tensor) -> list[Tensor]:
        out = []
        for i, n_fft in enumerate(self.n_ffts):
            mag = _stft_mag(wav, n_fft, n_fft // 4, getattr(self, f"win{i}"))
            mel = torch.matmul(mag.transpose(1, 2), getattr(self, f"fb{i}"))  # [B, L, n_mels]
            out.append(mel.clamp(min=1e-5).log())
        return out

    def forward(self, wav_hat: Tensor, wav: Tensor) -> Tensor:
        pairs = zip(self.log_mels(wav_hat), self.log_mels(wav))
        return torch.stack([F.l1_loss(a, b) for a, b in pairs]).mean()


class MultiResolutionSTFTLoss(nn.Module):
    """Mean over resolutions of spectral convergence + L1(log|X̂|, log|X|)."""

    def __init__(self, n_ffts: tuple[int, ...] = (256, 512, 1024, 2048)):
        super().__init__()
        self.n_ffts = list(n_ffts)
        for i, n_fft in enumerate(n_ffts):
            self.register_buffer(f"win{i}", torch.hann_window(n_fft), persistent=False)

    def forward(self, wav_hat: Tensor, wav: Tensor) -> Tensor:
        losses = []
        for i, n_fft in enumerate(self.n_ffts):
            w = getattr(self, f"win{i}")
            a, b = _stft_mag(wav_hat, n_fft, n_fft // 4, w), _stft_mag(wav, n_fft, n_fft // 4, w)
            sc = torch.linalg.norm(b - a) / torch.linalg.norm(b).clamp(min=1e-7)
            losses.append(sc + F.l1_loss(a.log(), b.log()))
        return torch.stack(losses).mean()


def discriminator_loss(real_logits: list[Tensor], fake_logits: list[Tensor]) -> Tensor:
    """Hinge loss for the discriminator, averaged over sub-discriminators."""
    terms = [F.relu(1 - r).mean() + F.relu(1 + f).mean() for r, f in zip(real_logits, fake_logits)]
    return torch.stack(terms).mean()


def generator_loss(fake_logits: list[Tensor]) -> Tensor:
    """Hinge generator loss, averaged over sub-discriminators."""
    return torch.stack([F.relu(1 - f).mean() for f in fake_logits]).mean()


def feature_matching_loss(real_fmaps: list[list[Tensor]], fake_fmaps: list[list[Tensor]]) -> Tensor:
    """Mean relative L1 between discriminator features of real and generated audio (EnCodec's normalised form)."""
    terms = []
    for rs, fs in zip(real_fmaps, fake_fmaps):
        for r, f in zip(rs, fs):
            r = r.detach()
            terms.append(F.l1_loss(f, r) / r.abs().mean().clamp(min=1e-5))
    return torch.stack(terms).mean()
