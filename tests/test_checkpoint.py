"""Checkpoints: atomic writes, weights_only loading, model dirs, strict key checks, resume bookkeeping."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from latentspeech.checkpoint import (
    INT8_SCALE_SUFFIX,
    atomic_save,
    load_checkpoint,
    load_model_dir,
    load_state_dict_strict,
    read_model_kind,
    save_model_dir,
)
from latentspeech.errors import CheckpointError
from latentspeech.training import Checkpointer, cosine_schedule, rng_state, set_rng_state


@dataclass
class TinyConfig:
    width: int = 4


def test_atomic_save_leaves_no_temp_and_loads_weights_only(tmp_path):
    path = atomic_save({"step": 3, "w": torch.ones(2)}, tmp_path / "a" / "ck.pt")
    assert path.is_file() and not (tmp_path / "a" / "ck.pt.tmp").exists()
    state = load_checkpoint(path)
    assert state["step"] == 3 and torch.equal(state["w"], torch.ones(2))


def test_truncated_checkpoint_is_a_one_line_error(tmp_path):
    path = atomic_save({"w": torch.randn(1000)}, tmp_path / "ck.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="unreadable") as e:
        load_checkpoint(path)
    assert "\n" not in str(e.value)


def test_model_dir_round_trip_in_fp16(tmp_path):
    model = torch.nn.Linear(4, 3)
    save_model_dir(tmp_path / "m", "vae", TinyConfig(width=4), model.state_dict(), dtype=torch.float16)
    assert read_model_kind(tmp_path / "m") == "vae"
    config, state, doc = load_model_dir(tmp_path / "m", TinyConfig, "vae")
    assert config == TinyConfig(width=4) and doc["format_version"] == "1"
    assert state["weight"].dtype == torch.float16
    other = torch.nn.Linear(4, 3)
    load_state_dict_strict(other, state, "m")
    assert other.weight.dtype == torch.float32
    torch.testing.assert_close(other.weight, model.weight, atol=1e-3, rtol=1e-3)


def test_model_dir_in_int8_keeps_each_weight_within_half_a_step_of_its_row(tmp_path):
    from safetensors.torch import load_file

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 48), torch.nn.LayerNorm(48), torch.nn.Conv1d(48, 32, 3))
    with torch.no_grad():
        model[0].weight[5].zero_()  # an all-zero row must not divide by zero
    save_model_dir(tmp_path / "m", "vae", TinyConfig(), model.state_dict(), dtype=torch.int8)
    stored = load_file(str(tmp_path / "m/model.safetensors"))
    assert stored["0.weight"].dtype == torch.int8 and stored["2.weight"].dtype == torch.int8  # matrices, conv kernels
    assert stored["0.bias"].dtype == torch.float16 and stored["1.weight"].dtype == torch.float16  # small: fp16
    assert set(stored) == set(model.state_dict()) | {"0.weight" + INT8_SCALE_SUFFIX, "2.weight" + INT8_SCALE_SUFFIX}
    _, state, _ = load_model_dir(tmp_path / "m", TinyConfig, "vae")
    assert state.keys() == model.state_dict().keys()
    for k in ("0.weight", "2.weight"):
        w, got = model.state_dict()[k], state[k]
        step = w.abs().flatten(1).amax(1) / 127
        err = (got - w).abs().flatten(1).amax(1)
        assert got.dtype == torch.float32 and (err <= step / 2 + 1e-7).all(), k
        assert not torch.equal(got, w)  # really stored in 8 bits
    assert torch.equal(state["0.weight"][5], torch.zeros(64))
    fp16 = save_model_dir(tmp_path / "h", "vae", TinyConfig(), model.state_dict(), dtype=torch.float16)
    assert (tmp_path / "m/model.safetensors").stat().st_size < 0.6 * (fp16 / "model.safetensors").stat().st_size


def test_int8_weight_without_its_scale_is_a_one_line_error(tmp_path):
    from safetensors.torch import load_file, save_file

    save_model_dir(tmp_path / "m", "vae", TinyConfig(), torch.nn.Linear(64, 32).state_dict(), dtype=torch.int8)
    path = tmp_path / "m/model.safetensors"
    save_file({k: v for k, v in load_file(str(path)).items() if not k.endswith(INT8_SCALE_SUFFIX)}, str(path))
    config = tmp_path / "m/config.yaml"  # a model dir without a recorded checksum (before session 24)
    config.write_text("".join(line for line in config.read_text().splitlines(True) if "weights_sha256" not in line))
    with pytest.raises(CheckpointError, match="has no scale") as e:
        load_model_dir(tmp_path / "m", TinyConfig, "vae")
    assert "\n" not in str(e.value)


def test_model_dir_config_names_its_weights(tmp_path):
    """An export that died between writing the weights and the config leaves new weights beside the old config:
    refused by the checksum the config records, not loaded as a silent mix."""
    import shutil

    save_model_dir(tmp_path / "old", "vae", TinyConfig(), {"x": torch.zeros(3)})
    save_model_dir(tmp_path / "new", "vae", TinyConfig(), {"x": torch.ones(3)})
    assert len(load_model_dir(tmp_path / "old", TinyConfig, "vae")[2]["weights_sha256"]) == 8
    shutil.copyfile(tmp_path / "new" / "model.safetensors", tmp_path / "old" / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"checksum [0-9a-f]{8} != [0-9a-f]{8} recorded in config.yaml"):
        load_model_dir(tmp_path / "old", TinyConfig, "vae")


def test_model_dir_of_wrong_kind_or_missing_is_rejected(tmp_path):
    save_model_dir(tmp_path / "lm", "lm", TinyConfig(), {"x": torch.zeros(1)})
    with pytest.raises(CheckpointError, match="holds a lm model, but a vae model is needed"):
        load_model_dir(tmp_path / "lm", TinyConfig, "vae")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model_dir(tmp_path / "nowhere", TinyConfig, "vae")
    (tmp_path / "lm" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="unreadable"):
        load_model_dir(tmp_path / "lm", TinyConfig, "lm")


def test_strict_load_names_missing_unexpected_and_shape(tmp_path):
    model = torch.nn.Linear(4, 3)
    with pytest.raises(CheckpointError, match="missing \\['bias'\\]"):
        load_state_dict_strict(model, {"weight": torch.zeros(3, 4)}, "src")
    with pytest.raises(CheckpointError, match="unexpected \\['extra'\\]"):
        load_state_dict_strict(model, {**model.state_dict(), "extra": torch.zeros(1)}, "src")
    with pytest.raises(CheckpointError, match="'weight' has shape \\(3, 5\\), expected \\(3, 4\\)"):
        load_state_dict_strict(model, {"weight": torch.zeros(3, 5), "bias": torch.zeros(3)}, "src")


def test_checkpointer_keeps_last_n_and_resumes_newest(tmp_path):
    ck = Checkpointer(tmp_path, keep_last=2)
    assert ck.load_latest() is None
    for step in (10, 20, 30):
        ck.save({"step": step}, step)
    assert [p.name for p in ck.list()] == ["step_00000020.pt", "step_00000030.pt"]
    assert ck.load_latest()["step"] == 30


def test_checkpointer_keeps_milestones_beside_the_last_n(tmp_path):
    ck = Checkpointer(tmp_path, keep_last=2, keep_every=20)
    for step in range(10, 80, 10):
        ck.save({"step": step}, step)
    assert [int(p.name[5:13]) for p in ck.list()] == [20, 40, 60, 70]
    assert ck.load_latest()["step"] == 70


def test_rng_state_round_trip_reproduces_draws():
    state = rng_state()
    a = torch.rand(3)
    set_rng_state(state)
    assert torch.equal(torch.rand(3), a)


def test_cosine_schedule_warms_up_then_decays():
    f = cosine_schedule(warmup_steps=10, max_steps=110, min_ratio=0.1)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(60) == pytest.approx(0.55) and f(110) == pytest.approx(0.1) and f(500) == pytest.approx(0.1)
