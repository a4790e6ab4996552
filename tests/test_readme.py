"""The README's and the experiment reports' commands stay true: every `latentspeech <command> --flag` shown exists."""

from __future__ import annotations

import re
from pathlib import Path

from latentspeech.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EXPERIMENTS = ROOT / "docs" / "experiments.md"


def _code_lines(path: Path = README) -> list[str]:
    """The lines of path's code blocks, except blocks that say they run at an older commit ("# at commit SHA")."""
    blocks = re.findall(r"```(?:bash)?\n(.*?)```", path.read_text(), flags=re.S)
    return [line for block in blocks if not re.match(r"# at commit [0-9a-f]{7,40}\b", block)
            for line in block.splitlines()]


def _subcommands() -> dict:
    parser = build_parser()
    return next(a for a in parser._actions if a.dest == "command").choices


def _check_commands(path: Path) -> int:
    """Assert every `latentspeech` command in path's code blocks exists with its flags; return how many."""
    subs = _subcommands()
    checked = 0
    for line in _code_lines(path):
        # a line may hold several commands: "encode ... | decode ..." share the `latentspeech` prefix
        for segment in re.split(r"\|\s+(?=latentspeech |[a-z-]+ [^|]*--)", line.split("#")[0]):
            m = re.search(r"latentspeech ([a-z][a-z-]*(?:\|[a-z-]+)*)(.*)", segment)
            if not m:
                continue
            names = m.group(1).split("|")
            for name in names:
                assert name in subs, f"{path.name} shows unknown command 'latentspeech {name}'"
                options = {s for a in subs[name]._actions for s in a.option_strings}
                for flag in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", m.group(2)):
                    assert flag in options, f"{path.name}: 'latentspeech {name}' has no option {flag}"
                checked += 1
    return checked


def test_readme_commands_and_flags_exist():
    checked = _check_commands(README)
    assert checked >= 15, f"only {checked} README commands found; did the CLI section move?"


def test_experiment_report_commands_and_flags_exist():
    checked = _check_commands(EXPERIMENTS)
    assert checked >= 10, f"only {checked} commands found in {EXPERIMENTS.name}"


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    heads = re.findall(r"(?m)^#+ (.+)$", text)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}


def test_links_between_readme_and_reports_resolve():
    targets = {"README.md": README, "docs/experiments.md": EXPERIMENTS, "../README.md": README, "": None}
    anchors = {README: _anchors(README), EXPERIMENTS: _anchors(EXPERIMENTS)}
    links = 0
    for source in (README, EXPERIMENTS):
        for target, anchor in re.findall(r"\]\(((?:\.\./)?(?:README|docs/experiments)\.md|)#([^)\s]+)\)", source.read_text()):
            path = targets[target] or source
            assert anchor in anchors[path], f"{source.name} links to a missing section {target}#{anchor}"
            links += 1
    assert links >= 20, f"only {links} section links found"
