"""Python API on a tiny random "tts" model dir: synthesize, seeds, prompts, long text, stream, names, imports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

import latentspeech
import latentspeech.api as api
from helpers_lm import make_tts_dir
from latentspeech.errors import CheckpointError, InputError


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_tts_dir(tmp_path_factory.mktemp("tts") / "tiny", stop_bias=-10.0, lively=True)


@pytest.fixture(scope="module")
def tts(model_dir):
    return api.TTS.from_pretrained(model_dir)


@pytest.fixture
def prompt(tmp_path):
    """A 1.5 s voiced-like prompt at 16 kHz."""
    sr = 16_000
    t = np.arange(int(1.5 * sr)) / sr
    wav = 0.3 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    path = tmp_path / "prompt.wav"
    sf.write(path, wav.astype(np.float32), sr)
    return path


def test_public_surface_is_pinned():
    assert api.__all__ == ["TTS", "TTSModelConfig", "SynthesisResult", "DecodeConfig"]
    assert latentspeech.TTS is api.TTS


def test_synthesize_returns_float_audio_at_the_model_rate(tts, prompt):
    out = tts.synthesize("Hello world.", prompt, "A short prompt.", seed=0)
    assert out.sample_rate == 16_000 and out.wav.dtype == np.float32 and out.wav.ndim == 1
    assert len(out.wav) % 640 == 0 and 0 < out.seconds <= 1.0 + 1e-6  # max_seconds 1.0 in the fixture
    for key in ("rtf", "first_audio_s", "total_s", "frames", "steps", "head_s", "transformer_s", "vae_s"):
        assert key in out.timings
    assert out.timings["steps"] == 2 and not out.timings["stopped"]


def test_same_seed_same_audio_other_seed_other_audio(tts, prompt):
    a, b, c = (tts.synthesize("Hello world.", prompt, "A prompt.", seed=s).wav for s in (5, 5, 6))
    assert np.array_equal(a, b) and not np.allclose(a, c)


def test_decode_options_override_the_model_defaults(tts, prompt):
    out = tts.synthesize("Hello.", prompt, "A prompt.", steps=3, cfg_scale=1.0, seed=0, max_seconds=0.2)
    assert out.timings["steps"] == 3 and out.timings["frames"] == 5
    assert tts.decode_config.steps == 2  # the model's defaults are untouched
    with pytest.raises(InputError, match="steps"):
        tts.synthesize("Hello.", prompt, "A prompt.", steps=0)


def test_a_model_dir_written_before_options_were_retired_loads_while_they_are_off(model_dir, tmp_path, prompt,
                                                                                 caplog):
    import shutil

    import yaml

    old = tmp_path / "old"
    shutil.copytree(model_dir, old)
    doc = yaml.safe_load((old / "config.yaml").read_text())
    doc["model"]["lm"].update(rate_conditioning=False, progress_conditioning=False, rate_positions_ref=1.0)
    doc["decode"].update(rerank="ctc", length_weight=0.0, duration_scale=1.0)
    doc["reader"] = {"latent_dim": 8}  # a best-of-N reader rode along (add-reader): ignored, with a warning
    (old / "config.yaml").write_text(yaml.safe_dump(doc))
    with caplog.at_level("WARNING", logger="latentspeech.api"):
        loaded = api.TTS.from_pretrained(old)
    assert "best-of-N reader" in caplog.text
    a, b = (t.synthesize("Hello.", prompt, "A prompt.", seed=0).wav for t in (loaded, api.TTS.from_pretrained(model_dir)))
    assert np.array_equal(a, b)
    doc["model"]["lm"]["rate_positions"] = True  # one the code no longer has, switched on: a clear refusal
    (old / "config.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(CheckpointError, match="'lm.rate_positions' was retired .* commit 6818663"):
        api.TTS.from_pretrained(old)


def test_best_of_n_needs_a_ctc_head_and_is_deterministic(tts, prompt, tmp_path):
    with pytest.raises(InputError, match="candidates=2 .* needs an LM with a CTC head"):
        tts.synthesize("Hello.", prompt, "A prompt.", candidates=2)
    ctc = api.TTS.from_pretrained(make_tts_dir(tmp_path / "ctc", ctc=True, stop_bias=-10.0))
    a, b = (ctc.synthesize("Hello world.", prompt, "A prompt.", seed=1, candidates=3) for _ in range(2))
    assert a.timings["candidates"] == 3 and np.array_equal(a.wav, b.wav)
    one = ctc.synthesize("Hello world.", prompt, "A prompt.", seed=1)
    assert one.timings["candidates"] == 1
    bf16 = api.TTS.from_pretrained(tmp_path / "ctc", dtype="bfloat16").synthesize("Hello world.", prompt, "A prompt.",
                                                                                 seed=1, candidates=3)
    assert bf16.timings["candidates"] == 3 and np.isfinite(bf16.wav).all()
    streamed = np.concatenate(list(ctc.stream("Hello world.", prompt, "A prompt.", seed=1, candidates=3)))
    # streaming samples one candidate: the same audio up to synthesize's peak scaling and chunked decoding
    assert streamed.shape == one.wav.shape and np.corrcoef(streamed, one.wav)[0, 1] > 0.99


def test_synthesize_candidates_returns_every_candidate_and_the_one_synthesize_keeps(prompt, tmp_path):
    ctc = api.TTS.from_pretrained(make_tts_dir(tmp_path / "ctc", ctc=True, stop_bias=-10.0))
    wavs, info = ctc.synthesize_candidates("Hello world.", prompt, "A prompt.", seed=1, candidates=3)
    kept = ctc.synthesize("Hello world.", prompt, "A prompt.", seed=1, candidates=3)
    assert len(wavs) == len(info["ctc_scores"]) == 3
    assert [len(w) // ctc.vae.hop_length for w in wavs] == info["candidate_frames"]
    assert np.array_equal(wavs[info["chosen"]], kept.wav)
    assert kept.timings["best_of"] == [info]
    with pytest.raises(InputError, match="one chunk"):
        ctc.synthesize_candidates("One sentence here. And another one.", prompt, "A prompt.", candidates=2,
                                  max_chunk_phonemes=12)


def test_prompt_max_pace_speeds_up_only_slower_prompts(tts, prompt, caplog):
    """The 1.5 s prompt over "hello" (a few phonemes) is slow: capped at 2 frames per phoneme it is sped up."""
    plain = tts.prepare("Hi there.", prompt, "hello")
    n_phonemes = len(plain.prompt_ids)
    pace = plain.prompt_frames.shape[0] / n_phonemes
    assert pace > 2.5
    with caplog.at_level("INFO", logger="latentspeech.api"):
        capped = tts.prepare("Hi there.", prompt, "hello", tts.decode_options(prompt_max_pace=2.0))
    assert "sped up" in caplog.text
    want = max(2.0 * n_phonemes, plain.prompt_frames.shape[0] / api.MAX_PROMPT_SPEEDUP)
    assert capped.prompt_frames.shape[0] == pytest.approx(want, abs=2)
    loose = tts.prepare("Hi there.", prompt, "hello", tts.decode_options(prompt_max_pace=pace * 1.1))
    assert torch.equal(loose.prompt_frames, plain.prompt_frames)  # not slower than the cap: untouched
    with pytest.raises(InputError, match="prompt_max_pace must be >= 0"):
        tts.decode_options(prompt_max_pace=-1.0)


def test_prompt_at_another_sample_rate_is_resampled(tts, tmp_path):
    sr = 24_000
    t = np.arange(int(1.2 * sr)) / sr
    path = tmp_path / "p24k.wav"
    sf.write(path, (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), sr)
    out = tts.synthesize("Hello.", path, "A prompt.", seed=0, max_seconds=0.2)
    assert out.sample_rate == 16_000 and len(out.wav) > 0


@pytest.mark.parametrize("text, prompt_text, match", [
    ("", "A prompt.", "text is empty"),
    ("?! ... --", "A prompt.", "nothing to speak"),
    ("Hello.", None, "--prompt-text"),
    ("Hello.", "  ", "--prompt-text"),
    ("Hello.", "?! ...", r"^prompt transcript '\?! \.\.\.' has nothing to speak"),
])
def test_bad_text_is_rejected_before_compute(tts, prompt, text, prompt_text, match):
    with pytest.raises(InputError, match=match) as e:
        tts.synthesize(text, prompt, prompt_text)
    assert "\n" not in str(e.value)


def test_short_or_silent_prompts_are_rejected(tts, tmp_path):
    short, silent = tmp_path / "short.wav", tmp_path / "silent.wav"
    t = np.arange(int(0.3 * 16_000)) / 16_000
    sf.write(short, (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), 16_000)
    sf.write(silent, np.zeros(32_000, dtype=np.float32), 16_000)
    with pytest.raises(InputError, match=r"0\.\d+ s long.*at least 0.5 s"):
        tts.synthesize("Hello.", short, "A prompt.")
    with pytest.raises(InputError, match="silent"):
        tts.synthesize("Hello.", silent, "A prompt.")


def test_long_text_is_split_at_sentences_and_joined(tts, prompt):
    text = "The first sentence is here. A second one follows it! And then a third, quite long, sentence?"
    chunks = tts.split_text(text, max_phonemes=40)
    assert len(chunks) >= 3 and all(len(c) <= 40 for c in chunks)
    out = tts.synthesize(text, prompt, "A prompt.", seed=0, max_chunk_phonemes=40, max_seconds=0.2)
    assert out.timings["chunks"] == len(chunks) and out.timings["frames"] == 5 * len(chunks)
    overlap = int(0.05 * 16_000)
    assert len(out.wav) == 5 * 640 * len(chunks) - overlap * (len(chunks) - 1)


def test_split_text_keeps_chunks_within_the_limit_when_digits_outgrow_their_characters(tts):
    text = "It was 1987 and 1999 and 2024 and 1066 and 1492 then."  # ~50 characters of words → 143 phonemes
    chunks = tts.split_text(text, max_phonemes=40)
    assert all(len(c) <= 40 for c in chunks) and len(chunks) >= 4
    words = [w for c in chunks for w in tts.vocab.decode(c).split()]
    assert words == tts.vocab.decode(tts._phoneme_ids([text])[0]).split()  # no word lost, doubled or re-read
    with pytest.raises(InputError, match=r"word '123456789123' alone reads as \d+ phonemes.*max_chunk_phonemes=20"):
        tts.split_text("Count 123456789123 now.", max_phonemes=20)


def test_in_memory_prompts_are_mixed_to_mono_in_either_channel_layout(tts, prompt):
    wav, sr = sf.read(prompt, dtype="float32")
    mono = tts.prepare("Hello.", (wav, sr), "A prompt.").prompt_frames
    for stereo in (np.stack([wav, wav], 1), np.stack([wav, wav], 0), torch.from_numpy(np.stack([wav, wav], 0))):
        assert torch.equal(tts.prepare("Hello.", (stereo, sr), "A prompt.").prompt_frames, mono)
    with pytest.raises(InputError, match=r"prompt audio has shape \(1, 2, \d+\)"):
        tts.prepare("Hello.", (np.stack([wav, wav], 0)[None], sr), "A prompt.")
    with pytest.raises(InputError, match="NaN/Inf"):
        tts.prepare("Hello.", (np.full(sr, np.nan, dtype=np.float32), sr), "A prompt.")


def test_texts_without_a_final_mark_are_read_as_ended_sentences(tts, prompt):
    period = tts.vocab.encode(".")
    prep = tts.prepare("Hello world", prompt, "A prompt")
    assert prep.chunks[-1][-1:] == period and prep.prompt_ids[-1:] == period
    ended = tts.prepare("Hello world.", prompt, "A prompt.")
    assert (prep.chunks, prep.prompt_ids) == (ended.chunks, ended.prompt_ids)
    chunks = tts.prepare("One clause, and another clause, and a third one", prompt, "A prompt.",
                         api.DecodeConfig(max_chunk_phonemes=20)).chunks
    assert len(chunks) >= 2 and all(tts.vocab.decode(c).endswith(".") for c in chunks)
    off = tts.prepare("Hello world", prompt, "A prompt", api.DecodeConfig(end_sentences=False))
    assert tts.vocab.decode(off.chunks[-1]).endswith("d") and tts.vocab.decode(off.prompt_ids).endswith("t")


def test_stream_matches_synthesize_length(tts, prompt):
    chunks = list(tts.stream("Hello world.", prompt, "A prompt.", seed=0, max_seconds=0.4, stream_chunk_frames=3))
    full = tts.synthesize("Hello world.", prompt, "A prompt.", seed=0, max_seconds=0.4).wav
    assert len(chunks) >= 3
    assert sum(len(c) for c in chunks) == len(full)
    text = "The first sentence is here. A second one follows it!"  # two text chunks: streamed back to back
    options = dict(seed=0, max_seconds=0.2, max_chunk_phonemes=40)
    streamed = sum(len(c) for c in tts.stream(text, prompt, "A prompt.", **options))
    joined = tts.synthesize(text, prompt, "A prompt.", **options)
    assert joined.timings["chunks"] == 2 and streamed == len(joined.wav) + int(0.05 * 16_000)


def test_synthesize_to_file_writes_a_wav(tts, prompt, tmp_path):
    out = tmp_path / "out.wav"
    tts.synthesize_to_file(out, "Hello.", prompt, "A prompt.", seed=0)
    info = sf.info(out)
    assert info.samplerate == 16_000 and info.frames > 0


def test_model_names_resolve_locally_and_unknown_ones_list_the_available(model_dir, monkeypatch):
    from latentspeech.pretrained import resolve_model

    monkeypatch.setenv("LATENTSPEECH_PRETRAINED", str(model_dir.parent))
    assert resolve_model("tiny") == model_dir
    assert resolve_model(str(model_dir)) == model_dir
    with pytest.raises(CheckpointError, match=r"unknown model 'nope' \(available: .*tiny"):
        resolve_model("nope")


def test_corrupted_weights_fail_the_checksum(model_dir, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(model_dir, bad)
    with open(bad / "model.safetensors", "r+b") as f:
        f.seek(-4, 2)
        f.write(b"\x00\x01\x02\x03")
    with pytest.raises(CheckpointError, match="checksum"):
        api.TTS.from_pretrained(bad)


def test_bfloat16_lm_runs(model_dir, prompt):
    tts = api.TTS.from_pretrained(model_dir, dtype="bfloat16")
    out = tts.synthesize("Hello.", prompt, "A prompt.", seed=0, max_seconds=0.2)
    assert np.isfinite(out.wav).all() and len(out.wav) == 5 * 640


def test_int8_storage_loads_and_speaks_like_the_float_model(tts, prompt, tmp_path):
    """export-tts --dtype int8: a smaller model dir that loads as float32 and stays close to the original."""
    tts.save_pretrained(tmp_path / "i8", dtype="int8")
    tts.save_pretrained(tmp_path / "f16", dtype="float16")
    assert (tmp_path / "i8/model.safetensors").stat().st_size < 0.7 * (tmp_path / "f16/model.safetensors").stat().st_size
    small = api.TTS.from_pretrained(tmp_path / "i8")
    for a, b in ((tts.lm, small.lm), (tts.vae, small.vae)):
        for (k, p), q in zip(a.state_dict().items(), b.state_dict().values()):
            if p.is_floating_point():
                assert q.dtype == torch.float32 and torch.allclose(p, q, atol=p.abs().max() / 127), k
    ref = tts.synthesize("Hello.", prompt, "A prompt.", seed=0, max_seconds=0.2, temperature=0.0)
    out = small.synthesize("Hello.", prompt, "A prompt.", seed=0, max_seconds=0.2, temperature=0.0)
    assert out.wav.shape == ref.wav.shape and np.isfinite(out.wav).all()
    assert np.corrcoef(out.wav, ref.wav)[0, 1] > 0.9
    with pytest.raises(InputError, match="storage dtype"):
        api.TTS.from_pretrained(tmp_path / "i8", dtype="int8")


def test_inference_imports_no_training_code(model_dir, prompt, tmp_path):
    """Every inference entry point, run for real in a fresh process, loads no training-only module."""
    code = f"""
