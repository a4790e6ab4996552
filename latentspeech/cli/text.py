"""Sub-commands for the text stage."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's sub-commands to `sub`."""
