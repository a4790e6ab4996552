"""recipes/tts1/tts.sh: option errors, help, and the stage plumbing (skips, resume, shards, logs, RESULTS.md)
run against a stand-in `latentspeech` (tests/helpers_recipes.py); the real commands run in the slow
end-to-end test (test_recipes_synth_tiny.py)."""

from __future__ import annotations

import json
import os
import shlex
import time
from pathlib import Path

import pytest

from helpers_recipes import (FAKE_DATA_SH, REPO, install_stub, make_recipe_dir, recipe_env, run,
                             write_data_dir)


@pytest.fixture
def recipe(tmp_path):
    """A synth recipe dir in tmp whose local/data.sh copies a tiny ready-made corpus; stub `latentspeech`."""
    d = make_recipe_dir(tmp_path, "synth", exclude=("local",))
    (d / "local").mkdir()
    (d / "local" / "data.sh").write_text(FAKE_DATA_SH)
    (d / "local" / "data.sh").chmod(0o755)
    src = tmp_path / "corpus"
    write_data_dir(src / "train", {"spkA": 3, "spkB": 3})
    write_data_dir(src / "dev", {"spkC": 2})
    write_data_dir(src / "test", {"spkD": 3, "spkE": 2})
    stub_log = tmp_path / "calls.jsonl"
    env = recipe_env(tmp_path / "bin", STUB_LOG=str(stub_log), LAUNCH_LOG=str(tmp_path / "launches.jsonl"))
    install_stub(tmp_path / "bin")

    def tts(*args: str, **extra_env: str):
        cmd = ["./tts.sh", "--local_data_opts", f"--src {src}", "--nj", "2", *args]
        return run(cmd, d, {**env, **extra_env})

    tts.dir, tts.log, tts.launches = d, stub_log, tmp_path / "launches.jsonl"
    return tts


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line)["argv"] for line in log.read_text().splitlines()] if log.exists() else []


# --- option handling ------------------------------------------------------------------------------------

def test_unknown_option_is_a_one_line_usage_error(recipe):
    r = recipe("--foo", "1")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == "tts.sh: error: unknown option --foo (see --help)"


@pytest.mark.parametrize("args, message", [
    (("--stage", "5", "--stop_stage", "3"), "bad stage range"),
    (("--stage", "0"), "bad stage range"),
    (("--stage", "9"), "past the last stage"),
    (("--stage", "x"), "--stage must be a non-negative integer"),
    (("--nj", "0"), "--nj must be >= 1"),
    (("--tiny", "yes"), "is a boolean"),
    (("extra",), "unexpected argument 'extra'"),
    (("--tempo_factors", "0.8 1"), "'1' is not a positive number other than 1"),
    (("--tempo_factors", "fast"), "'fast' is not a positive number"),
    (("--tempo_every", "0"), "--tempo_every must be >= 1"),
    (("--inference_batch_size", "0"), "--inference_batch_size must be >= 1"),
])
def test_bad_arguments_exit_2_with_a_message(recipe, args, message):
    r = recipe(*args)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert not (recipe.dir / "data").exists()     # nothing ran


def test_help_prints_every_option_with_its_default(recipe):
    r = run(["./tts.sh", "--help"], recipe.dir, recipe_env())
    assert r.returncode == 0
    for line in ('--stage           # first stage to run (default="1")', '--stop_stage      # last stage to run (default="8")',
                 '--nj              # parallel jobs', '--vae_config      # train-vae config (default="conf/vae.yaml")',
                 '--lm_args', '--decode_args', '--ngpu', '--tiny'):
        assert line in r.stdout


def test_every_documented_option_is_a_variable_and_vice_versa():
    text = (REPO / "recipes/tts1/tts.sh").read_text()
    head = text[text.index("# General"):text.index("help_message=")]
    variables = {line.split("=", 1)[0] for line in head.splitlines() if line and line[0].isalpha() and "=" in line}
    helped = {line.split()[0][2:] for line in text[text.index("help_message="):].splitlines()
              if line.strip().startswith("--") and "#" in line}
    assert variables == helped


def test_missing_corpus_path_fails_in_stage_1_with_the_data_script_message(tmp_path):
    d = make_recipe_dir(tmp_path, "ljspeech")
    r = run(["./run.sh", "--stage", "1", "--stop_stage", "1",
             "--local_data_opts", f"--download false --corpus_dir {tmp_path}/nope"], d, recipe_env())
    assert r.returncode == 1
    assert f"corpus dir '{tmp_path}/nope' does not exist" in r.stderr
    assert "local/data.sh --datadir data --download false" in r.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("corpus", ["libritts", "ljspeech", "vctk"])
