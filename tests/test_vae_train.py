"""σ-VAE training properties on the tiny config: the loss falls, resume is exact, the run exports a model dir."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentspeech.errors import ConfigError
from latentspeech.training import Checkpointer
from latentspeech.vae.losses import MultiResolutionMelLoss, MultiResolutionSTFTLoss
from latentspeech.vae.model import SigmaVAE

from helpers_vae import make_data_dir, make_model_dir, speechy_wav, tiny_model_config, tiny_train_config


def test_mel_loss_falls_by_15_percent_in_20_steps_on_one_clip():
    torch.set_num_threads(1)
    model = SigmaVAE(tiny_model_config()).train()
    mel, stft = MultiResolutionMelLoss(16_000, (256, 512), (20, 40)), MultiResolutionSTFTLoss((256, 512))
    wav = torch.from_numpy(speechy_wav(0.64)).view(1, 1, -1)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    history = []
    for _ in range(20):
        out = model(wav)
        m = mel(out.wav, wav)
        loss = m + 0.5 * stft(out.wav, wav) + 1e-2 * out.reg
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        history.append(m.item())
    assert min(history[-3:]) < 0.85 * history[0], history


@pytest.mark.slow
def test_resume_continues_at_the_saved_step_with_the_same_next_loss(tmp_path):
    from latentspeech.vae.train import train_vae

    torch.set_num_threads(1)
    data = make_data_dir(tmp_path / "data")
    cfg = tiny_train_config(["train.max_steps=4", "train.save_every=2", "loss.gan_start_step=1",
                             "train.valid_every=100"])
    full = train_vae(cfg, str(data), str(tmp_path / "exp"))
    ckpt = Checkpointer(tmp_path / "exp")
    assert [p.name for p in ckpt.list()] == ["step_00000002.pt", "step_00000004.pt"]
    ckpt.path_for(4).unlink()
    resumed = train_vae(cfg, str(data), str(tmp_path / "exp"), resume=True)
    assert len(resumed) == 2  # steps 3 and 4 only
    assert resumed == pytest.approx(full[2:], rel=1e-6, abs=1e-7)


def test_preloaded_crops_equal_crops_read_from_disk(tmp_path):
    from latentspeech.vae.train import CropSampler, read_utterance_list

    items = read_utterance_list(make_data_dir(tmp_path / "data", n=3))
    disk = CropSampler(items, 16_000, 4000, seed=7)
    memory = CropSampler(items, 16_000, 4000, seed=7, preload=True)
    for step in (1, 2, 3):
        torch.testing.assert_close(memory.batch(step, 4), disk.batch(step, 4), rtol=0, atol=0)
    assert set(memory.cache) <= {0, 1, 2} and memory.cache and disk.cache is None


def test_max_minutes_stops_saves_and_exports_a_resumable_run(tmp_path):
    from latentspeech.vae.train import train_vae

    torch.set_num_threads(1)
    data = make_data_dir(tmp_path / "data")
    cfg = tiny_train_config(["train.max_steps=50", "train.save_every=100", "loss.gan_start_step=100",
                             "train.valid_every=100", "train.max_minutes=1e-6", "data.preload=true"])
    losses = train_vae(cfg, str(data), str(tmp_path / "exp"))
    assert len(losses) == 1  # the deadline had passed after the first step
    assert [p.name for p in Checkpointer(tmp_path / "exp").list()] == ["step_00000001.pt"]
    assert (tmp_path / "exp" / "model" / "config.yaml").is_file()
    assert not (tmp_path / "exp" / "finished").exists()  # a recipe must not mark this stage done
    cfg.train.max_minutes = 0.0
    cfg.train.max_steps = 3
    with pytest.raises(ConfigError, match=r"another model/discriminator config \(loss.disc.msstft_filters: "):
        train_vae(tiny_train_config(["train.max_steps=3", "loss.disc.msstft_filters=6"]), str(data),
                  str(tmp_path / "exp"), resume=True)
    assert len(train_vae(cfg, str(data), str(tmp_path / "exp"), resume=True)) == 2  # steps 2 and 3
    assert (tmp_path / "exp" / "finished").read_text() == "3\n"
    with pytest.raises(ConfigError, match="already has checkpoints; pass --resume"):
        train_vae(cfg, str(data), str(tmp_path / "exp"))  # a fresh run would prune this run's checkpoints
    model_config = tmp_path / "exp" / "model" / "config.yaml"
    assert "train_step: 3" in model_config.read_text()
    model_config.unlink()  # as if the run had died while exporting: resuming with no steps left exports
    assert len(train_vae(cfg, str(data), str(tmp_path / "exp"), resume=True)) == 0
    assert "train_step: 3" in model_config.read_text()
    assert SigmaVAE.from_pretrained(str(tmp_path / "exp" / "model")).latent_dim == cfg.model.latent_dim


def test_validation_leaves_out_clips_shorter_than_a_frame(tmp_path, caplog):
    import soundfile as sf

    from latentspeech.vae.train import train_vae

    torch.set_num_threads(1)
    data, valid = make_data_dir(tmp_path / "data", n=2), make_data_dir(tmp_path / "valid", n=2)
    sf.write(valid / "wav" / "utt0.wav", np.zeros(100, np.float32) + 0.1, 16_000)  # 100 samples < hop
    cfg = tiny_train_config(["train.max_steps=2", "train.save_every=2", "train.valid_every=1"])
    train_vae(cfg, str(data), str(tmp_path / "exp"), valid_dir=str(valid))
    assert "1 validation utterances are shorter than one latent frame and left out: utt0" in caplog.text
    assert (tmp_path / "exp" / "finished").is_file()


@pytest.mark.slow
def test_training_writes_a_model_dir_with_latent_statistics_that_normalise(tmp_path):
    from latentspeech.vae.train import compute_latent_stats, read_utterance_list, train_vae

    torch.set_num_threads(1)
    data = make_data_dir(tmp_path / "data", n=4)
    train_vae(tiny_train_config(["train.max_steps=2", "train.valid_every=1"]), str(data), str(tmp_path / "exp"))
    assert (tmp_path / "exp" / "tensorboard").is_dir()
    vae = SigmaVAE.from_pretrained(str(tmp_path / "exp" / "model"))
    items = read_utterance_list(data)
    paths = [it.path for it in items]
    mean, std = compute_latent_stats(vae, items, max_utts=10)
    torch.testing.assert_close(vae.latent_mean, mean)
    torch.testing.assert_close(vae.latent_std, std)
    z = torch.cat([vae.encode(torch.from_numpy(__import__("soundfile").read(p, dtype="float32")[0]).view(1, 1, -1),
                              normalize=True)[0] for p in paths])
    torch.testing.assert_close(z.mean(0), torch.zeros(vae.latent_dim), atol=1e-4, rtol=0)
    torch.testing.assert_close(z.std(0, unbiased=False), torch.ones(vae.latent_dim), atol=1e-3, rtol=0)


@pytest.mark.slow
def test_frozen_encoder_stops_changing_while_the_decoder_keeps_training(tmp_path):
    from latentspeech.vae.train import load_training_model, train_vae

    torch.set_num_threads(1)
    data = make_data_dir(tmp_path / "data")
    exp = tmp_path / "exp"
    cfg = tiny_train_config(["train.max_steps=2", "train.save_every=1", "train.freeze_encoder_step=1",
                             "train.valid_every=100"])
    train_vae(cfg, str(data), str(exp))
    assert (exp / "model" / "model.safetensors").is_file()
    after_2, _, _ = load_training_model(exp)
    Checkpointer(exp).path_for(2).unlink()
    after_1, _, step = load_training_model(exp)
    assert step == 1
    for (name, a), b in zip(after_1.encoder.state_dict().items(), after_2.encoder.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    assert any(not torch.equal(a, b) for a, b in zip(after_1.decoder.parameters(), after_2.decoder.parameters()))


def _latent_dump(tmp_path, n: int = 3):
    from latentspeech.data.dump import dump_latents, read_utterance_list

    from helpers_vae import make_model_dir

    model = make_model_dir(tmp_path / "vae")
    data = make_data_dir(tmp_path / "data", n=n)
    out = dump_latents(data, model, tmp_path / "dump")
    return model, data, out, read_utterance_list(data)


def test_latent_crops_are_the_frames_of_the_audio_they_come_with(tmp_path):
    import soundfile as sf

    from latentspeech.vae.train import LatentCropSampler

    _, _, dump, items = _latent_dump(tmp_path)
    sampler = LatentCropSampler(items, dump, 16_000, 640, crop_frames=5, seed=0)
    wavs, lats = sampler.batch(step=3, batch_size=6)
    assert wavs.shape == (6, 1, 5 * 640) and lats.shape == (6, 5, 8)
    sources = {it.utt: (sf.read(it.path, dtype="float32")[0],
                        np.load(dump / "latents" / f"{it.utt}.npy").astype(np.float32)) for it in items}
    for wav, lat in zip(wavs[:, 0].numpy(), lats.numpy()):
        hits = [(u, f) for u, (a, z) in sources.items() for f in range(len(z) - 4) if np.array_equal(z[f:f + 5], lat)]
        assert len(hits) == 1
        u, f = hits[0]
        np.testing.assert_array_equal(wav, sources[u][0][f * 640:(f + 5) * 640])
    again = sampler.batch(step=3, batch_size=6)
    assert torch.equal(again[0], wavs) and torch.equal(again[1], lats)


def test_a_segments_data_dir_trains_on_its_segments_not_on_whole_recordings(tmp_path):
    """Audio outside every segment (here: a constant 0.5) never reaches a crop, a latent crop or the statistics."""
    import soundfile as sf

    from latentspeech.data.dump import dump_latents
    from latentspeech.vae.train import CropSampler, LatentCropSampler, compute_latent_stats, read_utterance_list

    data = tmp_path / "data"
    data.mkdir()
    rec = np.full(48_000, 0.5, dtype=np.float32)
    rec[8_000:24_000], rec[32_000:44_800] = speechy_wav(1.0, seed=1), speechy_wav(0.8, seed=2)
    sf.write(data / "rec.wav", rec, 16_000, subtype="FLOAT")
    (data / "wav.scp").write_text("rec rec.wav\n")
    (data / "segments").write_text("a rec 0.5 1.5\nb rec 2.0 2.8\n")
    (data / "utt2spk").write_text("a s\nb s\n")
    items = read_utterance_list(data)
    assert [(it.utt, it.span) for it in items] == [("a", (0.5, 1.5)), ("b", (2.0, 2.8))]
    crops = CropSampler(items, 16_000, 4000, seed=3)
    for step in range(8):
        assert not (crops.batch(step, 4) == 0.5).any()
    model = make_model_dir(tmp_path / "vae")
    dump = dump_latents(data, model, tmp_path / "dump")
    wavs, _ = LatentCropSampler(items, dump, 16_000, 640, crop_frames=5, seed=0).batch(1, 4)
    assert not (wavs == 0.5).any()
    vae = SigmaVAE.from_pretrained(str(model))
    whole = [it._replace(span=None) for it in items]  # the recording twice: its constant parts move the mean
    assert not torch.allclose(compute_latent_stats(vae, items, 2)[0], compute_latent_stats(vae, whole, 2)[0])


def test_latent_crops_refuse_a_dump_of_other_audio(tmp_path):
    from latentspeech.errors import DataDirError
    from latentspeech.vae.train import LatentCropSampler

    _, _, dump, items = _latent_dump(tmp_path, n=1)
    f = dump / "latents" / "utt0.npy"
    np.save(f, np.load(f)[:-2])
    with pytest.raises(DataDirError, match="frames but its audio"):
        LatentCropSampler(items, dump, 16_000, 640, crop_frames=5, seed=0).batch(0, 2)


def test_decoder_fine_tuning_on_given_latents(tmp_path, monkeypatch):
    from latentspeech.errors import ConfigError
    from latentspeech.vae.train import LatentCropSampler, load_training_model, train_vae

    torch.set_num_threads(1)
    model, data, dump, _ = _latent_dump(tmp_path)
    cfg = tiny_train_config(["train.max_steps=2", "loss.gan_start_step=100", "train.valid_every=100",
                             f"data.latents={dump}"])
    with pytest.raises(ConfigError, match="freeze_encoder"):
        train_vae(cfg, str(data), str(tmp_path / "exp0"), init_from=model)
    used = []
    real_batch = LatentCropSampler.batch
    monkeypatch.setattr(LatentCropSampler, "batch", lambda self, *a: used.append(a) or real_batch(self, *a))
    cfg.train.freeze_encoder = True
    losses = train_vae(cfg, str(data), str(tmp_path / "exp"), init_from=model)
    assert len(used) == 2 and all(np.isfinite(losses))
    init = SigmaVAE.from_pretrained(str(model))
    trained, _, _ = load_training_model(tmp_path / "exp")
    for (name, a), b in zip(init.encoder.state_dict().items(), trained.encoder.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    assert any(not torch.equal(a, b) for a, b in zip(init.decoder.parameters(), trained.decoder.parameters()))
    torch.testing.assert_close(trained.latent_std, init.latent_std)


def test_a_frozen_encoder_refuses_another_encoder_config_than_its_init(tmp_path):
    from latentspeech.errors import ConfigError
    from latentspeech.vae.train import train_vae

    torch.set_num_threads(1)
    data = make_data_dir(tmp_path / "data")
    init = make_model_dir(tmp_path / "init")
    cfg = tiny_train_config(["train.max_steps=1", "train.freeze_encoder=true", "model.causal=true",
                             "model.decoder_causal=false"])
    with pytest.raises(ConfigError, match=r"pass --set model.causal=false$"):
        train_vae(cfg, str(data), str(tmp_path / "exp"), init_from=init)
    cfg.model.causal = False
    cfg.model.sigma_std = 0.1  # decoder-side settings may change
    assert len(train_vae(cfg, str(data), str(tmp_path / "exp2"), init_from=init)) == 1



def test_a_gan_batch_size_above_the_batch_size_uses_the_whole_batch(tmp_path):
    from latentspeech.vae.train import train_vae

    torch.set_num_threads(1)
    data = make_data_dir(tmp_path / "data")
    cfg = tiny_train_config(["train.max_steps=1", "loss.gan_start_step=0", "loss.gan_batch_size=8",
                             "data.batch_size=2", "train.valid_every=100"])
    assert all(np.isfinite(train_vae(cfg, str(data), str(tmp_path / "exp"))))


def test_mel_resolutions_need_as_many_mel_sizes_as_fft_sizes():
    with pytest.raises(ConfigError, match=r"loss.mel_n_ffts \[512, 1024\] and loss.mel_n_mels \[40\] need one"):
        tiny_train_config(["loss.mel_n_ffts=[512,1024]", "loss.mel_n_mels=[40]"])
