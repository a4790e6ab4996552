"""Model names → local model dirs, checksums, and `export-tts` (VAE + LM exp → one "tts" model dir).

"default" (or any NAME) → `pretrained/NAME/` in the repository (or in a folder of $LATENTSPEECH_PRETRAINED,
os.pathsep-separated, searched first); anything else is a directory path. Never touches the network.
An unknown name lists the available ones. A model dir may ship example prompts: `prompts/<name>.wav` with its
transcript in `prompts/<name>.txt` (`example_prompts`, `latentspeech tts --prompt NAME`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

from latentspeech.checkpoint import CONFIG_NAME, load_checkpoint, load_state_dict_strict, read_model_kind
from latentspeech.errors import CheckpointError

log = logging.getLogger(__name__)

__all__ = ["PRETRAINED_DIR", "PROMPTS_DIR", "search_dirs", "available_models", "resolve_model", "example_prompts",
           "example_prompt", "export_tts"]

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
PROMPTS_DIR = "prompts"


def search_dirs() -> list[Path]:
    """Folders holding named model dirs: $LATENTSPEECH_PRETRAINED entries, then the repository's pretrained/."""
    env = os.environ.get("LATENTSPEECH_PRETRAINED", "")
    return [Path(p) for p in env.split(os.pathsep) if p] + [PRETRAINED_DIR]


def available_models() -> dict[str, Path]:
    """name → model dir for every folder with a config.yaml in the search dirs (first one wins)."""
    found: dict[str, Path] = {}
    for base in search_dirs():
        if base.is_dir():
            for d in sorted(base.iterdir()):
                if (d / CONFIG_NAME).is_file() and d.name not in found:
                    found[d.name] = d
    return found


def resolve_model(name_or_dir: str | os.PathLike) -> Path:
    """A model name or directory → the model dir (CheckpointError listing the available names otherwise)."""
    p = Path(name_or_dir)
    if p.is_dir():
        return p
    name = str(name_or_dir)
    models = available_models()
    if name in models:
        return models[name]
    if os.sep in name or name.startswith("."):
        raise CheckpointError(f"model directory '{name}' does not exist")
    listed = ", ".join(models) if models else "none yet"
    raise CheckpointError(f"unknown model '{name}' (available: {listed}); pass a model directory, or export one "
                          f"with `latentspeech export-tts --vae VAE_DIR --lm EXP_DIR --out pretrained/{name}`")


def example_prompts(model_dir: str | os.PathLike) -> dict[str, tuple[Path, str]]:
    """name → (wav path, transcript) for every `prompts/<name>.wav` with a `<name>.txt` beside it."""
    folder = Path(model_dir) / PROMPTS_DIR
    found = {}
    if folder.is_dir():
        for wav in sorted(folder.glob("*.wav")):
            txt = wav.with_suffix(".txt")
            text = " ".join(txt.read_text(encoding="utf-8").split()) if txt.is_file() else ""
            if text:
                found[wav.stem] = (wav, text)
    return found


def example_prompt(model_dir: str | os.PathLike, name: str) -> tuple[Path, str]:
    """(wav path, transcript) of the example prompt `name` of a model dir; InputError listing the names
    (CheckpointError first when `model_dir` is no model dir: that, not the prompt, is what to fix)."""
    from latentspeech.errors import InputError

    read_model_kind(model_dir)  # CheckpointError for a folder that is no model dir
    prompts = example_prompts(model_dir)
    if name not in prompts:
        listed = ", ".join(prompts) if prompts else "it ships none; pass --prompt-wav and --prompt-text"
        raise InputError(f"model '{model_dir}' has no example prompt '{name}' (examples: {listed})")
    return prompts[name]


def _vae_model_dir(path: str | os.PathLike) -> Path:
    """A VAE model dir (or name under pretrained/), or an exp dir holding one in `model/`."""
    p = Path(path)
    if not p.is_dir():
        p = available_models().get(str(path), p)
    for cand in (p, p / "model"):
        if (cand / CONFIG_NAME).is_file() and read_model_kind(cand) == "vae":
            return cand
    raise CheckpointError(f"'{path}' is not a VAE model dir (nor an exp dir with model/); "
                          "pass the output of `latentspeech train-vae` / `export-vae`")


def _newest_checkpoint(exp: Path, command: str) -> Path:
    """<exp>/checkpoints/step_*.pt with the highest step, or a CheckpointError naming the command that makes them
    (training.Checkpointer's naming; that module is training-only, this one is not)."""
    ckpts = sorted((exp / "checkpoints").glob("step_*.pt"))
    if not ckpts:
        raise CheckpointError(f"no checkpoints in '{exp}/checkpoints'; train with `latentspeech {command}` first")
    return ckpts[-1]


