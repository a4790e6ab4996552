"""benchmarks/unpunctuated_text.py: the unpunctuated lists and the paired table."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers_bench import load_benchmark
from latentspeech.eval.meta import read_meta

bench = load_benchmark("unpunctuated_text")


def test_make_writes_lists_without_the_final_mark_and_without_any_punctuation(tmp_path):
    (tmp_path / "p.wav").touch()
    meta = tmp_path / "meta.lst"
    meta.write_text("u1|Hello, Mr. Brown.|p.wav|Where is it? It's here!|p.wav\nu2|Yes.|p.wav|No...|p.wav\n")
    assert bench.main(["make", str(meta)]) == 0
    noend, plain = read_meta(tmp_path / "noend.lst"), read_meta(tmp_path / "plain.lst")
    assert [(e.prompt_text, e.text) for e in noend] == [("Hello, Mr. Brown.", "Where is it? It's here"), ("Yes.", "No")]
    assert [(e.prompt_text, e.text) for e in plain] == [("hello mr brown", "where is it it's here"), ("yes", "no")]
    assert all(e.prompt_wav == tmp_path / "p.wav" and e.gt_wav == tmp_path / "p.wav" for e in noend + plain)


def _scores(d: Path, wers: dict[str, float]) -> str:
    d.mkdir()
    (d / "wer.tsv").write_text("utt\twer\n" + "".join(f"{u}\t{w}\n" for u, w in wers.items()))
    return str(d)


def test_table_pairs_each_run_with_the_written_list_overall_and_on_multi_sentence_texts(tmp_path, capsys):
    (tmp_path / "p.wav").touch()
    meta = tmp_path / "meta.lst"
    meta.write_text("u1|A.|p.wav|One. Two.\nu2|A.|p.wav|Three.\n")
    base = _scores(tmp_path / "b", {"u1": 0.2, "u2": 0.4})
    run0, run1 = _scores(tmp_path / "r0", {"u1": 0.6, "u2": 0.4}), _scores(tmp_path / "r1", {"u1": 0.2, "u2": 0.4})
    assert bench.main(["table", "--meta", str(meta), "--base", base, "--run", "lost", run0, run1]) == 0
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines()]
    assert rows[2][1:4:2] == ["30.0", "20.0"]  # as written: mean 30, the one 2-sentence text 20
    assert rows[3][0] == "| lost" and rows[3][1] == "40.0" and rows[3][2].startswith("+10.0")  # u1: mean of 60, 20
    assert rows[3][3] == "40.0" and rows[3][4].startswith("+20.0")


def test_lengths_compares_each_run_seed_by_seed_with_the_written_list(tmp_path, capsys):
    import json

    def gen(name, seconds):
        d = tmp_path / name
        d.mkdir()
        (d / "generation.jsonl").write_text("".join(json.dumps({"utt": u, "audio_s": s}) + "\n"
                                                    for u, s in seconds.items()))
        return str(d)

    base = gen("b0", {"u1": 2.0, "u2": 3.0, "u3": 4.0})
    run = gen("r0", {"u1": 2.0, "u2": 4.5, "u3": 2.0})  # ratios 1.0, 1.5, 0.5
    assert bench.main(["lengths", "--base", base, "--run", "lost", run]) == 0
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines()]
    assert rows[3] == ["| lost", "8", "1.000", "1", "1", "3 |"]
    with pytest.raises(SystemExit, match="as many gen dirs as --base"):
        bench.main(["lengths", "--base", base, base, "--run", "lost", run])
