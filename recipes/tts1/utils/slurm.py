#!/usr/bin/env python3
"""Slurm job runner with the same interface as utils/run.py (Kaldi's run.pl/slurm.pl), stdlib only.

    utils/slurm.py [--gpu G] [--mem M] [--time T] [--partition P] [--nodes K] [--num-threads T]
                   [--max-jobs-run K] [JOB=1:N] LOG COMMAND [ARG ...]

Writes one batch script (LOGDIR/q/<name>.sh) holding every job's fully substituted command, submits it
as a job array with `sbatch --wait`, and checks each job's log like run.py (tail of the first failure,
exit 1). `--gpu G` → `--gres=gpu:G`; `--nodes K` (K > 1) starts COMMAND once per node through srun,
which is how tts.sh's multi-node torchrun launcher is meant to be started (see cmd.sh).
Extra sbatch options: environment variable LATENTSPEECH_SBATCH_OPTS (e.g. "--account=abc --qos=high").
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path


def _load_run_py():
    """utils/run.py beside this file (shared command-line and log helpers), without touching sys.path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("latentspeech_recipe_run", Path(__file__).resolve().parent / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_run = _load_run_py()
command_line, substitute, tail = _run.command_line, _run.substitute, _run.tail


def usage(msg: str) -> None:
    print(f"slurm.py: error: {msg}\nusage: slurm.py [--gpu G] [--mem M] [--time T] [--partition P] [--nodes K] "
          "[JOB=1:N] LOG COMMAND [ARG ...]", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str]) -> int:
    opts = {"--gpu": "0", "--mem": "", "--time": "", "--partition": "", "--nodes": "1", "--num-threads": "1",
            "--max-jobs-run": "0", "--config": ""}
    i = 0
    while i < len(argv) and argv[i].startswith("--"):
        if argv[i] not in opts:
            usage(f"unknown option {argv[i]}")
        if i + 1 >= len(argv):
            usage(f"option {argv[i]} needs a value")
        opts[argv[i]] = argv[i + 1]
        i += 2
    rest = argv[i:]
    var, first, last = None, 1, 1
    if rest and (m := re.fullmatch(r"([A-Za-z_]\w*)=(\d+):(\d+)", rest[0])):
        var, first, last = m.group(1), int(m.group(2)), int(m.group(3))
        rest = rest[1:]
    if len(rest) < 2:
        usage("expected LOG and COMMAND")
    log_tmpl, cmd = rest[0], command_line(rest[1:])
    jobs = {j: (substitute(log_tmpl, var, j) if var else log_tmpl, substitute(cmd, var, j) if var else cmd)
            for j in range(first, last + 1)}
    qdir = Path(jobs[first][0]).parent / "q"
    qdir.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"\W+", "_", Path(log_tmpl).stem.replace(var or "\0", "")).strip("_") or "job"
    nodes = int(opts["--nodes"])
    srun = f"srun --nodes={nodes} --ntasks-per-node=1 " if nodes > 1 else ""
    header = [
        "#!/usr/bin/env bash",
        f"#SBATCH --job-name={name}",
        f"#SBATCH --array={first}-{last}" + (f"%{opts['--max-jobs-run']}" if opts["--max-jobs-run"] != "0" else ""),
        f"#SBATCH --output={qdir}/{name}.%a.out",
        f"#SBATCH --cpus-per-task={opts['--num-threads']}",
    ]
    if opts["--gpu"] != "0":
        header.append(f"#SBATCH --gres=gpu:{opts['--gpu']}")
    for flag in ("--mem", "--time", "--partition"):
        if opts[flag]:
            header.append(f"#SBATCH {flag}={opts[flag]}")
    if nodes > 1:
        header.append(f"#SBATCH --nodes={nodes}")
    body = [f"cd {shlex.quote(os.getcwd())}", "case ${SLURM_ARRAY_TASK_ID} in"]
    for j, (log, c) in jobs.items():
        q = shlex.quote(log)
        body += [f"  {j})",
                 f"    mkdir -p $(dirname {q}); echo {shlex.quote('# ' + c)} > {q}; echo \"# Started at $(date)\" >> {q}",
                 f"    start=$(date +%s); ( set -o pipefail; {srun}{c} ) >> {q} 2>&1; code=$?",
                 f"    echo \"# Accounting: time=$(( $(date +%s) - start )) threads={opts['--num-threads']}\" >> {q}",
                 f"    echo \"# Ended (code $code) at $(date)\" >> {q}; exit $code ;;"]
    body.append("esac")
    script = qdir / f"{name}.sh"
    script.write_text("\n".join(header + body) + "\n")
    extra = shlex.split(os.environ.get("LATENTSPEECH_SBATCH_OPTS", ""))
    for log, _ in jobs.values():  # a stale log's "# Ended (code 0)" must not pass for this run's
        Path(log).unlink(missing_ok=True)
    try:
        r = subprocess.run(["sbatch", "--wait", *extra, str(script)], check=False, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    except FileNotFoundError:
        print("slurm.py: error: sbatch not found; use utils/run.py in cmd.sh on machines without Slurm", file=sys.stderr)
        return 1
    if r.returncode != 0 and not any(Path(log).exists() for log, _ in jobs.values()):
        why = r.stderr.strip().splitlines()[-1:] or ["no message"]
        print(f"slurm.py: error: sbatch failed (code {r.returncode}) and no job started: {why[0]}", file=sys.stderr)
        return 1
    failed = []
    for j, (log, _) in jobs.items():
        text = Path(log).read_text(errors="replace") if Path(log).exists() else ""
        if "# Ended (code 0)" not in text:
            failed.append((j, log))
    if failed:
        j, log = failed[0]
        print(f"slurm.py: {len(failed)} / {len(jobs)} failed; job {j} log is in {log}; its tail:", file=sys.stderr)
        print(tail(Path(log), 20), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
