"""Generation loop: stop classifier, length guard, seeds, CFG scale 1, streaming = one-shot, head call counts."""

from __future__ import annotations

import logging

import pytest
import torch

from helpers_lm import lively_head, tiny_lm
from latentspeech.lm.decoding import DecodeConfig
from latentspeech.lm.generate import Generator, choose_candidate


def _inputs():
    return torch.randint(2, 80, (12,)), torch.randn(5, 8)


def _set_stop(lm, bias: float):
    with torch.no_grad():
        lm.stop_head.weight.zero_()
        lm.stop_head.bias.fill_(bias)
    return lm


def test_stop_head_ends_generation():
    lm = _set_stop(tiny_lm(), 10.0)
    out = Generator(lm, DecodeConfig(steps=2, min_seconds_per_phoneme=0.0), frame_rate=25.0).generate(
        *_inputs(), seed=0)
    assert out.stopped and out.frames.shape == (1, 8)  # stop is checked from the second frame on


def test_stop_is_ignored_before_the_minimum_length():
    lm = _set_stop(tiny_lm(), 10.0)  # wants to stop at once
    gen = Generator(lm, DecodeConfig(steps=2, min_seconds_per_phoneme=0.04), frame_rate=25.0)
    out = gen.generate(*_inputs(), seed=0)  # 12 phonemes · 0.04 s · 25 Hz = 12 frames
    assert out.stopped and out.frames.shape == (12, 8) and gen.min_frames(12) == 12
    assert gen.min_frames(0) == 1


def test_length_guard_fires_with_a_warning(caplog):
    lm = _set_stop(tiny_lm(), -10.0)
    gen = Generator(lm, DecodeConfig(steps=2, max_seconds=0.4), frame_rate=25.0)
    with caplog.at_level(logging.WARNING, logger="latentspeech.lm.generate"):
        out = gen.generate(*_inputs(), seed=0)
    assert not out.stopped and out.frames.shape[0] == 10
    assert any("length guard" in r.message for r in caplog.records)


def test_length_guard_scales_with_phoneme_count():
    gen = Generator(tiny_lm(), DecodeConfig(max_seconds=30.0, max_seconds_per_phoneme=0.25), frame_rate=10.0)
    assert gen.max_frames(4) == 20 and gen.max_frames(40) == 110 and gen.max_frames(1000) == 300


def test_same_seed_same_frames_other_seed_other_frames():
    lm = _set_stop(lively_head(tiny_lm()), -10.0)
    gen = Generator(lm, DecodeConfig(steps=3, max_seconds=0.2), frame_rate=25.0)
    inputs = _inputs()
    a, b, c = (gen.generate(*inputs, seed=s).frames for s in (1, 1, 2))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_cfg_scale_one_runs_the_unguided_path():
    """cfg_scale 1 → one stream through the transformer and the cond-only head (no text-dropped stream)."""
    lm = _set_stop(tiny_lm(), -10.0)
    with torch.no_grad():  # make the head non-trivial (it starts at zero output)
        for p in lm.head.parameters():
            p.add_(0.1 * torch.randn_like(p))
    batches = []  # the rows of every x_t path the head runs (Generator batches the adaLN part over the steps)
    forward_modulated = lm.head.forward_modulated
    lm.head.forward_modulated = lambda x, mods: batches.append(x.shape[0]) or forward_modulated(x, mods)
    ph, prompt = _inputs()
    cfg = DecodeConfig(steps=3, max_seconds=0.2, cfg_scale=1.0)
    one = Generator(lm, cfg, 25.0).generate(ph, prompt, seed=0).frames
    assert set(batches) == {1} and len(batches) == 3 * one.shape[0]
    batches.clear()
    guided = Generator(lm, DecodeConfig(steps=3, max_seconds=0.2, cfg_scale=2.0), 25.0).generate(ph, prompt, seed=0)
    assert set(batches) == {2}  # cond + uncond batched in one head call
    assert not torch.allclose(one, guided.frames)
    # the unguided frames equal a hand-written loop without any CFG machinery
    g = torch.Generator().manual_seed(0)
    cache = lm.new_cache(1, 64)
    with torch.inference_mode():
        h = lm.prefill(ph[None], prompt[None], cache)
        frames = []
        for _ in range(one.shape[0]):
            noise = cfg.temperature * torch.randn(1, 8, generator=g)
            x = Generator(lm, cfg, 25.0).sampler.sample(lambda x, t: lm.head(x, t, h), noise)
            frames.append(x[0])
            h = lm.step(x, cache)
    torch.testing.assert_close(torch.stack(frames), one)


