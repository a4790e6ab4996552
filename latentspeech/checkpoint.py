"""Checkpoints and model directories.

Two on-disk forms:
- training state `*.pt`: a dict of tensors and plain containers (model, optimizer, step, config, rng...),
  written atomically (temp file, fsync, `os.replace`) and read with ``weights_only=True``;
- release model dir: ``config.yaml`` (a ``kind:`` line plus the model config) + ``model.safetensors``
  (tensors; metadata carries ``format_version`` and ``kind``), optionally ``README.md``.

A wrong kind (an LM where a VAE is expected), a truncated file or a key mismatch raises CheckpointError
with one line naming the file and what to do.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, TypeVar

import torch
import yaml

from latentspeech.config import config_from_dict, config_to_dict
from latentspeech.errors import CheckpointError, ConfigError

T = TypeVar("T")

FORMAT_VERSION = "1"
CONFIG_NAME = "config.yaml"
WEIGHTS_NAME = "model.safetensors"

__all__ = [
    "atomic_save",
    "load_checkpoint",
    "save_model_dir",
    "load_model_dir",
    "read_model_config",
    "read_model_kind",
    "stored_dtype",
    "load_state_dict_strict",
    "sha256_prefix",
    "quantize_int8",
    "dequantize_int8",
]

INT8_SCALE_SUFFIX = ".int8_scale"  # key of the per-row scale stored beside an int8 weight
INT8_MIN_NUMEL = 1024  # smaller tensors (norms, biases, tiny projections) stay fp16


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """torch.save `obj` to `path` via a temp file + fsync + rename, so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a training checkpoint written by `atomic_save` (weights_only, on CPU)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for truncated/garbage files
        raise CheckpointError(
            f"{path} is unreadable ({type(e).__name__}: truncated or not a checkpoint?); delete it and rerun"
        ) from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} is not a LatentSpeech checkpoint (top level is {type(state).__name__})")
    return state


def sha256_prefix(path: str | os.PathLike, n: int = 8) -> str:
    """First `n` hex digits of the file's sha256 (EnCodec-style checksum in file names/cards)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:n]


def quantize_int8(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Weight-only int8 storage: each floating tensor of ≥ 2 dims and ≥ INT8_MIN_NUMEL elements becomes int8 with
    one symmetric absmax scale per row (dim 0), stored under `key + INT8_SCALE_SUFFIX` (float32); the other
    floating tensors become float16. `dequantize_int8` inverts it to within half a step per row."""
    out = {}
    for k, v in state_dict.items():
        v = v.detach().cpu()
        if v.is_floating_point() and v.dim() >= 2 and v.numel() >= INT8_MIN_NUMEL:
            w = v.float()
            scale = w.abs().amax(dim=tuple(range(1, w.dim())), keepdim=True) / 127.0
            scale = torch.where(scale > 0, scale, torch.ones_like(scale))
            out[k] = torch.round(w / scale).clamp(-127, 127).to(torch.int8)
            out[k + INT8_SCALE_SUFFIX] = scale
        else:
            out[k] = v.half() if v.is_floating_point() else v
    return out


def dequantize_int8(tensors: dict[str, torch.Tensor], source: str = "weights") -> dict[str, torch.Tensor]:
    """Inverse of `quantize_int8` (float32 weights); a dict without int8 tensors is returned as it is."""
    if not any(v.dtype == torch.int8 for v in tensors.values()):
        return tensors
    out = {}
    for k, v in tensors.items():
        if k.endswith(INT8_SCALE_SUFFIX):
            if k[: -len(INT8_SCALE_SUFFIX)] not in tensors:
                raise CheckpointError(f"{source}: scale '{k}' has no int8 weight; re-export the model")
            continue
        if v.dtype == torch.int8:
            scale = tensors.get(k + INT8_SCALE_SUFFIX)
            if scale is None:
                raise CheckpointError(f"{source}: int8 weight '{k}' has no scale; re-export the model")
            v = v.float() * scale.float()
        out[k] = v
    return out


