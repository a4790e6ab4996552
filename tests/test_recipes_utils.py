"""recipes/tts1/utils: parse_options.sh semantics, the run.py / slurm.py job runners, eval-list splitting,
RESULTS.md collection."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers_recipes import UTILS, recipe_env, run

SCRIPT = """set -euo pipefail
foo_bar=default
flag=false
empty=""
help_message="usage: demo (foo_bar=${foo_bar})"
. __UTILS__/parse_options.sh
echo "foo_bar=[$foo_bar] flag=[$flag] empty=[$empty] rest=[$*]"
"""


@pytest.fixture
def parse(tmp_path):
    script = tmp_path / "demo.sh"
    script.write_text(SCRIPT.replace("__UTILS__", str(UTILS)))

    def call(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(script), *args], capture_output=True, text=True, timeout=30)

    return call


def test_dashed_option_sets_the_underscored_variable(parse):
    r = parse("--foo-bar", "x y", "--flag", "true", "--empty=z")
    assert r.returncode == 0
    assert r.stdout.strip() == "foo_bar=[x y] flag=[true] empty=[z] rest=[]"
    assert parse("--foo_bar", "1").stdout.strip().startswith("foo_bar=[1]")


def test_values_may_start_with_dashes_and_be_empty(parse):
    r = parse("--foo-bar", "--set a=1", "--empty", "")
    assert r.stdout.strip() == "foo_bar=[--set a=1] flag=[false] empty=[] rest=[]"


def test_positional_arguments_stop_parsing(parse):
    assert parse("--flag", "true", "a", "--foo-bar", "2").stdout.strip().endswith("rest=[a --foo-bar 2]")
    assert parse("--", "--flag").stdout.strip().endswith("rest=[--flag]")


@pytest.mark.parametrize("args, message", [
    (("--nope", "1"), "unknown option --nope"),
    (("--PATH", "/x"), "unknown option --PATH"),           # environment variables are not options
    (("--help_message", "x"), "unknown option --help_message"),
    (("--flag", "yes"), "option --flag is a boolean: expected true or false, got 'yes'"),
    (("--foo-bar",), "option --foo-bar needs a value"),
])
def test_bad_options_are_one_line_errors_with_exit_2(parse, args, message):
    r = parse(*args)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == f"demo.sh: error: {message} (see --help)" or r.stderr.strip() == f"demo.sh: error: {message}"


def test_help_prints_the_help_message(parse):
    r = parse("--foo-bar", "changed", "--help")
    assert r.returncode == 0 and r.stdout.strip() == "usage: demo (foo_bar=default)"


# --- run.py ---------------------------------------------------------------------------------------------

def _run_py(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(UTILS / "run.py"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def test_run_py_substitutes_job_ids_in_log_and_command(tmp_path):
    r = _run_py("JOB=1:3", "log/x.JOB.log", "echo", "job", "JOB", "of", "JOBS", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for j in (1, 2, 3):
        text = (tmp_path / f"log/x.{j}.log").read_text()
        assert f"job {j} of JOBS" in text                   # whole word only
        assert text.splitlines()[0] == f"# echo job {j} of JOBS"
        assert "# Ended (code 0)" in text and "# Accounting: time=" in text


def test_run_py_keeps_quoted_arguments_and_shell_operators(tmp_path):
    r = _run_py("log/y.log", "printf", "%s+", "a b", "&&", "echo", "done", cwd=tmp_path)
    assert r.returncode == 0
    assert "a b+done" in (tmp_path / "log/y.log").read_text()
    r = _run_py("JOB=1:2", "log/z.JOB.log", "echo one JOB | tr a-z A-Z", cwd=tmp_path)  # one word = command line
    assert "ONE 2" in (tmp_path / "log/z.2.log").read_text()


def test_run_py_failure_reports_the_job_and_its_log_tail(tmp_path):
    r = _run_py("--max-jobs-run", "1", "JOB=1:3", "log/f.JOB.log", "echo line-JOB; exit $((JOB % 2))", cwd=tmp_path)
    assert r.returncode == 1
    assert "2 / 3 failed; job 1 exited 1, log is in log/f.1.log" in r.stderr
    assert "line-1" in r.stderr and "# Ended (code 1)" in r.stderr


@pytest.mark.parametrize("args", [("log/x.log",), ("--bogus", "1", "l", "true"), ("JOB=3:1", "l", "true")])
def test_run_py_usage_errors_exit_2(tmp_path, args):
    r = _run_py(*args, cwd=tmp_path)
    assert r.returncode == 2 and "error:" in r.stderr


def test_run_py_runs_jobs_in_parallel(tmp_path):
    import time

    t0 = time.time()
    r = _run_py("JOB=1:4", "log/s.JOB.log", "sleep 0.5", cwd=tmp_path)
    assert r.returncode == 0 and time.time() - t0 < 1.8


FAKE_SBATCH = """#!/usr/bin/env bash
# test stand-in for sbatch --wait: runs every array task of the script here
echo "$@" > sbatch.args
script=${@: -1}
range=$(grep -o -- '--array=[0-9]*-[0-9]*' "$script" | cut -d= -f2)
for i in $(seq ${range%-*} ${range#*-}); do SLURM_ARRAY_TASK_ID=$i bash "$script"; done
"""


def test_slurm_py_submits_an_array_and_checks_every_log(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/sbatch").write_text(FAKE_SBATCH)
    (tmp_path / "bin/sbatch").chmod(0o755)
    env = recipe_env(tmp_path / "bin")
    cmd = [sys.executable, str(UTILS / "slurm.py"), "--gpu", "2", "--mem", "4G", "JOB=1:2", "log/t.JOB.log",
           "echo", "task", "JOB"]
    r = run(cmd, tmp_path, env)
    assert r.returncode == 0, r.stderr
    assert "task 2" in (tmp_path / "log/t.2.log").read_text()
    script = (tmp_path / "log/q/t.sh").read_text()
    assert "#SBATCH --array=1-2" in script and "#SBATCH --gres=gpu:2" in script and "#SBATCH --mem=4G" in script
    assert "--wait" in (tmp_path / "sbatch.args").read_text()
    r = run(cmd[:-3] + ["exit JOB"], tmp_path, env)
    assert r.returncode == 1 and "2 / 2 failed" in r.stderr
    # a rejected submission fails even though the logs of an earlier run said "# Ended (code 0)"
    assert run(cmd, tmp_path, env).returncode == 0
    (tmp_path / "bin/sbatch").write_text("#!/usr/bin/env bash\necho 'sbatch: error: invalid partition' >&2; exit 1\n")
    r = run(cmd, tmp_path, env)
    assert r.returncode == 1 and "sbatch failed (code 1) and no job started: sbatch: error: invalid partition" in r.stderr
    assert not (tmp_path / "log/t.1.log").exists()


# --- split_meta.py, make_results.py ---------------------------------------------

def test_split_meta_rebases_wav_paths_and_splits(tmp_path):
    (tmp_path / "data/wavs").mkdir(parents=True)
    meta = tmp_path / "data/meta.lst"
    meta.write_text("".join(f"u{i}|p t|wavs/p{i}.wav|text {i}|wavs/u{i}.wav\n" for i in range(3)))
    r = run([sys.executable, str(UTILS / "split_meta.py"), str(meta), str(tmp_path / "dec"), "2"], tmp_path, recipe_env())
    assert r.returncode == 0, r.stderr
    lines = (tmp_path / "dec/meta.lst").read_text().splitlines()
    assert lines == [f"u{i}|p t|../data/wavs/p{i}.wav|text {i}|../data/wavs/u{i}.wav" for i in range(3)]
    parts = [(tmp_path / f"dec/split/meta.{i}.lst").read_text().splitlines() for i in (1, 2)]
    assert parts[0][0] == "u0|p t|../../data/wavs/p0.wav|text 0|../../data/wavs/u0.wav"
    assert len(parts[0]) == 2 and len(parts[1]) == 1
    meta.write_text("u0|only three|fields\n")
    r = run([sys.executable, str(UTILS / "split_meta.py"), str(meta), str(tmp_path / "dec"), "2"], tmp_path, recipe_env())
    assert r.returncode == 1 and "meta.lst:1: expected 4" in r.stderr


def test_make_results_tabulates_every_list(tmp_path):
    for name, wer in (("test_cross", 0.1), ("test_continuation", 0.2)):
        scores = tmp_path / "dec" / name / "scores"
        scores.mkdir(parents=True)
        summary = {"n_utts": 4, "sections": {"wer": {"metrics": {"wer": {"mean": wer, "ci_low": 0.05, "ci_high": 0.3}}},
                                             "sim": {"metrics": {"sim_o": {"mean": 0.6, "ci_low": None}}}}}
        (scores / "summary.json").write_text(json.dumps(summary))
        (scores / "summary.md").write_text(f"WER {wer}\n")
    r = run([sys.executable, str(UTILS / "make_results.py"), "--out", str(tmp_path / "R.md"), "--decode-dir",
             str(tmp_path / "dec"), "--lm-config", "conf/lm.yaml"], tmp_path, recipe_env())
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "R.md").read_text()
    assert "| test list | wer | sim_o |" in text
    assert "| test_cross | 0.1 [0.05, 0.3] | 0.6 |" in text and "| test_continuation | 0.2 [0.05, 0.3] | 0.6 |" in text
    assert "- LM config: `conf/lm.yaml`" in text and "### test_cross" in text
