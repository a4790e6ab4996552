"""--init-from: weights-only warm start of train-vae / train-lm from release (fp16) model dirs."""

from __future__ import annotations

import logging

import pytest
import torch

from helpers_lm import make_dump, make_tts_dir
from helpers_vae import REPO, make_data_dir, tiny_model_config
from latentspeech.cli import main
from latentspeech.vae.model import SigmaVAE

VAE_YAML = str(REPO / "egs" / "synth" / "tts1" / "conf" / "vae_tiny.yaml")
LM_YAML = str(REPO / "egs" / "synth" / "tts1" / "conf" / "lm_tiny.yaml")
ONE_STEP_LR0 = ["--set", "train.max_steps=1", "--set", "optim.lr=0.0"]


def _fp16_vae_dir(path):
    torch.manual_seed(3)
    vae = SigmaVAE(tiny_model_config())
    vae.latent_mean.normal_()
    vae.latent_std.uniform_(0.5, 2.0)
    vae.save_pretrained(str(path), dtype=torch.float16)
    return path


def _assert_same(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for k, v in want.items():
        assert torch.equal(got[k], v.float() if v.is_floating_point() else v), k


def _one_line_error(capsys, *needles: str) -> None:
    lines = [ln for ln in capsys.readouterr().err.splitlines() if "error:" in ln]  # stderr also holds the log
    assert len(lines) == 1, lines
    for n in needles:
        assert n in lines[0], lines[0]


def test_train_vae_init_from_loads_weights_then_resume_wins(tmp_path, caplog, capsys):
    from safetensors.torch import load_file

    src = _fp16_vae_dir(tmp_path / "src")
    data = make_data_dir(tmp_path / "data", n=2, seconds=0.5)
    exp = tmp_path / "exp"
    args = ["train-vae", "--config", VAE_YAML, "--data", str(data), "--exp-dir", str(exp), *ONE_STEP_LR0,
            "--set", "data.stats_utts=1", "--init-from", str(src)]
    with caplog.at_level(logging.INFO):
        assert main(args) == 0
    assert any(r.getMessage() == f"initialised weights from {src}" for r in caplog.records)
    state = torch.load(exp / "checkpoints" / "step_00000001.pt", weights_only=True)
    _assert_same(state["model"], load_file(str(src / "model.safetensors")))  # incl. latent_mean/std
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert main(args + ["--resume"]) == 0
    assert any("ignored" in r.getMessage() for r in caplog.records)
    assert not any(r.getMessage().startswith("initialised") for r in caplog.records)

    other = tmp_path / "other"
    SigmaVAE(tiny_model_config(enc_dim=16)).save_pretrained(str(other))
    capsys.readouterr()
    assert main(args[:-1] + [str(other), "--exp-dir", str(tmp_path / "e2")]) == 1
    _one_line_error(capsys, "does not match this model")
    tts = make_tts_dir(tmp_path / "tts")
    assert main(args[:-1] + [str(tts), "--exp-dir", str(tmp_path / "e3")]) == 1
    _one_line_error(capsys, "holds a tts model", "export-vae")


def test_decoder_only_fine_tuning_keeps_the_encoder_and_its_latent_statistics(tmp_path, capsys):
    """A causal VAE's decoder retrained to look ahead (train.freeze_encoder, model.decoder_causal=false): encoder
    weights and latent mean/std are those of the --init-from model, so its latent dumps stay valid."""
    from safetensors.torch import load_file

    torch.manual_seed(3)
    vae = SigmaVAE(tiny_model_config(causal=True))
    vae.latent_mean.normal_()
    vae.latent_std.uniform_(0.5, 2.0)
    src = tmp_path / "src"
    vae.save_pretrained(str(src), dtype=torch.float16)
    data = make_data_dir(tmp_path / "data", n=2, seconds=0.5)
    args = ["train-vae", "--config", VAE_YAML, "--data", str(data), "--exp-dir", str(tmp_path / "exp"),
            "--set", "train.max_steps=3", "--set", "optim.lr=1e-3", "--set", "optim.warmup_steps=0",
            "--set", "data.stats_utts=1", "--set", "model.causal=true", "--set", "model.decoder_causal=false",
            "--set", "train.freeze_encoder=true",
            "--set", "train.freeze_encoder_step=1"]  # as in conf/vae.yaml: its mid-run export must keep the stats too
    assert main(args + ["--init-from", str(src)]) == 0
    before, after = load_file(str(src / "model.safetensors")), load_file(str(tmp_path / "exp/model/model.safetensors"))
    for k, v in before.items():
        same = torch.equal(after[k].half(), v)
        assert same == (not k.startswith("decoder.")), k  # encoder + statistics kept, decoder trained
    released = SigmaVAE.from_pretrained(str(tmp_path / "exp/model"))
    assert released.config.causal and released.config.causal_decoder is False
    # export-vae from the same run (e.g. an earlier checkpoint) keeps the statistics too
    assert main(["export-vae", "--exp-dir", str(tmp_path / "exp"), "--data", str(data), "--out",
                 str(tmp_path / "re"), "--stats-utts", "1"]) == 0
    again = load_file(str(tmp_path / "re/model.safetensors"))
    for k in ("latent_mean", "latent_std"):
        assert torch.equal(again[k].half(), before[k]), k
    capsys.readouterr()
    assert main(args[:5] + ["--exp-dir", str(tmp_path / "e2")] + args[7:]) == 1
    _one_line_error(capsys, "freeze_encoder", "--init-from")


@pytest.fixture
def dump(tmp_path):
    return make_dump(tmp_path, n_utts=6)


def test_train_lm_init_from_loads_lm_weights_only(dump, tmp_path, caplog, capsys):
    from safetensors.torch import load_file

    from latentspeech.api import TTS
    from latentspeech.config import load_config
    from latentspeech.lm.model import LatentLM
    from latentspeech.lm.train import LMTrainConfig
    from latentspeech.text.vocab import PhonemeVocab

    phn, lat, _ = dump
    vocab = PhonemeVocab.default()
    mc = load_config(LM_YAML, LMTrainConfig).model
    mc.vocab_size, mc.ctc_weight = len(vocab), 0.0  # a released model without a CTC head
    torch.manual_seed(5)
    src = tmp_path / "src"
    TTS(SigmaVAE(tiny_model_config()), LatentLM(mc), vocab).save_pretrained(src, dtype="float16")
    args = ["train-lm", "--config", LM_YAML, "--data", str(phn), "--latents", str(lat), *ONE_STEP_LR0,
            "--set", "model.ctc_weight=0", "--device", "cpu", "--exp-dir", str(tmp_path / "exp"), "--init-from", str(src)]
    with caplog.at_level(logging.INFO):
        assert main(args) == 0
    assert any(r.getMessage() == f"initialised weights from {src}" for r in caplog.records)
    state = torch.load(tmp_path / "exp" / "checkpoints" / "step_00000001.pt", weights_only=True)
    want = {k[3:]: v for k, v in load_file(str(src / "model.safetensors")).items() if k.startswith("lm.")}
    _assert_same(state["model"], want)

    # a model without the (training-only) CTC head warm-starts one that has it: the head keeps its fresh init
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert main(args[:-4] + ["--exp-dir", str(tmp_path / "ctc"), "--init-from", str(src),
                                 "--set", "model.ctc_weight=0.1"]) == 0
    assert any("new tensors keep their fresh initialisation (ctc_head)" in r.getMessage() for r in caplog.records)
    state = torch.load(tmp_path / "ctc" / "checkpoints" / "step_00000001.pt", weights_only=True)
    _assert_same({k: v for k, v in state["model"].items() if not k.startswith("ctc_head.")}, want)
    # ... export-tts keeps the head (it reranks best-of-N candidates) ...
    vae_dir = tmp_path / "vae_ctc"
    SigmaVAE(tiny_model_config()).save_pretrained(str(vae_dir))
    assert main(["-q", "export-tts", "--vae", str(vae_dir), "--lm", str(tmp_path / "ctc"),
                 "--out", str(tmp_path / "tts_ctc")]) == 0
    released = TTS.from_pretrained(tmp_path / "tts_ctc")
    assert released.lm.has_ctc_head and released.lm.config.ctc_weight == 0.1
    _assert_same({k[3:]: v for k, v in load_file(str(tmp_path / "tts_ctc/model.safetensors")).items()
                  if k.startswith("lm.ctc_head.")}, {k: v for k, v in state["model"].items() if k.startswith("ctc_head.")})
    # ... and a model trained without the head warm-starts from it, leaving the head out
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert main(args[:-4] + ["--exp-dir", str(tmp_path / "noctc"), "--init-from", str(tmp_path / "tts_ctc")]) == 0
    assert any("left out ctc_head" in r.getMessage() for r in caplog.records)

    small = make_tts_dir(tmp_path / "small")  # d_model 32 vs lm_tiny's 64
    capsys.readouterr()
    assert main(args[:-4] + ["--exp-dir", str(tmp_path / "e2"), "--init-from", str(small)]) == 1
    _one_line_error(capsys, "does not match this model")
    vae_dir = tmp_path / "vae"
    SigmaVAE(tiny_model_config()).save_pretrained(str(vae_dir))
    assert main(args[:-4] + ["--exp-dir", str(tmp_path / "e3"), "--init-from", str(vae_dir)]) == 1
    _one_line_error(capsys, "holds a vae model", "export-tts")
