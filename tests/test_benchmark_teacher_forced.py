"""benchmarks/teacher_forced.py: teacher-forced losses per group, with and without the text on the same noise."""

from __future__ import annotations

import math
import shutil

import pytest
import torch

from helpers_bench import load_benchmark
from helpers_lm import make_dump, make_tts_dir

bench = load_benchmark("teacher_forced")


def test_pace_of_splits_a_cross_utterance_example_into_prompt_and_target():
    # prompt: 10 frames over 5 phonemes (its pace, 2.0), then the separator, then 4 target phonemes over 12 frames
    batch = {"frame_lens": torch.tensor([22]), "phoneme_lens": torch.tensor([10]), "prompt_lens": torch.tensor([10])}
    assert bench.pace_of(batch, target_phonemes=4) == (3.0, 2.0)


def test_group_means_per_group_and_over_all():
    rows = [("a-s1_0", dict.fromkeys(bench.KEYS, 1.0)), ("a-s2_1", dict.fromkeys(bench.KEYS, 3.0)),
            ("b-s1_0", dict.fromkeys(bench.KEYS, 5.0)), ("odd", dict.fromkeys(bench.KEYS, 7.0))]
    means = bench.group_means(rows, r"^(.+)-s\d+_")
    assert list(means) == ["a", "b", "other", "all"]
    assert means["a"]["ctc"] == 2.0 and means["a"]["utts"] == 2 and means["all"]["diffusion"] == 4.0


def test_cli_on_a_tiny_model_is_deterministic_and_pairs_the_text_gain(tmp_path):
    phn, lat, data = make_dump(tmp_path, n_utts=9, n_spk=3)
    shutil.copy(data / "utt2spk", lat / "utt2spk")  # cross-utterance prompts need the speakers
    model = make_tts_dir(tmp_path / "m", ctc=True)
    runs = []
    for k in range(2):
        rows_path = tmp_path / f"rows{k}.tsv"
        assert bench.main(["--models", str(model), "--phn", str(phn), "--latents", str(lat), "--group",
                           r"^(spk\d)_", "--rows", str(rows_path), "--report", str(tmp_path / "tf.md")]) == 0
        runs.append(rows_path.read_text())
    assert runs[0] == runs[1]  # same examples, same noise
    header, *lines = [line.split("\t") for line in runs[0].splitlines()]
    assert header[:4] == ["model", "utt", "target_pace", "prompt_pace"] and len(lines) > 0
    for line in lines:
        r = dict(zip(header[4:], map(float, line[4:])))
        assert r["text_gain"] == pytest.approx(r["no_text"] - r["diffusion"], abs=2e-5)
        assert math.isfinite(r["ctc"]) and float(line[2]) > 0 and float(line[3]) > 0
    table = (tmp_path / "tf.md").read_text()
    assert "| spk0 |" in table and f"| all | {len(lines)} |" in table
