"""The shipped σ-VAE (pretrained/vae_synth_cpu) loads by name, has the documented rates, and round-trips."""

from __future__ import annotations

import numpy as np
import torch

from latentspeech.cli import main
from latentspeech.vae.model import SigmaVAE


def test_shipped_vae_loads_by_name_with_documented_rates():
    vae = SigmaVAE.from_pretrained("vae_synth_cpu")
    assert (vae.sample_rate, vae.hop_length, vae.frame_rate, vae.latent_dim) == (16_000, 1280, 12.5, 32)
    assert 9.0e6 < sum(p.numel() for p in vae.parameters()) < 9.5e6  # the model card's 9.25 M
    assert torch.all(vae.latent_std > 0) and not torch.allclose(vae.latent_std, torch.ones_like(vae.latent_std))


def test_shipped_vae_round_trip_keeps_length_and_is_deterministic(sine_wav):
    wav, sr = sine_wav
    vae = SigmaVAE.from_pretrained("vae_synth_cpu")
    x = torch.from_numpy(wav)[None, None]
    with torch.inference_mode():
        z1, z2 = vae.encode(x, normalize=True), vae.encode(x, normalize=True)
        y = vae.decode(z1, denormalize=True)
    assert z1.shape == (1, -(-len(wav) // 1280), 32) and torch.equal(z1, z2)
    assert y.shape[-1] == z1.shape[1] * 1280 and torch.isfinite(y).all()


def test_encode_cli_defaults_to_the_shipped_vae(tmp_path, sine_wav):
    import soundfile as sf

    wav, sr = sine_wav
    sf.write(tmp_path / "a.wav", wav, sr)
    assert main(["-q", "encode", str(tmp_path / "a.wav"), "-o", str(tmp_path / "a.npy")]) == 0
    assert np.load(tmp_path / "a.npy").shape == (-(-len(wav) // 1280), 32)


def test_dump_latents_takes_the_shipped_vae_by_name(tmp_path):
    """--vae NAME works end to end, index files included (vae.yaml is the named model's config)."""
    from helpers_vae import make_data_dir

    data = make_data_dir(tmp_path / "data", n=2, seconds=0.5)
    out = tmp_path / "dump"
    assert main(["-q", "dump-latents", "--data", str(data), "--vae", "vae_synth_cpu", "--out", str(out)]) == 0
    assert len((out / "latents.scp").read_text().splitlines()) == 2
    assert "hop_length: 1280" in (out / "vae.yaml").read_text()


def test_shipped_causal_vae_has_no_lookahead():
    """pretrained/vae_synth_causal: the LM's tokenizer; no latent frame may depend on audio of a later frame."""
    import sys
    from pathlib import Path

    from helpers_vae import speechy_wav

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from vae_lookahead import lookahead_profile

    vae = SigmaVAE.from_pretrained("vae_synth_causal")
    assert vae.config.causal and (vae.hop_length, vae.latent_dim) == (1280, 32)
    profile = lookahead_profile(vae, [speechy_wav(3.0, seed=s) for s in range(3)], 3)
    assert profile[0] > 0.01 and np.all(profile[1:] == 0)