def test_stream_yields_the_same_frames_as_generate():
    lm = _set_stop(lively_head(tiny_lm()), -10.0)
    gen = Generator(lm, DecodeConfig(steps=2, max_seconds=0.2), 25.0)
    inputs = _inputs()
    streamed = torch.stack(list(gen.stream(*inputs, seed=3)))
    torch.testing.assert_close(streamed, gen.generate(*inputs, seed=3).frames)
    assert not torch.allclose(streamed, gen.generate(*_inputs(), seed=3).frames)  # the frames follow the inputs


def test_temperature_zero_is_deterministic_without_a_seed():
    lm = _set_stop(lively_head(tiny_lm()), -10.0)
    gen = Generator(lm, DecodeConfig(steps=2, max_seconds=0.2, temperature=0.0), 25.0)
    inputs = _inputs()
    a, b = gen.generate(*inputs).frames, gen.generate(*inputs).frames
    assert torch.equal(a, b) and a.abs().mean() > 0.05  # not the zero frames of an untrained head


def test_timings_are_reported():
    lm = _set_stop(tiny_lm(), -10.0)
    out = Generator(lm, DecodeConfig(steps=2, max_seconds=0.2), 25.0).generate(*_inputs(), seed=0)
    assert out.timings["frames"] == 5
    assert all(out.timings[k] >= 0 for k in ("prefill_s", "transformer_s", "head_s"))


