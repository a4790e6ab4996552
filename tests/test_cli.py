"""The `latentspeech` command shell: help, version, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from latentspeech.cli import build_parser, main


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: latentspeech" in capsys.readouterr().out


def test_version_and_help_exit_0(capsys):
    for argv in (["--version"], ["--help"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
    assert "latentspeech" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error():
    with pytest.raises(SystemExit) as e:
        main(["no-such-command"])
    assert e.value.code == 2


def test_every_subcommand_has_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sub.choices, "no sub-commands registered"
    for name, p in sub.choices.items():
        assert p.format_help().startswith("usage: latentspeech " + name), name


def test_help_is_instant_and_imports_no_torch():
    """`latentspeech --help` must not pay for torch (heavy imports live inside cmd_* functions)."""
    code = "import sys; from latentspeech.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
