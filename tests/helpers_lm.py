"""Fixtures for the LM tests: a synthetic phoneme + latent dump, tiny LMs, a tiny "tts" model dir."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import yaml

from latentspeech.lm.model import LatentLM, LMConfig

PHONES = "həlˈoʊ wɜːld ðɪs ɪz ɐ tɛst"


def tiny_lm_config(latent_dim: int = 8, vocab_size: int = 80, **kw) -> LMConfig:
    base = dict(vocab_size=vocab_size, latent_dim=latent_dim, d_model=32, n_layer=2, n_head=2,
                head_width=32, head_depth=2)
    base.update(kw)
    return LMConfig(**base)


def tiny_lm(seed: int = 0, **kw) -> LatentLM:
    torch.manual_seed(seed)
    return LatentLM(tiny_lm_config(**kw)).eval()


def lively_head(lm: LatentLM, scale: float = 0.2) -> LatentLM:
    """Move the diffusion head off its zero-output init, so that frames depend on the transformer's states
    (equivalence tests on a zero head would only compare the noise)."""
    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for p in lm.head.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))
    return lm


def make_dump(root: Path, n_utts: int = 12, n_spk: int = 3, latent_dim: int = 8, frame_rate: float = 25.0,
              seed: int = 0) -> tuple[Path, Path, Path]:
    """Write dump/phn/train (text, vocab.yaml), dump/latents/t/train (latents, scp, utt2num_frames, vae.yaml,
    no utt2spk) and data/train/utt2spk. Latents follow the phonemes (+ a speaker offset), so they are learnable."""
    from latentspeech.text.vocab import PhonemeVocab

    rng = np.random.default_rng(seed)
    vocab = PhonemeVocab.default()
    phn_dir, lat_dir, data_dir = root / "dump/phn/train", root / "dump/latents/t/train", root / "data/train"
    for d in (phn_dir, lat_dir / "latents", data_dir):
        d.mkdir(parents=True, exist_ok=True)
    table = rng.normal(size=(len(vocab), latent_dim)).astype(np.float32)
    words = PHONES.split()
    texts, scp, n2f, u2s = [], [], [], []
    for i in range(n_utts):
        utt, spk = f"spk{i % n_spk}_u{i:03d}", f"spk{i % n_spk}"
        phn = " ".join(rng.choice(words, size=int(rng.integers(2, 6))))
        ids = vocab.encode(phn)
        n = int(len(ids) * rng.uniform(1.0, 1.6))
        idx = np.minimum((np.arange(n) * len(ids)) // n, len(ids) - 1)
        lat = table[np.asarray(ids)[idx]] + 0.3 * (i % n_spk) + 0.1 * rng.normal(size=(n, latent_dim))
        np.save(lat_dir / "latents" / f"{utt}.npy", lat.astype(np.float16))
        texts.append(f"{utt} {phn}\n")
        scp.append(f"{utt} {lat_dir / 'latents' / (utt + '.npy')}\n")
        n2f.append(f"{utt} {n}\n")
        u2s.append(f"{utt} {spk}\n")
    (phn_dir / "text").write_text("".join(texts), encoding="utf-8")
    vocab.save(phn_dir / "vocab.yaml")
    (lat_dir / "latents.scp").write_text("".join(scp))
    (lat_dir / "utt2num_frames").write_text("".join(n2f))
    (lat_dir / "vae.yaml").write_text(yaml.safe_dump({"frame_rate": frame_rate,
                                                      "model": {"latent_dim": latent_dim}}))
    (data_dir / "utt2spk").write_text("".join(u2s))
    return phn_dir, lat_dir, data_dir


def make_tts_dir(out: Path, seed: int = 0, stop_bias: float | None = None, ctc: bool = False, lively: bool = False,
                 **decode) -> Path:
    """A tiny randomly initialised "tts" model dir: vae_tiny-sized SigmaVAE (16 kHz, 25 Hz x 8) + tiny LM
    (with a CTC head if `ctc`; with its diffusion head off the zero init if `lively`)."""
    from latentspeech.api import TTS
    from latentspeech.lm.decoding import DecodeConfig
    from latentspeech.text.vocab import PhonemeVocab
    from latentspeech.vae.model import SigmaVAE, VAEConfig

    torch.manual_seed(seed)
    vae = SigmaVAE(VAEConfig(latent_dim=8, hop_length=640, frame_hop=160, enc_n_fft=512, n_mels=20, enc_dim=32,
                             enc_frame_layers=1, enc_latent_layers=1, dec_dim=32, dec_latent_layers=1,
                             dec_frame_dim=32, dec_frame_layers=1, dec_n_fft=320))
    vocab = PhonemeVocab.default()
    lm = LatentLM(tiny_lm_config(latent_dim=8, vocab_size=len(vocab), ctc_weight=0.2 if ctc else 0.0))
    if lively:
        lively_head(lm)
    if stop_bias is not None:
        with torch.no_grad():
            lm.stop_head.weight.zero_()
            lm.stop_head.bias.fill_(stop_bias)
    cfg = DecodeConfig(**{"steps": 2, "max_seconds": 1.0, **decode})
    TTS(vae, lm, vocab, cfg).save_pretrained(out)
    return out