import sys
import latentspeech, latentspeech.api, latentspeech.pretrained, latentspeech.lm.generate, latentspeech.lm.model
import latentspeech.vae.model
from latentspeech.cli import main
assert main(["tts", "--model", {str(model_dir)!r}, "--text", "Hi.", "--prompt-wav", {str(prompt)!r},
             "--prompt-text", "A prompt.", "--out", {str(tmp_path / 'x.wav')!r}]) == 0
bad = [m for m in sys.modules if m.endswith((".train", ".losses", ".discriminators")) or m in (
       "latentspeech.training", "tensorboard", "torch.utils.tensorboard")]
print("BAD", bad)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "BAD []" in out.stdout, out.stdout


def test_synthesize_batch_gives_each_request_what_synthesize_gives_it(tts, prompt, tmp_path):
    other = tmp_path / "other.wav"
    sr = 22_050  # resampled like any prompt
    t = np.arange(int(2.0 * sr)) / sr
    wav = 0.2 * np.sin(2 * np.pi * 120 * t) * (0.7 + 0.3 * np.sin(2 * np.pi * 4 * t))
    sf.write(other, wav.astype(np.float32), sr)
    long = "The first sentence is here. A second one follows it! And then a third, quite long, sentence?"
    requests = [("Hello world.", prompt, "A short prompt."), (long, other, "Another prompt."),
                ("Good morning.", other, "Another prompt.")]
    options = dict(seed=3, max_chunk_phonemes=40, cfg_scale=2.0)
    together = tts.synthesize_batch(requests, batch_size=2, **options)  # 5 chunks in batches of 2
    assert len(together) == 3 and together[1].timings["chunks"] >= 3
    for request, out in zip(requests, together):
        alone = tts.synthesize(*request, **options)
        assert out.wav.shape == alone.wav.shape and out.timings["frames"] == alone.timings["frames"]
        np.testing.assert_allclose(out.wav, alone.wav, atol=1e-5)
        assert out.timings["chunks"] == alone.timings["chunks"] and out.timings["batch_size"] == 2
    assert len({r.timings["rtf"] for r in together}) == 1  # the call's throughput
    assert sum(r.timings["total_s"] for r in together) == pytest.approx(together[0].timings["rtf"]
                                                                         * sum(r.seconds for r in together))


