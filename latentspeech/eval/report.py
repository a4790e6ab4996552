"""Per-utterance TSV files and summaries: mean, 95% bootstrap CI and count, as JSON and Markdown.

`summary.json` holds one section per scorer ("wer", "sim"); each run replaces its own section and keeps the
others, and `summary.md` is rendered from the merged JSON, so `eval-wer` then `eval-sim` give one report.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from latentspeech.errors import InputError

__all__ = ["TSVWriter", "read_tsv", "bootstrap_ci", "MetricSummary", "summarize", "update_summary",
           "render_markdown"]


def _field(value) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return " ".join(str(value).split())  # no tabs or newlines inside a field


def read_tsv(path: str | Path) -> list[dict[str, str]]:
    """Rows of a headed TSV as dicts (empty list if the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")[:-1]  # a last line without its newline was cut short by a crash: rescore it
    if not lines:
        return []
    header = lines[0].split("\t")
    return [dict(zip(header, values)) for values in (line.split("\t") for line in lines[1:])
            if len(values) == len(header)]


class TSVWriter:
    """Appends rows to a TSV with a fixed header; resumes an existing file with the same header."""

    def __init__(self, path: str | Path, columns: list[str]):
        self.path, self.columns = Path(path), list(columns)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and self.path.stat().st_size > 0:
            with open(self.path, encoding="utf-8") as f:
                header = f.readline().rstrip("\n").split("\t")
            if header != self.columns:
                raise InputError(f"{self.path} has columns {header}, expected {self.columns}; "
                                 "pass --force to rescore from scratch")
            self._repair_tail()
            self._file = open(self.path, "a", encoding="utf-8")
        else:
            self._file = open(self.path, "w", encoding="utf-8")
            self._file.write("\t".join(self.columns) + "\n")

    def _repair_tail(self) -> None:
        """Drop a last line without its newline (left by an interrupted run)."""
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            self.path.write_bytes(data[: data.rfind(b"\n") + 1])

    def write(self, rows: list[dict]) -> None:
        """Append rows and flush them to disk."""
        for row in rows:
            self._file.write("\t".join(_field(row[c]) for c in self.columns) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "TSVWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def bootstrap_ci(values, confidence: float = 0.95, n_resamples: int = 1000, seed: int = 0,
                 chunk: int = 256) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean: resample with replacement `n_resamples` times (seeded)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, chunk):  # bounded memory; draws are the same as one [B, n] call
        b = min(chunk, n_resamples - start)
        means[start:start + b] = x[rng.integers(0, x.size, size=(b, x.size))].mean(axis=1)
    alpha = (1.0 - confidence) / 2
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


@dataclass
class MetricSummary:
    """Mean with a 95% bootstrap confidence interval over `n` utterances."""

    mean: float
    ci_low: float
    ci_high: float
    n: int


def summarize(values, confidence: float = 0.95, n_resamples: int = 1000, seed: int = 0) -> MetricSummary:
    """Mean, bootstrap CI and count of the finite `values`."""
    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
    lo, hi = bootstrap_ci(x, confidence, n_resamples, seed)
    return MetricSummary(float(x.mean()) if x.size else math.nan, lo, hi, int(x.size))


def _json_safe(obj):
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, MetricSummary):
        return _json_safe(asdict(obj))
    return obj


_LABELS = {"wer": ("WER (%)", 100.0), "cer": ("CER (%)", 100.0), "wer_corpus": ("WER corpus (%)", 100.0),
           "sim_o": ("SIM-o", 1.0), "sim_r": ("SIM-r", 1.0)}


def _fmt(value: float | None, scale: float) -> str:
    """Percentages with 2 decimals, similarities with 3; "–" for no value."""
    return "–" if value is None else f"{value * scale:.{2 if scale == 100.0 else 3}f}"


def render_markdown(summary: dict) -> str:
    """One table over every section: metric | mean | 95% CI | n | missing | failed | backend."""
    lines = ["| metric | mean | 95% CI | n | missing | failed | backend |", "|---|---|---|---|---|---|---|"]
    for section in summary.get("sections", {}).values():
        for key, m in section["metrics"].items():
            label, scale = _LABELS.get(key, (key, 1.0))
            lo, mean, hi = (_fmt(m.get(k), scale) for k in ("ci_low", "mean", "ci_high"))
            ci = "–" if m.get("ci_low") is None else f"[{lo}, {hi}]"
            lines.append(f"| {label} | {mean} | {ci} | {m['n']} | {len(section['missing'])} "
                         f"| {len(section['failed'])} | {section['backend']} |")
    notes = [f"- {name}: missing generated files: {', '.join(s['missing'][:20])}"
             + (f" (+{len(s['missing']) - 20} more)" if len(s["missing"]) > 20 else "")
             for name, s in summary.get("sections", {}).items() if s["missing"]]
    head = [f"# Evaluation of `{summary.get('gen_dir', '?')}`", "",
            f"Meta list `{summary.get('meta', '?')}`: {summary.get('n_utts', '?')} utterances. "
            f"Means with {int(100 * summary.get('confidence', 0.95))}% percentile-bootstrap CIs "
            f"({summary.get('n_resamples', 1000)} resamples, seed {summary.get('seed', 0)}).", ""]
    return "\n".join(head + lines + ([""] + notes if notes else [])) + "\n"


def update_summary(out_dir: str | Path, section_name: str, section: dict, header: dict) -> dict:
    """Merge `section` into `<out_dir>/summary.json` (other sections kept), rewrite it and `summary.md`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "summary.json"
    summary = {}
    if path.exists():
        try:
            summary = json.loads(path.read_text())
        except json.JSONDecodeError:
            summary = {}
    if summary.get("meta") not in (None, header.get("meta")):
        summary = {}  # a different evaluation: start over rather than mix
    summary.update(header)
    summary.setdefault("sections", {})[section_name] = _json_safe(section)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2) + "\n")
    os.replace(tmp, path)
    (out_dir / "summary.md").write_text(render_markdown(summary), encoding="utf-8")
    return summary
