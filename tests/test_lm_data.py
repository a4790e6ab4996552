"""LM data and training: examples, dynamic batching (budget, DDP), the train-lm loop, resume, import hygiene."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from helpers_lm import make_dump
from latentspeech.cli import main
from latentspeech.data.batching import DynamicBatchSampler, make_batches
from latentspeech.data.datasets import LMDataConfig, LMDataset, collate_lm
from latentspeech.text.vocab import PhonemeVocab


@pytest.fixture
def dump(tmp_path):
    return make_dump(tmp_path, n_utts=12, n_spk=3)


def test_continuation_examples_split_one_utterance(dump):
    phn, lat, _ = dump
    ds = LMDataset(phn, lat, PhonemeVocab.default(), LMDataConfig(cross_prompt_prob=0.0))
    for i in range(len(ds)):
        item = ds[i]
        n = ds.num_frames[i]
        assert item["frames"].shape == (n, 8) and item["frames"].dtype == torch.float32
        assert 1 <= item["prompt_len"] <= n - 1
        assert item["prompt_len"] <= round(0.5 * n)
        assert item["phonemes"].tolist() == ds.ids[i]


def test_cross_utterance_prompts_come_from_the_same_speaker(dump):
    phn, lat, data = dump
    from latentspeech.data.datasets import read_map

    u2s = read_map(data / "utt2spk")
    ds = LMDataset(phn, lat, PhonemeVocab.default(), LMDataConfig(cross_prompt_prob=1.0), utt2spk=u2s)
    sep = PhonemeVocab.default().encode(" ")
    for i in range(len(ds)):
        item = ds[i]
        ids = item["phonemes"].tolist()
        assert ids[-len(ds.ids[i]):] == ds.ids[i] and ids[-len(ds.ids[i]) - 1] == sep[0]
        prompt_ids = ids[: -len(ds.ids[i]) - 1]
        matches = [k for k in range(len(ds)) if k != i and ds.ids[k] == prompt_ids
                   and ds.num_frames[k] == item["prompt_len"] and u2s[ds.utts[k]] == u2s[ds.utts[i]]]
        assert matches, f"prompt of {ds.utts[i]} is not another utterance of its speaker"
        assert item["frames"].shape[0] == item["prompt_len"] + ds.num_frames[i]


def test_exclude_utts_leaves_matching_utterances_out(dump):
    phn, lat, _ = dump
    everything = LMDataset(phn, lat, PhonemeVocab.default())
    drop = set(everything.utts[::3])
    pattern = "^(" + "|".join(sorted(drop)) + ")$"
    ds = LMDataset(phn, lat, PhonemeVocab.default(), LMDataConfig(exclude_utts=pattern))
    assert ds.utts == [u for u in everything.utts if u not in drop] and len(ds) < len(everything)
    for i in range(len(ds)):  # nor are they anyone's cross-utterance prompt
        assert all(ds.utts[k] not in drop for k in ds.spk_prompts[i])
    with pytest.raises(ValueError, match="exclude_utts is not a regular expression"):
        LMDataConfig(exclude_utts="(")


def test_examples_depend_only_on_seed_epoch_and_index(dump):
    phn, lat, _ = dump
    ds = LMDataset(phn, lat, PhonemeVocab.default())
    a = [ds[i]["prompt_len"] for i in range(len(ds))]
    assert a == [ds[i]["prompt_len"] for i in range(len(ds))]
    ds.set_epoch(1)
    assert a != [ds[i]["prompt_len"] for i in range(len(ds))]


def test_collate_pads_and_reports_lengths(dump):
    phn, lat, _ = dump
    ds = LMDataset(phn, lat, PhonemeVocab.default())
    batch = collate_lm([ds[0], ds[1], ds[2]])
    assert batch["frames"].shape[0] == 3 and batch["phonemes"].shape[0] == 3
    for k in range(3):
        n = int(batch["frame_lens"][k])
        assert torch.all(batch["frames"][k, n:] == 0) and torch.all(batch["phonemes"][k, batch["phoneme_lens"][k]:] == 0)


def test_collate_pads_to_a_multiple_when_asked(dump):
    phn, lat, _ = dump
    ds = LMDataset(phn, lat, PhonemeVocab.default())
    items = [ds[0], ds[1], ds[2]]
    tight, padded = collate_lm(items), collate_lm(items, pad_multiple=16)
    assert padded["phonemes"].shape[1] % 16 == 0 and padded["frames"].shape[1] % 16 == 0
    assert padded["phonemes"].shape[1] - tight["phonemes"].shape[1] < 16
    for key in ("phoneme_lens", "frame_lens", "prompt_lens"):
        assert torch.equal(padded[key], tight[key])
    n, p = tight["frames"].shape[1], tight["phonemes"].shape[1]
    assert torch.equal(padded["frames"][:, :n], tight["frames"]) and torch.all(padded["frames"][:, n:] == 0)
    assert torch.equal(padded["phonemes"][:, :p], tight["phonemes"]) and torch.all(padded["phonemes"][:, p:] == 0)


def test_dynamic_batches_respect_the_padded_budget_and_cover_everything():
    rng = np.random.default_rng(0)
    lengths = rng.integers(10, 300, size=500).tolist() + [1000]
    batches = make_batches(lengths, 1200, np.random.default_rng(1))
    assert sorted(i for b in batches for i in b) == list(range(501))
    for b in batches:
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 1200
    assert any(len(b) > 4 for b in batches)  # short items are grouped


def test_batch_sampler_is_ddp_aware_and_epoch_seeded():
    lengths = np.random.default_rng(0).integers(10, 300, size=400).tolist()
    ranks = [DynamicBatchSampler(lengths, 1000, seed=3, rank=r, world_size=3) for r in range(3)]
    per_rank = [list(s) for s in ranks]
    assert len({len(p) for p in per_rank}) == 1  # same number of steps on every rank
    flat = [i for p in per_rank for b in p for i in b]
    assert len(flat) == len(set(flat))  # no item on two ranks
    again = DynamicBatchSampler(lengths, 1000, seed=3, rank=0, world_size=3)
    assert list(again) == per_rank[0]
    again.set_epoch(1)
    assert list(again) != per_rank[0]


def test_train_lm_runs_validates_checkpoints_and_resumes(dump, tmp_path, capsys, caplog):
    phn, lat, data = dump
    exp = tmp_path / "exp"
    args = ["train-lm", "--config", "egs/synth/tts1/conf/lm_tiny.yaml", "--data", str(phn), "--latents", str(lat),
            "--data-dir", str(data), "--exp-dir", str(exp), "--set", "train.max_steps=6", "--set", "train.save_every=3",
            "--set", "train.ema_decay=0.9"]
    assert main(args + ["--valid-data", str(phn), "--valid-latents", str(lat), "--set", "train.valid_every=3"]) == 0
    assert any(r.getMessage().startswith("step 3 valid loss") for r in caplog.records)
    ckpts = sorted((exp / "checkpoints").glob("step_*.pt"))
    assert [p.name for p in ckpts] == ["step_00000003.pt", "step_00000006.pt"]
    assert (exp / "config.yaml").is_file() and (exp / "vocab.yaml").is_file() and (exp / "vae.yaml").is_file()
    assert main(args) == 1  # refuses to overwrite without --resume
    assert "--resume" in capsys.readouterr().err
    assert main(args[:-6] + ["--set", "train.max_steps=8", "--set", "train.ema_decay=0.9", "--resume"]) == 0
    state = torch.load(exp / "checkpoints" / "step_00000008.pt", weights_only=True)
    assert state["step"] == 8 and "ema" in state


def test_training_path_imports_no_audio_or_phonemizer_stack():
    code = ("import sys, latentspeech.lm.train, latentspeech.cli.lm; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('phonemizer', 'librosa', 'soundfile', 'encodec', 'soxr', 'espeakng_loader')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_train_lm_stops_at_its_time_budget_and_resumes(dump, tmp_path, caplog, capsys):
    phn, lat, _ = dump
    exp = tmp_path / "exp"
    args = ["train-lm", "--config", "egs/synth/tts1/conf/lm_tiny.yaml", "--data", str(phn), "--latents", str(lat),
            "--exp-dir", str(exp), "--set", "train.max_steps=50", "--set", "train.save_every=1000"]
    assert main(args + ["--set", "train.max_minutes=0.000001"]) == 0  # out of time after the first step
    assert any("max_minutes" in r.getMessage() for r in caplog.records)
    assert [p.name for p in (exp / "checkpoints").glob("step_*.pt")] == ["step_00000001.pt"]
    assert not (exp / "finished").exists()  # a recipe must not mark this stage done
    config = (exp / "config.yaml").read_text()
    assert main(args + ["--set", "model.d_model=32", "--resume"]) == 1  # another model: one line, nothing written
    err = capsys.readouterr().err
    assert "was trained with another model config (d_model: 64 → 32" in err.splitlines()[-1]
    assert "Traceback" not in err
    assert (exp / "config.yaml").read_text() == config
    # resumed with an EMA the checkpoint lacks: it starts from the resumed weights (decay 1 keeps it there)
    assert main(args + ["--set", "train.max_steps=3", "--set", "train.ema_decay=1.0", "--resume"]) == 0
    first = torch.load(exp / "checkpoints" / "step_00000001.pt", weights_only=True)
    state = torch.load(exp / "checkpoints" / "step_00000003.pt", weights_only=True)
    assert state["step"] == 3 and state["ema"].keys() <= first["model"].keys()
    assert (exp / "finished").read_text() == "3\n"
    for name, ema in state["ema"].items():
        torch.testing.assert_close(ema, first["model"][name].float())


def test_train_lm_profiles_a_window_of_steps(dump, tmp_path):
    phn, lat, _ = dump
    exp = tmp_path / "exp"
    args = ["train-lm", "--config", "egs/synth/tts1/conf/lm_tiny.yaml", "--data", str(phn), "--latents", str(lat),
            "--exp-dir", str(exp), "--set", "train.max_steps=9", "--set", "train.save_every=1000",
            "--set", "train.profile_steps=3"]
    assert main(args) == 0
    text = (exp / "profile.txt").read_text()
    first = text.splitlines()[0]
    assert first.startswith("profiled 3 steps on cpu: wall ") and "ms/step" in first
    wall = float(first.split("wall ")[1].split(" ms")[0])
    assert wall > 0
    assert "ops by host time:" in text and "aten::" in text  # the op table
    assert torch.load(exp / "checkpoints" / "step_00000009.pt", weights_only=True)["step"] == 9


def test_train_lm_profile_window_cut_short_writes_nothing(dump, tmp_path):
    phn, lat, _ = dump
    exp = tmp_path / "exp"
    args = ["train-lm", "--config", "egs/synth/tts1/conf/lm_tiny.yaml", "--data", str(phn), "--latents", str(lat),
            "--exp-dir", str(exp), "--set", "train.max_steps=4", "--set", "train.profile_steps=3"]
    assert main(args) == 0
    assert not (exp / "profile.txt").exists()


def test_profile_kernel_time_leaves_out_the_step_annotations():
    from types import SimpleNamespace

    from latentspeech.training import kernel_ms

    events = [SimpleNamespace(key="ProfilerStep*", self_device_time_total=3_884_000, is_user_annotation=True),
              SimpleNamespace(key="aten::mm", self_device_time_total=38_000, is_user_annotation=False),
              SimpleNamespace(key="void elementwise_kernel<...>", self_device_time_total=2_000)]
    assert kernel_ms(events) == pytest.approx(40.0)


def test_train_lm_rejects_an_unknown_attention_kernel_before_any_work(tmp_path, capsys):
    exp = tmp_path / "exp"
    args = ["train-lm", "--config", "egs/synth/tts1/conf/lm_tiny.yaml", "--data", str(tmp_path / "missing"),
            "--latents", str(tmp_path / "missing"), "--exp-dir", str(exp),
            "--set", "train.attention_backends=[flash, fast]"]
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert "train.attention_backends" in err and "'fast'" in err and len(err.splitlines()) == 1


def test_train_lm_with_padded_shapes_takes_the_same_steps(dump, tmp_path):
    phn, lat, _ = dump
    weights = []
    for pad in (0, 16):
        exp = tmp_path / f"exp{pad}"
        assert main(["train-lm", "--config", "egs/synth/tts1/conf/lm_tiny.yaml", "--data", str(phn), "--latents",
                     str(lat), "--exp-dir", str(exp), "--set", "train.max_steps=2", "--set", "model.ctc_weight=0.2",
                     "--set", f"data.pad_multiple={pad}"]) == 0
        weights.append(torch.load(exp / "checkpoints" / "step_00000002.pt", weights_only=True)["model"])
    for k, v in weights[0].items():
        torch.testing.assert_close(weights[1][k], v, rtol=1e-4, atol=1e-5)


def test_validation_on_padded_shapes_gives_the_same_losses(dump):
    import functools

    from helpers_lm import tiny_lm
    from latentspeech.lm.train import evaluate

    phn, lat, _ = dump
    data = LMDataset(phn, lat, PhonemeVocab.default(), LMDataConfig(cross_prompt_prob=0.0))
    lm = tiny_lm(vocab_size=len(PhonemeVocab.default()), ctc_weight=0.2)
    results = []
    for pad in (0, 16):
        loader = torch.utils.data.DataLoader(data, batch_size=4, collate_fn=functools.partial(collate_lm,
                                                                                             pad_multiple=pad))
        results.append(evaluate(lm, loader, torch.device("cpu"), fixed_length=pad > 0))
    assert results[0].keys() == results[1].keys()
    for k, v in results[0].items():
        assert results[1][k] == pytest.approx(v, rel=1e-4, abs=1e-6), k


def _history_dump(lat, out, offset=100.0, skip=()):
    """A history dump frame-aligned with `lat`: every frame + offset (easy to tell from the true ones)."""
    from latentspeech.data.datasets import read_latent_index

    (out / "latents").mkdir(parents=True)
    scp, n2f = [], []
    for utt, (path, n) in read_latent_index(lat).items():
        if utt in skip:
            continue
        np.save(out / "latents" / f"{utt}.npy", (np.load(path).astype(np.float32) + offset).astype(np.float16))
        scp.append(f"{utt} {out / 'latents' / (utt + '.npy')}\n")
        n2f.append(f"{utt} {n}\n")
    (out / "latents.scp").write_text("".join(scp))
    (out / "utt2num_frames").write_text("".join(n2f))
    return out


@pytest.mark.parametrize("cross", [0.0, 1.0])
def test_history_frames_replace_target_inputs_only_and_leave_targets_and_prompts_true(dump, tmp_path, cross):
    phn, lat, data = dump
    from latentspeech.data.datasets import read_map

    hist = _history_dump(lat, tmp_path / "hist")
    u2s = read_map(data / "utt2spk")
    vocab = PhonemeVocab.default()
    plain = LMDataset(phn, lat, vocab, LMDataConfig(cross_prompt_prob=cross), utt2spk=u2s)
    for prob, share in ((1.0, (1.0, 1.0)), (0.5, (0.2, 0.8))):
        config = LMDataConfig(cross_prompt_prob=cross, history_latents=str(hist), history_prob=prob)
        ds = LMDataset(phn, lat, vocab, config, utt2spk=u2s)
        swapped = total = 0
        for i in range(len(ds)):
            item, ref = ds[i], plain[i]
            assert torch.equal(item["frames"], ref["frames"]) and item["prompt_len"] == ref["prompt_len"]  # targets
            p = item["prompt_len"]
            assert torch.equal(item["history"][:p], item["frames"][:p])           # the prompt stays real
            moved = (item["history"][p:] - item["frames"][p:]).abs().amax(-1)     # + 100 where swapped, else 0
            assert bool(((moved > 99) | (moved == 0)).all())
            swapped, total = swapped + int((moved > 99).sum()), total + moved.numel()
        assert share[0] <= swapped / total <= share[1]
    batch = collate_lm([ds[0], plain[1]])
    assert torch.equal(batch["history"][1, : plain[1]["frames"].shape[0]], plain[1]["frames"])  # no history: true
    assert "history" not in collate_lm([plain[0], plain[1]])


def test_history_dump_checks(dump, tmp_path):
    phn, lat, _ = dump
    vocab = PhonemeVocab.default()
    hist = _history_dump(lat, tmp_path / "hist", skip={"spk0_u000"})
    ds = LMDataset(phn, lat, vocab, LMDataConfig(cross_prompt_prob=0.0, history_latents=str(hist), history_prob=1.0))
    assert "history" not in ds[ds.utts.index("spk0_u000")]                     # not in the dump: teacher forced
    assert "history" in ds[ds.utts.index("spk1_u001")]
    np.save(hist / "latents" / "spk1_u001.npy", np.zeros((3, 8), np.float16))  # frames that do not line up
    from latentspeech.errors import DataDirError

    with pytest.raises(DataDirError, match="history frames of 'spk1_u001' have shape"):
        ds[ds.utts.index("spk1_u001")]
    with pytest.raises(ValueError, match="history_prob > 0 needs data.history_latents"):
        LMDataConfig(history_prob=0.5)
    with pytest.raises(ValueError, match=r"history_prob must be in \[0, 1\]"):
        LMDataConfig(history_latents=str(hist), history_prob=1.5)


def test_train_lm_with_history_frames_trains_and_validates_on_true_histories(dump, tmp_path, caplog, monkeypatch):
    import latentspeech.lm.train as train

    phn, lat, _ = dump
    hist = _history_dump(lat, tmp_path / "hist", offset=3.0)
    weights, probs = {}, []

    class Recording(LMDataset):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            probs.append(self.config.history_prob)

    monkeypatch.setattr(train, "LMDataset", Recording)
    for name, extra in (("tf", []), ("ss", ["--set", f"data.history_latents={hist}", "--set", "data.history_prob=1"])):
        caplog.clear()
        exp = tmp_path / name
        assert main(["train-lm", "--config", "egs/synth/tts1/conf/lm_tiny.yaml", "--data", str(phn), "--latents",
                     str(lat), "--exp-dir", str(exp), "--valid-data", str(phn), "--valid-latents", str(lat),
                     "--set", "train.max_steps=2", "--set", "train.valid_every=2", *extra]) == 0
        weights[name] = torch.load(exp / "checkpoints" / "step_00000002.pt", weights_only=True)["model"]
        if name == "ss":
            assert any("have history frames in" in r.getMessage() for r in caplog.records)
            assert probs[-2:] == [1.0, 0.0]                                                 # training, validation
    assert any(not torch.equal(v, weights["ss"][k]) for k, v in weights["tf"].items())  # other inputs, other steps
