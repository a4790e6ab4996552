"""σ-VAE model properties on the tiny config: shapes, exact frame rate, σ-noise, gradients, save/load, errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import pytest
import torch

from latentspeech.config import load_config
from latentspeech.errors import CheckpointError, InputError
from latentspeech.vae.model import SigmaVAE, VAEConfig

from helpers_vae import REPO, make_model_dir, speechy_wav, tiny_model_config


@pytest.fixture
def model():
    torch.set_num_threads(1)
    return SigmaVAE(tiny_model_config()).eval()


@pytest.mark.parametrize("n_samples", [640, 641, 1000, 3 * 640, 16_000 + 17])
def test_encode_gives_ceil_T_over_hop_frames_and_decode_gives_N_hop_samples(model, n_samples):
    wav = torch.randn(2, 1, n_samples) * 0.1
    mu = model.encode(wav)
    n = math.ceil(n_samples / model.hop_length)
    assert mu.shape == (2, n, model.latent_dim)
    assert model.decode(mu).shape == (2, 1, n * model.hop_length)


def test_frame_rate_is_sample_rate_over_hop_exactly_for_every_recipe_config():
    from latentspeech.vae.train import VAETrainConfig

    expected = {"vae_tiny.yaml": 25.0, "vae.yaml": 12.5, "vae_paper.yaml": 15.0}
    for name, rate in expected.items():
        cfg = load_config(REPO / "egs/synth/tts1/conf" / name, VAETrainConfig).model
        if cfg.backbone == "seanet":
            cfg = VAEConfig(**{**cfg.__dict__, "n_filters": 4, "lstm": 0})  # same hop, cheap to build
        m = SigmaVAE(cfg)
        assert m.frame_rate == cfg.sample_rate / m.hop_length == rate


def test_seanet_backbone_encodes_and_decodes_with_the_same_interface():
    cfg = VAEConfig(backbone="seanet", sample_rate=16_000, latent_dim=4, hop_length=16, ratios=(4, 4),
                    n_filters=4, lstm=0)
    m = SigmaVAE(cfg).eval()
    mu = m.encode(torch.randn(1, 1, 100) * 0.1)
    assert mu.shape == (1, 7, 4)
    assert m.decode(mu).shape == (1, 1, 7 * 16)


def test_eval_encode_is_deterministic_and_eval_forward_adds_no_noise(model):
    wav = torch.from_numpy(speechy_wav(0.5)).view(1, 1, -1)
    torch.testing.assert_close(model.encode(wav), model.encode(wav), rtol=0, atol=0)
    out = model(wav)
    torch.testing.assert_close(out.z, out.mu, rtol=0, atol=0)


def test_training_noise_is_one_sigma_per_example_with_the_configured_spread(model):
    model.train()
    mu = torch.zeros(4000, 16, model.latent_dim)
    z, _, _ = model.sample_posterior(mu)
    per_example = z.std(dim=(1, 2))  # ≈ |σ_b|: one scale per example
    scale = model.config.sigma_std / 0.8
    # E|N(0, s²)| = s·sqrt(2/π); E σ² = s²
    assert per_example.mean().item() == pytest.approx(scale * math.sqrt(2 / math.pi), rel=0.05)
    assert per_example.pow(2).mean().item() == pytest.approx(scale**2, rel=0.07)
    within = (z / z.std(dim=(1, 2), keepdim=True).clamp(min=1e-6)).std(dim=(1, 2))
    assert within.mean().item() == pytest.approx(1.0, abs=0.02)  # unit-variance ε inside each example


@pytest.mark.parametrize("posterior", ["sigma", "gaussian", "none"])
def test_every_parameter_gets_a_gradient(posterior):
    m = SigmaVAE(tiny_model_config(posterior=posterior)).train()
    out = m(torch.from_numpy(speechy_wav(0.4)).view(1, 1, -1).repeat(2, 1, 1))
    (out.wav.pow(2).mean() + out.reg).backward()
    missing = [n for n, p in m.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing
    if posterior == "gaussian":
        assert m.encode(torch.randn(1, 1, 640)).shape[-1] == m.latent_dim  # μ only, not [μ, log σ²]


def test_save_then_load_model_dir_gives_the_same_output(tmp_path):
    make_model_dir(tmp_path / "vae")
    a = SigmaVAE.from_pretrained(str(tmp_path / "vae"))
    b = SigmaVAE.from_pretrained(str(tmp_path / "vae"))
    wav = torch.from_numpy(speechy_wav(0.5)).view(1, 1, -1)
    torch.testing.assert_close(a.decode(a.encode(wav, normalize=True), denormalize=True),
                               b.decode(b.encode(wav, normalize=True), denormalize=True), rtol=0, atol=0)
    assert not torch.equal(a.latent_std, torch.ones_like(a.latent_std))  # stats travel with the weights


def test_normalize_then_denormalize_round_trips(tmp_path):
    m = SigmaVAE.from_pretrained(str(make_model_dir(tmp_path / "vae")))
    wav = torch.from_numpy(speechy_wav(0.5)).view(1, 1, -1)
    raw, normed = m.encode(wav), m.encode(wav, normalize=True)
    torch.testing.assert_close(normed * m.latent_std + m.latent_mean, raw)
    a, b = m.decode(normed, denormalize=True), m.decode(raw)
    hop = m.hop_length  # the iSTFT's last samples divide by a window envelope near zero: round-off grows there
    torch.testing.assert_close(a[..., :-hop], b[..., :-hop], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-3)


def test_clip_shorter_than_one_frame_is_a_one_line_input_error(model):
    with pytest.raises(InputError, match="need at least one latent frame") as e:
        model.encode(torch.zeros(1, 1, model.hop_length - 1))
    assert "\n" not in str(e.value)


def test_non_finite_samples_are_a_one_line_input_error(model):
    wav = torch.zeros(1, 1, 2000)
    wav[0, 0, 7] = float("nan")
    with pytest.raises(InputError, match="non-finite") as e:
        model.encode(wav)
    assert "\n" not in str(e.value)


def test_wrong_or_corrupt_model_dir_is_a_one_line_checkpoint_error(tmp_path):
    from latentspeech.checkpoint import save_model_dir

    save_model_dir(tmp_path / "lm", "lm", tiny_model_config(), {"w": torch.zeros(1)})
    with pytest.raises(CheckpointError, match="holds a lm model") as e:
        SigmaVAE.from_pretrained(str(tmp_path / "lm"))
    assert "\n" not in str(e.value)
    vae = make_model_dir(tmp_path / "vae")
    (vae / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="unreadable") as e:
        SigmaVAE.from_pretrained(str(vae))
    assert "\n" not in str(e.value)


def test_inference_path_imports_no_training_module(tmp_path):
    import subprocess
    import sys

    vae = make_model_dir(tmp_path / "vae")
    code = ("import sys, torch; from latentspeech.vae.model import SigmaVAE; "
            f"m = SigmaVAE.from_pretrained({str(vae)!r}); m.decode(m.encode(torch.zeros(1, 1, 1000)));"
            "import latentspeech.data.dump; "
            "bad = [k for k in sys.modules if k.startswith('latentspeech') and k.rsplit('.', 1)[-1] in "
            "('train', 'losses', 'discriminators', 'training')]; print(bad); sys.exit(bool(bad))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"OMP_NUM_THREADS": "1",
                       **__import__("os").environ})
    assert r.returncode == 0, r.stdout + r.stderr


def test_causal_encoder_never_sees_a_later_frame_and_the_default_does():
    """benchmarks/vae_lookahead.py's profile: change the audio from frame k on; frames before k must not move
    with causal=True (window-aligned mel, left-padded convs), and do move for the centred default."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from vae_lookahead import lookahead_profile

    wavs = [speechy_wav(2.0, seed=s) for s in range(3)]
    profiles = {}
    for causal in (False, True):
        torch.manual_seed(0)
        profiles[causal] = lookahead_profile(SigmaVAE(tiny_model_config(causal=causal)).eval(), wavs, 3)
    assert profiles[True][0] > 0 and np.all(profiles[True][1:] == 0)
    assert profiles[False][1] > 1e-3
