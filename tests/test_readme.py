"""The README's commands stay true: every `latentspeech <command> --flag` it shows exists."""

from __future__ import annotations

import re
from pathlib import Path

from latentspeech.cli import build_parser

README = Path(__file__).resolve().parent.parent / "README.md"


def _code_lines() -> list[str]:
    blocks = re.findall(r"```(?:bash)?\n(.*?)```", README.read_text(), flags=re.S)
    return [line for block in blocks for line in block.splitlines()]


def _subcommands() -> dict:
    parser = build_parser()
    return next(a for a in parser._actions if a.dest == "command").choices


def test_readme_commands_and_flags_exist():
    subs = _subcommands()
    checked = 0
    for line in _code_lines():
        # a line may hold several commands: "encode ... | decode ..." share the `latentspeech` prefix
        for segment in re.split(r"\|\s+(?=latentspeech |[a-z-]+ [^|]*--)", line.split("#")[0]):
            m = re.search(r"latentspeech ([a-z][a-z-]*(?:\|[a-z-]+)*)(.*)", segment)
            if not m:
                continue
            names = m.group(1).split("|")
            for name in names:
                assert name in subs, f"README shows unknown command 'latentspeech {name}'"
                options = {s for a in subs[name]._actions for s in a.option_strings}
                for flag in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", m.group(2)):
                    assert flag in options, f"README: 'latentspeech {name}' has no option {flag}"
                checked += 1
    assert checked >= 15, f"only {checked} README commands found; did the CLI section move?"
