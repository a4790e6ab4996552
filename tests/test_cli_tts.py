"""`latentspeech tts` / `export-tts` in-process on tiny models: outputs, batch mode, one-line errors, exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from helpers_lm import make_dump, make_tts_dir
from latentspeech.cli import main
from latentspeech.lm.generate import choose_candidate


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_tts_dir(tmp_path_factory.mktemp("tts") / "tiny", stop_bias=-10.0)


def _wav(path, seconds=1.5, sr=16_000, amp=0.3):
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, (amp * np.sin(2 * np.pi * 190 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(np.float32), sr)
    return str(path)


@pytest.fixture
def prompt(tmp_path):
    return _wav(tmp_path / "prompt.wav")


def _tts(model_dir, *extra):
    return ["tts", "--model", str(model_dir), *extra]


def test_tts_writes_the_wav_and_reports_rtf(model_dir, prompt, tmp_path, capsys):
    out = tmp_path / "out.wav"
    code = main(_tts(model_dir, "--text", "Hello world.", "--prompt-wav", prompt, "--prompt-text", "A prompt.",
                     "--out", str(out), "--steps", "2", "--cfg", "2.0", "--seed", "1"))
    assert code == 0
    info = sf.info(out)
    assert info.samplerate == 16_000 and 0 < info.duration <= 1.0 + 1e-6
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith(f"wrote {out} (") and "RTF" in line


def test_tts_refuses_to_overwrite_without_force(model_dir, prompt, tmp_path, capsys):
    out = tmp_path / "out.wav"
    out.write_bytes(b"x")
    args = _tts(model_dir, "--text", "Hi.", "--prompt-wav", prompt, "--prompt-text", "A prompt.", "--out", str(out))
    assert main(args) == 1 and "--force" in capsys.readouterr().err
    assert main(args + ["--force"]) == 0


def _one_line_error(capsys, code):
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("latentspeech tts: error: ")
    return err


@pytest.mark.parametrize("text, match", [("", "text is empty"), ("... !?", "nothing to speak")])
def test_empty_or_punctuation_text_is_a_one_line_error(model_dir, prompt, tmp_path, capsys, text, match):
    code = main(_tts(model_dir, "--text", text, "--prompt-wav", prompt, "--prompt-text", "A prompt.",
                     "--out", str(tmp_path / "o.wav")))
    assert match in _one_line_error(capsys, code)


def test_missing_prompt_text_says_to_pass_it(model_dir, prompt, tmp_path, capsys):
    code = main(_tts(model_dir, "--text", "Hello.", "--prompt-wav", prompt, "--out", str(tmp_path / "o.wav")))
    assert "pass --prompt-text" in _one_line_error(capsys, code)


@pytest.mark.parametrize("seconds, amp, match", [(0.3, 0.3, "at least 0.5 s"), (2.0, 0.0, "silent")])
def test_short_or_silent_prompt_is_a_one_line_error(model_dir, tmp_path, capsys, seconds, amp, match):
    p = _wav(tmp_path / "p.wav", seconds=seconds, amp=amp)
    code = main(_tts(model_dir, "--text", "Hello.", "--prompt-wav", p, "--prompt-text", "A prompt.",
                     "--out", str(tmp_path / "o.wav")))
    assert match in _one_line_error(capsys, code)
    assert not (tmp_path / "o.wav").exists()


def test_missing_prompt_file_is_a_one_line_error(model_dir, tmp_path, capsys):
    code = main(_tts(model_dir, "--text", "Hello.", "--prompt-wav", str(tmp_path / "nope.wav"),
                     "--prompt-text", "A prompt.", "--out", str(tmp_path / "o.wav")))
    assert "does not exist" in _one_line_error(capsys, code)


def test_prompt_at_another_sample_rate_is_resampled_not_rejected(model_dir, tmp_path):
    p = _wav(tmp_path / "p44.wav", sr=44_100)
    out = tmp_path / "o.wav"
    assert main(_tts(model_dir, "--text", "Hello.", "--prompt-wav", p, "--prompt-text", "A prompt.",
                     "--out", str(out))) == 0
    assert sf.info(out).samplerate == 16_000


def test_over_long_text_is_split_not_rejected(model_dir, prompt, tmp_path, caplog):
    text = " ".join(["This sentence is part of a rather long paragraph of text."] * 12)
    out = tmp_path / "o.wav"
    with caplog.at_level("INFO"):
        assert main(_tts(model_dir, "--text", text, "--prompt-wav", prompt, "--prompt-text", "A prompt.",
                         "--out", str(out), "--max-seconds", "0.1")) == 0
    assert any("split into" in r.message for r in caplog.records)


def test_usage_conflicts_exit_2(model_dir, prompt, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(_tts(model_dir, "--prompt-wav", prompt, "--prompt-text", "x", "--out", str(tmp_path / "o.wav")))
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(_tts(model_dir, "--text", "Hi.", "--prompt-wav", prompt, "--prompt-text", "x",
                  "--out", str(tmp_path / "o.wav"), "--steps", "0"))
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(_tts(model_dir, "--text", "Hi.", "--prompt-wav", prompt, "--prompt-text", "x",
                  "--out", str(tmp_path / "o.wav"), "--temperature", "-1"))
    assert e.value.code == 2
    assert "--temperature must be >= 0" in capsys.readouterr().err


def test_batch_mode_writes_one_wav_per_meta_line(model_dir, tmp_path, capsys):
    _wav(tmp_path / "p1.wav")
    _wav(tmp_path / "p2.wav", sr=22_050)
    meta = tmp_path / "meta.lst"
    meta.write_text("u1|First prompt.|p1.wav|Hello there.\nu2|Second prompt.|p2.wav|Good morning, world.\n")
    gen = tmp_path / "gen"
    assert main(_tts(model_dir, "--text-file", str(meta), "--out-dir", str(gen), "--max-seconds", "0.2")) == 0
    assert sorted(p.name for p in gen.iterdir()) == ["generation.jsonl", "u1.wav", "u2.wav"]
    assert "wrote 2 files" in capsys.readouterr().out
    lines = [json.loads(x) for x in (gen / "generation.jsonl").read_text().splitlines()]
    assert [x["utt"] for x in lines] == ["u1", "u2"] and all(x["seed"] == 0 for x in lines)
    for x in lines:  # the logged length is the written one
        assert x["audio_s"] == pytest.approx(sf.info(str(gen / f"{x['utt']}.wav")).duration, abs=1e-3)
        assert "best_of" not in x  # one candidate: nothing to choose between


def test_batch_mode_logs_every_candidates_score_and_the_choice(tmp_path):
    model = make_tts_dir(tmp_path / "ctc", stop_bias=-10.0, ctc=True)
    _wav(tmp_path / "p1.wav")
    meta = tmp_path / "meta.lst"
    meta.write_text("u1|First prompt.|p1.wav|Hello there.\n")
    gen = tmp_path / "gen"
    assert main(_tts(model, "--text-file", str(meta), "--out-dir", str(gen), "--max-seconds", "0.4",
                     "--candidates", "3")) == 0
    [line] = [json.loads(x) for x in (gen / "generation.jsonl").read_text().splitlines()]
    [chunk] = line["best_of"]
    assert len(chunk["ctc_scores"]) == len(chunk["candidate_frames"]) == 3
    assert chunk["chosen"] == choose_candidate(torch.tensor(chunk["ctc_scores"]), torch.tensor(chunk["candidate_frames"]))
    assert line["frames"] == max(chunk["candidate_frames"])  # the batch runs until its last candidate stops


def test_batch_mode_checks_every_line_before_compute(model_dir, tmp_path, capsys):
    _wav(tmp_path / "p1.wav")
    meta = tmp_path / "meta.lst"
    meta.write_text("u1|First prompt.|p1.wav|Hello there.\nu2|Second.|missing.wav|Good morning.\n")
    gen = tmp_path / "gen"
    assert "missing.wav" in _one_line_error(capsys, main(_tts(model_dir, "--text-file", str(meta),
                                                              "--out-dir", str(gen))))
    assert not gen.exists() or not any(gen.iterdir())


def test_list_models(model_dir, monkeypatch, capsys):
    monkeypatch.setenv("LATENTSPEECH_PRETRAINED", str(model_dir.parent))
    assert main(["tts", "--list-models"]) == 0
    assert "tiny" in capsys.readouterr().out


def test_unknown_model_name_lists_the_available(model_dir, prompt, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LATENTSPEECH_PRETRAINED", str(model_dir.parent))
    code = main(["tts", "--model", "nosuch", "--text", "Hi.", "--prompt-wav", prompt, "--prompt-text", "x",
                 "--out", str(tmp_path / "o.wav")])
    assert "available: " in _one_line_error(capsys, code)


def test_export_tts_bundles_vae_and_trained_lm(tmp_path, prompt, capsys):
    from latentspeech.api import TTS
    from latentspeech.vae.model import SigmaVAE

    phn, lat, data = make_dump(tmp_path, n_utts=8, latent_dim=8)
    exp = tmp_path / "exp_lm"
    assert main(["train-lm", "--config", "egs/synth/tts1/conf/lm_tiny.yaml", "--data", str(phn), "--latents",
                 str(lat), "--exp-dir", str(exp), "--set", "train.max_steps=2", "--set", "train.ema_decay=0.5"]) == 0
    tts_src = TTS.from_pretrained(make_tts_dir(tmp_path / "src"))
    vae_dir = tmp_path / "vae"
    SigmaVAE.save_pretrained(tts_src.vae, str(vae_dir))
    out = tmp_path / "pretrained" / "mine"
    _wav(tmp_path / "p22k.wav", sr=22_050)
    prompts = tmp_path / "prompts.lst"
    prompts.write_text(f"voice-a|p22k.wav|  What the   prompt says.\nvoice-b|{prompt}|Another one.\n")
    assert main(["export-tts", "--vae", str(vae_dir), "--lm", str(exp), "--out", str(out), "--dtype", "float16",
                 "--decode-config", "egs/synth/tts1/conf/decode.yaml", "--prompts", str(prompts)]) == 0
    assert (out / "README.md").is_file()
    tts = TTS.from_pretrained(out)
    assert tts.example_prompts()["voice-a"][1] == "What the prompt says."
    assert sf.info(str(out / "prompts" / "voice-a.wav")).samplerate == tts.sample_rate  # resampled on export
    state = torch.load(sorted((exp / "checkpoints").glob("*.pt"))[-1], weights_only=True)
    torch.testing.assert_close(tts.lm.frame_proj.weight, state["ema"]["frame_proj.weight"].half().float())
    assert tts.decode_config.steps == 10
    assert main(["export-tts", "--vae", str(vae_dir), "--lm", str(exp), "--out", str(out)]) == 1
    assert "--force" in capsys.readouterr().err


def test_text_from_stdin_and_wav_to_stdout(model_dir, prompt, monkeypatch, capsysbinary):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO("Hello from stdin."))
    assert main(_tts(model_dir, "--text", "-", "--prompt-wav", prompt, "--prompt-text", "A prompt.", "--out", "-",
                     "--max-seconds", "0.2")) == 0
    data = capsysbinary.readouterr().out
    wav, sr = sf.read(io.BytesIO(data))
    assert data[:4] == b"RIFF" and sr == 16_000 and len(wav) == 5 * 640


@pytest.fixture(scope="module")
def model_with_prompts(model_dir, tmp_path_factory):
    """A copy of the tiny model dir with two example prompts under prompts/."""
    import shutil

    d = tmp_path_factory.mktemp("prompted") / "tiny_prompted"
    shutil.copytree(model_dir, d)
    (d / "prompts").mkdir()
    _wav(d / "prompts" / "hum.wav")
    (d / "prompts" / "hum.txt").write_text("A humming prompt.\n")
    _wav(d / "prompts" / "low.wav", amp=0.2)
    (d / "prompts" / "low.txt").write_text("A quieter   prompt.\n")
    (d / "prompts" / "no_text.wav").write_bytes((d / "prompts" / "hum.wav").read_bytes())  # no .txt: not listed
    return d


def test_example_prompt_equals_passing_its_wav_and_text(model_with_prompts, tmp_path):
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    common = ["--text", "Hello there.", "--max-seconds", "0.3", "--seed", "3"]
    assert main(_tts(model_with_prompts, *common, "--prompt", "low", "--out", str(a))) == 0
    assert main(_tts(model_with_prompts, *common, "--prompt-wav", str(model_with_prompts / "prompts" / "low.wav"),
                     "--prompt-text", "A quieter prompt.", "--out", str(b))) == 0
    np.testing.assert_array_equal(sf.read(a)[0], sf.read(b)[0])


def test_example_prompts_api_lists_only_wavs_with_transcripts(model_with_prompts):
    from latentspeech.api import TTS

    tts = TTS.from_pretrained(model_with_prompts)
    assert sorted(tts.example_prompts()) == ["hum", "low"]
    wav, text = tts.example_prompt("low")
    assert wav.name == "low.wav" and text == "A quieter prompt."


def test_unknown_example_prompt_lists_the_names(model_with_prompts, tmp_path, capsys):
    code = main(_tts(model_with_prompts, "--text", "Hi.", "--prompt", "nosuch", "--out", str(tmp_path / "o.wav")))
    assert "examples: hum, low" in _one_line_error(capsys, code)


def test_example_prompt_of_a_folder_that_is_no_model_says_so(tmp_path, capsys):
    (tmp_path / "prompts").mkdir()
    code = main(_tts(str(tmp_path), "--text", "Hi.", "--prompt", "espeak-m5", "--out", str(tmp_path / "o.wav")))
    assert "is not a model directory (no config.yaml)" in _one_line_error(capsys, code)


def test_no_prompt_at_all_says_what_to_pass(model_with_prompts, tmp_path, capsys):
    code = main(_tts(model_with_prompts, "--text", "Hi.", "--out", str(tmp_path / "o.wav")))
    msg = _one_line_error(capsys, code)
    assert "--prompt-wav" in msg and "--prompt NAME" in msg and "hum, low" in msg


def test_prompt_conflicts_with_prompt_wav_exit_2(model_with_prompts, prompt, tmp_path):
    with pytest.raises(SystemExit) as e:
        main(_tts(model_with_prompts, "--text", "Hi.", "--prompt", "hum", "--prompt-wav", prompt,
                  "--out", str(tmp_path / "o.wav")))
    assert e.value.code == 2


def test_list_models_shows_example_prompts(model_with_prompts, monkeypatch, capsys):
    monkeypatch.setenv("LATENTSPEECH_PRETRAINED", str(model_with_prompts.parent))
    assert main(["tts", "--list-models"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("tiny_prompted"))
    assert line.endswith("prompts: hum, low")


@pytest.mark.parametrize("line, match", [("no-bars", "expected 'name|wav|transcript'"),
                                         ("bad name|p.wav|x", "expected 'name|wav|transcript'"),
                                         ("ok|missing.wav|x", "missing.wav' does not exist")])
def test_bad_prompt_list_line_is_named(tmp_path, line, match):
    from latentspeech.errors import InputError
    from latentspeech.pretrained import read_prompt_list

    _wav(tmp_path / "p.wav")
    lst = tmp_path / "prompts.lst"
    lst.write_text(f"# comment\nfine|p.wav|Hello.\n{line}\n")
    with pytest.raises(InputError, match=match) as e:
        read_prompt_list(lst)
    assert "prompts.lst:3" in str(e.value)


def test_export_refuses_best_of_n_for_an_lm_without_ctc_head(tmp_path, capsys):
    from latentspeech.api import TTS
    from latentspeech.vae.model import SigmaVAE

    phn, lat, _ = make_dump(tmp_path, n_utts=8, latent_dim=8)
    exp = tmp_path / "exp_lm"
    assert main(["train-lm", "--config", "egs/synth/tts1/conf/lm_tiny.yaml", "--data", str(phn), "--latents",
                 str(lat), "--exp-dir", str(exp), "--set", "train.max_steps=1", "--set", "model.ctc_weight=0"]) == 0
    vae_dir = tmp_path / "vae"
    SigmaVAE.save_pretrained(TTS.from_pretrained(make_tts_dir(tmp_path / "src")).vae, str(vae_dir))
    decode = tmp_path / "decode.yaml"
    decode.write_text("candidates: 4\n")
    capsys.readouterr()
    assert main(["export-tts", "--vae", str(vae_dir), "--lm", str(exp), "--out", str(tmp_path / "out"),
                 "--decode-config", str(decode)]) == 1
    err = [ln for ln in capsys.readouterr().err.splitlines() if "error:" in ln]
    assert len(err) == 1 and "best-of-4" in err[0] and "CTC head" in err[0]


def test_batch_size_writes_the_same_audio_as_one_at_a_time(model_dir, tmp_path, capsys):
    _wav(tmp_path / "p1.wav")
    _wav(tmp_path / "p2.wav", seconds=2.0, sr=22_050)
    meta = tmp_path / "meta.lst"
    meta.write_text("u1|First prompt.|p1.wav|Hello there.\nu2|Second prompt.|p2.wav|Good morning, world.\n"
                    "u3|First prompt.|p1.wav|A somewhat longer sentence to say.\n")
    one, three = tmp_path / "one", tmp_path / "three"
    assert main(_tts(model_dir, "--text-file", str(meta), "--out-dir", str(one), "--max-seconds", "0.4")) == 0
    assert main(_tts(model_dir, "--text-file", str(meta), "--out-dir", str(three), "--max-seconds", "0.4",
                     "--batch-size", "3")) == 0
    for utt in ("u1", "u2", "u3"):
        a, _ = sf.read(one / f"{utt}.wav")
        b, _ = sf.read(three / f"{utt}.wav")
        assert a.shape == b.shape and np.abs(a - b).max() <= 2 / 32768  # 16-bit files: a step of round-off
    lines = [json.loads(x) for x in (three / "generation.jsonl").read_text().splitlines()]
    assert sorted(x["utt"] for x in lines) == ["u1", "u2", "u3"] and all(x["batch_size"] == 3 for x in lines)
    assert "wrote 3 files" in capsys.readouterr().out


def test_batch_size_usage_errors_and_a_bad_line_named(model_dir, prompt, tmp_path, capsys):
    for extra, message in ((["--text", "Hi.", "--prompt-wav", prompt, "--prompt-text", "x", "--out",
                             str(tmp_path / "o.wav"), "--batch-size", "2"], "--batch-size is for --text-file"),
                           (["--text-file", "m.lst", "--out-dir", str(tmp_path), "--batch-size", "0"],
                            "--batch-size must be >= 1"),
                           (["--text-file", "m.lst", "--out-dir", str(tmp_path), "--batch-size", "2",
                             "--candidates", "2"], "one candidate per utterance")):
        with pytest.raises(SystemExit) as e:
            main(_tts(model_dir, *extra))
        assert e.value.code == 2 and message in capsys.readouterr().err
    _wav(tmp_path / "p1.wav")
    sf.write(tmp_path / "quiet.wav", np.zeros(32_000, dtype=np.float32), 16_000)
    meta = tmp_path / "meta.lst"
    meta.write_text("u1|First prompt.|p1.wav|Hello there.\nu2|Second.|quiet.wav|Good morning.\n")
    error = _one_line_error(capsys, main(_tts(model_dir, "--text-file", str(meta), "--out-dir", str(tmp_path / "g"),
                                              "--batch-size", "2")))
    assert error.startswith("latentspeech tts: error: u2: prompt wav") and "silent" in error


def test_text_without_a_final_mark_reads_as_ended_unless_no_end_sentences(model_dir, prompt, tmp_path, monkeypatch):
    import latentspeech.api as api

    seen, prepare = [], api.TTS.prepare

    def recording(self, *args, **kwargs):
        prep = prepare(self, *args, **kwargs)
        seen.append(self.vocab.decode(prep.prompt_ids) + "|" + self.vocab.decode(prep.chunks[-1]))
        return prep

    monkeypatch.setattr(api.TTS, "prepare", recording)
    for text, extra in (("Hello world.", ()), ("Hello world", ()), ("Hello world", ("--no-end-sentences",))):
        assert main(_tts(model_dir, "--text", text, "--prompt-wav", prompt, "--prompt-text", "A prompt",
                         "--max-seconds", "0.2", "--out", str(tmp_path / "o.wav"), "--force", *extra)) == 0
    assert seen[0] == seen[1] and seen[0].endswith(".") and seen[0].split("|")[0].endswith(".")
    assert seen[2] == seen[0].replace(".", "")


def test_cfg_interval_reaches_the_decoder_and_is_range_checked(model_dir, prompt, tmp_path, capsys, monkeypatch):
    import latentspeech.lm.generate as generate

    seen = []

    class Recording(generate.CFGDenoiser):
        def __init__(self, *args, **kwargs):
            seen.append(kwargs.get("interval"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(generate, "CFGDenoiser", Recording)
    base = ["--text", "Hi there.", "--prompt-wav", prompt, "--prompt-text", "A prompt.", "--max-seconds", "0.2"]
    assert main(_tts(model_dir, *base, "--out", str(tmp_path / "a.wav"))) == 0
    assert seen and set(seen) == {(0.0, 1.0)}                           # the default: every step guided
    seen.clear()
    assert main(_tts(model_dir, *base, "--out", str(tmp_path / "b.wav"), "--cfg-interval", "0.5", "1")) == 0
    assert seen and set(seen) == {(0.5, 1.0)}
    with pytest.raises(SystemExit) as e:
        main(_tts(model_dir, *base, "--out", str(tmp_path / "x.wav"), "--cfg-interval", "0.8", "0.2"))
    assert e.value.code == 2 and "--cfg-interval needs 0 <= T_MIN <= T_MAX <= 1" in capsys.readouterr().err


def test_cfg_rescale_and_parallel_reach_the_decoder_and_are_range_checked(model_dir, prompt, tmp_path, capsys,
                                                                         monkeypatch):
    import latentspeech.lm.generate as generate

    seen, parallel = [], []

    class Recording(generate.CFGDenoiser):
        def __init__(self, *args, **kwargs):
            seen.append(kwargs.get("rescale"))
            parallel.append(kwargs.get("parallel"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(generate, "CFGDenoiser", Recording)
    base = ["--text", "Hi there.", "--prompt-wav", prompt, "--prompt-text", "A prompt.", "--max-seconds", "0.2"]
    assert main(_tts(model_dir, *base, "--out", str(tmp_path / "a.wav"))) == 0
    assert seen and set(seen) == {0.0}                                  # the default: plain CFG
    seen.clear()
    assert main(_tts(model_dir, *base, "--out", str(tmp_path / "b.wav"), "--cfg-rescale", "0.7")) == 0
    assert seen and set(seen) == {0.7}
    with pytest.raises(SystemExit) as e:
        main(_tts(model_dir, *base, "--out", str(tmp_path / "x.wav"), "--cfg-rescale", "1.2"))
    assert e.value.code == 2 and "--cfg-rescale needs 0 <= PHI <= 1, got 1.2" in capsys.readouterr().err
    seen.clear()
    assert main(_tts(model_dir, *base, "--out", str(tmp_path / "c.wav"), "--cfg-parallel", "0")) == 0
    assert set(parallel) == {1.0, 0.0} and parallel[-1] == 0.0        # the default 1 = plain CFG, then 0
    with pytest.raises(SystemExit) as e:
        main(_tts(model_dir, *base, "--out", str(tmp_path / "y.wav"), "--cfg-parallel", "-0.5"))
    assert e.value.code == 2 and "--cfg-parallel needs 0 <= ETA <= 1, got -0.5" in capsys.readouterr().err


class _FakeASR:
    """A recogniser that hears the same words in every prompt, and counts its calls."""

    def __init__(self, text: str = "Heard words."):
        self.text, self.calls = text, 0

    def transcribe(self, wav, sr):
        assert wav.ndim == 1 and sr == 16_000  # the prompt as synthesis prepares it
        self.calls += 1
        return self.text


def test_transcribe_prompt_speaks_with_the_recognised_transcript(model_dir, prompt, tmp_path, capsys, monkeypatch):
    asr = _FakeASR()
    monkeypatch.setattr("latentspeech.eval.asr.load_asr", lambda *a, **k: asr)
    heard, given = tmp_path / "heard.wav", tmp_path / "given.wav"
    assert main(_tts(model_dir, "--text", "Hello.", "--prompt-wav", prompt, "--transcribe-prompt",
                     "--out", str(heard))) == 0
    assert "transcribed: Heard words." in capsys.readouterr().err and asr.calls == 1  # the user sees what it heard
    assert main(_tts(model_dir, "--text", "Hello.", "--prompt-wav", prompt, "--prompt-text", "Heard words.",
                     "--out", str(given))) == 0
    assert np.array_equal(sf.read(heard)[0], sf.read(given)[0])  # the same as passing that transcript


def test_transcribe_prompt_conflicts_and_the_missing_transcript_error_names_it(model_dir, prompt, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(_tts(model_dir, "--text", "Hi.", "--prompt-wav", prompt, "--prompt-text", "x", "--transcribe-prompt",
                  "--out", str(tmp_path / "o.wav")))
    assert e.value.code == 2 and "--transcribe-prompt is for a prompt without" in capsys.readouterr().err
    assert main(_tts(model_dir, "--text", "Hi.", "--prompt-wav", prompt, "--out", str(tmp_path / "o.wav"))) == 1
    err = capsys.readouterr().err
    assert "transcript is missing" in err and "--transcribe-prompt" in err and len(err.strip().splitlines()) == 1


def test_batch_transcribes_only_the_lines_without_a_prompt_text(model_dir, tmp_path, monkeypatch):
    asr = _FakeASR("Recognised.")
    monkeypatch.setattr("latentspeech.eval.asr.load_asr", lambda *a, **k: asr)
    _wav(tmp_path / "p1.wav")
    meta = tmp_path / "meta.lst"
    meta.write_text("u1||p1.wav|Hello there.\nu2|Given text.|p1.wav|Good morning.\n")
    assert main(_tts(model_dir, "--text-file", str(meta), "--out-dir", str(tmp_path / "none"))) == 1  # no flag
    gen = tmp_path / "gen"
    assert main(_tts(model_dir, "--text-file", str(meta), "--out-dir", str(gen), "--max-seconds", "0.2",
                     "--transcribe-prompt")) == 0
    lines = {x["utt"]: x for x in map(json.loads, (gen / "generation.jsonl").read_text().splitlines())}
    assert lines["u1"]["prompt_transcript"] == "Recognised." and "prompt_transcript" not in lines["u2"]
    assert asr.calls == 1
