"""Strict YAML ↔ typed dataclasses.

A config file is a nested mapping whose sections are dataclass fields. Unknown keys fail with the
file, the dotted key and the closest valid name; values are cast to the field's type or fail.
Overrides are ``section.key=value`` strings (the CLI's repeatable ``--set``), parsed as YAML scalars.
A dataclass may list retired options in a ``RETIRED`` class attribute ({name: off value}): configs written
before they were removed still load when the option is off there, and fail with a clear message when it is on.

    cfg = load_config("conf/lm.yaml", LMTrainConfig, overrides=["optim.lr=1.0e-4"])
    dump_config(cfg, "exp/lm/config.yaml")
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from latentspeech.errors import ConfigError

T = TypeVar("T")

__all__ = ["load_config", "dump_config", "config_from_dict", "config_to_dict", "apply_overrides"]


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _unknown_key(source: str, dotted: str, valid: list[str]) -> ConfigError:
    key = dotted.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (valid keys: {', '.join(valid)})"
    return ConfigError(f"{source}: unknown key '{dotted}'{hint}")


def _retired(cls: type, key: str, value: Any, source: str, dotted: str) -> bool:
    """True if `key` is one of `cls`'s retired options at its off value (skip it); ConfigError if it is set."""
    retired = getattr(cls, "RETIRED", {})
    if key not in retired:
        return False
    if value == retired[key]:
        return True
    raise ConfigError(f"{source}: '{dotted}' was retired (measured, not shipped: docs/experiments.md); it can only "
                      f"be {retired[key]!r} now; LatentSpeech at commit 6818663 still runs it")


def _cast(value: Any, tp: Any, where: str) -> Any:
    """Cast a YAML value to the annotated type `tp`, or raise ConfigError naming `where`."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _cast(value, arg, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{where}: cannot be null")
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        raise ConfigError(f"{where}: expected a mapping for this section, got {value!r}")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return tuple(_cast(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if origin is tuple and args:
            if len(args) != len(value):
                raise ConfigError(f"{where}: expected {len(args)} items, got {len(value)}")
            return tuple(_cast(v, a, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        item = args[0] if args else Any
        out = [_cast(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        kt, vt = args if args else (Any, Any)
        return {_cast(k, kt, where): _cast(v, vt, f"{where}.{k}") for k, v in value.items()}
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        try:
            as_float = float(value)
        except ValueError:
            raise ConfigError(f"{where}: expected an integer, got {value!r}") from None
        if not as_float.is_integer():
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return int(as_float)
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        try:
            return float(value)  # also accepts '3e-4', which YAML 1.1 reads as a string
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if tp is str:
        if isinstance(value, (dict, list)):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return str(value)
    return value


def _from_dict(data: dict[str, Any], cls: type[T], source: str, prefix: str = "") -> T:
    types_ = _field_types(cls)
    kwargs = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in types_:
            if _retired(cls, key, value, source, dotted):
                continue
            raise _unknown_key(source, dotted, list(types_))
        tp = types_[key]
        if dataclasses.is_dataclass(tp) and isinstance(value, dict):
            kwargs[key] = _from_dict(value, tp, source, dotted + ".")
        else:
            kwargs[key] = _cast(value, tp, f"{source}: '{dotted}'")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{source}: {e}") from None


def config_from_dict(data: dict[str, Any] | None, cls: type[T], source: str = "config") -> T:
    """Build dataclass `cls` from a nested dict; missing keys keep their defaults."""
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: top level must be a mapping, got {type(data).__name__}")
    return _from_dict(data, cls, source)


def config_to_dict(config: Any) -> dict[str, Any]:
    """Dataclass → plain nested dict of YAML-safe values (tuples become lists)."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(config)


def _set_dotted(data: dict[str, Any], dotted: str, value: Any, cls: type, source: str) -> None:
    keys = dotted.split(".")
    node, tp = data, cls
    for i, key in enumerate(keys):
        if not dataclasses.is_dataclass(tp):
            raise ConfigError(f"{source}: '{'.'.join(keys[:i])}' is not a section")
        types_ = _field_types(tp)
        if key not in types_:
            if i == len(keys) - 1 and _retired(tp, key, value, source, dotted):
                return
            raise _unknown_key(source, ".".join(keys[: i + 1]), list(types_))
        if i == len(keys) - 1:
            node[key] = value
        else:
            node = node.setdefault(key, {})
            tp = types_[key]


def apply_overrides(data: dict[str, Any], overrides: list[str] | None, cls: type) -> dict[str, Any]:
    """Apply ``a.b=value`` strings to the raw dict (values parsed as YAML scalars)."""
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected section.key=value")
        dotted, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        _set_dotted(data, dotted.strip(), value, cls, f"--set {item}")
    return data


def load_config(path: str | os.PathLike | None, cls: type[T], overrides: list[str] | None = None) -> T:
    """Read YAML `path` (None = defaults) into `cls`, then apply ``--set`` overrides."""
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file '{path}' does not exist")
        try:
            data = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as e:
            line = getattr(getattr(e, "problem_mark", None), "line", None)
            where = f" line {line + 1}" if line is not None else ""
            raise ConfigError(f"{path}:{where} is not valid YAML") from None
    data = apply_overrides(data, overrides, cls)
    return config_from_dict(data, cls, source)


def dump_config(config: Any, path: str | os.PathLike | None = None) -> str:
    """Dataclass → YAML text; also written atomically to `path` when given."""
    text = yaml.safe_dump(config_to_dict(config), sort_keys=False, default_flow_style=None)
    if path is not None:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, p)
    return text
