"""Strict YAML ↔ dataclass configs: casting, unknown keys with suggestions, overrides, round trip."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import pytest

from latentspeech.config import config_to_dict, dump_config, load_config
from latentspeech.errors import ConfigError


@dataclass
class ModelSection:
    d_model: int = 64
    n_layer: int = 2
    ratios: tuple[int, ...] = (4, 4)
    prediction: str = "v"
    RETIRED: ClassVar[dict[str, object]] = {"rate_positions": False}


@dataclass
class OptimSection:
    lr: float = 1.0e-3
    betas: tuple[float, float] = (0.9, 0.95)


@dataclass
class TrainConfig:
    model: ModelSection = field(default_factory=ModelSection)
    optim: OptimSection = field(default_factory=OptimSection)
    seed: int = 0
    note: str | None = None
    use_ema: bool = False


def write(tmp_path, text: str):
    p = tmp_path / "conf.yaml"
    p.write_text(text)
    return p


def test_missing_keys_keep_defaults_and_values_are_cast(tmp_path):
    p = write(tmp_path, "model: {d_model: 128, ratios: [8, 5]}\noptim: {lr: 3e-4}\n")
    cfg = load_config(p, TrainConfig)
    assert cfg.model.d_model == 128 and cfg.model.n_layer == 2
    assert cfg.model.ratios == (8, 5)
    # YAML 1.1 reads 3e-4 as a string; the loader still gives a float
    assert cfg.optim.lr == pytest.approx(3e-4) and isinstance(cfg.optim.lr, float)


def test_unknown_nested_key_names_file_key_and_close_match(tmp_path):
    p = write(tmp_path, "model: {n_layers: 4}\n")
    with pytest.raises(ConfigError) as e:
        load_config(p, TrainConfig)
    msg = str(e.value)
    assert str(p) in msg and "'model.n_layers'" in msg and "did you mean 'n_layer'" in msg
    assert "\n" not in msg


def test_wrong_type_is_rejected(tmp_path):
    p = write(tmp_path, "model: {d_model: 1.5}\n")
    with pytest.raises(ConfigError, match="model.d_model.*integer"):
        load_config(p, TrainConfig)
    p = write(tmp_path, "use_ema: maybe\n")
    with pytest.raises(ConfigError, match="true/false"):
        load_config(p, TrainConfig)


def test_overrides_apply_and_unknown_override_fails(tmp_path):
    cfg = load_config(None, TrainConfig, overrides=["optim.lr=1.0e-4", "model.ratios=[2,2,2]", "note=hi"])
    assert cfg.optim.lr == pytest.approx(1e-4) and cfg.model.ratios == (2, 2, 2) and cfg.note == "hi"
    with pytest.raises(ConfigError, match="did you mean 'lr'"):
        load_config(None, TrainConfig, overrides=["optim.lrr=1"])
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config(None, TrainConfig, overrides=["optim.lr"])


def test_dump_then_load_round_trips(tmp_path):
    cfg = load_config(None, TrainConfig, overrides=["model.d_model=96", "optim.betas=[0.8, 0.99]"])
    path = tmp_path / "out" / "config.yaml"
    dump_config(cfg, path)
    again = load_config(path, TrainConfig)
    assert again == cfg
    assert config_to_dict(again)["model"]["ratios"] == [4, 4]


def test_missing_file_and_bad_yaml_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml", TrainConfig)
    p = write(tmp_path, "model: {d_model: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p, TrainConfig)


def test_retired_options_load_only_at_their_off_value(tmp_path):
    cfg = load_config(write(tmp_path, "model: {d_model: 96, rate_positions: false}\n"), TrainConfig)
    assert cfg.model.d_model == 96 and "rate_positions" not in config_to_dict(cfg)["model"]  # dropped on load
    assert load_config(None, TrainConfig, overrides=["model.rate_positions=false"]) == TrainConfig()
    for source in ({"path": write(tmp_path, "model: {rate_positions: true}\n")},
                   {"path": None, "overrides": ["model.rate_positions=true"]}):
        with pytest.raises(ConfigError) as e:
            load_config(source["path"], TrainConfig, overrides=source.get("overrides"))
        msg = str(e.value)
        assert "'model.rate_positions' was retired" in msg and "False" in msg and "\n" not in msg
    with pytest.raises(ConfigError, match="unknown key 'optim.rate_positions'"):  # retired in its own section only
        load_config(write(tmp_path, "optim: {rate_positions: false}\n"), TrainConfig)
