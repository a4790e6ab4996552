"""Reader training (training only): `latentspeech train-reader --config conf/reader.yaml --data dump/phn/train
--latents dump/latents/<tag>/train --exp-dir exp/reader [--valid-data ... --valid-latents ...] [--resume]`.

Whole utterances of the LM's dump (phoneme ids + σ-VAE latents, no prompts) → `LatentReader.loss` (CTC per
phoneme on noised frames). Length-bucketed batches, AdamW, warm-up + cosine, gradient clipping, atomic resumable
checkpoints, TensorBoard; one process (a 3M-parameter model trains on a CPU: ~0.6 s a step on 2 cores).
`latentspeech add-reader` puts the result into a "tts" model dir.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from latentspeech.config import config_to_dict, dump_config
from latentspeech.data.batching import DynamicBatchSampler
from latentspeech.data.datasets import LMDataConfig, LMDataset, collate_lm
from latentspeech.errors import ConfigError
from latentspeech.lm.reader import LatentReader, ReaderConfig
from latentspeech.lm.train import OptimConfig, load_vocab
from latentspeech.training import (Checkpointer, StepLogger, cosine_schedule, deadline_after, rng_state,
                                   seed_everything, set_rng_state)

log = logging.getLogger(__name__)

__all__ = ["ReaderTrainConfig", "ReaderRunConfig", "train_reader", "evaluate_reader"]


@dataclass
class ReaderRunConfig:
    max_steps: int = 3000
    max_minutes: float = 0.0             # > 0: stop (and save) after this much wall-clock time; resume later
    max_batch_seconds: float = 240.0     # padded audio per batch
    save_every: int = 500
    keep_last: int = 2
    log_every: int = 50
    valid_every: int = 250
    seed: int = 0


@dataclass
class ReaderTrainConfig:
    model: ReaderConfig = field(default_factory=ReaderConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=1e-3, warmup_steps=200))
    train: ReaderRunConfig = field(default_factory=ReaderRunConfig)


def _dataset(phn_dir: str, latent_dir: str, vocab, seed: int) -> LMDataset:
    # whole utterances: no cross-utterance prompts (the reader ignores prompt_len)
    return LMDataset(phn_dir, latent_dir, vocab, replace(LMDataConfig(), cross_prompt_prob=0.0), seed=seed)


@torch.no_grad()
def evaluate_reader(reader: LatentReader, loader) -> float:
    """Mean per-phoneme CTC loss over a loader, clean frames (eval mode)."""
    was_training = reader.training
    reader.eval()
    total, n = 0.0, 0
    for batch in loader:
        total += float(reader.loss(batch["frames"], batch["frame_lens"], batch["phonemes"], batch["phoneme_lens"]))
        n += 1
    reader.train(was_training)
    return total / max(1, n)


def train_reader(config: ReaderTrainConfig, phn_dir: str, latent_dir: str, exp_dir: str, resume: bool = False,
                 valid_phn_dir: str | None = None, valid_latent_dir: str | None = None) -> Path:
    """Train (or resume) a reader on the CPU; returns the path of the last checkpoint."""
    exp, tc, oc = Path(exp_dir), config.train, config.optim
    seed_everything(tc.seed)
    ckpt = Checkpointer(exp, tc.keep_last)
    if not resume and ckpt.latest_path() is not None:
        raise ConfigError(f"{exp} already has checkpoints; pass --resume to continue or use a new --exp-dir")
    state = ckpt.load_latest() if resume else None
    vocab, vocab_path = load_vocab(phn_dir)
    dataset = _dataset(phn_dir, latent_dir, vocab, tc.seed)
    mc = config.model
    mc.vocab_size = len(vocab)
    if dataset.latent_dim is not None and mc.latent_dim != dataset.latent_dim:
        log.info("model.latent_dim %d → %d (the dump's latents)", mc.latent_dim, dataset.latent_dim)
        mc.latent_dim = dataset.latent_dim
    exp.mkdir(parents=True, exist_ok=True)
    dump_config(config, exp / "config.yaml")
    shutil.copyfile(vocab_path, exp / "vocab.yaml")
    shutil.copyfile(Path(latent_dir) / "vae.yaml", exp / "vae.yaml")

    reader = LatentReader(mc)
    log.info("reader: %.2fM parameters; %d utterances", sum(p.numel() for p in reader.parameters()) / 1e6,
             len(dataset))
    opt = torch.optim.AdamW(reader.parameters(), lr=oc.lr, betas=oc.betas, weight_decay=oc.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine_schedule(oc.warmup_steps, tc.max_steps, oc.min_lr_ratio))
    step, epoch = 0, 0
    if state is not None:
        reader.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        step, epoch = int(state["step"]), int(state.get("epoch", 0))
        set_rng_state(state["rng"])
        log.info("resumed from step %d", step)

    max_frames = int(tc.max_batch_seconds * dataset.frame_rate)
    sampler = DynamicBatchSampler(dataset.lengths, max_frames, shuffle=True, seed=tc.seed)
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=collate_lm)
    valid_loader = None
    if valid_phn_dir and valid_latent_dir:
        valid = _dataset(valid_phn_dir, valid_latent_dir, vocab, tc.seed)
        valid_loader = torch.utils.data.DataLoader(
            valid, batch_sampler=DynamicBatchSampler(valid.lengths, max_frames, shuffle=False), collate_fn=collate_lm)
    logger = StepLogger(exp, tc.max_steps, tc.log_every)

    def save() -> Path:
        return ckpt.save({"model": reader.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                          "step": step, "epoch": epoch, "config": config_to_dict(config), "rng": rng_state()}, step)

    last = ckpt.latest_path()
    deadline = deadline_after(tc.max_minutes)
    reader.train()
    while step < tc.max_steps and time.monotonic() < deadline:
        sampler.set_epoch(epoch)
        for batch in loader:
            loss = reader.loss(batch["frames"], batch["frame_lens"], batch["phonemes"], batch["phoneme_lens"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(reader.parameters(), oc.grad_clip)
            if not (math.isfinite(loss.item()) and math.isfinite(grad_norm.item())):
                log.warning("step %d: non-finite loss/gradient, update skipped", step + 1)
                continue
            opt.step()
            sched.step()
            step += 1
            logger.update(step, {"ctc": loss.item(), "grad_norm": grad_norm.item(), "lr": sched.get_last_lr()[0]})
            if valid_loader is not None and (step % tc.valid_every == 0 or step == tc.max_steps):
                logger.scalars("valid", {"ctc": evaluate_reader(reader, valid_loader)}, step)
            if step % tc.save_every == 0 or step == tc.max_steps:
                last = save()
            if step >= tc.max_steps or time.monotonic() >= deadline:
                break
        else:
            epoch += 1
    if last is None or not last.name.endswith(f"{step:08d}.pt"):
        last = save()
    logger.close()
    log.info("finished at step %d; checkpoint %s", step, last)
    return last
