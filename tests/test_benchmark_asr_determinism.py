"""benchmarks/asr_determinism.py: two passes over the same audio, the second reversed, compared."""

from __future__ import annotations

import itertools

import numpy as np
import soundfile as sf

from helpers_bench import load_benchmark

bench = load_benchmark("asr_determinism")


def test_counts_identical_transcripts_and_passes_the_seed(tmp_path, monkeypatch, capsys):
    for utt in ("u1", "u2"):
        sf.write(tmp_path / f"{utt}.wav", np.zeros(1600, dtype=np.float32), 16_000)
    meta = tmp_path / "meta.lst"
    meta.write_text("u1|p|u1.wav|Hello there.\nu2|p|u2.wav|Good morning.\n")
    calls = itertools.count()

    class FakeWhisper:  # seeded: the same text for the same audio; unseeded: another text every time
        def __init__(self, cpu_threads, seed, **options):
            self.seed, self.options = seed, options

        def transcribe(self, wav, sr):
            return "hello there" if self.seed is not None else f"draw {next(calls)}"

    monkeypatch.setattr("latentspeech.eval.asr.WhisperASR", FakeWhisper)
    assert bench.main(["--meta", str(meta), "--gen-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "identical transcripts: 2 of 2 (seeded)" in out and "mean WER 50.00 %" in out  # u1 right, u2 all wrong
    assert bench.main(["--meta", str(meta), "--gen-dir", str(tmp_path), "--unseeded"]) == 0
    assert "identical transcripts: 0 of 2 (unseeded)" in capsys.readouterr().out
    monkeypatch.setattr(FakeWhisper, "transcribe", lambda self, wav, sr: str(self.options))
    assert bench.main(["--meta", str(meta), "--gen-dir", str(tmp_path), "--no-fallback"]) == 0
    out = capsys.readouterr().out
    assert "identical transcripts: 2 of 2 (no fallback)" in out and "mean WER 100.00 %" in out  # "{'temperature': 0.0}"
