"""benchmarks/tts_quality.py's synthesis of one setting: --batch-size gives the one-at-a-time audio."""

from __future__ import annotations


import numpy as np
import soundfile as sf

from helpers_bench import load_benchmark
from helpers_lm import make_tts_dir

bench = load_benchmark("tts_quality")


def test_batched_setting_writes_the_same_audio_and_logs_its_batch(tmp_path):
    from latentspeech.api import TTS
    from latentspeech.eval.meta import MetaEntry

    tts = TTS.from_pretrained(make_tts_dir(tmp_path / "tiny", stop_bias=-10.0))
    t = np.arange(24_000) / 16_000
    sf.write(tmp_path / "p.wav", (0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32), 16_000)
    entries = [MetaEntry(f"u{i}", "A prompt.", tmp_path / "p.wav", text)
               for i, text in enumerate(["Hello there.", "Good morning, world.", "One more."])]
    one = bench.synthesize_setting(tts, entries, tmp_path / "one", 2, 2.0, 0)
    two = bench.synthesize_setting(tts, entries, tmp_path / "two", 2, 2.0, 0, batch_size=2)
    assert one["batch_size"] == 1 and two["batch_size"] == 2 and one["audio_s"] == two["audio_s"] > 0
    for e in entries:
        a, _ = sf.read(tmp_path / "one" / f"{e.utt}.wav")
        b, _ = sf.read(tmp_path / "two" / f"{e.utt}.wav")
        assert a.shape == b.shape and np.abs(a - b).max() <= 2 / 32768
