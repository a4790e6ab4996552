"""Sampler seams with oracle denoisers: Gaussian recovery, call counts, DPM-Solver++ vs the DDPM reference, CFG."""

from __future__ import annotations

import math

import pytest
import torch

from latentspeech.lm.sampler import DDIM, CFGDenoiser, DPMSolverPP, make_sampler, randn_rows
from latentspeech.lm.schedule import CosineSchedule

SCHED = CosineSchedule()


def gaussian_oracle(mu: torch.Tensor, std: float, prediction: str):
    """Exact E[x0 | x_t] for x0 ~ N(mu, std² I), returned as the model output for `prediction`."""

    def denoise(x_t, t):
        a, s = SCHED.alpha_sigma(t)
        a, s = a[:, None], s[:, None]
        x0 = mu + a * std**2 / (a**2 * std**2 + s**2) * (x_t - a * mu)
        return SCHED.output_from_x0(x_t, t, x0, prediction)

    return denoise


def gmm_oracle(means: torch.Tensor, std: float, prediction: str = "v"):
    """Exact E[x0 | x_t] for an equal-weight mixture of N(means[k], std² I) in 2-D."""

    def denoise(x_t, t):
        a, s = SCHED.alpha_sigma(t)
        a, s = a[:, None, None], s[:, None, None]
        var = a**2 * std**2 + s**2  # [M, 1, 1]
        diff = x_t[:, None] - a * means[None]  # [M, K, 2]
        logw = -(diff**2).sum(-1) / (2 * var[..., 0])  # [M, K]
        w = torch.softmax(logw, dim=-1)
        post = means[None] + a * std**2 / var * diff  # [M, K, 2]
        x0 = (w[..., None] * post).sum(1)
        return SCHED.output_from_x0(x_t, t, x0, prediction)

    return denoise


@pytest.mark.parametrize("prediction", ["v", "eps"])
@pytest.mark.parametrize("solver, steps", [("dpm++2m", 10), ("ddim", 100)])
def test_oracle_denoiser_recovers_a_known_gaussian(prediction, solver, steps):
    mu, std = torch.tensor([1.5, -2.0, 0.5]), 0.3
    sampler = make_sampler(solver, SCHED, steps=steps, prediction=prediction)
    noise = torch.randn(20_000, 3, generator=torch.Generator().manual_seed(0))
    x = sampler.sample(gaussian_oracle(mu, std, prediction), noise)
    torch.testing.assert_close(x.mean(0), mu, atol=0.02, rtol=0)
    torch.testing.assert_close(x.std(0), torch.full((3,), std), atol=0.03, rtol=0)


@pytest.mark.parametrize("steps", [1, 2, 5, 10])
def test_steps_n_means_n_denoiser_calls(steps):
    for sampler in (DPMSolverPP(SCHED, steps), DDIM(SCHED, steps), DDIM(SCHED, steps, eta=1.0)):
        calls = []
        sampler.sample(lambda x, t: calls.append(1) or torch.zeros_like(x), torch.randn(4, 2))
        assert len(calls) == steps


def test_dpm_solver_with_many_steps_matches_the_ddpm_reference_on_a_2d_mixture():
    means = torch.tensor([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]])
    denoise = gmm_oracle(means, std=0.25)
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(6000, 2, generator=g)
    fast = DPMSolverPP(SCHED, steps=50).sample(denoise, noise)
    ref = DDIM(SCHED, steps=1000, eta=1.0).sample(denoise, torch.randn(6000, 2, generator=g), generator=g)

    def stats(x):
        k = torch.cdist(x, means).argmin(1)
        share = torch.bincount(k, minlength=3).float() / len(x)
        centre = torch.stack([x[k == i].mean(0) for i in range(3)])
        spread = torch.stack([x[k == i].std(0) for i in range(3)])
        return share, centre, spread

    for a, b, tol in zip(stats(fast), stats(ref), (0.04, 0.05, 0.05)):
        torch.testing.assert_close(a, b, atol=tol, rtol=0)
    # the deterministic solvers agree sample by sample (same ODE)
    ddim = DDIM(SCHED, steps=500).sample(denoise, noise)
    assert (fast - ddim).norm(dim=1).median() < 0.05


