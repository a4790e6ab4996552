"""LatentLM: causality, KV cache = full forward, loss masking, loss decreases, CFG text dropout."""

from __future__ import annotations

import pytest
import torch

import latentspeech.lm.model as lm_model
from helpers_lm import tiny_lm, tiny_lm_config
from latentspeech.lm.layers import KVCache
from latentspeech.lm.model import LatentLM


def _batch(b=3, p=9, n=12, d=8, vocab=80):
    phonemes = torch.randint(2, vocab, (b, p))
    frames = torch.randn(b, n, d)
    phoneme_lens = torch.tensor([p, p - 3, p - 5][:b])
    frame_lens = torch.tensor([n, n - 4, n - 7][:b])
    prompt_lens = torch.tensor([3, 2, 1][:b])
    return phonemes, phoneme_lens, frames, frame_lens, prompt_lens


@pytest.mark.parametrize("separate", [False, True])
def test_causal_mask_future_frames_do_not_change_past_states(separate):
    lm = tiny_lm(separate_positions=separate)
    ph, pl, fr, fl, _ = _batch()
    out = lm(ph, pl, fr, fl).hidden
    fr2 = fr.clone()
    fr2[:, 4:] += 5.0 * torch.randn_like(fr2[:, 4:])  # edit frames 4.. (audio positions 5..)
    out2 = lm(ph, pl, fr2, fl).hidden
    torch.testing.assert_close(out2[:, :5], out[:, :5])
    assert (out2[0, 5:] - out[0, 5:]).abs().max() > 1e-3