def test_local_data_sh_without_corpus_and_download_exits_1(tmp_path, corpus):
    d = make_recipe_dir(tmp_path, corpus)
    r = run(["local/data.sh", "--download", "false", "--corpus_dir", str(tmp_path / "missing")], d, recipe_env())
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1 and "does not exist" in r.stderr
    r = run(["local/data.sh", "--bogus", "1"], d, recipe_env())
    assert r.returncode == 2 and "unknown option --bogus" in r.stderr


# --- stages with the stand-in command --------------------------------------------------------------------

@pytest.mark.slow
def test_all_stages_run_in_order_and_end_with_the_elapsed_line(recipe):
    r = recipe("--vae_args", "--set train.max_steps=20", "--lm_args", "--set train.max_steps=20")
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip().splitlines()[-1].endswith("s]") and "Successfully finished. [elapsed=" in r.stderr
    for n in range(1, 9):
        assert f"Stage {n}: " in r.stderr
    d = recipe.dir
    for s in ("train", "dev", "test"):
        assert (d / "data" / s / "utt2dur").is_file()                 # stage 2
        assert (d / "dump/phn" / s / "text").is_file()                 # stage 3
    names = [c[0] for c in calls(recipe.log)]
    assert names[:3] == ["phonemize"] * 3
    assert names.count("dump-latents") == 2                            # train set x --nj 2 shards
    vae = d / "exp/vae_vae_train.max_steps_20"
    assert (vae / ".done").is_file() and (vae / "log/train.log").is_file()
    latents = d / "dump/latents/vae_train.max_steps_20/train"
    assert len((latents / "latents.scp").read_text().splitlines()) == 6   # every shard indexed
    lm = d / "exp/lm_lm_train.max_steps_20_vae_train.max_steps_20"
    results = (lm / "decode_decode/RESULTS.md").read_text()
    assert "| test_cross |" in results and "| test_continuation |" in results
    assert "| test list | wer | sim_o |" in results and "| test_cross | 0.25 | 0.5 |" in results
    assert (lm / "decode_decode/test_cross/wav/spkD_000.wav").is_file()
    train_vae = next(c for c in calls(recipe.log) if c[0] == "train-vae")
    assert train_vae[-2:] == ["--set", "train.max_steps=20"] and "--resume" not in train_vae


@pytest.mark.slow
def test_finished_stages_are_skipped_on_rerun(recipe):
    assert recipe().returncode == 0
    n = len(calls(recipe.log))
    r = recipe()
    assert r.returncode == 0, r.stderr
    assert len(calls(recipe.log)) == n                                 # nothing re-ran
    assert "already trained" in r.stderr and "already done" in r.stderr


def test_outdated_outputs_are_redone_when_their_inputs_change(recipe):
    assert recipe("--stop_stage", "5").returncode == 0
    later = time.time() + 5
    (recipe.dir / "exp/vae_vae/model/model.safetensors").write_text("retrained")
    for path in ("data/train/text", "exp/vae_vae/model/model.safetensors"):
        os.utime(recipe.dir / path, (later, later))
    n = len(calls(recipe.log))
    r = recipe("--stage", "3", "--stop_stage", "5")
    assert r.returncode == 0, r.stderr
    redone = calls(recipe.log)[n:]
    assert [c[0] for c in redone] == ["phonemize", "dump-latents", "dump-latents"]
    assert redone[0][redone[0].index("--data") + 1] == "data/train"
    assert all("--force" in c for c in redone[1:])


def test_synthesis_and_scores_are_redone_for_a_newer_tts_model(recipe):
    assert recipe().returncode == 0
    model = next((recipe.dir / "exp").glob("lm_*/tts_model"))
    n = len(calls(recipe.log))
    assert recipe("--stage", "7").returncode == 0 and len(calls(recipe.log)) == n  # up to date: nothing runs
    later = time.time() + 5
    (model / "model.safetensors").write_text("retrained")
    os.utime(model / "model.safetensors", (later, later))
    r = recipe("--stage", "7")
    assert r.returncode == 0, r.stderr
    redone = calls(recipe.log)[n:]
    tts_calls, evals = [c for c in redone if c[0] == "tts"], [c for c in redone if c[0] == "eval"]
    assert tts_calls and all("--force" in c for c in tts_calls)  # every utterance is made again
    assert len(evals) == len({c[c.index("--gen-dir") + 1] for c in evals}) > 0  # each list rescored once


