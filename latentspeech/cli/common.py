"""Argument helpers shared by several sub-command modules."""

from __future__ import annotations

import argparse
from pathlib import Path

from latentspeech.errors import InputError


def add_config_args(p: argparse.ArgumentParser) -> None:
    """`--config FILE` and repeatable `--set section.key=value`."""
    p.add_argument("--config", required=True, help="YAML config (e.g. egs/synth/tts1/conf/vae.yaml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set optim.lr=1.0e-4 (repeatable)")


def existing_file(path: str, what: str = "file") -> Path:
    """Path of an existing file, or InputError naming it."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} '{path}' does not exist")
    if not p.is_file():
        raise InputError(f"{what} '{path}' is not a file")
    return p


def output_path(path: str, force: bool) -> Path:
    """Output file path; refuses to overwrite without --force."""
    p = Path(path)
    if p.exists() and not force:
        raise InputError(f"'{path}' exists; pass --force to overwrite")
    p.parent.mkdir(parents=True, exist_ok=True)
    return p