def test_synthesize_batch_names_the_bad_request_and_refuses_best_of_n(tts, prompt, tmp_path):
    good = ("Hello.", prompt, "A prompt.")
    with pytest.raises(InputError, match="request 1: prompt wav .* does not exist") as e:
        tts.synthesize_batch([good, ("Hi.", tmp_path / "missing.wav", "A prompt.")])
    assert e.value.request == 1 and e.value.reason.startswith("prompt wav")
    with pytest.raises(InputError, match="one candidate per utterance"):
        tts.synthesize_batch([good], candidates=2)
    with pytest.raises(InputError, match="batch_size must be >= 1"):
        tts.synthesize_batch([good], batch_size=0)
    assert tts.synthesize_batch([]) == []


def test_transcribe_prompt_returns_what_the_recogniser_hears_of_the_prepared_prompt(tts, prompt, monkeypatch):
    class Echo:
        def __init__(self, text):
            self.text, self.seen = text, []

        def transcribe(self, wav, sr):
            self.seen.append((len(wav), sr))
            return self.text

    asr = Echo("  Some words.  ")
    assert tts.transcribe_prompt(prompt, asr=asr) == (prompt, "Some words.")  # short enough: the prompt as given
    assert asr.seen[0][1] == tts.sample_rate and asr.seen[0][0] <= 1.5 * tts.sample_rate  # trimmed, model rate
    with pytest.raises(InputError, match="heard no words in prompt wav .*pass its transcript"):
        tts.transcribe_prompt(prompt, asr=Echo(" ... "))
    with pytest.raises(InputError, match="silent"):  # the synthesis checks come first
        tts.transcribe_prompt((np.zeros(32_000, dtype=np.float32), 16_000), asr=asr)
    loads = []
    monkeypatch.setattr("latentspeech.eval.asr.load_asr", lambda *a, **k: loads.append(a) or Echo("Default."))
    fresh = api.TTS(tts.vae, tts.lm, tts.vocab, tts.decode_config)
    assert fresh.transcribe_prompt(prompt)[1] == "Default." == fresh.transcribe_prompt(prompt)[1]
    assert loads == [("whisper",)]  # Whisper by default, loaded once per TTS
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "faster_whisper" else real(name, *a))
    with pytest.raises(InputError, match=r"needs Whisper \(faster_whisper missing\): pip install 'latentspeech\[eval\]'"):
        api.TTS(tts.vae, tts.lm, tts.vocab, tts.decode_config).transcribe_prompt(prompt)


