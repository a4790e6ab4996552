"""Paired bootstrap comparison of two scored systems (latentspeech.eval.compare, `latentspeech eval-compare`)."""

from __future__ import annotations

import numpy as np
import pytest

from latentspeech.cli import main
from latentspeech.errors import InputError
from latentspeech.eval.compare import paired_difference, read_runs, read_scores
from latentspeech.eval.report import TSVWriter


def _write(d, name, column, values):
    d.mkdir(parents=True, exist_ok=True)
    with TSVWriter(d / name, ["utt", column]) as w:
        w.write([{"utt": u, column: v} for u, v in values.items()])


def test_pairing_sees_a_small_shift_that_separate_intervals_miss():
    """Hard utterances are hard for both: B = A − 0.03 + tiny noise is 'B better' for WER, although the
    spread between utterances (0.3) dwarfs the shift."""
    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 0.8, 100)
    a = {f"u{i}": float(v) for i, v in enumerate(base)}
    b = {f"u{i}": float(v - 0.03 + rng.normal(0, 0.01)) for i, v in enumerate(base)}
    d = paired_difference(a, b, "wer")
    assert d.n == 100 and d.diff == pytest.approx(np.mean(list(b.values())) - np.mean(list(a.values())))
    assert d.ci_high < 0 and d.verdict == "B better"
    assert paired_difference(b, a, "wer").verdict == "B worse"
    assert paired_difference(a, b, "sim_o").verdict == "B worse"   # higher is better for similarity
    assert paired_difference(a, dict(a), "wer").verdict == "no clear difference"


def test_only_utterances_scored_by_both_count():
    d = paired_difference({"u1": 0.5, "u2": 0.1}, {"u2": 0.3, "u3": 0.9}, "wer")
    assert d.n == 1 and d.diff == pytest.approx(0.2)
    assert d.ci_low == d.ci_high and d.verdict == "too few utterances to tell (n = 1 < 10)"  # not "B worse"
    with pytest.raises(InputError, match="both systems"):
        paired_difference({"u1": 0.5}, {"u2": 0.3}, "wer")


def test_read_scores_errors_and_nan(tmp_path):
    _write(tmp_path / "s", "wer.tsv", "wer", {"u1": 0.25, "u2": float("nan")})
    assert read_scores(tmp_path / "s", "wer") == {"u1": 0.25}
    with pytest.raises(InputError, match="not found"):
        read_scores(tmp_path / "s", "sim_o")
    with pytest.raises(InputError, match="unknown metric"):
        read_scores(tmp_path / "s", "bleu")


def test_cli_prints_a_verdict_per_metric(tmp_path, capsys):
    _write(tmp_path / "a", "wer.tsv", "wer", {f"u{i}": 0.5 + 0.01 * i for i in range(20)})
    _write(tmp_path / "b", "wer.tsv", "wer", {f"u{i}": 0.3 + 0.01 * i for i in range(20)})
    assert main(["eval-compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "| wer | 59.5 | 39.5 | -20.0 | [-20.0, -20.0] | 20 | B better |" in out
    assert main(["eval-compare", str(tmp_path / "a"), str(tmp_path / "nope")]) == 1
    assert "share no scores" in capsys.readouterr().err


def test_several_runs_per_system_are_averaged_per_utterance(tmp_path, capsys):
    """Comma-joined score dirs (e.g. two sampling seeds) compare each utterance's mean over the runs that all
    scored it; the noise of one seed's draw cancels where the two seeds disagree."""
    _write(tmp_path / "a1", "wer.tsv", "wer", {"u1": 0.6, "u2": 0.2, "u3": 0.4})
    _write(tmp_path / "a2", "wer.tsv", "wer", {"u1": 0.4, "u2": 0.4})
    _write(tmp_path / "b1", "wer.tsv", "wer", {"u1": 0.1, "u2": 0.5, "u3": 0.0})
    _write(tmp_path / "b2", "wer.tsv", "wer", {"u1": 0.5, "u2": 0.1, "u3": 0.0})
    assert read_runs([tmp_path / "a1", tmp_path / "a2"], "wer") == pytest.approx({"u1": 0.5, "u2": 0.3})

    def runs(*names: str) -> str:
        return ",".join(str(tmp_path / n) for n in names)

    assert main(["eval-compare", runs("a1", "a2"), runs("b1", "b2")]) == 0
    assert "| wer | 40.0 | 30.0 | -10.0 |" in capsys.readouterr().out  # u1, u2: (0.5, 0.3) → (0.3, 0.3)
    assert main(["eval-compare", runs("a1", "a2"), runs("b1", "nope")]) == 1
    assert "share no scores" in capsys.readouterr().err


def test_score_dirs_of_different_lists_are_not_paired(tmp_path, capsys):
    for name, texts in (("a", ["one two", "three"]), ("b", ["one two", "three"]), ("c", ["one two", "four"])):
        (tmp_path / name).mkdir()
        with TSVWriter(tmp_path / name / "wer.tsv", ["utt", "wer", "ref_norm"]) as w:
            w.write([{"utt": f"u{i}", "wer": 0.1 * i, "ref_norm": t} for i, t in enumerate(texts)])
    assert main(["eval-compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    capsys.readouterr()
    assert main(["eval-compare", str(tmp_path / "a"), str(tmp_path / "c")]) == 1
    assert "'u1' reads 'three' in" in capsys.readouterr().err
