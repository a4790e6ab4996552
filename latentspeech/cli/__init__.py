"""The `latentspeech` command: one parser, sub-commands registered by one module per stage.

Each `latentspeech/cli/<stage>.py` has `register(subparsers)` adding its sub-commands with
`set_defaults(func=cmd_<name>)`; heavy imports live inside the `cmd_*` functions so `--help` is instant.
Exit codes: 0 ok, 1 input/runtime error (one line on stderr), 2 usage error (argparse).
"""

from __future__ import annotations

import argparse
import logging
import sys

from latentspeech import __version__
from latentspeech.errors import LatentSpeechError

__all__ = ["main", "build_parser"]

# Modules that add sub-commands, in --help order.
_COMMAND_MODULES = ("data", "text", "vae", "lm", "eval")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (all sub-commands)."""
    import importlib

    parser = argparse.ArgumentParser(
        prog="latentspeech",
        description="Zero-shot TTS with next-token diffusion over continuous σ-VAE latents.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only, no progress bars")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(f"latentspeech.cli.{name}").register(sub)
    return parser


def _setup_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_latentspeech", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    handler._latentspeech = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("latentspeech").setLevel(level)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (used by `python -m latentspeech` and the console script)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    _setup_logging(args.verbose, args.quiet)
    try:
        result = args.func(args)
        return int(result or 0)
    except LatentSpeechError as e:
        if args.debug:
            raise
        print(f"latentspeech {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"latentspeech {args.command}: interrupted", file=sys.stderr)
        return 130