@pytest.mark.parametrize("separate", [False, True])
def test_padding_does_not_change_valid_states(separate):
    lm = tiny_lm(separate_positions=separate)
    ph, pl, fr, fl, _ = _batch()
    full = lm(ph, pl, fr, fl).hidden
    single = lm(ph[1:2, : pl[1]], pl[1:2], fr[1:2, : fl[1]], fl[1:2]).hidden
    torch.testing.assert_close(full[1, : fl[1] + 1], single[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("separate", [False, True])
@pytest.mark.parametrize("drop", [False, True])
def test_kv_cache_step_by_step_matches_full_forward(drop, separate):
    lm = tiny_lm(separate_positions=separate)
    ph, pl, fr, fl, _ = _batch(b=1)
    drop_text = torch.tensor([drop])
    full = lm(ph, pl, fr, fl, drop_text).hidden[0]  # [N + 1, C]
    n_prompt = 3
    cache = lm.new_cache(1, 4)  # small on purpose: the cache must grow
    states = [lm.prefill(ph, fr[:, :n_prompt], cache, drop_text)]
    for j in range(n_prompt, fr.shape[1]):
        states.append(lm.step(fr[:, j], cache))
    torch.testing.assert_close(torch.cat(states), full[n_prompt:], atol=1e-4, rtol=1e-4)


def test_separate_positions_make_states_depend_on_phoneme_minus_frame_distance():
    """With separate_positions, the audio stream's RoPE positions restart at 0: prepending phonemes shifts the
    text's positions only, so the states differ from the shared-index model's, whose audio positions move."""
    torch.manual_seed(0)
    shared = tiny_lm(separate_positions=False)
    separate = tiny_lm(separate_positions=True)
    separate.load_state_dict(shared.state_dict())
    ph, pl, fr, fl, _ = _batch(b=1)
    h_shared, h_sep = shared(ph, pl, fr, fl).hidden, separate(ph, pl, fr, fl).hidden
    assert (h_shared - h_sep).abs().max() > 1e-4  # same weights, different positions
    # an empty text: both layouts put BOS at 0 and frame k at k + 1, so they agree exactly
    empty = torch.zeros(1, 0, dtype=torch.long)
    torch.testing.assert_close(shared(empty, torch.tensor([0]), fr, fl).hidden,
                               separate(empty, torch.tensor([0]), fr, fl).hidden)


def test_cfg_batch_of_two_streams_matches_separate_streams():
    lm = tiny_lm()
    ph, pl, fr, fl, _ = _batch(b=1)
    cache2 = lm.new_cache(2, 64)
    h2 = lm.prefill(ph.expand(2, -1), fr[:, :4].expand(2, -1, -1), cache2, torch.tensor([False, True]))
    for drop, row in ((False, 0), (True, 1)):
        cache = lm.new_cache(1, 64)
        h = lm.prefill(ph, fr[:, :4], cache, torch.tensor([drop]))
        torch.testing.assert_close(h[0], h2[row], atol=1e-5, rtol=1e-5)
    assert (h2[0] - h2[1]).abs().max() > 1e-4  # the text matters


def test_loss_trains_only_on_target_frames(monkeypatch):
    """The diffusion loss sees exactly frames j with prompt_len <= j < frame_len (no prompt, no padding)."""
    lm = tiny_lm().train()
    ph, pl, fr, fl, prompt = _batch()
    seen = {}
    real = lm_model.diffusion_loss

    def spy(head, x0, cond, mask, *a, **k):
        seen["mask"] = mask.clone()
        return real(head, x0, cond, mask, *a, **k)

    monkeypatch.setattr(lm_model, "diffusion_loss", spy)
    lm.loss(ph, pl, fr, fl, prompt)
    j = torch.arange(fr.shape[1])
    expected = (j[None] >= prompt[:, None]) & (j[None] < fl[:, None])
    assert torch.equal(seen["mask"], expected)


def test_loss_ignores_padding_values():
    lm = tiny_lm().train()
    ph, pl, fr, fl, prompt = _batch()
    fr2, ph2 = fr.clone(), ph.clone()
    fr2[1, fl[1]:] = 100.0
    ph2[2, pl[2]:] = 7
    losses = []
    for phx, frx in ((ph, fr), (ph2, fr2)):
        g = torch.Generator().manual_seed(1)
        losses.append(lm.loss(phx, pl, frx, fl, prompt, generator=g)["loss"])
    torch.testing.assert_close(losses[0], losses[1])


def test_loss_decreases_on_a_tiny_batch():
    torch.manual_seed(0)
    lm = LatentLM(tiny_lm_config(cfg_dropout=0.0, diffusion_batch_mul=8)).train()
    ph, pl, fr, fl, prompt = _batch()
    opt = torch.optim.AdamW(lm.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    history = []
    for _ in range(80):
        loss = lm.loss(ph, pl, fr, fl, prompt, generator=g)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    first, last = sum(history[:10]) / 10, sum(history[-10:]) / 10
    assert last < 0.7 * first, (first, last)


def test_training_works_after_a_forward_under_inference_mode():
    """The RoPE tables first built during generation (inference_mode) must not be inference tensors."""
    torch.manual_seed(0)
    lm = LatentLM(tiny_lm_config(cfg_dropout=0.0)).train()
    ph, pl, fr, fl, prompt = _batch()
    with torch.inference_mode():
        lm.loss(ph, pl, fr, fl, prompt)
    lm.loss(ph, pl, fr, fl, prompt)["loss"].backward()
    assert lm.frame_proj.weight.grad is not None and lm.frame_proj.weight.grad.abs().sum() > 0


def test_cfg_dropout_replaces_every_phoneme_with_null_text():
    lm = tiny_lm()
    ph = torch.randint(2, 80, (2, 5))
    x = lm.embed_text(ph, torch.tensor([False, True]))
    torch.testing.assert_close(x[0], lm.tok_emb(ph[0]))
    assert torch.equal(x[1], lm.null_text.expand(5, -1))


def test_head_starts_at_zero_output():
    lm = tiny_lm()
    out = lm.head(torch.randn(4, 8), torch.rand(4), torch.randn(4, 32))
    assert torch.equal(out, torch.zeros_like(out))


def test_loss_with_text_dropped_ignores_the_phonemes():
    """drop_text=True (the diagnostic 'no text' stream) sees only null vectors: other phonemes, same loss."""
    lm = tiny_lm()
    ph, pl, fr, fl, prompt = _batch()
    other = torch.randint(2, 80, ph.shape)
    with torch.no_grad():
        a = lm.loss(ph, pl, fr, fl, prompt, torch.Generator().manual_seed(0), drop_text=True)
        b = lm.loss(other, pl, fr, fl, prompt, torch.Generator().manual_seed(0), drop_text=True)
        c = lm.loss(other, pl, fr, fl, prompt, torch.Generator().manual_seed(0))
    torch.testing.assert_close(a["loss"], b["loss"])
    assert not torch.allclose(b["loss"], c["loss"])


def test_evaluate_reports_how_much_the_text_helps():
    from latentspeech.lm.train import evaluate

    lm = tiny_lm().train()
    batch = dict(zip(("phonemes", "phoneme_lens", "frames", "frame_lens", "prompt_lens"), _batch()))
    out = evaluate(lm, [batch], torch.device("cpu"))
    assert out["text_gain"] == pytest.approx(out["diffusion_no_text"] - out["diffusion"])
    assert lm.training  # train mode restored (a fresh head outputs 0, so both losses are equal here)


def test_ctc_alignment_loss_is_optional_trainable_and_skips_text_dropped_rows():
    assert not hasattr(tiny_lm(), "ctc_head")  # off by default: no extra weights in released models
    torch.manual_seed(0)
    lm = LatentLM(tiny_lm_config(cfg_dropout=0.0, ctc_weight=1.0)).train()
    ph, pl, fr, fl, prompt = _batch()
    out = lm.loss(ph, pl, fr, fl, prompt, torch.Generator().manual_seed(0))
    assert torch.isfinite(out["ctc"]) and out["ctc"] > 0
    dropped = lm.loss(ph, pl, fr, fl, prompt, torch.Generator().manual_seed(0), drop_text=True)
    assert dropped["ctc"] == 0  # the text is hidden: nothing to spell
    opt = torch.optim.AdamW(lm.parameters(), lr=3e-3)
    first = None
    for _ in range(30):
        ctc = lm.ctc_loss(lm(ph, pl, fr, fl).hidden[:, : fr.shape[1]], fl, ph, pl)
        first = ctc.item() if first is None else first
        opt.zero_grad()
        ctc.backward()
        opt.step()
    assert ctc.item() < 0.7 * first


def test_context_noise_corrupts_only_the_history_in_training():
    torch.manual_seed(0)
    lm = LatentLM(tiny_lm_config(cfg_dropout=0.0, context_noise=1.0))
    ph, pl, fr, fl, prompt = _batch()
    seen = []
    lm.register_forward_pre_hook(lambda mod, args: seen.append(args[2].clone()))
    lm.train().loss(ph, pl, fr, fl, prompt, torch.Generator().manual_seed(0))
    lm.eval().loss(ph, pl, fr, fl, prompt, torch.Generator().manual_seed(0))
    assert not torch.allclose(seen[0], fr) and torch.equal(seen[1], fr)  # noisy history in training only


def test_step_context_restricts_the_attention_kernels():
    from latentspeech.lm.train import step_context

    q, k, v = (torch.randn(1, 2, 5, 8, generator=torch.Generator().manual_seed(i)) for i in range(3))
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    with step_context(["math"])():
        torch.testing.assert_close(torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True),
                                   expected)
    with step_context(["efficient"])(), pytest.raises(RuntimeError):  # no memory-efficient kernel on CPU
        torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    with step_context([])():  # torch's own choice
        torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)


@pytest.mark.parametrize("separate", [False, True])
def test_fixed_length_sequence_gives_the_same_loss_on_a_padded_batch(separate):
    lm = tiny_lm(separate_positions=separate, ctc_weight=0.2)
    ph, pl, fr, fl, prompt = _batch()
    ph = torch.cat([ph, torch.zeros(3, 7, dtype=ph.dtype)], 1)  # padded as collate_lm(pad_multiple=16) would
    fr = torch.cat([fr, torch.zeros(3, 4, fr.shape[2])], 1)
    tight = lm.loss(ph, pl, fr, fl, prompt, torch.Generator().manual_seed(0))
    fixed = lm.loss(ph, pl, fr, fl, prompt, torch.Generator().manual_seed(0), fixed_length=True)
    for k in ("loss", "diffusion", "stop", "ctc"):
        torch.testing.assert_close(fixed[k], tight[k], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kw", [{}, {"separate_positions": True}])
def test_gathered_rows_of_different_lengths_step_as_they_would_alone(kw):
    lm = tiny_lm(**kw)
    torch.manual_seed(3)
    prefixes = [(torch.randint(2, 80, (n,)), torch.randn(m, 8)) for n, m in ((9, 4), (15, 7), (6, 0))]
    frames = torch.randn(3, 3, 8)  # three steps of one frame per prefix
    with torch.inference_mode():
        alone = []
        for i, (ph, pf) in enumerate(prefixes):
            cache = lm.new_cache(1, 40)
            lm.prefill(ph[None], pf[None], cache)
            alone.append(torch.cat([lm.step(frames[s, i : i + 1], cache) for s in range(3)]))  # [3, C]
        caches = []
        for ph, pf in prefixes:
            caches.append(lm.new_cache(1, 40))
            lm.prefill(ph[None], pf[None], caches[-1])
        rows = [(2, 0), (0, 0), (1, 0)]  # any order
        batch = KVCache.gather_rows(caches, rows, 40)
        assert batch.pad.tolist() == [23 - 7, 23 - 14, 0] and batch.length == 23
        for layer in batch.layers:  # what sits in the padding must not matter
            layer[:, 0, :, :16] = 1e3
            layer[:, 1, :, :9] = -1e3
        together = torch.stack([lm.step(frames[s, [2, 0, 1]], batch) for s in range(2)], 1)  # [3, 2, C]
        for row, (i, _) in enumerate(rows):
            torch.testing.assert_close(together[row], alone[i][:2], atol=1e-5, rtol=1e-5)
        batch.select(torch.tensor([2, 0]))  # a row leaves; the rest go on as alone
        assert batch.pad.tolist() == [0, 16]
        last = lm.step(frames[2, [1, 2]], batch)
        torch.testing.assert_close(last, torch.stack([alone[1][2], alone[2][2]]), atol=1e-5, rtol=1e-5)


def test_loss_history_is_the_input_and_defaults_to_the_targets():
    from helpers_lm import tiny_lm

    lm = tiny_lm().eval()
    torch.manual_seed(0)
    for p in lm.parameters():  # no zero-initialised output layers: every input moves the loss
        torch.nn.init.normal_(p, std=0.1)
    b, n, d = 2, 9, lm.config.latent_dim
    phonemes, frames = torch.randint(0, 40, (b, 5)), torch.randn(b, n, d)
    args = (phonemes, torch.tensor([5, 4]), frames, torch.tensor([9, 7]), torch.tensor([3, 2]))

    def loss(**kw):
        return lm.loss(*args, torch.Generator().manual_seed(1), **kw)

    base = loss()
    assert all(torch.equal(base[k], loss(history=frames)[k]) for k in base)       # default = teacher forcing
    other = frames.clone()
    other[:, 5:] += 1.0                                                               # later inputs changed
    assert not torch.equal(base["diffusion"], loss(history=other)["diffusion"])
    tail = frames.clone()
    tail[:, -1] += 1.0   # the last input frame feeds no target (it would predict the frame after the end)
    assert torch.equal(base["diffusion"], loss(history=tail)["diffusion"])
    with pytest.raises(ValueError, match="history .* and frames .* differ in shape"):
        loss(history=frames[:, :4])