def export_tts(vae_dir: str | os.PathLike, lm_exp_dir: str | os.PathLike, out_dir: str | os.PathLike,
               dtype: str | None = None, decode_config=None, checkpoint: str | os.PathLike | None = None,
               force: bool = False, prompts: str | os.PathLike | None = None) -> Path:
    """Bundle a VAE model dir and an LM exp dir's newest (EMA if present) checkpoint into a "tts" model dir.

    `prompts`: a list file of example prompts to ship, one `name|wav|transcript` per line (see `add_prompts`)."""
    import yaml

    from latentspeech.api import TTS
    from latentspeech.config import config_from_dict
    from latentspeech.errors import ConfigError, InputError
    from latentspeech.lm.model import LatentLM, LMConfig
    from latentspeech.text.vocab import PhonemeVocab
    from latentspeech.vae.model import SigmaVAE

    out = Path(out_dir)
    if (out / CONFIG_NAME).exists() and not force:
        raise InputError(f"'{out}' already holds a model; pass --force to overwrite it")
    exp = Path(lm_exp_dir)
    if checkpoint is None:
        checkpoint = _newest_checkpoint(exp, "train-lm")
    state = load_checkpoint(checkpoint)
    try:
        lm_config = config_from_dict((state.get("config") or {}).get("model"), LMConfig, f"{checkpoint}: model")
    except ConfigError as e:
        raise CheckpointError(str(e)) from None
    weights = {**state["model"], **state.get("ema", {})}  # EMA holds parameters only; buffers from the model
    if lm_config.context_noise > 0:  # training only, no weights; the CTC head is kept (best-of-N reranking)
        lm_config = dataclasses.replace(lm_config, context_noise=0.0)
    lm = LatentLM(lm_config)
    load_state_dict_strict(lm, weights, str(checkpoint))
    if decode_config is not None and decode_config.candidates > 1 and not lm.has_ctc_head:
        raise ConfigError(f"the decode config asks for best-of-{decode_config.candidates} candidates, which needs an "
                          f"LM with a CTC head; {checkpoint} has none (model.ctc_weight 0): set candidates: 1")
    vocab_path = exp / "vocab.yaml"
    if not vocab_path.is_file():
        raise CheckpointError(f"'{exp}' has no vocab.yaml (written by train-lm); copy the dump's vocab.yaml there")
    vocab = PhonemeVocab.load(vocab_path)
    vae_dir = _vae_model_dir(vae_dir)
    vae = SigmaVAE.from_pretrained(str(vae_dir))
    if vae.latent_dim != lm_config.latent_dim:
        raise CheckpointError(f"VAE '{vae_dir}' has latent_dim {vae.latent_dim}, the LM {lm_config.latent_dim}")
    dump_vae = exp / "vae.yaml"
    if dump_vae.is_file():
        doc = yaml.safe_load(dump_vae.read_text()) or {}
        rate = doc.get("frame_rate")
        if rate is not None and abs(float(rate) - vae.frame_rate) > 1e-6:
            raise CheckpointError(f"the LM was trained on {rate} Hz latents but VAE '{vae_dir}' runs at "
                                  f"{vae.frame_rate} Hz; pass the VAE that made the latent dump")
    tts = TTS(vae, lm, vocab, decode_config)
    prompt_items = read_prompt_list(prompts) if prompts is not None else []
    n = lm.num_parameters()
    card = (f"# LatentSpeech TTS model\n\n- σ-VAE: `{vae_dir}` ({sum(p.numel() for p in vae.parameters()) / 1e6:.2f}M "
            f"params, {vae.sample_rate} Hz, {vae.frame_rate:g} frames/s × {vae.latent_dim} dims)\n"
            f"- LM: `{checkpoint}` (step {state.get('step')}, {'EMA' if 'ema' in state or state.get('ema_merged') else 'raw'} weights, "
            f"{n['total'] / 1e6:.2f}M params: transformer {n['transformer'] / 1e6:.2f}M, head {n['head'] / 1e6:.2f}M)\n"
            f"- phoneme table: {vocab.version} ({len(vocab)} symbols)\n\n"
            "```\nlatentspeech tts --model THIS_DIR --text \"Hello.\" --prompt-wav p.wav --prompt-text \"...\" "
            "--out out.wav\n```\n")
    tts.save_pretrained(out, dtype=dtype, card=card)
    if prompt_items:
        add_prompts(out, prompt_items, vae.sample_rate)
    log.info("wrote %s (LM step %s, %d example prompts)", out, state.get("step"), len(prompt_items))
    return out


def read_prompt_list(path: str | os.PathLike) -> list[tuple[str, Path, str]]:
    """Parse `name|wav|transcript` lines (wav paths relative to the list); InputError names the bad line."""
    import re

    from latentspeech.errors import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"prompt list '{path}' does not exist")
    items = []
    for k, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [x.strip() for x in line.split("|")]
        if len(parts) != 3 or not all(parts) or not re.fullmatch(r"[A-Za-z0-9_.-]+", parts[0]):
            raise InputError(f"{path}:{k}: expected 'name|wav|transcript' with a name of letters, digits, _ . -")
        wav = Path(parts[1]) if Path(parts[1]).is_absolute() else path.parent / parts[1]
        if not wav.is_file():
            raise InputError(f"{path}:{k}: wav '{wav}' does not exist")
        items.append((parts[0], wav, parts[2]))
    return items


def add_prompts(model_dir: str | os.PathLike, items: list[tuple[str, Path, str]], sample_rate: int) -> None:
    """Copy example prompts into `<model_dir>/prompts/` as 16-bit wavs at the model's rate + transcripts."""
    from latentspeech.audio import load_audio, save_audio

    folder = Path(model_dir) / PROMPTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for name, wav_path, text in items:
        wav, sr = load_audio(wav_path, sample_rate=sample_rate)
        save_audio(folder / f"{name}.wav", wav, sr)
        (folder / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
