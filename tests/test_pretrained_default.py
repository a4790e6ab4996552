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
    """The README's first command: same seed, same wav, and the stop head ends a 7-word sentence in time."""
    args = ["-q", "tts", "--text", "Where did Julia repair the brown sack?", "--prompt", "espeak-m5"]
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    assert main([*args, "--out", str(a)]) == 0
    assert main([*args, "--out", str(b)]) == 0
    wa, sr = sf.read(a)
    assert sr == 16_000 and 1.0 < len(wa) / sr < 4.0 and np.abs(wa).max() > 0.01  # the length guard allows > 8 s
    np.testing.assert_array_equal(wa, sf.read(b)[0])


def test_default_model_carries_its_decode_defaults():
    from latentspeech.api import TTS

    assert TTS.from_pretrained("default").decode_options().temperature == 0.3  # the decode defaults travel along


def test_default_model_says_a_short_phrase_for_as_long_as_a_person_would():
    """The session-7 LM saw short phrases: "Hello." lasts about a second (the session-6 LM, trained on sentences
    only, stopped it after 3 frames, 0.24 s, with this prompt). Recorded short phrases last 0.6-2.6 s."""
    from latentspeech.api import TTS

    tts = TTS.from_pretrained("default")
    wav, text = tts.example_prompt("espeak-m5")
    result = tts.synthesize("Hello.", wav, text, seed=0)
    assert result.timings["stopped"] and 0.6 < result.seconds < 2.6