@pytest.mark.parametrize("command, stage, exp", [("train-vae", 4, "vae_*"), ("train-lm", 6, "lm_*")])
def test_killed_training_resumes_from_its_checkpoint(recipe, command, stage, exp):
    r = recipe("--stop_stage", str(stage), STUB_KILL=command)
    assert r.returncode == 1
    assert f"{command} failed" in r.stderr and "killed after step 1" in r.stderr   # log tail shown
    resume_script = next((recipe.dir / "exp").glob(f"{exp}/run.sh"))
    assert f"--stage {stage} --stop_stage {stage}" in resume_script.read_text()
    r = recipe("--stage", str(stage), "--stop_stage", str(stage))
    assert r.returncode == 0, r.stderr
    last = [c for c in calls(recipe.log) if c[0] == command][-1]
    assert "--resume" in last
    assert "resuming from the newest checkpoint" in r.stderr
    assert len(list((recipe.dir / "exp").glob(f"{exp}/checkpoints/step_*.pt"))) == 2


def test_tempo_factors_train_the_lm_on_the_train_set_and_its_tempo_copies(recipe):
    r = recipe("--stop_stage", "6", "--tempo_factors", "0.8 1.25", "--tempo_every", "2")
    assert r.returncode == 0, r.stderr
    d, union = recipe.dir, "train_tp0.8_1.25_every2"
    perturb = [c for c in calls(recipe.log) if c[0] == "perturb-tempo"]
    assert [c[c.index("--factor") + 1] for c in perturb] == ["0.8", "1.25"]
    assert all(c[c.index("--every") + 1] == "2" and c[1] == "data/train" for c in perturb)
    ids = (d / "data" / union / "wav.scp").read_text().split("\n")
    ids = [line.split()[0] for line in ids if line]
    assert len(ids) == 6 + 2 * 3                                      # 6 utterances + every 2nd at two tempi
    assert sum(u.startswith("tempo0.8-") for u in ids) == 3 and sum(u.startswith("tempo1.25-") for u in ids) == 3
    assert (d / "data" / union / "utt2dur").is_file()                 # validated
    phonemized = [c[c.index("--data") + 1] for c in calls(recipe.log) if c[0] == "phonemize"]
    assert phonemized == ["data/train", "data/dev", "data/test", f"data/{union}"]
    dumps = [c for c in calls(recipe.log) if c[0] == "dump-latents"]
    assert {c[c.index("--data") + 1] for c in dumps} == {f"data/{union}"}
    train_vae = next(c for c in calls(recipe.log) if c[0] == "train-vae")
    assert train_vae[train_vae.index("--data") + 1] == "data/train"    # the σ-VAE learns from the originals
    train_lm = next(c for c in calls(recipe.log) if c[0] == "train-lm")
    assert train_lm[train_lm.index("--data") + 1] == f"dump/phn/{union}"
    assert train_lm[train_lm.index("--latents") + 1] == f"dump/latents/vae/{union}"
    assert (d / "exp" / "lm_lm_tp0.8_1.25_every2_vae" / ".done").is_file()

    n = len(calls(recipe.log))                                         # a rerun redoes nothing
    r = recipe("--stage", "2", "--stop_stage", "6", "--tempo_factors", "0.8 1.25", "--tempo_every", "2")
    assert r.returncode == 0, r.stderr
    assert len(calls(recipe.log)) == n, calls(recipe.log)[n:]


@pytest.mark.parametrize("args, expected", [
    (("--ngpu", "2"), ["--standalone", "--nproc_per_node", "2", "-m", "latentspeech"]),
    (("--ngpu", "8", "--nnodes", "4"), ["--nnodes", "4", "--nproc_per_node", "8", "--rdzv-backend", "c10d",
                                       "--rdzv-endpoint", "node0:29400"]),
])
def test_several_gpus_launch_training_through_torchrun(recipe, args, expected):
    r = recipe("--stop_stage", "4", *args, MASTER_ADDR="node0", MASTER_PORT="29400")
    assert r.returncode == 0, r.stderr
    launches = [json.loads(line) for line in recipe.launches.read_text().splitlines()]
    assert len(launches) == 1 and launches[0][:2] == ["-m", "torch.distributed.run"]
    line = " ".join(launches[0])
    assert " ".join(expected) in line and "latentspeech train-vae" in line
    train_vae = next(c for c in calls(recipe.log) if c[0] == "train-vae")
    assert train_vae[train_vae.index("--set") + 1] == "train.device=cuda"


