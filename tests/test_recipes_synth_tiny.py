"""End-to-end: `egs/synth/tts1/run.sh --tiny true` runs stages 1-8 with the real commands (ESPnet's mini_an4):
tiny synthetic corpus → tiny σ-VAE → latents → tiny LM → synthesis → WER/SIM → RESULTS.md. The models are
untrained (WER ~100%); the test checks the plumbing and that every stage's output is where the next reads it.
Budget: < 4 min on 2 CPU cores (measured ~2-3 min with other jobs running)."""

from __future__ import annotations

import re
import shutil

import pytest

from helpers_recipes import make_recipe_dir, recipe_env, run


@pytest.mark.slow
@pytest.mark.system
@pytest.mark.timeout(600)
def test_tiny_synth_recipe_runs_every_stage_and_writes_results(tmp_path):
    if not (shutil.which("espeak-ng") or shutil.which("flite")):
        pytest.skip("the synth corpus needs espeak-ng or flite (tools/install.sh --system)")
    d = make_recipe_dir(tmp_path, "synth")
    env = recipe_env()
    r = run(["./run.sh", "--tiny", "true"], d, env, timeout=540)
    assert r.returncode == 0, r.stderr[-4000:]
    assert "Successfully finished. [elapsed=" in r.stderr.splitlines()[-1]

    results = list(d.glob("exp/lm_*/decode_*/RESULTS.md"))
    assert len(results) == 1
    text = results[0].read_text()
    row = next(line for line in text.splitlines() if line.startswith("| test_cross"))
    header = next(line for line in text.splitlines() if line.startswith("| test list |"))
    columns = dict(zip(header.strip("|").split("|"), row.strip("|").split("|")))
    columns = {k.strip(): v.strip() for k, v in columns.items()}
    assert re.match(r"^\d", columns["wer"]) and re.match(r"^-?\d", columns["sim_o"]), text
    assert "| test_continuation" in text
    for log in ("exp/vae_*/log/train.log", "exp/lm_*/log/train.log", "dump/latents/*/train/log/dump.1.log",
                "exp/lm_*/decode_*/test_cross*/log/tts.1.log", "exp/lm_*/decode_*/test_cross*/log/eval.log"):
        assert list(d.glob(log)), log

    # Re-running a finished training stage with its .done removed resumes from the last checkpoint.
    vae_exp = next(d.glob("exp/vae_*"))
    (vae_exp / ".done").unlink()
    r = run(["./run.sh", "--tiny", "true", "--stage", "4", "--stop_stage", "4"], d, env, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "resuming from the newest checkpoint" in r.stderr
    assert "--resume" in (vae_exp / "log/train.log").read_text().splitlines()[0]


@pytest.mark.slow
@pytest.mark.system
@pytest.mark.timeout(300)
def test_tempo_copies_of_the_synth_corpus_reach_the_lms_latent_dump(tmp_path):
    """--tempo_factors on the real corpus tools (stages 1-5, the shipped σ-VAE): the union of the train set and its
    tempo copies is a valid data dir (spk2gender and all), phonemized and dumped for the LM."""
    if not (shutil.which("espeak-ng") or shutil.which("flite")):
        pytest.skip("the synth corpus needs espeak-ng or flite (tools/install.sh --system)")
    from latentspeech.data.kaldi import DataDir
    from helpers_recipes import REPO

    d = make_recipe_dir(tmp_path, "synth")
    r = run(["./run.sh", "--tiny", "true", "--stop_stage", "5", "--vae_model", str(REPO / "pretrained/vae_synth_causal"),
             "--tempo_factors", "0.8 1.25", "--tempo_every", "4"], d, recipe_env(), timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    train, union = DataDir.load(d / "data/train"), DataDir.load(d / "data/train_tp0.8_1.25_every4")
    copies = len(train.utt_ids[3::4])
    assert len(union.utt_ids) == len(train.utt_ids) + 2 * copies and copies > 0
    assert set(union.spk2gender) == set(union.speakers)
    phn = (d / "dump/phn/train_tp0.8_1.25_every4/text").read_text().splitlines()
    scp = next(d.glob("dump/latents/*/train_tp0.8_1.25_every4/latents.scp")).read_text().splitlines()
    assert len(phn) == len(scp) == len(union.utt_ids)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_stage_4_killed_midway_resumes_from_its_last_checkpoint(tmp_path):
    """Kill the real train-vae (the whole process group) after its first checkpoint; re-running stage 4
    passes --resume and training continues from that step instead of starting over."""
    import os
    import signal
    import subprocess
    import time

    from helpers_recipes import FAKE_DATA_SH, write_data_dir

    d = make_recipe_dir(tmp_path, "synth", exclude=("local",))
    (d / "local").mkdir()
    (d / "local/data.sh").write_text(FAKE_DATA_SH)
    (d / "local/data.sh").chmod(0o755)
    for name, spk in (("train", {"a": 3, "b": 3}), ("dev", {"c": 2}), ("test", {"d": 2})):
        write_data_dir(tmp_path / "corpus" / name, spk, seconds=1.0)
    base = ["./tts.sh", "--local_data_opts", f"--src {tmp_path}/corpus", "--stop_stage", "4",
            "--vae_config", "conf/vae_tiny.yaml", "--vae_tag", "killed"]   # fixed tag: the rerun may stop sooner
    env = recipe_env()
    proc = subprocess.Popen(base + ["--vae_args", "--set train.max_steps=400 --set train.save_every=2"], cwd=d,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    exp = d / "exp/vae_killed"
    deadline = time.time() + 200
    while time.time() < deadline and proc.poll() is None and not list(exp.glob("checkpoints/step_*.pt")):
        time.sleep(0.5)
    assert proc.poll() is None, "train-vae ended before it could be killed: " + proc.stderr.read()[-2000:]
    assert list(exp.glob("checkpoints/step_*.pt")), "no checkpoint within 200 s"
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGKILL)                 # tts.sh, run.py and train-vae at once
    proc.wait()
    assert not (exp / ".done").exists()
    killed_at = max(int(p.stem.split("_")[1]) for p in exp.glob("checkpoints/step_*.pt"))

    stop = killed_at + 2
    r = run(base + ["--vae_args", f"--set train.max_steps={stop} --set train.save_every=2"], d, env, timeout=200)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "resuming from the newest checkpoint" in r.stderr
    log = (exp / "log/train.log").read_text()
    assert "--resume" in log.splitlines()[0] and f"resumed from step {killed_at}" in log
    assert (exp / ".done").is_file() and (exp / "model/config.yaml").is_file()
    assert (exp / "checkpoints" / f"step_{stop:08d}.pt").is_file()
