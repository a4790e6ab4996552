"""benchmarks/stop_head.py: the stop loss split into the end frame and the frames before it, and first crossings."""

from __future__ import annotations

import math

import pytest
import torch

from helpers_bench import load_benchmark
from helpers_lm import make_dump, make_tts_dir, tiny_lm

bench = load_benchmark("stop_head")

BIG = 20.0  # a logit whose sigmoid is 1 to ~2e-9


def _logits(n: int, fire: list[int]) -> torch.Tensor:
    s = torch.full((n + 1,), -BIG)
    s[fire] = BIG
    return s


def test_on_time_early_never_and_the_guard():
    on_time = bench.stop_stats(_logits(10, [10]), prompt_len=3, frame_len=10, threshold=0.5)
    assert on_time["early"] == 0 and on_time["never"] == 0 and on_time["p_end"] > 0.99
    assert on_time["end"] == pytest.approx(0, abs=1e-6) and on_time["before"] == pytest.approx(0, abs=1e-6)
    assert bench.stop_stats(_logits(10, [9]), 3, 10, 0.5)["early"] == 0  # one frame early counts as on time
    early = bench.stop_stats(_logits(10, [5, 10]), 3, 10, 0.5)
    assert early["early"] == 1 and early["early_frames"] == 4  # offset 2 of 7: 7 − 1 − 2 frames before N − 1
    assert early["before"] == pytest.approx(BIG, rel=1e-3)  # one confident false alarm
    never = bench.stop_stats(_logits(10, []), 3, 10, 0.5)
    assert never["never"] == 1 and never["end"] == pytest.approx(BIG, rel=1e-3)
    # a crossing before the prompt counts for nothing; the decoding guard ignores early ones
    assert bench.stop_stats(_logits(10, [1, 10]), 3, 10, 0.5)["early"] == 0
    guarded = bench.stop_stats(_logits(10, [4, 10]), 3, 10, 0.5, guard_frames=3)
    assert guarded["early"] == 1 and guarded["early_guarded"] == 0 and guarded["guard_past_end"] == 0
    assert bench.stop_stats(_logits(10, [10]), 3, 10, 0.5, guard_frames=8)["guard_past_end"] == 1  # 7 target frames


def test_terms_add_up_to_the_training_stop_loss():
    """pos_weight · Σ end + Σ before over the counted positions is LatentLM.loss's `stop` term."""
    lm = tiny_lm(seed=3)
    torch.manual_seed(0)
    phonemes = torch.randint(1, 40, (2, 6))
    phoneme_lens, frame_lens, prompt_lens = torch.tensor([6, 4]), torch.tensor([9, 7]), torch.tensor([2, 3])
    frames = torch.randn(2, 9, 8)
    with torch.no_grad():
        logits = lm(phonemes, phoneme_lens, frames, frame_lens).stop_logits
        want = float(lm.loss(phonemes, phoneme_lens, frames, frame_lens, prompt_lens)["stop"])
    rows = [bench.stop_stats(logits[k], int(prompt_lens[k]), int(frame_lens[k]), 0.5) for k in range(2)]
    count = int((frame_lens - prompt_lens + 1).sum())
    assert sum(r["positions"] for r in rows) == count
    got = sum(lm.config.stop_pos_weight * r["end"] + r["before"] for r in rows) / count
    assert got == pytest.approx(want, rel=1e-5)


def test_cli_table_on_a_tiny_model(tmp_path, capsys):
    phn, lat, _ = make_dump(tmp_path, n_utts=6)
    never = make_tts_dir(tmp_path / "never", stop_bias=-BIG)
    always = make_tts_dir(tmp_path / "always", stop_bias=BIG)
    report = tmp_path / "stop.md"
    assert bench.main(["--models", str(never), str(always), "--phn", str(phn), "--latents", str(lat),
                       "--report", str(report)]) == 0
    rows = [line.split("|")[1:-1] for line in report.read_text().splitlines()[2:]]
    from latentspeech.data.datasets import LMDataset
    from latentspeech.text.vocab import PhonemeVocab

    usable = len(LMDataset(phn, lat, PhonemeVocab.default()))  # the ones within the data config's lengths
    assert 0 < usable and [int(r[1]) for r in rows] == [usable, usable]
    never_row, always_row = ([c.strip() for c in r] for r in rows)
    assert float(never_row[8]) == 100.0 and float(never_row[6]) == 0.0  # never %, early %
    assert float(always_row[6]) == 100.0 and float(always_row[8]) == 0.0
    assert math.isclose(float(always_row[5]), 1.0)  # p(stop) at the end
    assert float(never_row[2]) > 0 and float(always_row[2]) > 0  # the stop loss: both wrong somewhere
    assert "| model |" in capsys.readouterr().out