def test_dpm_solver_converges_faster_than_ddim():
    means = torch.tensor([[-2.0, 0.0], [2.0, 0.0]])
    denoise = gmm_oracle(means, std=0.3)
    noise = torch.randn(2000, 2, generator=torch.Generator().manual_seed(1))
    exact = DPMSolverPP(SCHED, steps=200).sample(denoise, noise)
    err_dpm = (DPMSolverPP(SCHED, steps=8).sample(denoise, noise) - exact).norm(dim=1).mean()
    err_ddim = (DDIM(SCHED, steps=8).sample(denoise, noise) - exact).norm(dim=1).mean()
    assert err_dpm < err_ddim


def test_cfg_scale_one_equals_the_unguided_path():
    head = lambda x, t, c: x * c[:, :2] + t[:, None]  # noqa: E731
    x, t = torch.randn(3, 2), torch.rand(3)
    cond, uncond = torch.randn(3, 4), torch.randn(3, 4)
    guided = CFGDenoiser(head, cond, uncond, scale=1.0)
    assert not guided.guided
    torch.testing.assert_close(guided(x, t), head(x, t, cond), rtol=0, atol=0)


def test_cfg_batches_cond_and_uncond_in_one_head_call():
    calls = []

    def head(x, t, c):
        calls.append(x.shape[0])
        return x * c[:, :2]

    x, t = torch.randn(3, 2), torch.rand(3)
    cond, uncond = torch.randn(3, 4), torch.randn(3, 4)
    out = CFGDenoiser(head, cond, uncond, scale=2.5)(x, t)
    assert calls == [6]
    expected = x * uncond[:, :2] + 2.5 * (x * cond[:, :2] - x * uncond[:, :2])
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("sampler_cls", [DPMSolverPP, DDIM])
@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_modulations_batched_over_the_steps_give_the_per_step_head_output(sampler_cls, scale):
    """CFGDenoiser(times=sampler.eval_times()) computes the adaLN modulations of every step in one batch and
    then runs only the x_t path per step: the same sample as the full head per step, with fewer weight reads."""
    from latentspeech.lm.head import DiffusionHead

    torch.manual_seed(0)
    head = DiffusionHead(latent_dim=6, cond_dim=10, width=32, depth=2)
    for p in head.parameters():  # away from the zero init, so the modulations matter
        torch.nn.init.normal_(p, std=0.2)
    cond, uncond, noise = torch.randn(3, 10), torch.randn(3, 10), torch.randn(3, 6)
    sampler = sampler_cls(SCHED, steps=7)
    per_step_calls, modulated_calls = [], []
    head.register_forward_hook(lambda m, i, o: per_step_calls.append(1))
    forward_modulated = head.forward_modulated
    head.forward_modulated = lambda x, mods: modulated_calls.append(1) or forward_modulated(x, mods)
    with torch.no_grad():
        full = sampler.sample(CFGDenoiser(head, cond, uncond, scale), noise)
        assert len(per_step_calls) == 7 and len(modulated_calls) == 7
        per_step_calls.clear(), modulated_calls.clear()
        batched = sampler.sample(CFGDenoiser(head, cond, uncond, scale, times=sampler.eval_times()), noise)
    assert per_step_calls == [] and len(modulated_calls) == 7          # no full-head call: all steps batched
    torch.testing.assert_close(batched, full, rtol=1e-5, atol=1e-5)
    assert not torch.equal(full, sampler_cls(SCHED, steps=7).sample(CFGDenoiser(head, uncond, None, 1.0), noise))