def test_failing_job_prints_its_log_tail_and_stops(recipe):
    r = recipe(STUB_FAIL="phonemize")
    assert r.returncode == 1
    assert "last line of the failing log" in r.stderr
    assert "phonemize train failed" in r.stderr
    assert "Stage 4" not in r.stderr


def test_broken_data_dir_fails_stage_2_naming_file_and_id(recipe):
    assert recipe("--stop_stage", "1").returncode == 0
    (recipe.dir / "data/dev/text").write_text("spkC_000 hello\n")     # spkC_001 lost its transcript
    r = recipe("--stage", "2", "--stop_stage", "2")
    assert r.returncode == 1
    assert "data/dev" in r.stderr and "spkC_001" in r.stderr


@pytest.mark.slow
def test_tiny_mode_caps_the_eval_lists(recipe):
    r = recipe("--tiny", "true", "--tiny_eval_utts", "2")
    assert r.returncode == 0, r.stderr
    assert (recipe.dir / "data/test/meta_cross_max-utts_2.lst").is_file()
    make_list = [c for c in calls(recipe.log) if c[0] == "make-eval-list"]
    assert len(make_list) == 2 and all(c[-2:] == ["--max-utts", "2"] for c in make_list)
    tts_calls = [c for c in calls(recipe.log) if c[0] == "tts"]
    listed = sum(len((recipe.dir / c[c.index("--text-file") + 1]).read_text().splitlines()) for c in tts_calls)
    assert listed == 4                                                 # 2 per list x (cross, continuation)
    assert all(c[c.index("--batch-size") + 1] == "1" for c in tts_calls)


def test_inference_batch_size_reaches_synthesis_and_not_the_decode_tag(recipe):
    r = recipe("--tiny", "true", "--tiny_eval_utts", "2", "--inference_batch_size", "8")
    assert r.returncode == 0, r.stderr
    tts_calls = [c for c in calls(recipe.log) if c[0] == "tts"]
    assert tts_calls and all(c[c.index("--batch-size") + 1] == "8" for c in tts_calls)
    assert all("--out-dir" in c and "/decode_decode/" in c[c.index("--out-dir") + 1] for c in tts_calls)


@pytest.mark.slow
def test_stage_commands_parse_with_the_real_cli(recipe, capsys):
    """Every `latentspeech ...` call the stage script makes is valid for the real command-line parser."""
    from latentspeech.cli import build_parser

    assert recipe().returncode == 0
    problems = []
    for argv in calls(recipe.log):
        try:
            build_parser().parse_args(argv)
        except SystemExit:
            problems.append(f"latentspeech {shlex.join(argv)}: {capsys.readouterr().err.strip().splitlines()[-1]}")
    assert not problems, "\n".join(problems)


# --- the corpus recipes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("corpus", ["synth", "libritts", "ljspeech", "vctk"])
def test_recipe_dir_links_the_shared_scripts_relatively(corpus):
    d = REPO / "egs" / corpus / "tts1"
    for name in ("tts.sh", "utils", "cmd.sh", "path.sh"):
        link = d / name
        assert link.is_symlink() and str(link.readlink()) == f"../../../recipes/tts1/{name}"
    for name in ("run.sh", "db.sh", "local/data.sh"):
        assert (d / name).is_file()
    assert (d / "run.sh").stat().st_mode & 0o111 and (d / "local/data.sh").stat().st_mode & 0o111


@pytest.mark.parametrize("corpus, extra", [
    ("libritts", "--train_subsets train-clean-100"),
    ("ljspeech", "--n_dev 2 --n_test 2"),
    ("vctk", "--test_speakers p225 --dev_speakers p226"),
])
def test_corpus_recipe_prepares_and_validates_a_local_corpus(tmp_path, corpus, extra):
    """run.sh stages 1-2 on a fake corpus laid out like the real one (no download)."""
    import test_data_corpora as fake

    make = {"libritts": fake.make_libritts, "ljspeech": fake.make_ljspeech, "vctk": fake.make_vctk}[corpus]
    make(tmp_path / "corpus")
    d = make_recipe_dir(tmp_path, corpus)
    opts = f"--download false --corpus_dir {tmp_path}/corpus {extra}"
    r = run(["./run.sh", "--stop_stage", "2", "--local_data_opts", opts], d, recipe_env())
    assert r.returncode == 0, r.stderr
    for s in ("train", "dev", "test"):
        assert (d / "data" / s / "utt2dur").is_file()
    assert "Successfully finished" in r.stderr
