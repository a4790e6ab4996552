"""Helpers for the recipe tests: a recipe dir in tmp, tiny data dirs, and a stand-in `latentspeech` command.

The stand-in records every call (JSON lines in $STUB_LOG) and writes the outputs each stage reads next,
so the stage script's plumbing (skips, resume, shards, logs, RESULTS.md) is tested in seconds; a separate
test checks that every recorded call parses with the real CLI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
UTILS = REPO / "recipes" / "tts1" / "utils"

STUB = r'''#!__PYTHON__
import json, os, sys
from pathlib import Path

argv = sys.argv[1:]
with open(os.environ["STUB_LOG"], "a") as f:
    f.write(json.dumps({"argv": argv, "cwd": os.getcwd()}) + "\n")
cmd, rest = argv[0], argv[1:]
opts, flags, i = {}, set(), 0
while i < len(rest):
    if rest[i].startswith("--") and i + 1 < len(rest) and not rest[i + 1].startswith("--"):
        opts.setdefault(rest[i][2:], []).append(rest[i + 1]); i += 2
    else:
        flags.add(rest[i].lstrip("-")); i += 1
o = lambda k: opts[k][-1]
if os.environ.get("STUB_FAIL") == cmd:
    print("stub: simulated failure of " + cmd + " (line one)\nstub: last line of the failing log")
    sys.exit(1)

def scp(path):
    return [l.split(maxsplit=1) for l in Path(path).read_text().splitlines() if l.strip()]

if cmd == "phonemize":
    out = Path(o("out")); out.mkdir(parents=True, exist_ok=True)
    (out / "text").write_text("".join(f"{u} h ə l oʊ\n" for u, _ in scp(Path(o("data")) / "text")))
    (out / "vocab.yaml").write_text("version: 1\n")
elif cmd in ("train-vae", "train-lm"):
    exp = Path(o("exp-dir")); (exp / "checkpoints").mkdir(parents=True, exist_ok=True)
    have = sorted((exp / "checkpoints").glob("step_*.pt"))
    if have and "resume" not in flags:
        print(f"stub {cmd}: {exp} already has checkpoints; pass --resume"); sys.exit(1)
    step = len(have) + 1
    (exp / "checkpoints" / f"step_{step:08d}.pt").write_text("ckpt")
    if os.environ.get("STUB_KILL") == cmd:
        print(f"stub {cmd}: killed after step {step}"); sys.exit(137)
    if cmd == "train-vae":
        (exp / "model").mkdir(exist_ok=True); (exp / "model" / "config.yaml").write_text("kind: vae\n")
    print(f"stub {cmd}: trained to step {step}")
elif cmd == "dump-latents":
    out = Path(o("out")); (out / "latents").mkdir(parents=True, exist_ok=True)
    i, n = map(int, o("shard").split("/")) if "shard" in opts else (1, 1)
    every = [u for u, _ in scp(Path(o("data")) / "wav.scp")]
    for u in every[i - 1::n]:
        (out / "latents" / f"{u}.npy").write_text("npy")
    if all((out / "latents" / f"{u}.npy").exists() for u in every):   # the shard that completes the set
        (out / "latents.scp").write_text("".join(f"{u} latents/{u}.npy\n" for u in every))
        (out / "utt2num_frames").write_text("".join(f"{u} 10\n" for u in every))
        (out / "vae.yaml").write_text("frame_rate: 12.5\n")
elif cmd in ("perturb-tempo", "combine-data"):  # data-dir tools: fast, so the real ones run
    from latentspeech.cli import main
    sys.exit(main(argv))
elif cmd == "export-tts":
    out = Path(o("out")); out.mkdir(parents=True, exist_ok=True); (out / "config.yaml").write_text("kind: tts\n")
elif cmd == "make-eval-list":
    rows = scp(Path(o("data")) / "text")[: int(o("max-utts")) if "max-utts" in opts else None]
    Path(o("out")).write_text("".join(f"{u}|{t}|../wavs/{u}.wav|{t}\n" for u, t in rows))
elif cmd == "tts":
    out = Path(o("out-dir")); out.mkdir(parents=True, exist_ok=True)
    for line in Path(o("text-file")).read_text().splitlines():
        (out / (line.split("|")[0] + ".wav")).write_text("wav")
elif cmd == "eval":
    out = Path(o("out-dir")); out.mkdir(parents=True, exist_ok=True)
    n = len(Path(o("meta")).read_text().splitlines())
    (out / "summary.json").write_text(json.dumps({"wer": {"mean": 0.25, "n": n}, "sim_o": {"mean": 0.5, "n": n}}))
    (out / "summary.md").write_text("| metric | mean |\n|---|---|\n| WER | 0.25 |\n| SIM-o | 0.5 |\n")
else:
    print("stub: unknown command " + cmd); sys.exit(2)
'''


# `python` stand-in: records torchrun launches (JSON line in $LAUNCH_LOG) and runs the stub in their place;
# every other call goes to the real interpreter.
PYTHON_SHIM = """#!/usr/bin/env bash
if [ "${1:-}" = -m ] && [ "${2:-}" = torch.distributed.run ]; then
    __PYTHON__ -c 'import json, os, sys; open(os.environ["LAUNCH_LOG"], "a").write(json.dumps(sys.argv[1:]) + "\\n")' "$@"
    shift 2
    while [ $# -gt 1 ] && ! { [ "$1" = -m ] && [ "$2" = latentspeech ]; }; do shift; done
    shift 2
    exec "$(dirname "$0")/latentspeech" "$@"
fi
exec __PYTHON__ "$@"
"""


def install_stub(bin_dir: Path) -> Path:
    """Write the stand-in `latentspeech` (and a `python` that diverts torchrun launches to it) into `bin_dir`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / "latentspeech"
    path.write_text(STUB.replace("__PYTHON__", sys.executable))
    path.chmod(0o755)
    shim = bin_dir / "python"
    shim.write_text(PYTHON_SHIM.replace("__PYTHON__", sys.executable))
    shim.chmod(0o755)
    return path


def make_recipe_dir(tmp_path: Path, corpus: str = "synth", exclude: tuple[str, ...] = ()) -> Path:
    """tmp_path/<corpus>/tts1 whose entries are absolute symlinks to egs/<corpus>/tts1's (outputs stay in tmp)."""
    src = REPO / "egs" / corpus / "tts1"
    dst = tmp_path / corpus / "tts1"
    dst.mkdir(parents=True)
    for entry in src.iterdir():
        if entry.name in ("data", "dump", "exp", "downloads", *exclude):
            continue
        (dst / entry.name).symlink_to(entry.resolve() if entry.is_symlink() else entry)
    return dst


def write_data_dir(path: Path, speakers: dict[str, int], sr: int = 16000, seconds: float = 0.5) -> Path:
    """A valid kaldi data dir with `n` short wavs per speaker (utt ids `<spk>_<i>`)."""
    wav_dir = path / "wavs"
    wav_dir.mkdir(parents=True, exist_ok=True)
    wav, text, utt2spk, spk2utt = [], [], [], []
    rng = np.random.default_rng(0)
    for spk, n in sorted(speakers.items()):
        utts = [f"{spk}_{i:03d}" for i in range(n)]
        for u in utts:
            sf.write(wav_dir / f"{u}.wav", (0.1 * rng.standard_normal(int(sr * seconds))).astype(np.float32), sr)
            wav.append(f"{u} {(wav_dir / f'{u}.wav').resolve()}")
            text.append(f"{u} hello world number {u[-1]}")
            utt2spk.append(f"{u} {spk}")
        spk2utt.append(f"{spk} {' '.join(utts)}")
    for name, lines in (("wav.scp", wav), ("text", text), ("utt2spk", utt2spk), ("spk2utt", spk2utt)):
        (path / name).write_text("\n".join(sorted(lines)) + "\n")
    return path


FAKE_DATA_SH = """#!/usr/bin/env bash
# test stand-in for local/data.sh: copies ready-made data dirs
set -euo pipefail
src=""
datadir=data
. utils/parse_options.sh
mkdir -p "${datadir}" && cp -r "${src}"/* "${datadir}"/
"""


def recipe_env(bin_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """Environment for running a recipe: the venv's python first (stub dir before it), one thread."""
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in (str(bin_dir) if bin_dir else None, venv_bin, env.get("PATH", "")) if p)
    env["VIRTUAL_ENV"] = str(Path(sys.executable).parent.parent)   # path.sh: do not re-activate
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