def test_a_call_off_the_precomputed_times_takes_the_full_head_path():
    from latentspeech.lm.head import DiffusionHead

    head = DiffusionHead(latent_dim=4, cond_dim=8, width=16, depth=1)
    for p in head.parameters():
        torch.nn.init.normal_(p, std=0.2)
    cond, uncond, x = torch.randn(2, 8), torch.randn(2, 8), torch.randn(2, 4)
    denoise = CFGDenoiser(head, cond, uncond, 2.0, times=DPMSolverPP(SCHED, steps=4).eval_times())
    t = torch.full((2,), 0.37)                                          # not the first precomputed time (1.0)
    out = denoise(x, t)
    with torch.no_grad():
        both = head(torch.cat([x, x]), torch.cat([t, t]), torch.cat([cond, uncond]))
    torch.testing.assert_close(out, both[2:] + 2.0 * (both[:2] - both[2:]))


def test_temperature_zero_follows_the_exact_flow_of_a_gaussian():
    """Zero initial noise lands where the probability-flow ODE maps x_1 = 0: near the mean (α(1) > 0 shifts it)."""
    mu, std = torch.tensor([0.7, -0.3]), 0.5
    x = DPMSolverPP(SCHED, 10).sample(gaussian_oracle(mu, std, "v"), torch.zeros(1, 2))
    a1, s1 = SCHED.alpha_sigma(torch.tensor(1.0))
    expected = mu + std * (0.0 - a1 * mu) / torch.sqrt(a1**2 * std**2 + s1**2)
    torch.testing.assert_close(x[0], expected, atol=5e-4, rtol=0)


def test_schedule_endpoints():
    a, s = SCHED.alpha_sigma(torch.tensor([0.0, 1.0]))
    assert a[0] > 0.999 and s[0] < 0.02
    assert math.isclose(a[1].item() ** 2, 1e-4, rel_tol=1e-3)


def test_randn_rows_draws_each_row_from_its_own_generator():
    gens = [torch.Generator().manual_seed(s) for s in (4, 5)]
    rows = randn_rows((2, 3), "cpu", gens)
    alone = [torch.randn((1, 3), generator=torch.Generator().manual_seed(s)) for s in (4, 5)]
    assert torch.equal(rows, torch.cat(alone))
    one = randn_rows((2, 3), "cpu", torch.Generator().manual_seed(4))  # one generator: a plain draw
    assert torch.equal(one, torch.randn((2, 3), generator=torch.Generator().manual_seed(4)))
    with pytest.raises(ValueError, match="1 generators for 2 rows"):
        randn_rows((2, 3), "cpu", gens[:1])


@pytest.mark.parametrize("precomputed", [False, True])
def test_cfg_interval_guides_inside_it_and_runs_the_conditional_half_alone_outside(precomputed):
    from latentspeech.lm.head import DiffusionHead

    torch.manual_seed(0)
    head = DiffusionHead(latent_dim=4, cond_dim=8, width=16, depth=2)
    for p in head.parameters():
        torch.nn.init.normal_(p, std=0.2)
    cond, uncond, noise = torch.randn(3, 8), torch.randn(3, 8), torch.randn(3, 4)
    sampler = DPMSolverPP(SCHED, steps=6)
    times = sampler.eval_times()
    rows = []  # rows per head evaluation (the full path runs forward_modulated too)
    forward_modulated = head.forward_modulated
    head.forward_modulated = lambda x, mods: rows.append(x.shape[0]) or forward_modulated(x, mods)
    kw = {"times": times} if precomputed else {}

    def sample(scale, interval=(0.0, 1.0), uncond_rows=uncond):
        rows.clear()
        with torch.no_grad():
            return sampler.sample(CFGDenoiser(head, cond, uncond_rows, scale, interval=interval, **kw), noise)

    inside = [float(t) for t in times if 0.5 <= float(t) <= 1.0]
    assert 0 < len(inside) < 6
    half = sample(2.5, (0.5, 1.0))
    assert rows == [6 if float(t) >= 0.5 else 3 for t in times]        # uncond rows only where guided
    torch.testing.assert_close(sample(2.5, (0.0, 1.0)), sample(2.5))    # the whole range = always guided
    torch.testing.assert_close(sample(2.5, (0.0, 0.0)), sample(1.0, uncond_rows=None))  # empty = unguided
    assert not torch.allclose(half, sample(2.5)) and not torch.allclose(half, sample(1.0, uncond_rows=None))


