"""benchmarks/long_prompts.py: same-speaker prompts of 1, 2 and 4 joined utterances, and WER by prompt length."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from helpers_bench import load_benchmark

bench = load_benchmark("long_prompts")


def test_make_joins_other_utterances_of_the_targets_speaker(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    wav, text, utt2spk = [], [], []
    for spk in ("a", "b"):
        for i in range(5):
            utt = f"{spk}_{i}"
            sf.write(tmp_path / f"{utt}.wav", np.full(1600 * (i + 1), 0.1, dtype=np.float32), 16_000)
            wav.append(f"{utt} {tmp_path / utt}.wav")
            text.append(f"{utt} Words of {utt}.")
            utt2spk.append(f"{utt} {spk}")
    for name, lines in (("wav.scp", wav), ("text", text), ("utt2spk", utt2spk)):
        (data / name).write_text("\n".join(lines) + "\n")
    out = tmp_path / "w"
    assert bench.main(["make", "--data", str(data), "--out", str(out), "--max-utts", "5"]) == 0
    from latentspeech.eval.meta import read_meta

    k1, k4, blank = (read_meta(out / f"{n}.lst") for n in ("k1", "k4", "k4_blank"))
    assert sorted(e.utt for e in k4) == ["a_0", "b_0"]  # each speaker's first utterance is the target
    for e1, e4, eb in zip(k1, k4, blank):
        spk = e4.utt[0]
        said = e4.prompt_text.split(" ")
        assert len(said) == 4 * 3 and all(w.startswith(f"{spk}_") for w in said[2::3])  # 4 of its own speaker's
        assert f"{e4.utt}." not in e4.prompt_text and e1.prompt_text in e4.prompt_text  # never itself; k1 ⊂ k4
        assert eb.prompt_text == "" and eb.prompt_wav == e4.prompt_wav and eb.text == e4.text
        # 4 utterances of 0.2-0.5 s (not the 0.1 s target) + 4 × 0.3 s of silence
        assert 4 * 0.2 + 1.2 <= sf.info(str(e4.prompt_wav)).duration <= 4 * 0.5 + 1.2


def test_bucket_table_counts_and_averages_per_length():
    table = bench.bucket_table([(3.0, 0.2), (3.5, 0.4), (7.0, 1.0), (15.0, 2.0)])
    assert "| 0-4 | 2 | 30 | 30 |" in table and "| 6-8 | 1 | 100 | 100 |" in table and "| 13-60 | 1 | 200 | 200 |" in table
    assert "4-6" not in table  # empty buckets are left out
