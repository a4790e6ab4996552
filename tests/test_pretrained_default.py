"""The shipped default TTS model (pretrained/default): size budget, example prompts, the README's first command."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from latentspeech.cli import main
from latentspeech.pretrained import PRETRAINED_DIR

DEFAULT = PRETRAINED_DIR / "default"


def test_default_model_fits_the_size_budget():
    from latentspeech.api import TTS

    weights = DEFAULT / "model.safetensors"
    assert weights.stat().st_size <= 40e6  # the shipped model's budget: ≤ 40 MB of weights
    tts = TTS.from_pretrained("default")
    n = sum(p.numel() for p in tts.vae.parameters()) + sum(p.numel() for p in tts.lm.parameters())
    assert 15e6 < n <= 20.5e6
    assert (DEFAULT / "README.md").is_file()


def test_default_model_ships_prompts_of_held_out_voices():
    from latentspeech.api import TTS

    tts = TTS.from_pretrained("default")
    prompts = tts.example_prompts()
    assert len(prompts) >= 3
    for name, (wav, text) in prompts.items():
        info = sf.info(str(wav))
        assert info.samplerate == tts.sample_rate and 2.0 < info.duration < 6.0, name
        assert len(text.split()) >= 4, name


def test_readme_first_command_speaks_deterministically(tmp_path):
    """`latentspeech tts --text ... --prompt NAME --out x.wav` (short text, capped length): same seed, same wav."""
    args = ["-q", "tts", "--text", "Good morning.", "--prompt", "espeak-f4", "--steps", "4", "--max-seconds", "3"]
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    assert main([*args, "--out", str(a)]) == 0
    assert main([*args, "--out", str(b)]) == 0
    wa, sr = sf.read(a)
    assert sr == 16_000 and 0.3 < len(wa) / sr <= 3.0 and np.abs(wa).max() > 0.01
    np.testing.assert_array_equal(wa, sf.read(b)[0])
