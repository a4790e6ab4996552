"""Every egs/*/tts1/conf/*.yaml loads into its dataclass (strict keys) and builds its model (ESPnet's
config dry-run). LMs are built on the meta device (shapes only: the 340M paper LM costs no memory); VAEs on
the CPU (their mel front-ends build filterbanks the meta device cannot; they are ≤ tens of M params)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from latentspeech.config import load_config

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted(REPO.glob("egs/*/tts1/conf/*.yaml"))


def _kind(path: Path) -> str:
    return path.stem.split("_")[0]          # vae, vae_tiny, vae_paper → vae; lm*; decode*


def test_every_recipe_has_cpu_and_paper_configs():
    for corpus in ("synth", "libritts", "ljspeech", "vctk"):
        names = {p.name for p in CONFIGS if p.parts[-4] == corpus}
        assert {"vae.yaml", "vae_paper.yaml", "lm.yaml", "lm_paper.yaml", "decode.yaml"} <= names, corpus


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parts[-4]}/{p.name}")
def test_config_loads_and_builds_its_model(path):
    kind = _kind(path)
    assert kind in ("vae", "lm", "decode"), f"{path}: unknown config kind"
    assert path.read_text().startswith(f"# egs/{path.parts[-4]}/tts1/conf/{path.name}"), "first line names the file"
    if kind == "vae":
        from latentspeech.vae.model import SigmaVAE
        from latentspeech.vae.train import VAETrainConfig

        cfg = load_config(path, VAETrainConfig)
        model = SigmaVAE(cfg.model)
        assert model.latent_dim == cfg.model.latent_dim and model.frame_rate > 0
    elif kind == "lm":
        from latentspeech.lm.model import LatentLM
        from latentspeech.lm.train import LMTrainConfig

        cfg = load_config(path, LMTrainConfig)
        with torch.device("meta"):
            model = LatentLM(cfg.model)
        assert sum(p.numel() for p in model.parameters()) > 0
    else:
        from latentspeech.lm.decoding import DecodeConfig

        cfg = load_config(path, DecodeConfig)
        assert cfg.steps >= 1


@pytest.mark.parametrize("corpus", ["libritts", "ljspeech", "vctk"])
def test_lm_configs_match_their_vae_latent_dim(corpus):
    from latentspeech.lm.train import LMTrainConfig
    from latentspeech.vae.train import VAETrainConfig

    conf = REPO / "egs" / corpus / "tts1" / "conf"
    for suffix in ("", "_paper"):
        vae = load_config(conf / f"vae{suffix}.yaml", VAETrainConfig)
        lm = load_config(conf / f"lm{suffix}.yaml", LMTrainConfig)
        assert lm.model.latent_dim == vae.model.latent_dim


def _keys(node, prefix: str = "") -> set[str]:
    if not isinstance(node, dict):
        return {prefix}
    return set().union(*(_keys(v, f"{prefix}{k}.") for k, v in node.items())) if node else {prefix}


@pytest.mark.parametrize("corpus", ["libritts", "ljspeech", "vctk"])
def test_corpus_configs_set_the_same_keys_as_synth(corpus):
    """The corpus configs are copies of egs/synth's with corpus-specific values: when synth's configs gain or
    lose a key, these must follow (so the recipes do not silently fall back to code defaults)."""
    import yaml

    for name in ("vae.yaml", "vae_paper.yaml", "lm.yaml", "lm_paper.yaml", "decode.yaml"):
        synth = yaml.safe_load((REPO / "egs/synth/tts1/conf" / name).read_text())
        mine = yaml.safe_load((REPO / "egs" / corpus / "tts1/conf" / name).read_text())
        assert _keys(mine) == _keys(synth), f"egs/{corpus}/tts1/conf/{name}: keys differ from egs/synth's"
