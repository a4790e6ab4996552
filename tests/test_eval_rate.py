"""Speaking-rate transfer (latentspeech.eval.rate) and the benchmark's WER-by-duration-ratio table."""

from __future__ import annotations

import importlib.util
import shutil
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from latentspeech.errors import InputError
from latentspeech.eval.meta import MetaEntry
from latentspeech.eval.rate import count_letters, rate_rows, speech_seconds, summarize_rates

SR = 16_000
TEXT = "abcd efgh"  # 8 letters


def speech(path: Path, seconds: float, lead: float = 0.3, tail: float = 0.2) -> Path:
    """`seconds` of a loud tone between quiet margins (speech_seconds should find `seconds`)."""
    t = np.arange(int(seconds * SR)) / SR
    body = 0.3 * np.sin(2 * np.pi * 220 * t)
    wav = np.concatenate([np.zeros(int(lead * SR)), body, np.zeros(int(tail * SR))]).astype(np.float32)
    sf.write(path, wav, SR)
    return path


def _benchmark():
    """benchmarks/speaking_rate.py as a module."""
    spec = importlib.util.spec_from_file_location(
        "speaking_rate", Path(__file__).parents[1] / "benchmarks" / "speaking_rate.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_count_letters_counts_what_the_tts_reads():
    assert count_letters("Hello, world!") == 10 and count_letters("Ça va?") == 4 and count_letters("...") == 0
    assert count_letters("42 pages") == count_letters("forty-two pages") == 13  # numbers read as words
    assert count_letters("Dr. Smith") == count_letters("doctor Smith")


def test_speech_seconds_trims_silence():
    wav = np.zeros(2 * SR, dtype=np.float32)
    wav[SR // 2: SR // 2 + SR] = 0.3 * np.sin(2 * np.pi * 220 * np.arange(SR) / SR)
    assert speech_seconds(wav, SR) == pytest.approx(1.0, abs=0.05)  # 25 ms frames, 10 ms hop


def _entries(tmp_path: Path, prompt_s, gen_s, gt_s) -> tuple[list[MetaEntry], Path]:
    gen_dir = tmp_path / "gen"
    gen_dir.mkdir()
    entries = []
    for i, (p, g, t) in enumerate(zip(prompt_s, gen_s, gt_s)):
        prompt = speech(tmp_path / f"p{i}.wav", p)
        gt = speech(tmp_path / f"t{i}.wav", t)
        if g is not None:
            speech(gen_dir / f"u{i}.wav", g)
        entries.append(MetaEntry(f"u{i}", TEXT, prompt, TEXT, gt))
    return entries, gen_dir


def test_tempo_copied_from_prompt_correlates_and_constant_tempo_does_not(tmp_path):
    prompt_s = [0.8, 1.0, 1.3, 1.6, 2.0]
    gen_s = [1.2, 1.25, 1.2, 1.25, 1.2]  # the model's own pace, whatever the prompt
    entries, gen_dir = _entries(tmp_path, prompt_s, gen_s, gt_s=prompt_s)
    rows = rate_rows(entries, gen_dir)
    assert [r.prompt_rate for r in rows] == pytest.approx([8 / s for s in prompt_s], rel=0.05)
    s = summarize_rates(rows)
    assert s.n == 5 and s.r_prompt_gt == pytest.approx(1.0, abs=0.01)
    assert abs(s.r_prompt_gen) < 0.5
    ratios = [r.duration_ratio for r in rows]
    assert ratios == pytest.approx([g / t for g, t in zip(gen_s, prompt_s)], rel=0.05)
    assert s.share_outside == pytest.approx(3 / 5)  # 1.2/0.8, 1.2/1.6 and 1.2/2.0 are outside [0.8, 1.25]


def test_missing_generated_wavs_are_skipped_and_none_is_an_error(tmp_path):
    entries, gen_dir = _entries(tmp_path, [1.0, 1.5], [1.0, None], [1.0, 1.5])
    assert [r.utt for r in rate_rows(entries, gen_dir)] == ["u0"]
    with pytest.raises(InputError, match="no generated wavs"):
        rate_rows(entries, tmp_path / "empty")


def test_without_ground_truth_ratios_are_nan(tmp_path):
    entries, gen_dir = _entries(tmp_path, [1.0, 1.5, 2.0], [1.0, 1.5, 2.0], [1.0, 1.5, 2.0])
    entries = [MetaEntry(e.utt, e.prompt_text, e.prompt_wav, e.text) for e in entries]
    s = summarize_rates(rate_rows(entries, gen_dir))
    assert math.isnan(s.median_ratio) and math.isnan(s.r_prompt_gt)
    assert s.r_prompt_gen == pytest.approx(1.0, abs=0.01)


def test_benchmark_bins_wer_by_duration_ratio(tmp_path):
    bench = _benchmark()
    entries, gen_dir = _entries(tmp_path, [1.0, 1.0, 1.0], [0.5, 1.0, 2.0], [1.0, 1.0, 1.0])
    rows = rate_rows(entries, gen_dir)
    table = dict((label, (n, w)) for label, n, w in bench.wer_by_ratio(rows, {"u0": 1.0, "u1": 0.2, "u2": 0.6}))
    assert table["< 0.8"] == (1, pytest.approx(100.0))
    assert table["0.95-1.1"] == (1, pytest.approx(20.0))
    assert table[">= 1.25"] == (1, pytest.approx(60.0))
    assert table["0.8-0.95"][0] == 0


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox binary not installed")
def test_benchmark_stretches_generated_speech_to_the_ground_truth_duration(tmp_path):
    bench = _benchmark()
    entries, gen_dir = _entries(tmp_path, [1.0, 1.0], [0.6, 1.0], [1.2, 1.0])
    rows = rate_rows(entries, gen_dir)
    assert bench.stretch_to_gt(rows, gen_dir, tmp_path / "stretched") == 1  # the second one is already right
    out = rate_rows(entries, tmp_path / "stretched")
    assert out[0].duration_ratio == pytest.approx(1.0, abs=0.06)
    assert sf.info(str(tmp_path / "stretched/u1.wav")).frames == sf.info(str(gen_dir / "u1.wav")).frames
