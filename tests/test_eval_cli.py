"""eval-wer / eval-sim / eval / make-eval-list in-process: exit codes, files written, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers_eval import SENTENCES, StubASR, StubEmbedder, espeak_corpus, needs_espeak, tone, tone_data_dir
from latentspeech.cli import main
from latentspeech.eval.meta import MetaEntry, read_meta, write_meta


@pytest.fixture
def stubs(monkeypatch):
    """Stand-in ASR and speaker backends behind the CLI's loaders."""
    asr = StubASR({16_000: "one two three", 24_000: "four five"})
    embedder = StubEmbedder()
    monkeypatch.setattr("latentspeech.eval.asr.load_asr", lambda *a, **k: asr)
    monkeypatch.setattr("latentspeech.eval.speaker.load_embedder", lambda *a, **k: embedder)
    return asr, embedder


@pytest.fixture
def eval_set(tmp_path):
    """meta.lst with u1, u2, u3; gen/ has u1 and u2 only."""
    gen = tmp_path / "gen"
    gen.mkdir()
    tone(gen / "u1.wav", 220, 1.0)
    tone(gen / "u2.wav", 440, 1.5)
    entries = [MetaEntry(u, "prompt", tone(tmp_path / f"p_{u}.wav", f, 2.0), text)
               for u, f, text in (("u1", 220, "one two three"), ("u2", 880, "four five six"), ("u3", 220, "x"))]
    meta = write_meta(tmp_path / "meta.lst", entries)
    return ["--meta", str(meta), "--gen-dir", str(gen), "--out-dir", str(tmp_path / "scores")], tmp_path / "scores"


def test_eval_writes_one_report_and_counts_the_missing_file(stubs, eval_set, capsys):
    args, scores = eval_set
    assert main(["eval", *args]) == 0
    for name in ("wer.tsv", "sim.tsv", "summary.json", "summary.md"):
        assert (scores / name).is_file(), name
    summary = json.loads((scores / "summary.json").read_text())
    assert summary["n_utts"] == 3
    wer, sim = summary["sections"]["wer"], summary["sections"]["sim"]
    assert wer["metrics"]["wer"]["n"] == 2 and wer["metrics"]["wer"]["mean"] == pytest.approx(1 / 6)
    assert wer["missing"] == sim["missing"] == ["u3"]
    assert sim["metrics"]["sim_o"]["n"] == 2 and "sim_r" not in sim["metrics"]
    out = capsys.readouterr().out
    assert "| WER (%) | 16.67 |" in out and "| SIM-o |" in out and "u3" in out


