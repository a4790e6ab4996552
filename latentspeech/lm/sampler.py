"""Samplers for the diffusion head: `sampler.sample(denoise, noise) → x0`.

`denoise(x_t [M, D], t [M]) → model output [M, D]` is any callable (the head bound to its condition, a CFG
wrapper, an oracle in tests); the samplers know no LM. Every sampler calls `denoise` exactly `steps`
times on a log-SNR-uniform grid from t = 1 (noise) to t = 0 (data).

- `DPMSolverPP`: DPM-Solver++(2M), deterministic multistep data-prediction solver (Lu et al. 2022),
  first order on the last step (their `lower_order_final` for < 15 steps).
- `DDIM`: η = 0 deterministic (Song et al. 2021); η = 1 with many steps is ancestral DDPM sampling, the reference.
- `CFGDenoiser`: classifier-free guidance uncond + s·(cond − uncond), cond and uncond in ONE head call (MAR);
  given the sampler's `eval_times`, it computes the head's adaLN modulations for every step in one batch.
Temperature scales the initial noise (callers draw `noise = temperature · N(0, I)`).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from latentspeech.lm.decoding import SOLVERS
from latentspeech.lm.schedule import CosineSchedule, Prediction

__all__ = ["Denoiser", "DPMSolverPP", "DDIM", "CFGDenoiser", "make_sampler", "randn_rows", "SOLVERS"]

Denoiser = Callable[[Tensor, Tensor], Tensor]
Generators = torch.Generator | list[torch.Generator | None] | None  # one for all rows, or one per row


def randn_rows(shape: tuple[int, ...], device: torch.device | str, generator: Generators = None) -> Tensor:
    """N(0, I) of `shape` [M, ...]; with a list of M generators row m comes from the m-th (None: the global RNG),
    so a row draws what it would draw alone (batched generation of several utterances, each with its seed)."""
    if not isinstance(generator, list):
        return torch.randn(shape, device=device, generator=generator)
    if len(generator) != shape[0]:
        raise ValueError(f"{len(generator)} generators for {shape[0]} rows")
    return torch.cat([torch.randn((1, *shape[1:]), device=device, generator=g) for g in generator])


class _Sampler:
    def __init__(self, schedule: CosineSchedule, steps: int = 10, prediction: Prediction = "v"):
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        self.schedule = schedule
        self.steps = steps
        self.prediction = prediction

    def timesteps(self, device: torch.device | str = "cpu") -> Tensor:
        """steps + 1 times from 1 down to 0, uniform in log-SNR λ (DPM-Solver's choice for few steps)."""
        lam = torch.linspace(self.schedule.log_snr(torch.tensor(1.0)).item(),
                             self.schedule.log_snr(torch.tensor(0.0)).item(), self.steps + 1)
        t = self.schedule.t_from_log_snr(lam)
        t[0], t[-1] = 1.0, 0.0  # exact ends despite float round-off
        return t.to(device)

    def eval_times(self, device: torch.device | str = "cpu") -> Tensor:
        """The `steps` times at which `sample` calls `denoise`, in call order."""
        return self.timesteps(device)[:-1]

    def _x0(self, denoise: Denoiser, x: Tensor, t: Tensor) -> Tensor:
        tv = t.expand(x.shape[0])
        return self.schedule.predict_x0(x, tv, denoise(x, tv).float(), self.prediction)


class DPMSolverPP(_Sampler):
    """DPM-Solver++(2M): x_s = (σ_s/σ_t)·x_t − α_s·(e^{−h} − 1)·D, D a 2-step extrapolation of x0 estimates."""

    def __init__(self, schedule: CosineSchedule, steps: int = 10, prediction: Prediction = "v", order: int = 2):
        super().__init__(schedule, steps, prediction)
        self.order = order

    @torch.no_grad()
    def sample(self, denoise: Denoiser, noise: Tensor, generator: Generators = None) -> Tensor:
        """noise [M, D] (at t = 1) → sample [M, D]; deterministic (`generator` unused)."""
        ts = self.timesteps(noise.device)
        lam = self.schedule.log_snr(ts)
        alpha, sigma = self.schedule.alpha_sigma(ts)
        x = noise.float()
        prev_x0, prev_h = None, None
        for i in range(self.steps):
            x0 = self._x0(denoise, x, ts[i])
            h = lam[i + 1] - lam[i]
            last = i == self.steps - 1 and self.steps < 15
            if prev_x0 is None or self.order == 1 or last:
                d = x0
            else:
                r = prev_h / h
                d = (1.0 + 0.5 / r) * x0 - (0.5 / r) * prev_x0
            x = (sigma[i + 1] / sigma[i]) * x - alpha[i + 1] * torch.expm1(-h) * d
            prev_x0, prev_h = x0, h
        return x


class DDIM(_Sampler):
    """DDIM with stochasticity η: η = 0 deterministic, η = 1 ancestral (DDPM) sampling."""

    def __init__(self, schedule: CosineSchedule, steps: int = 10, prediction: Prediction = "v", eta: float = 0.0):
        super().__init__(schedule, steps, prediction)
        self.eta = eta

    @torch.no_grad()
    def sample(self, denoise: Denoiser, noise: Tensor, generator: Generators = None) -> Tensor:
        """noise [M, D] → sample [M, D]; η > 0 draws fresh noise from `generator` (or one per row) each step."""
        ts = self.timesteps(noise.device)
        alpha, sigma = self.schedule.alpha_sigma(ts)
        x = noise.float()
        for i in range(self.steps):
            x0 = self._x0(denoise, x, ts[i])
            eps = (x - alpha[i] * x0) / sigma[i]
            a_s, s_s = alpha[i + 1], sigma[i + 1]
            c = x.new_zeros(())
            if self.eta > 0:  # DDIM's σ(η) = η·(σ_s/σ_t)·sqrt(1 − α_t²/α_s²): η = 1 is the DDPM posterior
                ratio = 1.0 - (alpha[i] / a_s) ** 2
                c = self.eta * (s_s / sigma[i]) * ratio.clamp(min=0).sqrt()
            x = a_s * x0 + (s_s**2 - c**2).clamp(min=0).sqrt() * eps
            if self.eta > 0 and i < self.steps - 1:
                x = x + c * randn_rows(x.shape, x.device, generator)
        return x


class CFGDenoiser:
    """Classifier-free guidance: one head call on [cond; uncond], output uncond + scale·(cond − uncond).

    `head(x_t, t, cond)`; `cond`, `uncond` [M, C]. With scale 1 (or no uncond) only the conditional
    half is run, which is exactly the unguided path. `times`: the sampler's `eval_times()`; with a
    `DiffusionHead` the adaLN modulations of all those steps are then computed in one batch up front, and a
    call at the i-th of them runs only the x_t path (the same output to float round-off; a call at any other
    time takes the full path). `interval` (t_min, t_max): guide only at times t_min <= t <= t_max (t = 1 is
    noise), elsewhere run the conditional half alone (a guidance interval, Kynkäänniemi et al. 2024).
    `rescale` φ in [0, 1]: each guided row is scaled to the conditional output's std over its dimensions and mixed
    φ : 1 − φ with the plain guided one (guidance rescale, Lin et al. 2024, on the model output as they did with
    v-prediction); 0 = plain CFG. `parallel` η in [0, 1]: in x0 space (needs `schedule` and `prediction`), the part
    of the guidance update cond − uncond parallel to the conditional x0 estimate is weighted by η, the orthogonal
    part kept (adaptive projected guidance, Sadat et al. 2024, without its momentum and norm threshold); 1 = plain
    CFG.
    """

    def __init__(self, head: Callable[[Tensor, Tensor, Tensor], Tensor], cond: Tensor,
                 uncond: Tensor | None = None, scale: float = 1.0, times: Tensor | None = None,
                 interval: tuple[float, float] = (0.0, 1.0), rescale: float = 0.0, parallel: float = 1.0,
                 schedule: CosineSchedule | None = None, prediction: Prediction = "v"):
        for name, value in (("rescale", rescale), ("parallel", parallel)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if parallel != 1.0 and schedule is None:
            raise ValueError("parallel < 1 projects in x0 space: pass the schedule")
        self.head, self.cond, self.uncond, self.scale = head, cond, uncond, scale
        self.interval, self.rescale, self.parallel = interval, rescale, parallel
        self.schedule, self.prediction = schedule, prediction
        self.calls = 0
        rows = torch.cat([cond, uncond]) if self.guided else cond  # [R, C]: what each head call conditions on
        self._rows = rows
        self._times: list[float] = []
        self._mods: list[list[tuple[Tensor, ...]]] = []  # per step: DiffusionHead.modulations of its rows
        if times is not None and hasattr(head, "modulations") and len(times):
            r = rows.shape[0]
            mods = head.modulations(times.to(rows.device).repeat_interleave(r), rows.repeat(len(times), 1))
            self._times = times.tolist()
            self._mods = [[tuple(m[i * r:(i + 1) * r] for m in mod) for mod in mods] for i in range(len(times))]

    @property
    def guided(self) -> bool:
        return self.uncond is not None and self.scale != 1.0

    def __call__(self, x_t: Tensor, t: Tensor) -> Tensor:
        i = self.calls
        self.calls += 1
        first = float(t[0])
        guide = self.guided and self.interval[0] <= first <= self.interval[1]
        x_in = torch.cat([x_t, x_t]) if guide else x_t
        if i < len(self._mods) and first == self._times[i] and bool((t == t[0]).all()):
            mods = self._mods[i]
            if self.guided and not guide:  # the conditional rows' modulations only
                mods = [tuple(m[: x_t.shape[0]] for m in mod) for mod in mods]
            out = self.head.forward_modulated(x_in, mods)
        else:
            out = self.head(x_in, torch.cat([t, t]) if guide else t, self._rows if guide else self.cond)
        if not guide:
            return out
        cond, uncond = out.chunk(2)
        if self.parallel != 1.0:
            guided = self._projected(x_t, t, cond, uncond)
        else:
            guided = uncond + self.scale * (cond - uncond)
        if self.rescale == 0.0:
            return guided
        ratio = cond.std(dim=-1, keepdim=True) / guided.std(dim=-1, keepdim=True).clamp(min=1e-8)
        return torch.lerp(guided, guided * ratio, self.rescale)

    def _projected(self, x_t: Tensor, t: Tensor, cond: Tensor, uncond: Tensor) -> Tensor:
        """Guidance in x0 space with the update's component along the conditional x0 weighted by `parallel`."""
        to_x0 = self.schedule.predict_x0
        x0_cond = to_x0(x_t, t, cond.float(), self.prediction)
        delta = x0_cond - to_x0(x_t, t, uncond.float(), self.prediction)
        along = (delta * x0_cond).sum(-1, keepdim=True) / (x0_cond * x0_cond).sum(-1, keepdim=True).clamp(min=1e-12)
        delta = delta - (1.0 - self.parallel) * along * x0_cond
        x0 = x0_cond + (self.scale - 1.0) * delta
        return self.schedule.output_from_x0(x_t, t, x0, self.prediction).to(cond.dtype)


def make_sampler(name: str, schedule: CosineSchedule, steps: int, prediction: Prediction = "v"):
    """'dpm++2m' (default), 'ddim' (η = 0) or 'ddpm' (ancestral, η = 1)."""
    if name == "dpm++2m":
        return DPMSolverPP(schedule, steps, prediction)
    if name == "ddim":
        return DDIM(schedule, steps, prediction, eta=0.0)
    if name == "ddpm":
        return DDIM(schedule, steps, prediction, eta=1.0)
    raise ValueError(f"unknown solver {name!r}; choose one of {', '.join(SOLVERS)}")
