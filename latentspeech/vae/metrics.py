"""Reconstruction metrics for codec benchmarks: log-mel distance, multi-resolution STFT distance, SI-SDR.

Inputs are 1-D float arrays/tensors [T] at the same sample rate; the reconstruction is cut to the reference's
length. Lower is better for the distances, higher for SI-SDR (dB). PESQ/STOI are used when their pip packages
(`pesq`, `pystoi`) are installed; otherwise they are reported as missing.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["mel_distance", "stft_distance", "si_sdr", "optional_pesq_stoi"]


def _as_tensor(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float32)).reshape(1, 1, -1)


def _pair(ref, hat) -> tuple[torch.Tensor, torch.Tensor]:
    ref, hat = _as_tensor(ref), _as_tensor(hat)
    n = min(ref.shape[-1], hat.shape[-1])
    return ref[..., :n], hat[..., :n]


def mel_distance(ref, hat, sample_rate: int) -> float:
    """Mean L1 between log-mels (n_fft 1024, hop 256, 80 mels), natural-log units."""
    from latentspeech.vae.losses import MultiResolutionMelLoss

    ref, hat = _pair(ref, hat)
    return float(MultiResolutionMelLoss(sample_rate, (1024,), (80,))(hat, ref))


def stft_distance(ref, hat) -> float:
    """Multi-resolution (512/1024/2048) spectral convergence + log-magnitude L1."""
    from latentspeech.vae.losses import MultiResolutionSTFTLoss

    ref, hat = _pair(ref, hat)
    return float(MultiResolutionSTFTLoss((512, 1024, 2048))(hat, ref))


def si_sdr(ref, hat, eps: float = 1e-8) -> float:
    """Scale-invariant SDR in dB (Le Roux et al., 2019), zero-mean signals."""
    ref, hat = (t.reshape(-1).double() for t in _pair(ref, hat))
    ref, hat = ref - ref.mean(), hat - hat.mean()
    target = (hat @ ref) / (ref @ ref + eps) * ref
    noise = hat - target
    return float(10 * torch.log10((target @ target + eps) / (noise @ noise + eps)))


def optional_pesq_stoi(ref, hat, sample_rate: int) -> dict[str, float]:
    """{'pesq': wb-PESQ, 'stoi': STOI} for whichever package is installed (16 kHz only for PESQ)."""
    out: dict[str, float] = {}
    r, h = (t.reshape(-1).numpy() for t in _pair(ref, hat))
    try:
        from pesq import pesq

        if sample_rate == 16_000:
            out["pesq"] = float(pesq(sample_rate, r, h, "wb"))
    except Exception:  # noqa: BLE001 — not installed, or PESQ's "no utterance detected"
        pass
    try:
        from pystoi import stoi

        out["stoi"] = float(stoi(r, h, sample_rate, extended=False))
    except Exception:  # noqa: BLE001
        pass
    return out
