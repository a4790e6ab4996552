"""Shared training plumbing (training only: inference never imports this module).

- `init_distributed()`: torchrun/DDP when launched by torchrun (env RANK/WORLD_SIZE), one process otherwise.
- `seed_everything(seed)`: python, numpy and torch generators.
- `Checkpointer`: atomic `step_00001200.pt` files, keep-last-N, newest-complete resume.
- `StepLogger`: one log line per `log_every` steps plus TensorBoard scalars (rank 0 only).
- `cosine_schedule(...)`: linear warm-up then cosine decay, as a LambdaLR factor.
- `load_init_weights(...)`: weights-only warm start from a release model dir (`--init-from`).
- `StepProfiler`: torch.profiler over a few training steps → a table of where a step's time goes.
"""

from __future__ import annotations

import logging
import math
import os
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.distributed as dist

from latentspeech.checkpoint import atomic_save, load_checkpoint, load_model_dir, load_state_dict_strict
from latentspeech.errors import CheckpointError

log = logging.getLogger(__name__)

__all__ = [
    "DistInfo",
    "init_distributed",
    "seed_everything",
    "Checkpointer",
    "StepLogger",
    "cosine_schedule",
    "deadline_after",
    "on_any_rank",
    "mark_finished",
    "config_differences",
    "rng_state",
    "set_rng_state",
    "resume_rng",
    "load_init_weights",
    "StepProfiler",
]


@dataclass
class DistInfo:
    """Where this process stands in a (possibly one-process) job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the torchrun process group if launched by torchrun; else a single process.

    `device`: 'auto' (cuda if available), 'cpu' or 'cuda'. Backend: nccl on GPU, gloo on CPU.
    """
    want_cuda = torch.cuda.is_available() if device == "auto" else device.startswith("cuda")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if want_cuda:
        torch.cuda.set_device(local_rank)
        dev = torch.device("cuda", local_rank)
    else:
        dev = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if want_cuda else "gloo")
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank, device=dev)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def resume_rng(state: dict[str, Any], seed: int, rank: int, step: int, distributed: bool) -> None:
    """Generators of a resumed run: the saved ones in one process; under DDP the file holds rank 0's, so every
    rank is seeded again from (seed, rank, step) to keep a stream of its own."""
    if distributed:
        seed_everything(seed + rank + 100_003 * step)
    elif "rng" in state:
        set_rng_state(state["rng"])


