"""Speaker similarity: cosine, EER on known trials, resemblyzer on espeak-ng voices, ECAPA from a local dir."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from helpers_eval import needs_espeak, espeak_corpus
from latentspeech.errors import InputError
from latentspeech.eval.speaker import (EcapaEmbedder, ResemblyzerEmbedder, cosine_similarity, equal_error_rate,
                                       load_embedder, read_trials)


def test_cosine_similarity_basics():
    a = np.array([1.0, 2.0, 3.0])
    assert cosine_similarity(a, 2 * a) == pytest.approx(1.0)
    assert cosine_similarity(a, -a) == pytest.approx(-1.0)
    assert cosine_similarity([1, 0], [0, 1]) == pytest.approx(0.0)
    assert cosine_similarity([0, 0], [1, 0]) == 0.0


def test_eer_of_known_trials():
    scores = [0.9, 0.8, 0.7, 0.3, 0.6, 0.5, 0.4, 0.2]
    labels = [1, 1, 1, 1, 0, 0, 0, 0]
    assert equal_error_rate(scores, labels) == pytest.approx((0.25, 0.6))
    assert equal_error_rate([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0])[0] == 0.0
    assert equal_error_rate([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0])[0] == 1.0
    with pytest.raises(InputError, match="both target"):
        equal_error_rate([0.1, 0.2], [1, 1])


def test_eer_of_two_gaussians_matches_theory():
    rng = np.random.default_rng(0)
    scores = np.r_[rng.normal(1.0, 1.0, 20_000), rng.normal(-1.0, 1.0, 20_000)]
    labels = np.r_[np.ones(20_000), np.zeros(20_000)]
    assert equal_error_rate(scores, labels)[0] == pytest.approx(0.1587, abs=0.006)  # Φ(-1)


def test_read_trials_resolves_paths_and_names_bad_lines(tmp_path):
    path = tmp_path / "trials.txt"
    path.write_text("1 a.wav b.wav\nnontarget a.wav /abs/c.wav\n")
    assert read_trials(path) == [(1, tmp_path / "a.wav", tmp_path / "b.wav"),
                                 (0, tmp_path / "a.wav", Path("/abs/c.wav"))]
    path.write_text("1 a.wav b.wav\nmaybe a.wav b.wav\n")
    with pytest.raises(InputError, match="trials.txt:2"):
        read_trials(path)


def test_backends_without_their_model_dir_say_what_they_need(tmp_path):
    with pytest.raises(InputError, match="needs --model-dir"):
        load_embedder("ecapa")
    with pytest.raises(InputError, match="lacks hyperparams.yaml"):
        load_embedder("ecapa", tmp_path)
    with pytest.raises(InputError, match="needs --model-dir"):
        load_embedder("wavlm", tmp_path / "missing")
    with pytest.raises(InputError, match="unknown speaker backend"):
        load_embedder("xvector")


@pytest.fixture(scope="module")
def resemblyzer_embedder():
    pytest.importorskip("resemblyzer")
    return ResemblyzerEmbedder()


@pytest.fixture(scope="module")
def voices(tmp_path_factory):
    return espeak_corpus(tmp_path_factory.getbasetemp() / "eval_espeak")


@pytest.mark.system
@needs_espeak
def test_resemblyzer_sim_of_a_file_with_itself_is_one(resemblyzer_embedder, voices):
    from latentspeech.audio.io import load_audio

    wav, sr = load_audio(voices["m3"][0], sample_rate=22_050)  # resampled inside embed
    emb = resemblyzer_embedder.embed(wav, sr)
    assert emb.shape == (256,) and emb.dtype == np.float32
    assert cosine_similarity(emb, resemblyzer_embedder.embed(wav, sr)) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.system
@needs_espeak
def test_resemblyzer_same_voice_is_more_similar_than_other_voices(resemblyzer_embedder, voices):
    from latentspeech.audio.io import load_audio

    emb = {(v, i): resemblyzer_embedder.embed(*load_audio(p, sample_rate=16_000))
           for v, paths in voices.items() for i, p in enumerate(paths)}
    same, diff = [], []
    for (ka, ea), (kb, eb) in itertools.combinations(emb.items(), 2):
        (same if ka[0] == kb[0] else diff).append(cosine_similarity(ea, eb))
    assert np.mean(same) > np.mean(diff) + 0.05
    labels = np.r_[np.ones(len(same)), np.zeros(len(diff))]
    assert equal_error_rate(np.r_[same, diff], labels)[0] < 0.25


TINY_ECAPA_YAML = """\
pretrained_path: speechbrain/spkrec-ecapa-voxceleb
sample_rate: 16000
n_mels: 24
compute_features: !new:speechbrain.lobes.features.Fbank
    n_mels: !ref <n_mels>
mean_var_norm: !new:speechbrain.processing.features.InputNormalization
    norm_type: sentence
    std_norm: False
embedding_model: !new:speechbrain.lobes.models.ECAPA_TDNN.ECAPA_TDNN
    input_size: !ref <n_mels>
    channels: [32, 32, 32, 32, 96]
    attention_channels: 16
    lin_neurons: 24
pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer
    loadables:
        embedding_model: !ref <embedding_model>
    paths:
        embedding_model: !ref <pretrained_path>/embedding_model.ckpt
"""


@pytest.fixture(scope="module")
def ecapa_dir(tmp_path_factory):
    """A speechbrain-layout ECAPA dir with random weights (hub id in the yaml, as speechbrain ships it)."""
    pytest.importorskip("speechbrain")
    import torch
    from hyperpyyaml import load_hyperpyyaml

    d = tmp_path_factory.mktemp("ecapa")
    (d / "hyperparams.yaml").write_text(TINY_ECAPA_YAML)
    model = load_hyperpyyaml(TINY_ECAPA_YAML)["embedding_model"]
    torch.save(model.state_dict(), d / "embedding_model.ckpt")
    return d


def test_ecapa_loads_from_a_local_dir_without_the_hub_and_embeds(ecapa_dir, sine_wav, monkeypatch):
    import speechbrain.utils.fetching

    def no_network(*args, **kwargs):
        raise AssertionError("tried to fetch")

    monkeypatch.setattr(speechbrain.utils.fetching, "fetch", no_network)
    wav, sr = sine_wav
    emb = load_embedder("ecapa", ecapa_dir)
    a = emb.embed(wav, sr)
    assert a.shape == (24,) and np.isfinite(a).all()
    np.testing.assert_allclose(emb.embed(wav, sr), a, rtol=1e-5, atol=1e-6)  # eval mode: deterministic
    b = emb.embed(wav[::-1].copy() * np.linspace(0, 1, wav.size, dtype=np.float32), sr)
    assert cosine_similarity(a, a) == pytest.approx(1.0) and cosine_similarity(a, b) < 0.9999


def test_ecapa_checkpoint_that_does_not_match_is_an_input_error(ecapa_dir, tmp_path, sine_wav):
    import shutil

    import torch

    bad = tmp_path / "bad"
    shutil.copytree(ecapa_dir, bad)
    torch.save({"blocks.0.conv.conv.weight": torch.zeros(1)}, bad / "embedding_model.ckpt")
    with pytest.raises(InputError, match="does not match hyperparams.yaml"):
        EcapaEmbedder(bad).embed(*sine_wav)
