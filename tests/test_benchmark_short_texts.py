"""benchmarks/short_texts.py: the short-text list keeps the held-out prompts, and the duration summary."""

from __future__ import annotations


import numpy as np
import soundfile as sf

from helpers_bench import load_benchmark

bench = load_benchmark("short_texts")


def test_short_list_keeps_utts_and_prompts_and_swaps_in_short_phrases(tmp_path):
    from latentspeech.eval.meta import MetaEntry, read_meta, write_meta

    prompt = tmp_path / "p.wav"
    sf.write(prompt, np.zeros(1600, dtype=np.float32), 16000)
    cross = write_meta(tmp_path / "meta.lst", [MetaEntry(f"u{i}", "A prompt.", prompt, "A long sentence of many words "
                                                                                          "that goes on and on.")
                                               for i in range(5)])
    out = read_meta(bench.short_meta(cross, tmp_path / "short.lst", phrase_seed=3))
    assert [e.utt for e in out] == [f"u{i}" for i in range(5)]
    assert all(e.prompt_wav == prompt and e.prompt_text == "A prompt." for e in out)
    assert all(1 <= len(e.text.split()) <= bench.MAX_WORDS for e in out) and len({e.text for e in out}) == 5
    again = read_meta(bench.short_meta(cross, tmp_path / "again.lst", phrase_seed=3))
    assert [e.text for e in again] == [e.text for e in out]  # seeded


def test_duration_summary(tmp_path):
    for i, seconds in enumerate([0.25, 1.0, 1.5, 2.0]):
        sf.write(tmp_path / f"u{i}.wav", np.zeros(int(16000 * seconds), dtype=np.float32), 16000)
    d = bench.durations(tmp_path)
    assert d == [0.25, 1.0, 1.5, 2.0]
    assert bench.duration_cells(d) == "0.25 | 0.25 | 1.50 | 2.00 | 1/4"
