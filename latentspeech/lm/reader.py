"""`LatentReader`: a small bidirectional CTC phoneme recogniser over latent frames, the best-of-N judge.

The LM's own CTC head (`LMConfig.ctc_weight`) reads the hidden states that *predicted* each frame, so it scores
what the LM meant to say, not what the sampled frames hold. The reader reads the frames themselves, whole
utterance at once (a non-causal transformer encoder), trained on the σ-VAE latents of real speech with
σ-style noise so that it tolerates generated ones. `upsample` CTC slots per frame, as a 12.5 Hz frame spans
more than one phoneme. Torch only: it ships inside a "tts" model dir (`reader:` in config.yaml, `reader.*`
weights) and `Generator.best_of` ranks candidates by `scores` when `DecodeConfig.rerank` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ReaderConfig", "LatentReader"]


@dataclass
class ReaderConfig:
    latent_dim: int = 32
    vocab_size: int = 256          # phoneme ids; the CTC blank is id vocab_size
    d_model: int = 256
    n_layer: int = 4
    n_head: int = 4
    ff_mult: int = 4
    conv_kernel: int = 5           # depthwise convolution before the encoder: local order without position tables
    upsample: int = 3              # CTC slots per frame
    dropout: float = 0.1
    noise_std: float = 0.3         # training only: frames + |N(0, noise_std)|·ε per example (σ-VAE style)

    def __post_init__(self) -> None:
        if self.d_model % self.n_head:
            raise ValueError(f"d_model {self.d_model} is not a multiple of n_head {self.n_head}")
        if self.conv_kernel % 2 == 0:
            raise ValueError(f"conv_kernel must be odd (same-length padding), got {self.conv_kernel}")
        if self.upsample < 1:
            raise ValueError(f"upsample must be >= 1, got {self.upsample}")


class LatentReader(nn.Module):
    """Frames [B, N, D] → CTC log-probabilities [B, N·upsample, vocab_size + 1] (blank last)."""

    def __init__(self, config: ReaderConfig):
        super().__init__()
        c = self.config = config
        self.inp = nn.Linear(c.latent_dim, c.d_model)
        self.conv = nn.Conv1d(c.d_model, c.d_model, c.conv_kernel, padding=c.conv_kernel // 2, groups=c.d_model)
        layer = nn.TransformerEncoderLayer(c.d_model, c.n_head, c.ff_mult * c.d_model, dropout=c.dropout,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, c.n_layer, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(c.d_model)
        self.out = nn.Linear(c.d_model, c.upsample * (c.vocab_size + 1))

    @property
    def blank(self) -> int:
        return self.config.vocab_size

    def forward(self, frames: Tensor, lengths: Tensor) -> Tensor:
        c = self.config
        b, n, _ = frames.shape
        pad = torch.arange(n, device=frames.device)[None] >= lengths.to(frames.device)[:, None]  # [B, N]
        h = self.inp(frames) * (~pad)[..., None]
        h = h + self.conv(h.transpose(1, 2)).transpose(1, 2)
        h = self.encoder(h, src_key_padding_mask=pad)
        return self.out(self.norm(h)).view(b, n * c.upsample, c.vocab_size + 1).float().log_softmax(-1)

    def ctc_nll(self, frames: Tensor, lengths: Tensor, phonemes: Tensor, phoneme_lens: Tensor) -> Tensor:
        """CTC negative log-likelihood per phoneme of each example [B]; inf where the frames have fewer CTC slots
        than the text needs. frames [B, N, D], phonemes [B, P] (right-padded)."""
        logp = self(frames, lengths)
        nll = F.ctc_loss(logp.transpose(0, 1), phonemes, lengths * self.config.upsample, phoneme_lens,
                         blank=self.blank, reduction="none", zero_infinity=False)
        return nll / phoneme_lens.clamp(min=1)

    def loss(self, frames: Tensor, lengths: Tensor, phonemes: Tensor, phoneme_lens: Tensor,
             generator: torch.Generator | None = None) -> Tensor:
        """Training loss: mean per-phoneme CTC over the batch, frames noised per example in train mode
        (examples that cannot be spelt count 0 rather than inf)."""
        if self.training and self.config.noise_std > 0:
            b = frames.shape[0]
            sigma = torch.randn(b, 1, 1, device=frames.device, generator=generator).abs() * self.config.noise_std
            frames = frames + sigma * torch.randn(frames.shape, device=frames.device, generator=generator)
        nll = self.ctc_nll(frames, lengths, phonemes, phoneme_lens)
        return torch.where(torch.isfinite(nll), nll, torch.zeros_like(nll)).mean()

    @torch.inference_mode()
    def scores(self, candidates: list[Tensor], phonemes: Tensor) -> Tensor:
        """How well each candidate's frames [N_k, D] spell `phonemes` [P]: CTC NLL per phoneme [K], lower =
        reads the text better; inf for a candidate too short to spell it (or empty)."""
        k = len(candidates)
        lengths = torch.tensor([c.shape[0] for c in candidates], device=phonemes.device)
        out = torch.full((k,), float("inf"))
        keep = [i for i in range(k) if lengths[i] > 0]
        if not keep:
            return out
        dtype = self.inp.weight.dtype
        frames = nn.utils.rnn.pad_sequence([candidates[i].to(phonemes.device, dtype) for i in keep],
                                           batch_first=True)
        targets = phonemes.view(1, -1).expand(len(keep), -1)
        target_lens = torch.full((len(keep),), phonemes.numel(), dtype=torch.long, device=phonemes.device)
        out[keep] = self.ctc_nll(frames, lengths[keep], targets, target_lens).float().cpu()
        return out
