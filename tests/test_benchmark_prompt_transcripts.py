"""benchmarks/prompt_transcripts.py: what recognised prompt transcripts cost, split by exact and wrong ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers_bench import load_benchmark

bench = load_benchmark("prompt_transcripts")


def _scores(d: Path, wers: dict[str, float]) -> str:
    d.mkdir()
    (d / "wer.tsv").write_text("utt\twer\n" + "".join(f"{u}\t{w}\n" for u, w in wers.items()))
    return str(d)


def test_reports_the_transcripts_wer_and_the_paired_tts_cost_per_kind_of_transcript(tmp_path, capsys):
    meta = tmp_path / "meta.lst"
    meta.write_text("u1|The red cat.|p.wav|One.\nu2|A big dog ran.|p.wav|Two.\nu3|Hello there.|p.wav|Three.\n")
    gen = tmp_path / "gen"
    gen.mkdir()
    heard = {"u1": "the red cat", "u2": "A pig dog ran.", "u3": "Hello."}  # exact (normalised), 1 of 4, 1 of 2
    (gen / "generation.jsonl").write_text("".join(json.dumps({"utt": u, "seed": 0, "prompt_transcript": t}) + "\n"
                                                  for u, t in heard.items()))
    base = _scores(tmp_path / "base", {"u1": 0.2, "u2": 0.0, "u3": 0.5})
    new = _scores(tmp_path / "new", {"u1": 0.2, "u2": 0.5, "u3": 1.0})
    assert bench.main(["--meta", str(meta), "--gen", str(gen), "--scores", new, "--base", base]) == 0
    out = capsys.readouterr().out
    assert "corpus WER 22.2 % over 3 prompts, 1 exact" in out  # 2 errors in 9 reference words
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[1:] for line in out.splitlines()
            if line.startswith("| ") and not line.startswith("| utterances")}
    assert rows["all"][:3] == ["3", "23.3", "56.7"] and rows["all"][3].startswith("+33.3")
    assert rows["transcript exact"][:3] == ["1", "20.0", "20.0"] and rows["transcript wrong"][3].startswith("+50.0")


def test_runs_must_pair_up_and_agree_on_the_transcripts(tmp_path):
    with pytest.raises(SystemExit):
        bench.main(["--meta", "m", "--gen", "g", "--scores", "a", "b", "--base", "c"])
    meta = tmp_path / "meta.lst"
    meta.write_text("u1|The red cat.|p.wav|One.\n")
    for name, text in (("g1", "the red cat"), ("g2", "the bed cat")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "generation.jsonl").write_text(json.dumps({"utt": "u1", "prompt_transcript": text}) + "\n")
    s = _scores(tmp_path / "s", {"u1": 0.0})
    with pytest.raises(SystemExit, match="another transcript of u1"):
        bench.main(["--meta", str(meta), "--gen", str(tmp_path / "g1"), str(tmp_path / "g2"), "--scores", s,
                    "--base", s])
