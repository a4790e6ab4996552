"""Reports: bootstrap CIs on known data, resumable TSVs, merged summary JSON/Markdown."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from latentspeech.errors import InputError
from latentspeech.eval.report import TSVWriter, bootstrap_ci, read_tsv, summarize, update_summary


def test_bootstrap_ci_of_constant_data_has_zero_width():
    assert bootstrap_ci([0.25] * 40) == pytest.approx((0.25, 0.25))


def test_bootstrap_ci_matches_a_reference_loop():
    x = np.random.default_rng(1).exponential(size=57)
    rng = np.random.default_rng(7)
    means = [x[rng.integers(0, x.size, size=x.size)].mean() for _ in range(1000)]
    expected = np.quantile(means, [0.025, 0.975])
    assert bootstrap_ci(x, n_resamples=1000, seed=7) == pytest.approx(tuple(expected), rel=1e-12)


def test_bootstrap_ci_agrees_with_the_normal_approximation_on_large_samples():
    x = np.random.default_rng(2).normal(3.0, 2.0, size=4000)
    lo, hi = bootstrap_ci(x, n_resamples=2000)
    half = 1.96 * x.std(ddof=1) / math.sqrt(x.size)
    assert lo == pytest.approx(x.mean() - half, abs=0.15 * half)
    assert hi == pytest.approx(x.mean() + half, abs=0.15 * half)


def test_bootstrap_is_seeded():
    x = np.arange(30.0)
    assert bootstrap_ci(x, seed=3) == bootstrap_ci(x, seed=3)
    assert bootstrap_ci(x, seed=3) != bootstrap_ci(x, seed=4)


def test_summarize_counts_finite_values_only():
    s = summarize([0.1, 0.3, float("nan"), None, 0.2])
    assert (s.mean, s.n) == (pytest.approx(0.2), 3)
    assert s.ci_low <= s.mean <= s.ci_high
    empty = summarize([])
    assert empty.n == 0 and math.isnan(empty.mean)


def test_tsv_resume_drops_a_line_cut_short_by_a_crash(tmp_path):
    path = tmp_path / "wer.tsv"
    with TSVWriter(path, ["utt", "wer", "hyp"]) as w:
        w.write([{"utt": "a", "wer": 0.5, "hyp": "two\twords"}])
    with open(path, "a") as f:
        f.write("b\t0.1")  # no newline: interrupted
    assert [r["utt"] for r in read_tsv(path)] == ["a"]
    with TSVWriter(path, ["utt", "wer", "hyp"]) as w:
        w.write([{"utt": "b", "wer": 0.25, "hyp": "x"}])
    assert read_tsv(path) == [{"utt": "a", "wer": "0.5", "hyp": "two words"}, {"utt": "b", "wer": "0.25", "hyp": "x"}]


def test_tsv_with_other_columns_is_refused(tmp_path):
    path = tmp_path / "sim.tsv"
    TSVWriter(path, ["utt", "sim_o"]).close()
    with pytest.raises(InputError, match="--force"):
        TSVWriter(path, ["utt", "sim_o", "sim_r"])


def test_summary_sections_merge_into_one_report(tmp_path):
    header = {"meta": "/x/meta.lst", "gen_dir": "/x/gen", "n_utts": 3, "seed": 0}
    wer = {"backend": "asr", "metrics": {"wer": summarize([0.1, 0.2])}, "missing": ["u3"], "failed": {}}
    sim = {"backend": "spk", "metrics": {"sim_o": summarize([0.8, 0.9])}, "missing": ["u3"], "failed": {}}
    update_summary(tmp_path, "wer", wer, header)
    update_summary(tmp_path, "sim", sim, header)
    data = json.loads((tmp_path / "summary.json").read_text())
    assert set(data["sections"]) == {"wer", "sim"}
    assert data["sections"]["wer"]["metrics"]["wer"]["n"] == 2
    md = (tmp_path / "summary.md").read_text()
    assert "| WER (%) | 15.00 |" in md and "| SIM-o | 0.850 |" in md and "u3" in md