def rng_state() -> dict[str, Any]:
    """Generator states as tensors/plain containers (loadable with weights_only=True)."""
    state = {
        "torch": torch.get_rng_state(),
        "numpy": torch.from_numpy(np.random.get_state()[1].astype(np.int64)),
        "numpy_pos": int(np.random.get_state()[2]),
        "python": torch.tensor(random.getstate()[1], dtype=torch.int64),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state` saved."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(("MT19937", state["numpy"].numpy().astype(np.uint32), state["numpy_pos"], 0, 0.0))
    py = tuple(int(x) for x in state["python"].tolist())
    random.setstate((3, py, None))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def deadline_after(minutes: float) -> float:
    """time.monotonic() value `minutes` from now; inf when minutes ≤ 0 (no time limit: train.max_minutes 0)."""
    return time.monotonic() + 60 * minutes if minutes > 0 else math.inf


def on_any_rank(flag: bool, distributed: bool, device: torch.device) -> bool:
    """True on every rank when it is true on any: a deadline all DDP ranks must stop at together (else one rank
    leaves while the others wait in the next collective)."""
    if not distributed:
        return flag
    t = torch.tensor([float(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.item() > 0


def mark_finished(exp_dir: str | os.PathLike, step: int | None, max_steps: int) -> None:
    """`<exp_dir>/finished` (holding the step) exists exactly when the run reached `max_steps`: recipes mark a
    training stage done only then, so a run stopped by `train.max_minutes` resumes on the next call. `step`
    None (a run starting) removes a stale mark."""
    path = Path(exp_dir) / "finished"
    if step is None or step < max_steps:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name(f"finished.{os.getpid()}.tmp")
    tmp.write_text(f"{step}\n")
    os.replace(tmp, path)


def config_differences(saved: dict[str, Any], wanted: dict[str, Any], prefix: str = "") -> list[str]:
    """'key: saved → wanted' for every leaf where two config dicts differ (nested keys dotted)."""
    out = []
    for key in sorted(set(saved) | set(wanted)):
        a, b = saved.get(key), wanted.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += config_differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} → {b!r}")
    return out


def cosine_schedule(warmup_steps: int, max_steps: int, min_ratio: float = 0.1):
    """LambdaLR factor: linear warm-up to 1, then cosine to `min_ratio` at `max_steps`."""

    def factor(step: int) -> float:
        if warmup_steps > 0 and step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, max_steps - warmup_steps))
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


_STEP_RE = re.compile(r"^step_(\d{8})\.pt$")


class Checkpointer:
    """Atomic, resumable checkpoints under ``<exp_dir>/checkpoints/step_XXXXXXXX.pt``.

    Only complete files are ever visible (temp + rename), the newest `keep_last` are kept, and so is every
    checkpoint whose step is a multiple of `keep_every` (> 0: milestones to compare later, e.g. by WER), and
    `latest()` returns the newest loadable one (an unreadable newest file is an error, never skipped
    silently: the message says to delete it).
    """

    def __init__(self, exp_dir: str | os.PathLike, keep_last: int = 3, keep_every: int = 0):
        self.dir = Path(exp_dir) / "checkpoints"
        self.keep_last = keep_last
        self.keep_every = keep_every

    def path_for(self, step: int) -> Path:
        return self.dir / f"step_{step:08d}.pt"

    def list(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return sorted(p for p in self.dir.iterdir() if _STEP_RE.match(p.name))

    def save(self, state: dict[str, Any], step: int) -> Path:
        path = atomic_save(state, self.path_for(step))
        for old in self.list()[: -self.keep_last] if self.keep_last > 0 else []:
            if not self._is_milestone(old):
                old.unlink(missing_ok=True)
        return path

    def _is_milestone(self, path: Path) -> bool:
        return self.keep_every > 0 and int(_STEP_RE.match(path.name).group(1)) % self.keep_every == 0

    def latest_path(self) -> Path | None:
        found = self.list()
        return found[-1] if found else None

    def load_latest(self) -> dict[str, Any] | None:
        """The newest checkpoint's state, or None when there is none."""
        path = self.latest_path()
        if path is None:
            return None
        state = load_checkpoint(path)
        if "step" not in state:
            raise CheckpointError(f"{path} has no 'step'; it is not a training checkpoint")
        return state


class StepLogger:
    """Per-`log_every` log line (`step 120/2000 loss 0.431 lr 2.9e-04 3.1 it/s`) + TensorBoard scalars."""

    def __init__(self, exp_dir: str | os.PathLike | None, max_steps: int, log_every: int = 50,
                 enabled: bool = True, tensorboard: bool = True):
        self.max_steps = max_steps
        self.log_every = max(1, log_every)
        self.enabled = enabled
        self._sums: dict[str, float] = {}
        self._count = 0
        self._t0 = time.perf_counter()
        self.writer = None
        if enabled and tensorboard and exp_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(Path(exp_dir) / "tensorboard"))
            except ImportError:
                log.warning("tensorboard is not installed; logging to the console only")

    def update(self, step: int, scalars: dict[str, float]) -> dict[str, float] | None:
        """Accumulate scalars for `step`; every `log_every` steps log their means and return them."""
        if not self.enabled:
            return None
        for k, v in scalars.items():
            self._sums[k] = self._sums.get(k, 0.0) + float(v)
        self._count += 1
        if step % self.log_every != 0:
            return None
        means = {k: v / self._count for k, v in self._sums.items()}
        elapsed = time.perf_counter() - self._t0
        rate = self._count / elapsed if elapsed > 0 else float("nan")
        parts = " ".join(f"{k} {v:.4g}" if k != "lr" else f"lr {v:.2e}" for k, v in means.items())
        log.info("step %d/%d %s %.2f it/s", step, self.max_steps, parts, rate)
        if self.writer is not None:
            for k, v in means.items():
                self.writer.add_scalar(f"train/{k}", v, step)
        self._sums, self._count, self._t0 = {}, 0, time.perf_counter()
        return means

    def scalars(self, prefix: str, values: dict[str, float], step: int) -> None:
        """Log validation-style scalars once (console + TensorBoard)."""
        if not self.enabled:
            return
        log.info("step %d %s %s", step, prefix, " ".join(f"{k} {v:.4g}" for k, v in values.items()))
        if self.writer is not None:
            for k, v in values.items():
                self.writer.add_scalar(f"{prefix}/{k}", v, step)

    def audio(self, tag: str, wav: torch.Tensor, step: int, sample_rate: int) -> None:
        if self.writer is not None:
            self.writer.add_audio(tag, wav.detach().float().cpu().reshape(-1), step, sample_rate=sample_rate)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def kernel_ms(events) -> float:
    """Milliseconds of device time in profiler `events` (key_averages()), user annotations left out: the
    profiler's own "ProfilerStep#N" ranges span the whole step on the device timeline, and counting them (a bug
    here until 2026-11-26) reported ~100% GPU use for a step whose kernels ran 7% of its wall time."""
    return sum(getattr(e, "self_device_time_total", 0) for e in events
               if not (getattr(e, "is_user_annotation", False) or e.key.startswith("ProfilerStep"))) / 1e3


class StepProfiler:
    """Profile training steps [skip, skip + steps) with torch.profiler and write `<exp>/profile.txt`.

    The file's first line says wall ms per step, host ms per step (self CPU time of all ops) and, on CUDA, GPU
    kernel ms per step: GPU time far below wall time means the host is the bottleneck (Python, kernel launches,
    data loading, synchronisations). Then the ops sorted by self host time and, on CUDA, by self GPU time.
    `steps <= 0` is a no-op. Call `step()` once after every optimiser step; the profiler stops itself after its
    window.
    """

    def __init__(self, exp_dir: str | os.PathLike, steps: int, device: torch.device, skip: int = 5,
                 enabled: bool = True):
        self.path = Path(exp_dir) / "profile.txt"
        self.steps, self.skip, self.device = steps, max(1, skip), device
        self._prof = None
        self._count = 0
        self._t0 = 0.0
        self._wall_ms = math.nan
        if not enabled or steps <= 0:
            return
        from torch.profiler import ProfilerActivity, profile, schedule

        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
        self._prof = profile(activities=activities, on_trace_ready=self._write,
                             schedule=schedule(wait=self.skip - 1, warmup=1, active=steps, repeat=1))
        self._prof.__enter__()

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def step(self) -> None:
        """Advance the profiler by one training step."""
        if self._prof is None:
            return
        self._count += 1
        if self._count == self.skip:
            self._t0 = self._now()
        elif self._count == self.skip + self.steps:
            self._wall_ms = 1e3 * (self._now() - self._t0) / self.steps
        self._prof.step()
        if self._count >= self.skip + self.steps:
            self.close()

    def _write(self, prof) -> None:
        events = prof.key_averages()
        cuda = self.device.type == "cuda"
        host = sum(e.self_cpu_time_total for e in events) / 1e3 / self.steps
        summary = (f"profiled {self.steps} steps on {self.device}: wall {self._wall_ms:.1f} ms/step, "
                   f"host ops {host:.1f} ms/step")
        if cuda:
            gpu = kernel_ms(events) / self.steps
            summary += f", GPU kernels {gpu:.1f} ms/step ({100 * gpu / self._wall_ms:.0f}% of wall)"
        tables = ["ops by host time:\n" + events.table(sort_by="self_cpu_time_total", row_limit=40)]
        if cuda:  # the ops that cost the host most are often not the ones that keep the GPU busy
            tables.append("ops by GPU time:\n" + events.table(sort_by="self_cuda_time_total", row_limit=40))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(summary + "\n" + "\n".join(tables) + "\n", encoding="utf-8")
        log.info("%s (table: %s)", summary, self.path)

    def close(self) -> None:
        """Stop profiling (a window cut short writes nothing)."""
        if self._prof is not None:
            prof, self._prof = self._prof, None
            prof.__exit__(None, None, None)


def load_init_weights(module: torch.nn.Module, init_from: str | os.PathLike, config_cls: type, kind: str, *,
                      prefix: str = "", model_config: Callable[[Any], Any] = lambda saved: saved,
                      hint: str = "", fill_missing: tuple[str, ...] = ()) -> Path:
    """Warm start: load a release model dir's weights into `module`, strictly, cast to the module's dtype.

    `init_from` is a name under pretrained/ or a model dir of `kind`; only keys starting with `prefix` are
    loaded (prefix stripped); keys of `module` starting with a `fill_missing` prefix that the dir lacks keep their
    fresh initialisation (a new optional head), and the dir's keys with such a prefix that `module` lacks are left
    out (a model trained without that head). `model_config(saved)` picks the saved config part of `module`;
    fields that differ from `module.config` without changing weight shapes are logged as a warning.
    Returns the resolved dir; CheckpointError (one line, ending in `hint`) on a wrong kind or a mismatch.
    """
    from latentspeech.pretrained import resolve_model

    model_dir = resolve_model(init_from)
    try:
        saved, state, _ = load_model_dir(model_dir, config_cls, kind)
    except CheckpointError as e:
        raise CheckpointError(f"--init-from: {e}{hint}") from None
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    own = module.state_dict()
    unused = sorted({k.split(".")[0] for k in state if k not in own and k.startswith(fill_missing)})
    if unused:
        log.info("--init-from %s: left out %s (this model has none)", model_dir, ", ".join(unused))
        state = {k: v for k, v in state.items() if k in own or not k.startswith(fill_missing)}
    fresh = {k: v for k, v in own.items() if k not in state and k.startswith(fill_missing)}
    if fresh:
        log.info("--init-from %s: %d new tensors keep their fresh initialisation (%s)", model_dir, len(fresh),
                 ", ".join(sorted({k.split(".")[0] for k in fresh})))
        state = {**state, **fresh}
    load_state_dict_strict(module, state, f"--init-from {model_dir}")
    saved_model = model_config(saved)
    current = getattr(module, "config", saved_model)
    if saved_model != current:
        diff = [k for k in saved_model.__dict__ if getattr(saved_model, k) != getattr(current, k, None)]
        log.warning("--init-from %s: model config differs in %s (weights still fit)", model_dir, ", ".join(diff))
    return model_dir