def _speech_like(seconds: float, sr: int = 16_000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def test_prompts_longer_than_max_prompt_seconds_are_refused_with_the_way_out(tts, tmp_path):
    long = tmp_path / "long.wav"
    sf.write(long, _speech_like(8.0), 16_000)
    with pytest.raises(InputError, match=r"has 8\.0 s of speech; this model takes prompts of at most 6 s .*"
                                         r"--transcribe-prompt"):
        tts.synthesize("Hello.", long, "A long prompt.", seed=0)
    assert tts.synthesize("Hello.", long, "A long prompt.", seed=0, max_prompt_seconds=0.0).seconds > 0  # 0 = off
    with pytest.raises(InputError, match="max_prompt_seconds must be 0 .* or >= min_prompt_seconds"):
        tts.decode_options(max_prompt_seconds=0.2)


def test_transcribe_prompt_cuts_a_long_prompt_at_the_last_word_within_the_limit(tts, tmp_path):
    from latentspeech.eval.asr import WordTiming

    class Words:
        def transcribe(self, wav, sr):
            raise AssertionError("a long prompt is heard with word times")

        def transcribe_words(self, wav, sr):
            return [WordTiming(w, i * 1.5 + 0.1, i * 1.5 + 1.3) for i, w in enumerate("one two three four five".split())]

    long = tmp_path / "long.wav"
    sf.write(long, _speech_like(8.0), 16_000)
    (wav, sr), text = tts.transcribe_prompt(long, asr=Words(), max_seconds=4.0)
    # words end at 1.3, 2.8, 4.3 ...: two fit; the cut falls halfway between "two" (ends 2.8) and "three" (3.1)
    assert text == "one two" and sr == tts.sample_rate and len(wav) == int(2.95 * sr)
    assert tts.synthesize("Hello.", (wav, sr), text, seed=0).seconds > 0  # and it is a prompt the model takes
    with pytest.raises(InputError, match="no word ends within its first 1 s"):
        tts.transcribe_prompt(long, asr=Words(), max_seconds=1.0)
