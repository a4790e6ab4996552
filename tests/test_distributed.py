"""Distributed training: `latentspeech train-vae` under torchrun with 2 CPU processes (gloo) keeps every
rank's parameters identical (DDP all-reduces the gradients of rank-dependent batches), and rank 0 alone
writes the checkpoints and the model dir. The same launcher line is what tts.sh uses for --ngpu N."""

from __future__ import annotations

import shutil
import sys

import pytest
import torch

from helpers_recipes import REPO, recipe_env, run, write_data_dir

# Runs `latentspeech <argv>` in-process on each rank, recording every module DDP wraps, then saves that
# rank's parameters (and the initial ones) so the test can compare ranks after training. Parameters only:
# buffers such as the VAE's latent mean/std are set by rank 0's export, after training.
DRIVER = r'''
import os, sys
import torch
import torch.nn.parallel

wrapped = []
_DDP = torch.nn.parallel.DistributedDataParallel

class RecordingDDP(_DDP):
    def __init__(self, module, *args, **kwargs):
        wrapped.append((module, {k: v.detach().clone() for k, v in module.named_parameters()}))
        super().__init__(module, *args, **kwargs)

torch.nn.parallel.DistributedDataParallel = RecordingDDP
from latentspeech.cli import main

torch.set_num_threads(1)
rc = main(sys.argv[1:])
rank = int(os.environ["RANK"])
torch.save({"rc": rc, "world_size": int(os.environ["WORLD_SIZE"]),
            "final": [{k: v.detach().clone() for k, v in m.named_parameters()} for m, _ in wrapped],
            "initial": [init for _, init in wrapped]}, os.environ["PROBE_DIR"] + f"/rank{rank}.pt")
sys.exit(rc)
'''


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_train_vae_under_torchrun_keeps_ranks_identical(tmp_path):
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    data = write_data_dir(tmp_path / "data/train", {"spkA": 3, "spkB": 3}, seconds=1.0)
    (tmp_path / "probe_driver.py").write_text(DRIVER)
    (tmp_path / "probe").mkdir()
    exp = tmp_path / "exp/vae"
    # tts.sh --ngpu 2 launches `python -m torch.distributed.run --standalone --nproc_per_node 2 -m latentspeech`;
    # the same line with the probing module in place of latentspeech:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "probe_driver", "train-vae", "--config", str(REPO / "egs/synth/tts1/conf/vae_tiny.yaml"),
           "--data", str(data), "--exp-dir", str(exp), "--num-threads", "1",
           "--set", "train.max_steps=3", "--set", "train.save_every=3", "--set", "loss.gan_start_step=1",
           "--set", "train.device=cpu"]
    env = recipe_env(PROBE_DIR=str(tmp_path / "probe"), PYTHONPATH=str(tmp_path))
    r = run(cmd, tmp_path, env, timeout=280)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]

    ranks = [torch.load(tmp_path / f"probe/rank{i}.pt", weights_only=True) for i in (0, 1)]
    assert all(p["rc"] == 0 and p["world_size"] == 2 for p in ranks)
    assert len(ranks[0]["final"]) >= 1, "train-vae wrapped nothing in DistributedDataParallel"
    assert len(ranks[0]["final"]) == len(ranks[1]["final"])
    for m0, m1, init in zip(ranks[0]["final"], ranks[1]["final"], ranks[0]["initial"]):
        assert m0.keys() == m1.keys()
        for k in m0:
            torch.testing.assert_close(m0[k], m1[k], rtol=0, atol=0, msg=f"'{k}' differs between ranks")
        changed = [k for k in m0 if not torch.equal(m0[k], init[k])]
        assert changed, "no parameter changed: did training run?"
    assert sorted(p.name for p in (exp / "checkpoints").glob("step_*.pt")) == ["step_00000003.pt"]
    assert (exp / "model" / "config.yaml").is_file()
    shutil.rmtree(tmp_path / "probe")
    # resumed under torchrun (each rank reseeded for its own σ-noise stream): ranks stay identical
    (tmp_path / "probe").mkdir()
    r = run(cmd[:-8] + ["--set", "train.max_steps=5", "--set", "train.save_every=5", "--set",
                        "loss.gan_start_step=1", "--set", "train.device=cpu", "--resume"], tmp_path, env, timeout=280)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"probe/rank{i}.pt", weights_only=True) for i in (0, 1)]
    for m0, m1 in zip(ranks[0]["final"], ranks[1]["final"]):
        for k in m0:
            torch.testing.assert_close(m0[k], m1[k], rtol=0, atol=0, msg=f"'{k}' differs between ranks")
    assert sorted(p.name for p in (exp / "checkpoints").glob("step_*.pt")) == ["step_00000003.pt", "step_00000005.pt"]
