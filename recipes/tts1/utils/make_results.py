#!/usr/bin/env python3
"""Stage 8: collect every <decode_dir>/<set>_<mode>/scores/summary.{json,md} into one RESULTS.md.

    utils/make_results.py --out RESULTS.md --decode-dir DIR [--vae-config F --lm-config F ...]

RESULTS.md (ESPnet style): when, where (host, CPU/GPU, torch), which code (git commit), which configs and
models, the invocation, then one table row per test list with its WER and SIM numbers and each
list's own summary.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import sys
from pathlib import Path


def metrics(obj, name: str = "") -> dict[str, str]:
    """Every node of the summary holding a "mean" → {metric name: 'mean [ci_low, ci_high]'} (the name is the
    node's key, e.g. wer, cer, sim_o), so the table follows whatever metrics `latentspeech eval` reported."""
    out: dict[str, str] = {}
    if isinstance(obj, dict):
        if isinstance(obj.get("mean"), (int, float)) and not isinstance(obj.get("mean"), bool):
            lo, hi = obj.get("ci_low"), obj.get("ci_high")
            ci = f" [{lo:.4g}, {hi:.4g}]" if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) else ""
            out[name or "value"] = f"{obj['mean']:.4g}{ci}"
        for k, v in obj.items():
            if isinstance(v, dict):
                out.update(metrics(v, k))
    return out


def environment() -> list[str]:
    lines = [f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
             f"- host: {platform.node()} ({platform.system()} {platform.machine()}, {_cpu()})"]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True).stdout.strip()
        lines.append(f"- git commit: {commit}{' (+ local changes)' if dirty else ''}")
    except (OSError, subprocess.CalledProcessError):
        pass
    import importlib.metadata

    try:
        torch_version = importlib.metadata.version("torch")  # no `import torch`: it takes seconds
    except importlib.metadata.PackageNotFoundError:
        torch_version = "not installed"
    try:
        gpus = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                              text=True, timeout=20).stdout.split("\n")
        gpu = ", ".join(sorted({g.strip() for g in gpus if g.strip()})) or "none"
    except (OSError, subprocess.SubprocessError):
        gpu = "none"
    lines.append(f"- python {platform.python_version()}, torch {torch_version}, GPU: {gpu}")
    return lines


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--decode-dir", type=Path, required=True)
    for name in ("vae-config", "lm-config", "decode-config", "vae-model", "tts-model", "invocation"):
        p.add_argument(f"--{name}", default="")
    args = p.parse_args(argv)
    summaries = sorted(args.decode_dir.glob("*/scores/summary.json"))
    if not summaries:
        print(f"make_results: error: no {args.decode_dir}/*/scores/summary.json; run stage 8's scoring first",
              file=sys.stderr)
        return 1
    rows, sections, keys = [], [], []
    for path in summaries:
        name = path.parent.parent.name
        try:
            values = metrics(json.loads(path.read_text()))
        except json.JSONDecodeError as e:
            print(f"make_results: error: {path} is not valid JSON ({e})", file=sys.stderr)
            return 1
        rows.append((name, values))
        keys += [k for k in values if k not in keys]
        md = path.with_name("summary.md")
        if md.is_file():
            sections.append(f"### {name}\n\n{md.read_text().strip()}\n")
    # WER-like columns first, then SIM, then the rest.
    keys.sort(key=lambda k: (0 if "er" in k.lower() else 1 if "sim" in k.lower() else 2))
    text = ["# RESULTS", "", "## Environment", "", *environment(), "",
            "## Models and configs", ""]
    for label, value in (("VAE config", args.vae_config), ("LM config", args.lm_config),
                         ("decode config", args.decode_config), ("VAE model", args.vae_model),
                         ("TTS model", args.tts_model)):
        if value:
            text.append(f"- {label}: `{value}`")
    if args.invocation:
        text += ["", "```", args.invocation.strip(), "```"]
    text += ["", f"## {args.decode_dir}", "", "Means with 95% confidence intervals; WER/CER as fractions (0.05 = 5%).", "",
             "| test list | " + " | ".join(keys) + " |",
             "|---|" + "---|" * len(keys)]
    for name, values in rows:
        cells = [values.get(k, "–") for k in keys]
        text.append(f"| {name} | " + " | ".join(cells) + " |")
    text += ["", *sections]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(text).rstrip() + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
