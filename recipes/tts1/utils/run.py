#!/usr/bin/env python3
"""Local job runner with Kaldi's run.pl interface (our own, stdlib only).

    utils/run.py [options] [JOB=1:N] LOG COMMAND [ARG ...]

Runs COMMAND (joined into one bash command line) once, or once per job id 1..N with every whole-word
`JOB` in LOG and the arguments replaced by the id. Each job's stdout+stderr go to its log, framed like
Kaldi's: `# COMMAND`, `# Started at ...`, output, `# Accounting: time=S threads=1`, `# Ended (code C) at ...`.
Exit 0 when all jobs succeed; otherwise prints which failed and the tail of the first failing log, exit 1.

Options (Kaldi spellings; the queue-only ones are accepted so cmd.sh can swap runners freely):
  --max-jobs-run K   at most K jobs at once (default: N)
  --num-threads T    informational (written to the accounting line)
  --gpu G, --mem M, --time T   ignored locally (used by utils/slurm.py)
  --tail L           lines of the failing log to print (default 20)
"""

from __future__ import annotations

import datetime
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

_QUEUE_ONLY = ("--gpu", "--mem", "--time", "--config", "--partition")


def parse_args(argv: list[str]) -> tuple[dict, tuple[str, int, int] | None, str, list[str]]:
    """Split argv into (options, (var, start, end) or None, log path, command words)."""
    opts = {"max_jobs_run": 0, "num_threads": 1, "tail": 20}
    i = 0
    while i < len(argv) and argv[i].startswith("--"):
        flag = argv[i]
        if i + 1 >= len(argv):
            usage(f"option {flag} needs a value")
        value = argv[i + 1]
        if flag == "--max-jobs-run":
            opts["max_jobs_run"] = _int(flag, value)
        elif flag == "--num-threads":
            opts["num_threads"] = _int(flag, value)
        elif flag == "--tail":
            opts["tail"] = _int(flag, value)
        elif flag not in _QUEUE_ONLY:
            usage(f"unknown option {flag}")
        i += 2
    rest = argv[i:]
    job_range = None
    if rest:
        m = re.fullmatch(r"([A-Za-z_]\w*)=(\d+):(\d+)", rest[0])
        if m:
            job_range = (m.group(1), int(m.group(2)), int(m.group(3)))
            if job_range[1] > job_range[2]:
                usage(f"empty job range {rest[0]}")
            rest = rest[1:]
    if len(rest) < 2:
        usage("expected LOG and COMMAND")
    return opts, job_range, rest[0], rest[1:]


def usage(msg: str) -> None:
    prog = Path(sys.argv[0]).name
    print(f"{prog}: error: {msg}\nusage: {prog} [--max-jobs-run K] [JOB=1:N] LOG COMMAND [ARG ...]", file=sys.stderr)
    sys.exit(2)


def _int(flag: str, value: str) -> int:
    if not value.isdigit():
        usage(f"option {flag} expects a non-negative integer, got '{value}'")
    return int(value)


def command_line(words: list[str]) -> str:
    """Join words into a bash command line: words with spaces/quotes are quoted, others kept (so `|`,
    `>` and `&&` given as separate words still act as shell syntax, as in Kaldi's run.pl).
    A single word is taken as a whole command line: `run.py x.log "a | b"`."""
    if len(words) == 1:
        return words[0]
    return " ".join(w if re.fullmatch(r"[^\s'\"\\]*", w) else shlex.quote(w) for w in words)


def substitute(text: str, var: str, job_id: int) -> str:
    """Replace whole-word `var` (e.g. JOB) by the job id."""
    return re.sub(rf"(?<![A-Za-z0-9_]){re.escape(var)}(?![A-Za-z0-9_])", str(job_id), text)


def _now() -> str:
    return datetime.datetime.now().strftime("%a %b %d %H:%M:%S %Y")


def start_job(cmd: str, log_path: Path) -> tuple[subprocess.Popen, object, float]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(log_path, "w")
    fh.write(f"# {cmd}\n# Started at {_now()}\n#\n")
    fh.flush()
    proc = subprocess.Popen(["bash", "-c", f"set -o pipefail; {cmd}"], stdout=fh, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    return proc, fh, time.time()


def finish_job(fh, started: float, code: int, threads: int) -> None:
    fh.write(f"# Accounting: time={int(time.time() - started)} threads={threads}\n# Ended (code {code}) at {_now()}\n")
    fh.close()


def tail(path: Path, n: int) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def main(argv: list[str]) -> int:
    opts, job_range, log_tmpl, words = parse_args(argv)
    if job_range is None:
        jobs = [(None, log_tmpl, command_line(words))]
    else:
        var, first, last = job_range
        jobs = [(j, substitute(log_tmpl, var, j), substitute(command_line(words), var, j))
                for j in range(first, last + 1)]
    limit = opts["max_jobs_run"] or len(jobs)
    pending = list(jobs)
    running: list[tuple] = []
    failed: list[tuple[int | None, Path, int]] = []
    try:
        while pending or running:
            while pending and len(running) < limit:
                job_id, log_path, cmd = pending.pop(0)
                proc, fh, started = start_job(cmd, Path(log_path))
                running.append((job_id, Path(log_path), proc, fh, started))
            time.sleep(0.05)
            still = []
            for job_id, log_path, proc, fh, started in running:
                code = proc.poll()
                if code is None:
                    still.append((job_id, log_path, proc, fh, started))
                    continue
                finish_job(fh, started, code, opts["num_threads"])
                if code != 0:
                    failed.append((job_id, log_path, code))
            running = still
    except KeyboardInterrupt:
        for _, _, proc, fh, started in running:
            proc.terminate()
            finish_job(fh, started, 130, opts["num_threads"])
        return 130
    if failed:
        prog = Path(sys.argv[0]).name
        job_id, log_path, code = sorted(failed, key=lambda f: f[0] or 0)[0]
        which = f"job {job_id}" if job_id is not None else "job"
        print(f"{prog}: {len(failed)} / {len(jobs)} failed; {which} exited {code}, log is in {log_path}; its tail:",
              file=sys.stderr)
        print(tail(log_path, opts["tail"]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
