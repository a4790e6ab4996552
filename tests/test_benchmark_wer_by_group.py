"""benchmarks/wer_by_group.py: corpus-level WER per voice group over the utterances every system scored."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers_bench import load_benchmark

bench = load_benchmark("wer_by_group")


def _scores(d: Path, rows: list[tuple[str, int, int]]) -> Path:
    d.mkdir()
    lines = ["utt\twer\terrors\tref_words"] + [f"{u}\t{e / n}\t{e}\t{n}" for u, e, n in rows]
    (d / "wer.tsv").write_text("\n".join(lines) + "\n")
    return d


def test_groups_by_base_voice_and_pools_errors():
    rows = [{"utt": u, "errors": str(e), "ref_words": str(n)}
            for u, e, n in [("rms-s1_t001", 1, 4), ("rms-s2_t009", 3, 6), ("espeak-f4-s1_t000", 0, 5), ("weird", 2, 2)]]
    assert bench.group_errors(rows, bench.DEFAULT_GROUP) == {"rms": (4, 10), "espeak-f4": (0, 5), "other": (2, 2)}


def test_table_uses_only_utterances_every_system_scored(tmp_path, capsys):
    a = _scores(tmp_path / "scores_a", [("rms-s1_t001", 1, 4), ("rms-s1_t002", 4, 4)])
    b = _scores(tmp_path / "scores_b", [("rms-s1_t001", 2, 4)])
    assert bench.main([str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "1 utterances scored by all" in out
    assert "| rms | 4 | 25.0 | 50.0 |" in out and "| all | 4 | 25.0 | 50.0 |" in out


def test_missing_scores_is_a_one_line_exit(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="no wer.tsv rows"):
        bench.main([str(tmp_path / "empty")])


def test_position_errors_place_each_error_at_its_reference_word():
    rows = [{"ref_norm": "a b c d e f", "hyp_norm": "a b c d e x"},  # a substitution in the last third
            {"ref_norm": "a b c", "hyp_norm": "z a b"},              # an insertion before word 1, a deletion of word 3
            {"ref_norm": "a b c", "hyp_norm": ""},                   # nothing heard: every word deleted
            {"ref_norm": "", "hyp_norm": "a"}]                       # no reference words: left out
    assert bench.position_errors(rows, 3) == {"1/3": (2, 4), "2/3": (1, 4), "3/3": (3, 4)}
    assert bench.position_errors(rows, 1) == {"1/1": (6, 12)}


def test_by_position_table(tmp_path, capsys):
    d = tmp_path / "scores_a"
    d.mkdir()
    (d / "wer.tsv").write_text("utt\terrors\tref_words\tref_norm\thyp_norm\nu1\t1\t4\ta b c d\ta b c x\n")
    assert bench.main(["--by-position", "2", str(d)]) == 0
    out = capsys.readouterr().out
    assert "WER % per part of the reference" in out and "| 1/2 | 2 | 0.0 |" in out and "| 2/2 | 2 | 50.0 |" in out