def save_model_dir(
    out_dir: str | os.PathLike,
    kind: str,
    config: Any,
    state_dict: dict[str, torch.Tensor],
    extra: dict[str, Any] | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write ``config.yaml`` + ``model.safetensors`` for a release model of `kind` ('vae', 'lm', 'tts').

    `extra` goes into config.yaml beside `model` (e.g. the phoneme table). `dtype` (e.g. float16)
    casts floating tensors for storage; loading casts them back to the model's dtype. torch.int8 means
    weight-only int8 for the matrices and float16 for the rest (`quantize_int8`).
    """
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if dtype == torch.int8:
        state_dict, dtype = quantize_int8(state_dict), None
    tensors = {}
    for k, v in state_dict.items():
        v = v.detach().cpu()
        if dtype is not None and v.is_floating_point():
            v = v.to(dtype)
        tensors[k] = v.contiguous()
    doc = {"kind": kind, "format_version": FORMAT_VERSION, "model": config_to_dict(config)}
    doc.update({k: v for k, v in (extra or {}).items() if k != "weights_sha256"})
    tmp_w = out / (WEIGHTS_NAME + ".tmp")
    save_file(tensors, str(tmp_w), metadata={"format_version": FORMAT_VERSION, "kind": kind})
    # the config names its weights: a crash between the two renames leaves a pair load_model_dir refuses
    doc["weights_sha256"] = sha256_prefix(tmp_w)
    os.replace(tmp_w, out / WEIGHTS_NAME)
    tmp_c = out / (CONFIG_NAME + ".tmp")
    tmp_c.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=None))
    os.replace(tmp_c, out / CONFIG_NAME)
    return out


def _read_config_doc(model_dir: Path) -> dict[str, Any]:
    cfg_path = model_dir / CONFIG_NAME
    if not model_dir.is_dir():
        raise CheckpointError(f"model directory '{model_dir}' does not exist")
    if not cfg_path.is_file():
        raise CheckpointError(f"'{model_dir}' is not a model directory (no {CONFIG_NAME})")
    try:
        doc = yaml.safe_load(cfg_path.read_text())
    except yaml.YAMLError:
        raise CheckpointError(f"{cfg_path} is not valid YAML; re-export the model") from None
    if not isinstance(doc, dict) or "kind" not in doc:
        raise CheckpointError(f"{cfg_path} has no 'kind:' line; it was not written by LatentSpeech")
    return doc


def read_model_kind(model_dir: str | os.PathLike) -> str:
    """The ``kind`` recorded in a model directory's config.yaml."""
    return str(_read_config_doc(Path(model_dir))["kind"])


def read_model_config(model_dir: str | os.PathLike, config_cls: type[T], kind: str) -> tuple[T, dict[str, Any]]:
    """A model dir's config without its weights → (config, the whole config.yaml document).

    Raises CheckpointError if the directory is of another kind or its config does not parse.
    """
    model_dir = Path(model_dir)
    doc = _read_config_doc(model_dir)
    if doc["kind"] != kind:
        raise CheckpointError(f"'{model_dir}' holds a {doc['kind']} model, but a {kind} model is needed here")
    try:
        return config_from_dict(doc.get("model") or {}, config_cls, str(model_dir / CONFIG_NAME)), doc
    except ConfigError as e:
        raise CheckpointError(f"{e} (model written by another version?)") from None


def stored_dtype(model_dir: str | os.PathLike) -> str | None:
    """'int8' / 'float16' / None (float32): how a model dir's weights are stored."""
    from safetensors import safe_open

    with safe_open(str(Path(model_dir) / WEIGHTS_NAME), "pt") as f:
        dtypes = {str(f.get_slice(k).get_dtype()) for k in f.keys()}
    if "I8" in dtypes:
        return "int8"
    return "float16" if "F16" in dtypes else None


def load_model_dir(
    model_dir: str | os.PathLike, config_cls: type[T], kind: str
) -> tuple[T, dict[str, torch.Tensor], dict[str, Any]]:
    """Read a model dir → (config, state_dict, the whole config.yaml document).

    Raises CheckpointError if the directory is of another kind, or its weights are unreadable or differ from
    the `weights_sha256` its config.yaml records (every model dir saved since session 24 records one).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    model_dir = Path(model_dir)
    config, doc = read_model_config(model_dir, config_cls, kind)
    weights = model_dir / WEIGHTS_NAME
    if not weights.is_file():
        raise CheckpointError(f"'{model_dir}' has no {WEIGHTS_NAME}")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{weights} is unreadable ({e}); re-export or re-download the model") from None
    want = doc.get("weights_sha256")
    if want and (got := sha256_prefix(weights, len(str(want)))) != want:
        raise CheckpointError(f"{weights} checksum {got} != {want} recorded in config.yaml (corrupt, replaced, or "
                              "an export that did not finish); re-export or re-copy the model dir")
    return config, dequantize_int8(state, str(weights)), doc


def load_state_dict_strict(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """`module.load_state_dict(strict=True)`, casting dtypes, with a one-line CheckpointError on mismatch."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {missing[:3]}{' ...' if len(missing) > 3 else ''}")
        if unexpected:
            parts.append(f"unexpected {unexpected[:3]}{' ...' if len(unexpected) > 3 else ''}")
        raise CheckpointError(f"{source} does not match this model: {'; '.join(parts)}")
    bad_shape = [k for k in own if own[k].shape != state[k].shape]
    if bad_shape:
        k = bad_shape[0]
        raise CheckpointError(
            f"{source} does not match this model: '{k}' has shape {tuple(state[k].shape)}, "
            f"expected {tuple(own[k].shape)}"
        )
    cast = {k: v.to(own[k].dtype) if v.is_floating_point() else v for k, v in state.items()}
    module.load_state_dict(cast, strict=True)