def test_strict_exits_1_naming_the_missing_file(stubs, eval_set, capsys):
    args, _ = eval_set
    assert main(["eval-wer", *args, "--strict"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("latentspeech eval-wer: error:") and "u3.wav" in err and len(err.splitlines()) == 1


def test_bad_meta_list_exits_1_with_its_line_number(stubs, eval_set, tmp_path, capsys):
    args, _ = eval_set
    bad = tmp_path / "bad.lst"
    bad.write_text("u1|p|a.wav|t\nu2|p|a.wav\n")
    args[1] = str(bad)
    assert main(["eval-sim", *args]) == 1
    assert "bad.lst:2: expected 4" in capsys.readouterr().err


def test_rerun_resumes_without_rescoring(stubs, eval_set):
    asr, _ = stubs
    args, _ = eval_set
    assert main(["eval-wer", *args]) == 0 and asr.calls == 2
    assert main(["-q", "eval-wer", *args]) == 0 and asr.calls == 2
    assert main(["-q", "eval-wer", *args, "--force"]) == 0 and asr.calls == 4


def test_eval_sim_with_vae_reports_sim_r(stubs, eval_set, monkeypatch):
    args, scores = eval_set
    identity = lambda wav, sr: (wav, sr)  # noqa: E731
    monkeypatch.setattr("latentspeech.eval.score.vae_resynthesizer", lambda vae_dir, device="cpu": identity)
    assert main(["eval-sim", *args, "--vae", "some/vae"]) == 0
    sim = json.loads((scores / "summary.json").read_text())["sections"]["sim"]["metrics"]
    assert sim["sim_r"]["mean"] == pytest.approx(sim["sim_o"]["mean"])  # identity resynthesis


def test_eval_sim_pairwise_prints_the_cosine(stubs, tmp_path, capsys):
    a, b = tone(tmp_path / "a.wav", 300, 1.0), tone(tmp_path / "b.wav", 300, 2.0)
    assert main(["eval-sim", str(a), str(b)]) == 0
    assert capsys.readouterr().out.strip() == "1.0000"
    assert main(["eval-sim", str(a), str(tmp_path / "missing.wav")]) == 1
    assert "missing.wav' does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["eval-sim"], ["eval-sim", "a.wav"], ["eval-sim", "a.wav", "b.wav", "--trials", "t"]])
def test_eval_sim_usage_errors_exit_2(argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2


def test_eval_sim_trials_prints_the_eer(stubs, tmp_path, capsys):
    for name, f in (("a1", 200), ("a2", 200), ("b1", 600), ("b2", 600)):
        tone(tmp_path / f"{name}.wav", f, 1.0)
    (tmp_path / "trials").write_text("1 a1.wav a2.wav\n1 b1.wav b2.wav\n0 a1.wav b1.wav\n0 a2.wav b2.wav\n")
    assert main(["eval-sim", "--trials", str(tmp_path / "trials"), "--out-dir", str(tmp_path / "s")]) == 0
    assert capsys.readouterr().out.startswith("EER 0.00% at threshold")
    assert json.loads((tmp_path / "s" / "eer.json").read_text())["n_target"] == 2


def test_make_eval_list_writes_a_readable_list_and_refuses_to_overwrite(tmp_path, capsys):
    data = tone_data_dir(tmp_path)
    out = tmp_path / "lists" / "meta.lst"
    assert main(["make-eval-list", "--data", str(data), "--out", str(out), "--seed", "3"]) == 0
    assert [e.utt for e in read_meta(out)] == ["s1_a", "s1_b", "s1_c", "s2_a", "s2_b"]
    assert main(["make-eval-list", "--data", str(data), "--out", str(out)]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["make-eval-list", "--data", str(tmp_path / "nodata"), "--out", str(out), "--force"]) == 1
    capsys.readouterr()
    assert main(["make-eval-list", "--data", str(data), "--out", str(out), "--force", "--max-prompt-seconds", "1.5",
                 "--prompt-seconds", "1"]) == 0  # only the 1 s utterance is short enough: s2_b's prompt
    assert [(e.utt, Path(e.prompt_wav).stem) for e in read_meta(out)] == [("s2_b", "s2_a")]
    capsys.readouterr()
    assert main(["make-eval-list", "--data", str(data), "--out", str(out), "--force", "--max-prompt-seconds", "2",
                 "--prompt-seconds", "3"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "latentspeech make-eval-list: error: prompt_seconds 3 exceeds max_prompt_seconds 2"]


@pytest.mark.slow
@pytest.mark.system
@needs_espeak
def test_eval_end_to_end_with_offline_models(tmp_path_factory, tmp_path):
    pytest.importorskip("resemblyzer")
    pytest.importorskip("faster_whisper")
    voices = espeak_corpus(tmp_path_factory.getbasetemp() / "eval_espeak")
    gen = tmp_path / "gen"
    gen.mkdir()
    (gen / "m3_0.wav").symlink_to(voices["m3"][0])
    write_meta(tmp_path / "meta.lst", [MetaEntry("m3_0", SENTENCES[1], voices["m3"][1], SENTENCES[0])])
    assert main(["-q", "eval", "--meta", str(tmp_path / "meta.lst"), "--gen-dir", str(gen),
                 "--out-dir", str(tmp_path / "s")]) == 0
    metrics = {k: v for s in json.loads((tmp_path / "s" / "summary.json").read_text())["sections"].values()
               for k, v in s["metrics"].items()}
    assert metrics["wer"]["mean"] <= 0.3 and metrics["sim_o"]["mean"] > 0.75
