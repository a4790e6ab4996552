"""LM training (training only): `latentspeech train-lm --config conf/lm.yaml --data dump/phn/train
--latents dump/latents/<tag>/train --exp-dir exp/lm [--data-dir data/train] [--resume] [--set k=v]`.

Length-bucketed dynamic batches of (phonemes, prompt + target frames) → LatentLM.loss (diffusion loss on the
target frames × diffusion_batch_mul noise draws, stop BCE, CFG text dropout). AdamW (decay on matrices only),
linear warm-up + cosine decay, gradient clipping, bf16 autocast on GPU, optional EMA of the weights, atomic
resumable checkpoints, TensorBoard, torchrun/DDP. Needs only torch, numpy, pyyaml, safetensors, tqdm and
tensorboard: phonemes come from the dump's text + vocab.yaml, latents from .npy files.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from latentspeech.config import config_from_dict, config_to_dict, dump_config
from latentspeech.data.batching import DynamicBatchSampler
from latentspeech.data.datasets import LMDataConfig, LMDataset, collate_lm, read_map
from latentspeech.errors import ConfigError, DataDirError, LatentSpeechError
from latentspeech.lm.model import LatentLM, LMConfig
from latentspeech.training import load_init_weights as _load_init_weights
from latentspeech.training import (Checkpointer, StepLogger, StepProfiler, config_differences, cosine_schedule,
                                   deadline_after, init_distributed, mark_finished, on_any_rank, resume_rng,
                                   rng_state, seed_everything)

log = logging.getLogger(__name__)

__all__ = ["OptimConfig", "TrainConfig", "LMTrainConfig", "train_lm", "load_init_weights", "load_vocab"]


@dataclass
class OptimConfig:
    lr: float = 3.0e-4
    betas: tuple[float, float] = (0.9, 0.95)
    weight_decay: float = 0.01
    warmup_steps: int = 1000
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0


@dataclass
class TrainConfig:
    max_steps: int = 100_000
    save_every: int = 2000
    keep_last: int = 3
    keep_every: int = 0                  # > 0: also keep every checkpoint whose step is a multiple of this
    log_every: int = 50
    seed: int = 0
    amp: bool = True                     # bf16 autocast on GPU (CPU trains in fp32)
    ema_decay: float = 0.0               # 0 = off; export prefers the EMA weights when present
    valid_every: int = 1000              # validation loss (with --valid-data/--valid-latents)
    max_minutes: float = 0.0             # > 0: stop (and save) after this much wall-clock time; resume later
    profile_steps: int = 0               # > 0: torch.profiler over this many steps (after 5) → <exp>/profile.txt
    # kernels F.scaled_dot_product_attention may use in training (any of flash, efficient, cudnn, math; [] = torch's
    # own choice). cuDNN's is left out by default: it builds a graph for every new (batch, length) shape, and
    # dynamic batches bring a new shape nearly every step (H100 profile: docs/experiments.md, "Where a GPU step's time goes")
    attention_backends: list[str] = field(default_factory=lambda: ["flash", "efficient", "math"])

    def __post_init__(self):
        _check_attention_backends(self.attention_backends)


@dataclass
class LMTrainConfig:
    model: LMConfig = field(default_factory=LMConfig)
    data: LMDataConfig = field(default_factory=LMDataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def load_vocab(phn_dir: str | Path):
    """PhonemeVocab from `<phn_dir>/vocab.yaml` (or its parent's, one table shared by all sets)."""
    from latentspeech.text.vocab import PhonemeVocab

    for p in (Path(phn_dir) / "vocab.yaml", Path(phn_dir).parent / "vocab.yaml"):
        if p.is_file():
            return PhonemeVocab.load(p), p
    raise DataDirError(f"no vocab.yaml in '{phn_dir}' or its parent; run `latentspeech phonemize` first")


class _LossModule(nn.Module):
    """DDP wraps forward(); this makes forward() the training loss."""

    def __init__(self, lm: LatentLM, fixed_length: bool = False):
        super().__init__()
        self.lm = lm
        self.fixed_length = fixed_length

    def forward(self, phonemes, phoneme_lens, frames, frame_lens, prompt_lens, history=None):
        return self.lm.loss(phonemes, phoneme_lens, frames, frame_lens, prompt_lens,
                            fixed_length=self.fixed_length, history=history)


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


_SDPA_BACKENDS = {"flash": "FLASH_ATTENTION", "efficient": "EFFICIENT_ATTENTION", "cudnn": "CUDNN_ATTENTION",
                  "math": "MATH"}


def _check_attention_backends(names: list[str]) -> None:
    unknown = [n for n in names if n not in _SDPA_BACKENDS]
    if unknown:
        raise ConfigError(f"train.attention_backends: unknown {unknown}; choose from {sorted(_SDPA_BACKENDS)}")


def step_context(names: list[str], autocast_dtype: torch.dtype | None = None,
                 device_type: str = "cuda") -> Callable[[], contextlib.AbstractContextManager]:
    """A factory of fresh contexts for one forward pass: autocast to `autocast_dtype` (None = off) and
    F.scaled_dot_product_attention restricted to the kernels `names` (`train.attention_backends`, which
    TrainConfig has checked; [] = any)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    backends = [getattr(SDPBackend, _SDPA_BACKENDS[n]) for n in names]

    def context() -> contextlib.AbstractContextManager:
        stack = contextlib.ExitStack()
        if autocast_dtype is not None:
            stack.enter_context(torch.autocast(device_type, dtype=autocast_dtype))
        if backends:
            stack.enter_context(sdpa_kernel(backends))
        return stack

    return context


@torch.no_grad()
def evaluate(lm: LatentLM, loader, device: torch.device,
             context: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
             fixed_length: bool = False) -> dict[str, float]:
    """Mean losses over a loader with fixed noise (no CFG dropout: eval mode); `context` makes each pass's
    autocast/attention-kernel context (step_context); `fixed_length` as in LatentLM.forward (data.pad_multiple).

    Also `diffusion_no_text` (every phoneme replaced by the CFG null vector, same noise) and `text_gain` =
    diffusion_no_text − diffusion: how much the model reads the text. Near 0 = it only continues the prompt.
    """
    was_training = lm.training
    lm.eval()
    sums: dict[str, float] = {}
    n = 0
    for batch in loader:
        t = {k: v.to(device) for k, v in batch.items() if k != "utts"}
        args = (t["phonemes"], t["phoneme_lens"], t["frames"], t["frame_lens"], t["prompt_lens"])
        seed = 1000 * n
        with context():
            out = lm.loss(*args, torch.Generator(device=device).manual_seed(seed), fixed_length=fixed_length)
            no_text = lm.loss(*args, torch.Generator(device=device).manual_seed(seed), drop_text=True,
                              fixed_length=fixed_length)
        out["diffusion_no_text"] = no_text["diffusion"]
        for k, v in out.items():
            sums[k] = sums.get(k, 0.0) + float(v)
        n += 1
    lm.train(was_training)
    means = {k: v / max(1, n) for k, v in sums.items()}
    means["text_gain"] = means["diffusion_no_text"] - means["diffusion"]
    return means


def load_init_weights(lm: LatentLM, init_from: str | Path) -> Path:
    """Load the LM weights (`lm.*`) of a "tts" model dir from export-tts into `lm` (training.load_init_weights)."""
    from latentspeech.api import TTSModelConfig

    return _load_init_weights(lm, init_from, TTSModelConfig, "tts", prefix="lm.", model_config=lambda s: s.lm,
                              hint=" (train-lm takes a tts model dir from export-tts)",
                              fill_missing=("ctc_head.",))


def train_lm(config: LMTrainConfig, phn_dir: str, latent_dir: str, exp_dir: str, data_dir: str | None = None,
             resume: bool = False, device: str = "auto", valid_phn_dir: str | None = None,
             valid_latent_dir: str | None = None, init_from: str | Path | None = None) -> Path:
    """Train (or resume) an LM; returns the path of the last checkpoint.

    `init_from` (a "tts" model dir or name) warm-starts the LM weights at step 0 (fresh optimiser and schedule);
    ignored when `resume` finds a checkpoint."""
    dist_info = init_distributed(device)
    dev = dist_info.device
    exp = Path(exp_dir)
    tc = config.train
    context = step_context(tc.attention_backends, torch.bfloat16 if tc.amp and dev.type == "cuda" else None,
                           dev.type)
    seed_everything(tc.seed + dist_info.rank)

    ckpt = Checkpointer(exp, tc.keep_last, tc.keep_every)
    if not resume and ckpt.latest_path() is not None:
        raise ConfigError(f"{exp} already has checkpoints; pass --resume to continue or use a new --exp-dir")
    state = ckpt.load_latest() if resume else None
    vocab, vocab_path = load_vocab(phn_dir)
    utt2spk = None
    if data_dir is not None:
        utt2spk = read_map(Path(data_dir) / "utt2spk")
    dataset = LMDataset(phn_dir, latent_dir, vocab, config.data, utt2spk=utt2spk, seed=tc.seed)
    mc = config.model
    if mc.vocab_size != len(vocab):
        log.info("model.vocab_size %d → %d (the dump's phoneme table)", mc.vocab_size, len(vocab))
        mc.vocab_size = len(vocab)
    if dataset.latent_dim is not None and mc.latent_dim != dataset.latent_dim:
        raise ConfigError(f"model.latent_dim is {mc.latent_dim} but the latents in {latent_dir} have "
                          f"{dataset.latent_dim} dims; pass --set model.latent_dim={dataset.latent_dim}")

    if state is not None:  # before anything is written: a refused resume leaves the run as it was
        saved = config_from_dict(state["config"], LMTrainConfig, str(ckpt.latest_path()))
        changed = config_differences(config_to_dict(saved.model), config_to_dict(mc))
        if changed:
            raise ConfigError(f"{ckpt.latest_path()} was trained with another model config ({'; '.join(changed)}); "
                              "use the same --config/--set or a new --exp-dir")
    if dist_info.is_main:
        exp.mkdir(parents=True, exist_ok=True)
        mark_finished(exp, None, tc.max_steps)
        dump_config(config, exp / "config.yaml")
        shutil.copyfile(vocab_path, exp / "vocab.yaml")
        shutil.copyfile(Path(latent_dir) / "vae.yaml", exp / "vae.yaml")

    lm = LatentLM(mc).to(dev)
    if state is not None and init_from is not None:
        log.info("--init-from %s ignored: resuming from a checkpoint", init_from)
    elif init_from is not None:
        log.info("initialised weights from %s", load_init_weights(lm, init_from))
    counts = lm.num_parameters()
    log.info("LM: %.2fM parameters (transformer %.2fM, head %.2fM); frame rate %.2f Hz; device %s",
             counts["total"] / 1e6, counts["transformer"] / 1e6, counts["head"] / 1e6, dataset.frame_rate, dev)
    log.info("config:\n%s", dump_config(config).rstrip())
    model: nn.Module = _LossModule(lm, fixed_length=config.data.pad_multiple > 0)
    if dist_info.distributed:
        model = nn.parallel.DistributedDataParallel(
            model, device_ids=[dist_info.local_rank] if dev.type == "cuda" else None,
            find_unused_parameters=mc.cfg_dropout == 0)
    oc = config.optim
    opt = torch.optim.AdamW(_param_groups(lm, oc.weight_decay), lr=oc.lr, betas=oc.betas,
                            fused=dev.type == "cuda")
    sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine_schedule(oc.warmup_steps, tc.max_steps, oc.min_lr_ratio))
    step, epoch = 0, 0
    if state is not None:
        lm.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        step, epoch = int(state["step"]), int(state.get("epoch", 0))
        resume_rng(state, tc.seed, dist_info.rank, step, dist_info.distributed)
        log.info("resumed from step %d", step)
    # the EMA starts from the weights training continues from (a checkpoint saved without one included)
    ema = [p.detach().clone().float() for p in lm.parameters()] if tc.ema_decay > 0 else None
    if ema is not None and state is not None and "ema" in state:
        ema = [state["ema"][n].float().to(dev) for n, _ in lm.named_parameters()]

    max_frames = int(config.data.max_batch_seconds * dataset.frame_rate)
    sampler = DynamicBatchSampler(dataset.lengths, max_frames, shuffle=True, seed=tc.seed,
                                  rank=dist_info.rank, world_size=dist_info.world_size)
    collate = functools.partial(collate_lm, pad_multiple=config.data.pad_multiple)
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=collate,
                                         num_workers=config.data.num_workers, pin_memory=dev.type == "cuda",
                                         persistent_workers=False)
    if len(sampler) == 0:
        raise DataDirError(f"{len(dataset)} utterances make no batch for {dist_info.world_size} process(es)")
    valid_loader = None
    if valid_phn_dir and valid_latent_dir and dist_info.is_main:
        # validation always teacher-forces (true histories): its losses stay comparable across runs
        valid_data = replace(config.data, history_latents="", history_prob=0.0)
        valid_set = LMDataset(valid_phn_dir, valid_latent_dir, vocab, valid_data, utt2spk=None, seed=tc.seed)
        valid_loader = torch.utils.data.DataLoader(
            valid_set, batch_sampler=DynamicBatchSampler(valid_set.lengths, max_frames, shuffle=False),
            collate_fn=collate)
    logger = StepLogger(exp, tc.max_steps, tc.log_every, enabled=dist_info.is_main)
    params = list(lm.parameters())
    profiler = StepProfiler(exp, tc.profile_steps, dev, enabled=dist_info.is_main)

    def save() -> Path:
        st = {"model": lm.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
              "step": step, "epoch": epoch, "config": config_to_dict(config), "rng": rng_state()}
        if ema is not None:
            st["ema"] = {n: e.detach().cpu() for (n, _), e in zip(lm.named_parameters(), ema)}
        return ckpt.save(st, step)

    last = ckpt.latest_path()
    bad_steps = 0
    deadline = deadline_after(tc.max_minutes)
    out_of_time = False
    model.train()
    while step < tc.max_steps and not out_of_time:
        sampler.set_epoch(epoch)
        dataset.set_epoch(epoch)
        for batch in loader:
            if step >= tc.max_steps:
                break
            tensors = {k: v.to(dev, non_blocking=True) for k, v in batch.items() if k != "utts"}
            with context():
                out = model(tensors["phonemes"], tensors["phoneme_lens"], tensors["frames"],
                            tensors["frame_lens"], tensors["prompt_lens"], tensors.get("history"))
            loss = out["loss"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(params, oc.grad_clip)
            if not (math.isfinite(loss.item()) and math.isfinite(grad_norm.item())):
                bad_steps += 1
                log.warning("step %d: non-finite loss/gradient, update skipped (%d in a row)", step + 1, bad_steps)
                if bad_steps >= 20:
                    raise LatentSpeechError("20 non-finite training steps in a row; lower optim.lr "
                                            "(--set optim.lr=...) or check the latent dump for NaN/huge values")
                continue
            bad_steps = 0
            opt.step()
            sched.step()
            step += 1
            profiler.step()
            if ema is not None:
                with torch.no_grad():
                    torch._foreach_lerp_(ema, [p.detach().float() for p in params], 1.0 - tc.ema_decay)
            logger.update(step, {**{k: v.item() for k, v in out.items()},  # loss, diffusion, stop (, ctc)
                                 "grad_norm": grad_norm.item(), "lr": sched.get_last_lr()[0]})
            if valid_loader is not None and (step % tc.valid_every == 0 or step == tc.max_steps):
                logger.scalars("valid", evaluate(lm, valid_loader, dev, context, config.data.pad_multiple > 0), step)
            if dist_info.is_main and (step % tc.save_every == 0 or step == tc.max_steps):
                last = save()
            if tc.max_minutes > 0 and on_any_rank(time.monotonic() > deadline, dist_info.distributed, dev):
                out_of_time = True
                log.info("train.max_minutes=%g reached at step %d; saving (continue with --resume)",
                         tc.max_minutes, step)
                break
        if not out_of_time:
            epoch += 1
    if dist_info.is_main and (last is None or not last.name.endswith(f"{step:08d}.pt")):
        last = save()
    profiler.close()
    logger.close()
    if dist_info.distributed:
        torch.distributed.barrier()
    if dist_info.is_main:
        mark_finished(exp, step, tc.max_steps)
        log.info("finished at step %d; checkpoint %s", step, last)
    return last