def test_cfg_rescale_matches_the_conditional_std_per_row_and_zero_is_plain_guidance():
    cond_out, uncond_out = torch.randn(5, 8) * 2.0, torch.randn(5, 8)

    def head(x, t, rows):  # a stand-in whose conditional and unconditional outputs are known
        return torch.cat([cond_out, uncond_out])

    x, t = torch.randn(5, 8), torch.full((5,), 0.5)
    c, u = torch.randn(5, 3), torch.randn(5, 3)
    plain = uncond_out + 3.0 * (cond_out - uncond_out)
    torch.testing.assert_close(CFGDenoiser(head, c, u, 3.0)(x, t), plain)
    torch.testing.assert_close(CFGDenoiser(head, c, u, 3.0, rescale=0.0)(x, t), plain)
    full = CFGDenoiser(head, c, u, 3.0, rescale=1.0)(x, t)
    torch.testing.assert_close(full.std(dim=-1), cond_out.std(dim=-1))          # each row at the cond's std
    torch.testing.assert_close(full / full.norm(dim=-1, keepdim=True),          # same direction as plain CFG
                               plain / plain.norm(dim=-1, keepdim=True))
    half = CFGDenoiser(head, c, u, 3.0, rescale=0.5)(x, t)
    torch.testing.assert_close(half, 0.5 * (plain + full))
    with pytest.raises(ValueError, match=r"rescale must be in \[0, 1\], got 1.5"):
        CFGDenoiser(head, c, u, 3.0, rescale=1.5)


@pytest.mark.parametrize("prediction", ["v", "eps"])
def test_cfg_parallel_zero_guides_orthogonally_to_the_conditional_x0_and_one_is_plain_guidance(prediction):
    cond_out, uncond_out = torch.randn(5, 8), torch.randn(5, 8)

    def head(x, t, rows):
        return torch.cat([cond_out, uncond_out])

    x, t = torch.randn(5, 8), torch.full((5,), 0.6)
    c, u = torch.randn(5, 3), torch.randn(5, 3)
    kw = {"schedule": SCHED, "prediction": prediction}
    plain = uncond_out + 3.0 * (cond_out - uncond_out)
    torch.testing.assert_close(CFGDenoiser(head, c, u, 3.0, parallel=1.0, **kw)(x, t), plain)
    x0 = lambda out: SCHED.predict_x0(x, t, out, prediction)  # noqa: E731
    x0_cond = x0(cond_out)
    update = x0(CFGDenoiser(head, c, u, 3.0, parallel=0.0, **kw)(x, t)) - x0_cond
    torch.testing.assert_close((update * x0_cond).sum(-1), torch.zeros(5), atol=1e-4, rtol=0)  # orthogonal
    plain_update = x0(plain) - x0_cond                                                      # = the plain update's
    along = (plain_update * x0_cond).sum(-1, keepdim=True) / (x0_cond * x0_cond).sum(-1, keepdim=True) * x0_cond
    torch.testing.assert_close(update, plain_update - along, atol=1e-4, rtol=1e-4)  # orthogonal part, unchanged
    with pytest.raises(ValueError, match="pass the schedule"):
        CFGDenoiser(head, c, u, 3.0, parallel=0.5)
    with pytest.raises(ValueError, match=r"parallel must be in \[0, 1\], got -1"):
        CFGDenoiser(head, c, u, 3.0, parallel=-1.0, schedule=SCHED)
