"""Paired comparison of two scored systems on the same list: is B better than A, or is it noise?

Two TTS systems scored on the same utterances differ far less per utterance than their separate confidence
intervals suggest (a hard sentence is hard for both). The paired bootstrap resamples utterances, not systems:
the CI of mean(B − A) over the utterances both scored (Koehn 2004's paired bootstrap for MT, here for WER/SIM).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latentspeech.errors import InputError
from latentspeech.eval.report import bootstrap_ci, read_tsv

__all__ = ["PairedDifference", "available_metrics", "check_same_list", "paired_difference", "read_runs",
           "read_scores", "METRIC_FILES"]

METRIC_FILES = {"wer": "wer.tsv", "cer": "wer.tsv", "sim_o": "sim.tsv", "sim_r": "sim.tsv"}
LOWER_IS_BETTER = {"wer": True, "cer": True, "sim_o": False, "sim_r": False}
MIN_PAIRED = 10  # fewer paired utterances: a bootstrap interval says nothing (one pair gives a zero-width CI)


@dataclass
class PairedDifference:
    """mean(B) − mean(A) over the `n` utterances both systems scored, with a paired bootstrap CI."""

    metric: str
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    n: int

    @property
    def verdict(self) -> str:
        """'B better', 'B worse', 'no clear difference' (the CI holds 0) or, under MIN_PAIRED utterances,
        'too few utterances to tell'."""
        if self.n < MIN_PAIRED:
            return f"too few utterances to tell (n = {self.n} < {MIN_PAIRED})"
        if not self.ci_low > 0 and not self.ci_high < 0:
            return "no clear difference"
        b_higher = self.ci_low > 0
        return "B worse" if b_higher == LOWER_IS_BETTER[self.metric] else "B better"


def read_scores(score_dir: str | Path, metric: str) -> dict[str, float]:
    """{utt: value} of `metric` from a score dir written by eval-wer / eval-sim (finite values only)."""
    if metric not in METRIC_FILES:
        raise InputError(f"unknown metric {metric!r}; choose from {', '.join(METRIC_FILES)}")
    path = Path(score_dir) / METRIC_FILES[metric]
    if not path.is_file():
        raise InputError(f"{path} not found: score {score_dir} with eval-wer / eval-sim first")
    rows = read_tsv(path)
    if rows and metric not in rows[0]:
        raise InputError(f"{path} has no column {metric!r}")
    out = {}
    for row in rows:
        value = float(row[metric]) if row.get(metric) not in (None, "") else math.nan
        if math.isfinite(value):
            out[row["utt"]] = value
    return out


def read_runs(score_dirs: list[str | Path], metric: str) -> dict[str, float]:
    """{utt: mean value over the runs} for several score dirs of one system (e.g. sampling seeds), over the
    utterances every run scored: a paired comparison of such means removes much of the sampling noise."""
    runs = [read_scores(d, metric) for d in score_dirs]
    common = set.intersection(*(set(r) for r in runs)) if runs else set()
    return {u: float(np.mean([r[u] for r in runs])) for u in sorted(common)}


def check_same_list(score_dirs: list[str | Path]) -> None:
    """InputError if two score dirs scored one utterance id against different reference texts (their wer.tsv
    `ref_norm`): ids such as utt_0001 then name different sentences, and pairing them would compare nothing."""
    seen: dict[str, tuple[str, Path]] = {}
    for d in score_dirs:
        for row in read_tsv(Path(d) / "wer.tsv"):
            ref, first = row.get("ref_norm"), seen.get(row["utt"])
            if ref is None:
                continue
            if first is not None and first[0] != ref:
                raise InputError(f"'{row['utt']}' reads {first[0]!r} in {first[1]} but {ref!r} in {d}: these score "
                                 "dirs are of different lists; compare systems scored on the same list")
            seen.setdefault(row["utt"], (ref, Path(d)))


def available_metrics(score_dir: str | Path) -> list[str]:
    """The metrics whose file and column exist in `score_dir`."""
    headers = {name: (read_tsv(Path(score_dir) / name) or [{}])[0] for name in set(METRIC_FILES.values())}
    return [metric for metric, name in METRIC_FILES.items() if metric in headers[name]]


def paired_difference(a: dict[str, float], b: dict[str, float], metric: str, n_resamples: int = 1000,
                      seed: int = 0) -> PairedDifference:
    """Paired bootstrap of mean(B − A) over the utterances in both `a` and `b`."""
    common = sorted(a.keys() & b.keys())
    if not common:
        raise InputError(f"no utterance was scored for {metric} in both systems")
    xa = np.array([a[u] for u in common])
    xb = np.array([b[u] for u in common])
    lo, hi = bootstrap_ci(xb - xa, n_resamples=n_resamples, seed=seed)
    return PairedDifference(metric, float(xa.mean()), float(xb.mean()), float((xb - xa).mean()), lo, hi,
                            len(common))
