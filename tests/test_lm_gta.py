"""Ground-truth-aligned latents (lm/gta.py): teacher forcing matches free-running decoding, dumps pair with audio."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from helpers_lm import make_dump, make_tts_dir, tiny_lm
from latentspeech.errors import DataDirError
from latentspeech.lm.decoding import DecodeConfig
from latentspeech.lm.generate import Generator
from latentspeech.lm.gta import dump_gta_latents, gta_frames, gta_prompt_len


def _lively_lm():
    """A tiny LM whose diffusion head is not at its zero-output init and which never stops."""
    lm = tiny_lm(seed=3)
    with torch.no_grad():
        for p in lm.head.parameters():
            p.add_(0.2 * torch.randn_like(p))
        lm.stop_head.weight.zero_()
        lm.stop_head.bias.fill_(-10.0)
    return lm


@pytest.mark.parametrize("cfg_scale", [1.0, 2.0])
def test_teacher_forcing_on_the_lms_own_frames_gives_them_back(cfg_scale):
    # temperature 0: the solver is deterministic, so frame k depends only on the state over frames < k; fed its own
    # output as "ground truth", GTA must reproduce what KV-cache decoding made
    lm = _lively_lm()
    decode = DecodeConfig(steps=4, cfg_scale=cfg_scale, temperature=0.0, max_seconds=0.4)
    phonemes, prompt = torch.randint(2, 80, (12,)), torch.randn(5, 8)
    made = Generator(lm, decode, frame_rate=25.0).generate(phonemes, prompt).frames  # [10, 8]
    assert made.shape == (10, 8) and made.abs().mean() > 0.05
    gta = gta_frames(lm, phonemes, torch.cat([prompt, made]), 5, decode)
    torch.testing.assert_close(gta[:5], prompt, rtol=0, atol=0)
    torch.testing.assert_close(gta[5:], made, rtol=1e-4, atol=1e-4)


def test_gta_is_seeded_and_keeps_the_prompt():
    lm = _lively_lm()
    decode = DecodeConfig(steps=3, cfg_scale=2.5, temperature=0.5)
    phonemes, frames = torch.randint(2, 80, (9,)), torch.randn(14, 8)
    a, b, c = (gta_frames(lm, phonemes, frames, 4, decode, torch.Generator().manual_seed(s)) for s in (1, 1, 2))
    assert a.shape == frames.shape
    assert torch.equal(a, b) and not torch.allclose(a[4:], c[4:])
    assert torch.equal(a[:4], frames[:4]) and torch.equal(c[:4], frames[:4])
    with pytest.raises(ValueError, match="prompt_len"):
        gta_frames(lm, phonemes, frames, 14, decode)


def test_prompt_length_is_capped_by_seconds_and_half_the_utterance():
    assert gta_prompt_len(100, 12.5, 3.0) == 38       # 3 s
    assert gta_prompt_len(20, 12.5, 3.0) == 10        # half
    assert gta_prompt_len(2, 12.5, 3.0) == 1 and gta_prompt_len(3, 12.5, 0.0) == 1


def test_dump_pairs_frame_by_frame_with_the_source_and_shards_resume(tmp_path):
    torch.set_num_threads(1)
    model = make_tts_dir(tmp_path / "tts")
    phn, lat, _ = make_dump(tmp_path)  # 25 Hz x 8, like the tiny model's VAE
    full = dump_gta_latents(model, phn, lat, tmp_path / "gta", max_utts=6, prompt_seconds=0.1)
    scp = (full / "latents.scp").read_text().split("\n")
    assert len([x for x in scp if x]) == 6
    assert yaml.safe_load((full / "vae.yaml").read_text()) == yaml.safe_load((lat / "vae.yaml").read_text())
    changed = 0
    for line in filter(None, scp):
        utt, rel = line.split()
        src, gta = np.load(lat / "latents" / f"{utt}.npy"), np.load(full / rel)
        assert gta.shape == src.shape and gta.dtype == np.float16
        p = gta_prompt_len(len(src), 25.0, 0.1)
        assert np.array_equal(gta[:p], src[:p])
        changed += not np.allclose(gta[p:], src[p:])
    assert changed == 6
    # two shards into another dir: the same files, and the index appears once both are done
    sharded = tmp_path / "gta2"
    dump_gta_latents(model, phn, lat, sharded, max_utts=6, prompt_seconds=0.1, shard=(1, 2))
    assert not (sharded / "latents.scp").exists()
    dump_gta_latents(model, phn, lat, sharded, max_utts=6, prompt_seconds=0.1, shard=(2, 2))
    assert (sharded / "latents.scp").read_text() == (full / "latents.scp").read_text().replace("gta/", "gta2/")
    for f in (full / "latents").iterdir():
        assert np.array_equal(np.load(f), np.load(sharded / "latents" / f.name))


def test_dump_refuses_latents_of_another_vae(tmp_path):
    model = make_tts_dir(tmp_path / "tts")
    phn, lat, _ = make_dump(tmp_path, latent_dim=16)
    with pytest.raises(DataDirError, match="16-dim latents"):
        dump_gta_latents(model, phn, lat, tmp_path / "gta")


def test_cli_names_a_missing_dump_dir(tmp_path, capsys):
    from latentspeech.cli import main

    assert main(["dump-gta-latents", "--data", str(tmp_path / "nope"), "--latents", str(tmp_path),
                 "--out", str(tmp_path / "o")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--data" in err[0] and "does not exist" in err[0]
