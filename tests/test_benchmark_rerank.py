"""benchmarks/rerank.py (selection rules over the same best-of-N samples) and tts_quality's reference reuse."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

BENCH = Path(__file__).parents[1] / "benchmarks"


def _load(name: str):
    sys.path.insert(0, str(BENCH))  # tts_quality imports vae_intelligibility
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rerank = _load("rerank")
vae_intelligibility = _load("vae_intelligibility")


def test_rules_pick_the_first_the_ctc_heads_and_the_asr_oracles_candidate():
    row = {"ctc_scores": [1.1, 1.0, 3.0], "candidate_frames": [40, 21, 20], "wer": [0.5, 0.2, 0.0]}
    assert rerank.choose("first", row) == 0
    assert rerank.choose("ctc", row) == 1
    assert rerank.choose("oracle", row) == 2
    inf = float("inf")
    assert rerank.choose("ctc", dict(row, ctc_scores=[inf, inf, inf])) == 0  # none can spell it: the longest
    with pytest.raises(ValueError, match="unknown rule"):
        rerank.choose("asr", row)


def _run(tmp_path: Path, name: str, rows: list[tuple[str, list[float], list[int], list[float]]]) -> Path:
    run = tmp_path / name
    gt = tmp_path / "gt.wav"
    sf.write(gt, np.zeros(16_000, dtype=np.float32), 16_000)  # 1 s = 12.5 frames
    run.mkdir()
    with open(run / "candidates.jsonl", "w") as f:
        for utt, scores, frames, _ in rows:
            f.write(json.dumps({"utt": utt, "seed": 0, "frame_rate": 12.5, "gt_wav": str(gt), "ctc_scores": scores,
                                "candidate_frames": frames, "chosen": 0}) + "\n")
    for i in range(len(rows[0][1])):
        (run / f"scores_cand{i}").mkdir()
        lines = ["utt\twer\tcer"] + [f"{utt}\t{w[i]}\t{w[i] / 2}" for utt, _, _, w in rows]
        (run / f"scores_cand{i}" / "wer.tsv").write_text("\n".join(lines) + "\n")
    return run


def test_analyze_reports_each_rule_paired_against_the_ctc_choice(tmp_path, capsys):
    run = _run(tmp_path, "r0", [("u1", [1.1, 1.0], [25, 13], [0.2, 0.6]),   # the CTC head takes the worse one
                                ("u2", [0.5, 2.0], [12, 12], [0.1, 0.3])])  # the CTC head takes the better one
    assert rerank.main(["analyze", str(run)]) == 0
    table = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[1:] for line in capsys.readouterr().out.splitlines()
             if line.startswith("| ") and not line.startswith("| rule")}
    assert list(table) == ["first", "ctc", "oracle"]
    assert table["ctc"][0] == "35.0" and table["first"][0] == "15.0" and table["oracle"][0] == "15.0"
    assert table["oracle"][2].startswith("-20.0") and table["oracle"][3] == "50 %"  # one of two choices differs
    # 13 and 12 frames (ctc) vs 25 and 12 (first) at 12.5 Hz against 1 s of ground truth
    assert table["ctc"][4] == "1.00, 0 % |" and table["first"][4] == "1.48, 50 % |"


def test_reuse_references_copies_ground_truth_and_only_a_matching_resynthesis(tmp_path):
    from latentspeech.vae.model import SigmaVAE, VAEConfig

    torch.manual_seed(0)
    cfg = VAEConfig(latent_dim=8, hop_length=640, frame_hop=160, enc_n_fft=512, n_mels=20, enc_dim=32,
                    enc_frame_layers=1, enc_latent_layers=1, dec_dim=32, dec_latent_layers=1, dec_frame_dim=32,
                    dec_frame_layers=1, dec_n_fft=320)
    vae, other = SigmaVAE(cfg), SigmaVAE(cfg)
    assert vae_intelligibility.vae_fingerprint(vae) != vae_intelligibility.vae_fingerprint(other)
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(1600, dtype=np.float32), 16_000)
    old, meta = tmp_path / "old", tmp_path / "new" / "meta.lst"
    for d in (old, meta.parent):
        d.mkdir()
    (old / "meta.lst").write_text(f"u1|p|{wav}|hello\n")
    meta.write_text(f"u1|p|{wav}|hello\n")
    for sub in ("ground_truth", "scores_ground_truth", "resynthesis", "scores_resynthesis"):
        (old / sub).mkdir()
    (old / "resynthesis" / vae_intelligibility.VAE_MARK).write_text(vae_intelligibility.vae_fingerprint(vae))
    assert vae_intelligibility.reuse_references(old, meta.parent, meta, other) == [
        "ground_truth", "scores_ground_truth"]  # another VAE: its resynthesis is redone
    assert vae_intelligibility.reuse_references(old, meta.parent, meta, vae) == [
        "resynthesis", "scores_resynthesis"]  # the same weights: reused (ground truth was already there)
    meta.write_text(f"u1|p|{wav}|goodbye\n")
    with pytest.raises(SystemExit, match="other utterances"):
        vae_intelligibility.reuse_references(old, meta.parent, meta, vae)


def test_tts_quality_seed_mean_averages_each_utterance_over_the_runs(tmp_path):
    tts_quality = _load("tts_quality")
    runs = []
    for name, wers, sims in (("s0", [0.0, 1.0, 0.5], [0.8, 0.6, 0.7]), ("s1", [0.5, 0.0, 0.5], [0.6, 0.8, 0.7])):
        run = tmp_path / name
        run.mkdir()
        (run / "wer.tsv").write_text("utt\twer\tcer\n" + "".join(
            f"u{i}\t{w}\t{w / 2}\n" for i, w in enumerate(wers)))
        (run / "sim.tsv").write_text("utt\tsim_o\n" + "".join(f"u{i}\t{s}\n" for i, s in enumerate(sims)))
        runs.append(run)
    (runs[1] / "wer.tsv").write_text((runs[1] / "wer.tsv").read_text() + "u9\t1.0\t1.0\n")  # only one run: left out
    summary = tts_quality.seed_mean_summary(runs)
    wer = summary["sections"]["seed_mean"]["metrics"]["wer"]
    assert wer["n"] == 3
    assert wer["mean"] == pytest.approx((0.25 + 0.5 + 0.5) / 3)
    assert wer["ci_low"] <= wer["mean"] <= wer["ci_high"]
    assert summary["sections"]["seed_mean"]["metrics"]["sim_o"]["mean"] == pytest.approx(0.7)
    assert vae_intelligibility.metric_cell(summary, "wer").startswith("41.7 [")
    assert tts_quality._tag(10, 2.5, None, 1, seed=1) == "tts_steps10_cfg2.5_n1_seed1"
    assert tts_quality._tag(10, 2.5, None, 1) == "tts_steps10_cfg2.5_n1"  # seed 0 keeps the old names
    timing = {"rtf": 0.3321, "first_audio_s": float("nan"), "stopped": 108.0, "utts": 108.0}
    assert tts_quality.speed_cells(timing) == "0.332 | – | 108/108"  # --ttfa-utts 0: not timed, not "nan"
    assert tts_quality.speed_cells(dict(timing, first_audio_s=0.214)) == "0.332 | 0.21 | 108/108"
    assert tts_quality.speed_cells(None) == "– | – | –"
