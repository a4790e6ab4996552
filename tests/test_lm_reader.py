"""LatentReader (the best-of-N judge): CTC shapes and scores, training (loss falls, resume), bundling into a tts
model dir (add-reader), and best-of-N ranked by it."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from helpers_lm import make_dump, make_tts_dir, tiny_lm
from latentspeech.cli import main
from latentspeech.lm.decoding import DecodeConfig
from latentspeech.lm.generate import Generator
from latentspeech.lm.reader import LatentReader, ReaderConfig

TINY = dict(latent_dim=8, vocab_size=80, d_model=32, n_layer=1, n_head=2, ff_mult=2, upsample=3, dropout=0.0)
TRAIN_SET = ["--set", "model.d_model=32", "--set", "model.n_layer=1", "--set", "model.n_head=2",
             "--set", "model.dropout=0.0", "--set", "train.max_batch_seconds=4", "--set", "train.log_every=5",
             "--set", "optim.warmup_steps=2"]


def test_log_probs_have_upsample_slots_per_frame_and_padding_does_not_leak():
    torch.manual_seed(0)
    reader = LatentReader(ReaderConfig(**TINY)).eval()
    x = torch.randn(2, 7, 8)
    logp = reader(x, torch.tensor([7, 4]))
    assert logp.shape == (2, 21, 81)
    assert torch.allclose(logp.exp().sum(-1), torch.ones(2, 21), atol=1e-5)
    alone = reader(x[1:, :4], torch.tensor([4]))
    # the second example's first 4 frames read the same whatever its padding holds
    assert torch.allclose(logp[1, :12], alone[0], atol=1e-5)
    x[1, 4:] = 100.0
    assert torch.allclose(reader(x, torch.tensor([7, 4]))[1, :12], alone[0], atol=1e-5)


def test_scores_are_per_candidate_and_inf_when_too_short_to_spell_the_text():
    torch.manual_seed(0)
    reader = LatentReader(ReaderConfig(**TINY)).eval()
    phonemes = torch.randint(2, 80, (7,))
    long, short = torch.randn(6, 8), torch.randn(2, 8)  # 2 frames = 6 CTC slots < 7 phonemes
    scores = reader.scores([long, short, torch.zeros(0, 8)], phonemes)
    assert torch.isfinite(scores[0]) and scores[1] == float("inf") and scores[2] == float("inf")
    alone = reader.scores([long], phonemes)
    assert scores[0] == pytest.approx(float(alone[0]), abs=1e-4)  # batching candidates changes nothing


def test_config_errors():
    with pytest.raises(ValueError, match="multiple of n_head"):
        ReaderConfig(d_model=30, n_head=4)
    with pytest.raises(ValueError, match="odd"):
        ReaderConfig(conv_kernel=4)


def test_training_lowers_the_ctc_loss_and_resumes(tmp_path):
    phn, lat, _ = make_dump(tmp_path, n_utts=12, latent_dim=8)
    exp = tmp_path / "exp_reader"
    args = ["train-reader", "--config", "egs/synth/tts1/conf/reader.yaml", "--data", str(phn), "--latents", str(lat),
            "--valid-data", str(phn), "--valid-latents", str(lat), "--exp-dir", str(exp), *TRAIN_SET]
    from latentspeech.lm.train_reader import _dataset, evaluate_reader
    from latentspeech.lm.train import load_vocab
    from latentspeech.data.batching import DynamicBatchSampler
    from latentspeech.data.datasets import collate_lm
    from latentspeech.pretrained import load_reader

    vocab, _ = load_vocab(phn)
    data = _dataset(str(phn), str(lat), vocab, 0)
    loader = torch.utils.data.DataLoader(data, batch_sampler=DynamicBatchSampler(data.lengths, 100, shuffle=False),
                                         collate_fn=collate_lm)
    assert main(args + ["--set", "train.max_steps=2"]) == 0
    early = evaluate_reader(load_reader(exp, vocab, 8), loader)
    assert main(args + ["--set", "train.max_steps=60", "--resume"]) == 0
    assert sorted(p.name for p in (exp / "checkpoints").iterdir())[-1] == "step_00000060.pt"
    late = evaluate_reader(load_reader(exp, vocab, 8), loader)
    assert late < 0.7 * early
    assert main(args + ["--set", "train.max_steps=60"]) == 1  # checkpoints there and no --resume: refused


def test_train_reader_names_a_missing_dump_dir_in_one_line(tmp_path, capsys):
    code = main(["train-reader", "--config", "egs/synth/tts1/conf/reader.yaml", "--data", str(tmp_path / "nope"),
                 "--latents", str(tmp_path), "--exp-dir", str(tmp_path / "exp")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1 and "--data directory" in err and "nope" in err


def _prompt(tmp_path):
    t = np.arange(24_000) / 16_000
    path = tmp_path / "p.wav"
    sf.write(path, (0.3 * np.sin(2 * np.pi * 190 * t)).astype(np.float32), 16_000)
    return str(path)


def test_add_reader_bundles_it_and_best_of_n_is_judged_by_it(tmp_path, capsys):
    from latentspeech.api import TTS
    from latentspeech.errors import InputError

    phn, lat, _ = make_dump(tmp_path, n_utts=8, latent_dim=8)
    exp = tmp_path / "exp_reader"
    assert main(["train-reader", "--config", "egs/synth/tts1/conf/reader.yaml", "--data", str(phn), "--latents",
                 str(lat), "--exp-dir", str(exp), *TRAIN_SET, "--set", "train.max_steps=2"]) == 0
    model = make_tts_dir(tmp_path / "tts", stop_bias=-10.0)  # no CTC head: only the reader can judge
    out = tmp_path / "tts_reader"
    assert main(["add-reader", "--model", str(model), "--reader", str(exp), "--out", str(out)]) == 0
    assert "rerank=reader" in capsys.readouterr().out
    tts = TTS.from_pretrained(out)
    assert tts.reader is not None and tts.decode_config.rerank == "reader"
    prompt = _prompt(tmp_path)
    wavs, info = tts.synthesize_candidates("Hello world.", prompt, "A prompt.", seed=1, candidates=3)
    assert "ctc_scores" not in info and len(info["reader_scores"]) == 3
    scores = info["reader_scores"]
    assert all(np.isfinite(scores)) and len(set(scores)) == 3  # 25 frames spell the text; the candidates differ
    assert info["chosen"] == min(range(3), key=lambda i: scores[i])
    with pytest.raises(InputError, match="needs an LM with a CTC head"):
        tts.synthesize("Hello world.", prompt, "A prompt.", candidates=2, rerank="ctc")
    with pytest.raises(InputError, match="needs a model with a reader"):
        TTS.from_pretrained(model).synthesize("Hello.", prompt, "A prompt.", candidates=2, rerank="reader")
    assert main(["add-reader", "--model", str(model), "--reader", str(exp), "--out", str(out)]) == 1  # exists


def test_generator_sums_reader_and_ctc_scores_for_reader_plus_ctc():
    torch.manual_seed(0)
    lm = tiny_lm(ctc_weight=0.2)
    reader = LatentReader(ReaderConfig(**{**TINY, "vocab_size": lm.config.vocab_size})).eval()
    phonemes, prompt = torch.randint(2, 80, (12,)), torch.randn(5, 8)
    config = DecodeConfig(steps=2, candidates=3, max_seconds=0.6, rerank="reader+ctc")
    out = Generator(lm, config, 25.0, reader).best_of(phonemes, prompt, n_text_phonemes=4, seed=0)
    total = [a + b for a, b in zip(out.timings["ctc_scores"], out.timings["reader_scores"])]
    assert out.timings["chosen"] == min(range(3), key=lambda i: total[i])
    with pytest.raises(ValueError, match="needs a LatentReader"):
        Generator(lm, config, 25.0).best_of(phonemes, prompt, n_text_phonemes=4, seed=0)
    with pytest.raises(ValueError, match="rerank must be one of"):
        DecodeConfig(rerank="asr")