def test_speed_benchmark_runs_on_random_weights(tmp_path, capsys):
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("tts_speed", "benchmarks/tts_speed.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "speed.json"
    gen_log, level = logging.getLogger("latentspeech.lm.generate"), logging.getLogger("latentspeech.lm.generate").level
    try:
        assert bench.main(["--random-init", "--config", "egs/synth/tts1/conf/lm_tiny.yaml", "--vae-config",
                           "egs/synth/tts1/conf/vae_tiny.yaml", "--frames", "6", "--lengths", "4,8", "--repeat", "1",
                           "--threads", "1", "--steps", "2", "--batch-sizes", "1", "3", "--json", str(out)]) == 0
    finally:
        gen_log.setLevel(level)
    table = capsys.readouterr().out
    assert "| float32 |" in table and "| bfloat16 |" in table and "KV cache" in table
    rows = json.loads(out.read_text())
    assert rows[0]["rtf"] > 0 and len(rows[0]["scaling"]) == 2
    assert "Batched (float32" in table and [b["batch"] for b in rows[0]["batches"]] == [1, 3]
    one, three = rows[0]["batches"]  # the audio made per batch is counted: 3 utterances of 6 frames each
    assert three["audio_per_second"] * three["seconds"] == pytest.approx(3 * one["audio_per_second"] * one["seconds"])


# --- best-of-N by the CTC head ---------------------------------------------------------------------------------

def _teacher_forced_score(lm, phonemes, prompt, frames, n_text):
    """ctc_scores of `frames` recomputed from a full teacher-forced forward (no KV cache, no batching)."""
    all_frames = torch.cat([prompt, frames.clone()]).unsqueeze(0)
    with torch.no_grad():
        out = lm(phonemes[None], torch.tensor([phonemes.numel()]), all_frames, torch.tensor([all_frames.shape[1]]))
    states = out.hidden[:, prompt.shape[0]: all_frames.shape[1]]  # the states that predicted the generated frames
    with torch.no_grad():
        return float(lm.ctc_scores(states, torch.tensor([frames.shape[0]]), phonemes[-n_text:])[0])


def test_ctc_scores_match_the_training_ctc_loss_and_flag_too_short_candidates():
    lm = tiny_lm(ctc_weight=0.2)
    phonemes = torch.randint(2, 80, (6,))
    states = torch.randn(3, 10, 32)
    lengths = torch.tensor([10, 4, 1])  # 1 frame = 3 CTC slots < 6 phonemes
    with torch.no_grad():
        scores = lm.ctc_scores(states, lengths, phonemes)
    for k in range(2):
        with torch.no_grad():
            want = lm.ctc_loss(states[k: k + 1, : lengths[k]], lengths[k: k + 1], phonemes[None], torch.tensor([6]))
        assert float(scores[k]) == pytest.approx(float(want), rel=1e-5)
    assert scores[2] == float("inf")
    with pytest.raises(ValueError, match="no CTC head"):
        tiny_lm().ctc_scores(states, lengths, phonemes)


@pytest.mark.parametrize("cfg_scale", [1.0, 2.0])
def test_best_of_returns_the_best_scored_candidate_with_consistent_states(cfg_scale):
    lm = tiny_lm(ctc_weight=0.2)
    phonemes, prompt = _inputs()
    config = DecodeConfig(steps=2, cfg_scale=cfg_scale, candidates=3, max_seconds=0.6)
    gen = Generator(lm, config, frame_rate=25.0)
    out = gen.generate(phonemes, prompt, n_text_phonemes=7, seed=1)
    scores, best = out.timings["ctc_scores"], out.timings["chosen"]
    assert len(scores) == 3 and best == min(range(3), key=lambda k: scores[k])
    assert len(set(scores)) == 3  # the candidates differ
    assert out.frames.shape[1] == 8 and out.frames.shape[0] >= 1
    # the states gathered from the batched KV-cache run are those of a plain forward over the chosen frames
    assert _teacher_forced_score(lm, phonemes, prompt, out.frames, 7) == pytest.approx(scores[best], abs=1e-4)
    again = gen.generate(phonemes, prompt, n_text_phonemes=7, seed=1)
    assert torch.equal(again.frames, out.frames)  # same seed, same choice, same frames


def test_best_of_candidates_stop_on_their_own():
    lm = tiny_lm(ctc_weight=0.2)
    with torch.no_grad():  # the stop logit follows one hidden unit: candidates cross the threshold at different times
        lm.stop_head.weight.zero_()
        lm.stop_head.weight[0, 0] = 30.0
        lm.stop_head.bias.fill_(0.0)
    gen = Generator(lm, DecodeConfig(steps=2, candidates=4, min_seconds_per_phoneme=0.0, max_seconds=2.0),
                    frame_rate=25.0)
    torch.manual_seed(0)
    phonemes, prompt = _inputs()
    out = gen.best_of(phonemes, prompt, seed=3)
    lengths, scores = out.timings["candidate_frames"], out.timings["ctc_scores"]
    assert len(set(lengths)) > 1 and out.timings["frames"] == max(lengths)  # the batch ran until the last stopped
    assert out.stopped and out.frames.shape[0] == lengths[out.timings["chosen"]]
    for n, score in zip(lengths, scores):  # 3 CTC slots per frame: fewer than 12 phonemes can't spell the text
        assert (score == float("inf")) == (3 * n < 12)


def test_choose_candidate_keeps_the_lowest_ctc_score_or_else_the_longest():
    lengths = torch.tensor([40, 20, 5])
    assert choose_candidate(torch.tensor([1.2, 1.0, float("inf")]), lengths) == 1
    assert choose_candidate(torch.full((3,), float("inf")), lengths) == 0  # none can spell the text


def test_best_of_needs_a_ctc_head():
    with pytest.raises(ValueError, match="CTC head"):
        Generator(tiny_lm(), DecodeConfig(candidates=2)).generate(*_inputs(), seed=0)
    with pytest.raises(ValueError, match="candidates must be >= 1"):
        DecodeConfig(candidates=0)


def _requests():
    """Four utterances of different text, prompt and text-part lengths."""
    torch.manual_seed(1)
    return [(torch.randint(2, 80, (n,)), torch.randn(m, 8), t) for n, m, t in ((12, 5, 6), (20, 9, 10), (8, 3, 4),
                                                                             (30, 2, 20))]


@pytest.mark.parametrize("lm_kw,cfg,stop_bias", [
    ({}, {}, -10.0),                                                          # every row to its length guard
    ({"separate_positions": True}, {"cfg_scale": 2.5}, 10.0),                 # rows stop (and leave) one by one
    ({"separate_positions": True}, {"solver": "ddpm"}, -10.0),
    ({}, {"cfg_scale": 1.0, "temperature": 1.0}, 10.0),
])
def test_generate_batch_gives_each_utterance_what_generate_gives_it_alone(lm_kw, cfg, stop_bias):
    gen = Generator(_set_stop(lively_head(tiny_lm(**lm_kw)), stop_bias),
                    DecodeConfig(steps=3, min_seconds_per_phoneme=0.02, max_seconds=10.0, **cfg), frame_rate=25.0)
    requests, seeds = _requests(), [0, 1, 2, 3]
    together = gen.generate_batch(requests, seeds=seeds)
    lengths = set()
    for (phonemes, prompt, n_text), out, seed in zip(requests, together, seeds):
        alone = gen.generate(phonemes, prompt, n_text, seed=seed)
        assert out.frames.shape == alone.frames.shape and out.stopped == alone.stopped == (stop_bias > 0)
        torch.testing.assert_close(out.frames, alone.frames, atol=5e-4, rtol=1e-3)  # float noise over 70 frames
        assert out.timings["frames"] == alone.frames.shape[0] and out.timings["batch_size"] == 4
        lengths.add(alone.frames.shape[0])
    assert len(lengths) == 4  # the rows really end at different frames


def test_generate_batch_refuses_best_of_n_and_mismatched_seeds():
    gen = Generator(tiny_lm(), DecodeConfig(steps=2, candidates=2), frame_rate=25.0)
    with pytest.raises(ValueError, match="one candidate per utterance"):
        gen.generate_batch(_requests())
    gen = Generator(tiny_lm(), DecodeConfig(steps=2), frame_rate=25.0)
    with pytest.raises(ValueError, match="3 seeds for 4 requests"):
        gen.generate_batch(_requests(), seeds=[0, 1, 2])
    assert gen.generate_batch([]) == []


@pytest.mark.parametrize("lo,hi", [(0.6, 0.4), (-0.1, 1.0), (0.0, 1.5)])
def test_decode_config_checks_the_cfg_interval(lo, hi):
    with pytest.raises(ValueError, match="need 0 <= cfg_t_min <= cfg_t_max <= 1"):
        DecodeConfig(cfg_t_min=lo, cfg_t_max=hi)


@pytest.mark.parametrize("name", ["cfg_rescale", "cfg_parallel"])
@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_decode_config_checks_the_guidance_shape(name, value):
    with pytest.raises(ValueError, match=rf"{name} must be in \[0, 1\]"):
        DecodeConfig(**{name: value})


@pytest.mark.parametrize("field,value,message", [
    ("solver", "euler", "unknown solver 'euler'; choose one of dpm\\+\\+2m, ddim, ddpm"),
    ("max_seconds_per_phoneme", 0.03, "max_seconds_per_phoneme must be > min_seconds_per_phoneme \\(0.04\\)"),
    ("max_chunk_phonemes", 0, "max_chunk_phonemes must be >= 1"),
    ("stream_chunk_frames", 0, "stream_chunk_frames must be >= 1"),
    ("stream_lookahead_frames", -1, "stream_lookahead_frames must be >= 0"),
    ("crossfade_seconds", -0.01, "crossfade_seconds must be >= 0"),
    ("min_prompt_seconds", -1.0, "min_prompt_seconds must be >= 0"),
])
def test_decode_config_rejects_values_that_would_fail_later(field, value, message):
    with pytest.raises(ValueError, match=message):
        DecodeConfig(**{field: value})
    DecodeConfig(**{field: DecodeConfig.__dataclass_fields__[field].default})  # the default passes
