"""σ-VAE: waveform [B, 1, T] ↔ latent frames [B, N, D], N = ceil(T / hop_length) (input padded internally).

Shape letters: B batch, T samples, N latent frames, D latent_dim, C channels.
Two backbones behind one interface (`VAEConfig.backbone`):
- "convnext": log-mel frames + ConvNeXt blocks + strided merge (encoder.py) and a Vocos-style
  ConvNeXt + iSTFT decoder (decoder.py) — cheap on CPU.
- "seanet": encodec's `SEANetEncoder` / `SEANetDecoder` (imported from the `encodec` package).
The σ-VAE part is `sample_posterior` (LatentLM, arXiv 2412.08635): the encoder outputs μ only and training
decodes z = μ + σ·ε with one σ per example, σ = |N(0, 1)|·sigma_std/0.8 (the reference code's draw), plus a
small ‖μ‖² penalty instead of the KL. `posterior: gaussian | none` give the plain-VAE / plain-AE ablations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn
import torch.nn.functional as F

from latentspeech.errors import CheckpointError, InputError

__all__ = ["VAEConfig", "VAEOutput", "SigmaVAE"]


@dataclass
class VAEConfig:
    backbone: Literal["convnext", "seanet"] = "convnext"
    sample_rate: int = 16_000
    latent_dim: int = 32
    hop_length: int = 1280                      # samples per latent frame: 16 kHz / 1280 = 12.5 Hz
    posterior: Literal["sigma", "gaussian", "none"] = "sigma"
    sigma_std: float = 0.5                      # C_σ: σ = |randn(B)| * sigma_std / 0.8 (training only)
    causal: bool = False                        # left-only padding in every conv
    decoder_causal: bool | None = None          # None: as `causal`; False with causal=True: a causal encoder (no
                                                # lookahead in the LM's latents) and a decoder that looks ahead
    # convnext backbone (frame_hop | hop_length; each latent frame = hop_length / frame_hop STFT frames)
    frame_hop: int = 320                        # encoder STFT hop = decoder iSTFT hop
    enc_n_fft: int = 1024
    n_mels: int = 80
    enc_dim: int = 256
    enc_frame_layers: int = 2                   # ConvNeXt blocks at the STFT frame rate
    enc_latent_layers: int = 4                  # ConvNeXt blocks at the latent frame rate
    dec_dim: int = 384
    dec_latent_layers: int = 4
    dec_frame_dim: int = 256
    dec_frame_layers: int = 4
    dec_n_fft: int = 1280                       # iSTFT window (≥ 2·frame_hop)
    kernel_size: int = 7
    # seanet backbone (hop_length must equal prod(ratios))
    ratios: tuple[int, ...] = (8, 5, 5, 4, 2)   # hop 1600 → 15 frames/s at 24 kHz
    n_filters: int = 32
    n_residual_layers: int = 1
    lstm: int = 2

    @property
    def causal_decoder(self) -> bool:
        return self.causal if self.decoder_causal is None else self.decoder_causal

    def __post_init__(self) -> None:
        if self.backbone == "seanet" and self.decoder_causal not in (None, self.causal):
            raise ValueError("decoder_causal differing from causal needs the convnext backbone")
        if self.backbone == "seanet" and math.prod(self.ratios) != self.hop_length:
            raise ValueError(f"hop_length {self.hop_length} != prod(ratios) {math.prod(self.ratios)}")
        if self.backbone == "convnext":
            if self.hop_length % self.frame_hop:
                raise ValueError(f"hop_length {self.hop_length} is not a multiple of frame_hop {self.frame_hop}")
            if self.dec_n_fft < 2 * self.frame_hop:
                raise ValueError(f"dec_n_fft {self.dec_n_fft} must be >= 2 * frame_hop ({2 * self.frame_hop})")
        if self.posterior not in ("sigma", "gaussian", "none"):
            raise ValueError(f"posterior must be sigma, gaussian or none, not {self.posterior!r}")


@dataclass
class VAEOutput:
    wav: Tensor        # [B, 1, N * hop] reconstruction
    mu: Tensor         # [B, N, D]
    z: Tensor          # [B, N, D] what the decoder saw
    reg: Tensor        # scalar: mean(μ²) (sigma), KL (gaussian) or 0 (none)


class SigmaVAE(nn.Module):
    """Waveform autoencoder with a σ-VAE (or ablation) bottleneck; see the module docstring."""

    def __init__(self, config: VAEConfig):
        super().__init__()
        self.config = config
        enc_out = 2 * config.latent_dim if config.posterior == "gaussian" else config.latent_dim
        if config.backbone == "seanet":
            from encodec.modules import SEANetDecoder, SEANetEncoder

            kw = dict(channels=1, n_filters=config.n_filters, n_residual_layers=config.n_residual_layers,
                      ratios=list(config.ratios), causal=config.causal, lstm=config.lstm)
            self.encoder = SEANetEncoder(dimension=enc_out, **kw)
            self.decoder = SEANetDecoder(dimension=config.latent_dim, **kw)
        else:
            from latentspeech.vae.decoder import VocosDecoder
            from latentspeech.vae.encoder import MelConvNeXtEncoder

            self.encoder = MelConvNeXtEncoder(config, enc_out)
            self.decoder = VocosDecoder(config)
        self.register_buffer("latent_mean", torch.zeros(config.latent_dim))  # saved with the weights
        self.register_buffer("latent_std", torch.ones(config.latent_dim))

    # --- facts -------------------------------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    @property
    def hop_length(self) -> int:
        return self.config.hop_length

    @property
    def frame_rate(self) -> float:
        return self.config.sample_rate / self.config.hop_length

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    # --- encoder -----------------------------------------------------------------------------------
    def _check_wav(self, wav: Tensor) -> None:
        if wav.dim() != 3 or wav.shape[1] != 1:
            raise InputError(f"expected a mono waveform batch [B, 1, T], got shape {tuple(wav.shape)}")
        if wav.shape[-1] < self.hop_length:
            raise InputError(
                f"audio is {wav.shape[-1] / self.sample_rate:.3f} s long; need at least one latent frame "
                f"({self.hop_length / self.sample_rate:.3f} s)"
            )
        if not torch.isfinite(wav).all():
            raise InputError("audio has non-finite samples (NaN/inf); fix or re-export the file")

    def _encode_raw(self, wav: Tensor) -> Tensor:
        """[B, 1, T] → encoder output [B, N, D] (or [B, N, 2D] for the gaussian posterior)."""
        n = math.ceil(wav.shape[-1] / self.hop_length)
        wav = F.pad(wav, (0, n * self.hop_length - wav.shape[-1]))  # [B, 1, N * hop]
        h = self.encoder(wav)  # [B, C, N]
        return h.transpose(1, 2)[:, :n]

    def encode(self, wav: Tensor, normalize: bool = False) -> Tensor:
        """[B, 1, T] in [-1, 1] → μ [B, ceil(T / hop), D]. Deterministic: no noise at inference."""
        self._check_wav(wav)
        mu = self._encode_raw(wav)[..., : self.latent_dim]
        if normalize:
            mu = (mu - self.latent_mean) / self.latent_std
        return mu

    def sample_posterior(self, h: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Encoder output h → (z, μ, regulariser); noise only in training mode."""
        cfg = self.config
        if cfg.posterior == "gaussian":
            mu, logvar = h.chunk(2, dim=-1)
            logvar = logvar.clamp(-30.0, 20.0)
            reg = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).mean()
            if not self.training:
                return mu, mu, reg
            eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
            return mu + (0.5 * logvar).exp() * eps, mu, reg
        mu = h
        if cfg.posterior == "none":
            return mu, mu, mu.new_zeros(())
        reg = mu.pow(2).mean()  # LatentLM: 1e-2 * mean(μ²) replaces the KL term
        if not self.training:
            return mu, mu, reg
        b = mu.shape[0]
        # one σ per example (the reference draws randn(B) * std / 0.8; the sign is irrelevant, we keep |.|)
        sigma = torch.randn(b, generator=generator, device=mu.device, dtype=mu.dtype).abs() * (cfg.sigma_std / 0.8)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + sigma.view(b, 1, 1) * eps, mu, reg

    # --- decoder -----------------------------------------------------------------------------------
    def decode(self, z: Tensor, denormalize: bool = False) -> Tensor:
        """[B, N, D] → [B, 1, N * hop_length]."""
        if z.dim() != 3 or z.shape[-1] != self.latent_dim:
            raise InputError(f"expected latents [B, N, {self.latent_dim}], got shape {tuple(z.shape)}")
        if denormalize:
            z = z * self.latent_std + self.latent_mean
        wav = self.decoder(z.transpose(1, 2))  # [B, D, N] → [B, 1, N * hop]
        return wav[..., : z.shape[1] * self.hop_length]

    def forward(self, wav: Tensor, generator: torch.Generator | None = None,
                latents: Tensor | None = None) -> VAEOutput:
        """Training/eval pass: [B, 1, T] → reconstruction [B, 1, N * hop] (noisy z in train mode).

        `latents` [B, N, D] (raw μ scale): decode these instead of encoding `wav` (decoder fine-tuning on latents
        from elsewhere, e.g. an LM's; regulariser 0)."""
        if latents is not None:
            return VAEOutput(wav=self.decode(latents), mu=latents, z=latents, reg=latents.new_zeros(()))
        h = self._encode_raw(wav)
        z, mu, reg = self.sample_posterior(h, generator)
        return VAEOutput(wav=self.decode(z), mu=mu, z=z, reg=reg)

    # --- release model dir -------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, model_dir: str, device: str | torch.device = "cpu") -> "SigmaVAE":
        """Load a model dir (or a name under pretrained/) written by `save_pretrained` / `export-vae` (strict)."""
        from latentspeech.checkpoint import load_model_dir, load_state_dict_strict
        from latentspeech.pretrained import resolve_model

        model_dir = str(resolve_model(model_dir))
        config, state, _ = load_model_dir(model_dir, VAEConfig, "vae")
        try:
            model = cls(config)
        except (ValueError, TypeError) as e:
            raise CheckpointError(f"'{model_dir}' has an invalid VAE config ({e})") from None
        load_state_dict_strict(model, state, str(model_dir))
        return model.to(device).eval()

    def save_pretrained(self, model_dir: str, extra: dict | None = None, dtype: torch.dtype | None = None) -> None:
        """Write config.yaml + model.safetensors (kind 'vae'), incl. the latent mean/std buffers.

        `dtype` (e.g. torch.float16) is the storage dtype of floating tensors; loading casts back."""
        from latentspeech.checkpoint import save_model_dir

        extra = {"frame_rate": self.frame_rate, **(extra or {})}
        save_model_dir(model_dir, "vae", self.config, self.state_dict(), extra=extra, dtype=dtype)
