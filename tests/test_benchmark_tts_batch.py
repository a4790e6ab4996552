"""benchmarks/tts_batch.py on a tiny model: every batch size is timed and gives batch 1's audio."""

from __future__ import annotations

import json
import sys

import numpy as np
import soundfile as sf

from helpers_bench import load_benchmark
from helpers_lm import make_tts_dir

bench = load_benchmark("tts_batch")


def test_batch_sizes_are_timed_and_give_the_same_audio(tmp_path, monkeypatch, capsys):
    model = make_tts_dir(tmp_path / "tiny", stop_bias=-10.0)
    t = np.arange(24_000) / 16_000
    sf.write(tmp_path / "p.wav", (0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32), 16_000)
    meta = tmp_path / "meta.lst"
    meta.write_text("".join(f"u{i}|A prompt.|p.wav|{s}\n" for i, s in enumerate(bench.SENTENCES[:3])))
    report, rows = tmp_path / "r.md", tmp_path / "r.json"
    monkeypatch.setattr(sys, "argv", ["tts_batch.py", "--model", str(model), "--text-file", str(meta),
                                      "--batch-sizes", "2", "3", "--report", str(report), "--json", str(rows)])
    bench.main()
    got = json.loads(rows.read_text())
    assert [r["batch_size"] for r in got] == [1, 2, 3] and all(r["utts"] == 3 for r in got)
    assert all(r["same_lengths"] and r["max_abs_diff"] < 1e-4 and r["rtf"] > 0 for r in got)
    assert report.read_text().count("| yes |") == 3
