"""σ-VAE training (training only): `latentspeech train-vae --config conf/vae.yaml --data data/train --exp-dir exp/vae`.

Random fixed-length crops → SigmaVAE → multi-resolution mel + STFT losses (+ μ² / KL regulariser); after
`loss.gan_start_step` also hinge GAN + feature matching with encodec's MS-STFT discriminator (+ optional MPD).
AdamW with linear warm-up + cosine decay, gradient clipping, atomic resumable checkpoints (model, discriminator,
both optimisers and schedulers, grad scaler, RNG states). The batch of step s depends only on (seed, s, rank),
so `--resume` reproduces the next loss exactly. Runs under torchrun (DDP) unchanged; autocast bf16/fp16 by config.
At the end the release model dir `<exp_dir>/model/` gets per-dimension latent mean/std over training audio.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from latentspeech.config import config_from_dict, config_to_dict, dump_config
from latentspeech.data.dump import Utterance, load_utterance, read_utterance_list
from latentspeech.errors import CheckpointError, ConfigError, DataDirError, LatentSpeechError
from latentspeech.training import load_init_weights as _load_init_weights
from latentspeech.training import (Checkpointer, StepLogger, config_differences, cosine_schedule, deadline_after,
                                   init_distributed, mark_finished, on_any_rank, resume_rng, rng_state,
                                   seed_everything)
from latentspeech.vae.discriminators import DiscConfig, Discriminators
from latentspeech.vae.losses import (MultiResolutionMelLoss, MultiResolutionSTFTLoss, discriminator_loss,
                                     feature_matching_loss, generator_loss)
from latentspeech.vae.model import SigmaVAE, VAEConfig

log = logging.getLogger(__name__)

__all__ = ["LossConfig", "DataConfig", "OptimConfig", "TrainConfig", "VAETrainConfig", "CropSampler",
           "LatentCropSampler", "train_vae", "load_init_weights", "compute_latent_stats", "export_vae",
           "read_utterance_list"]


@dataclass
class LossConfig:
    mel_weight: float = 1.0
    stft_weight: float = 0.5
    reg_weight: float = 1.0e-2          # × mean(μ²) (sigma) or × KL (gaussian)
    adv_weight: float = 0.05            # ≈ HiFi-GAN's 1 : 45 adversarial : mel ratio
    fm_weight: float = 0.1
    gan_start_step: int = 2000          # reconstruction-only warm-up
    gan_batch_size: int = 0             # discriminator sees the first k examples of each batch (0 = all)
    mel_n_ffts: tuple[int, ...] = (512, 1024, 2048)
    mel_n_mels: tuple[int, ...] = (40, 80, 128)
    stft_n_ffts: tuple[int, ...] = (256, 512, 1024, 2048)
    disc: DiscConfig = field(default_factory=DiscConfig)

    def __post_init__(self) -> None:
        if len(self.mel_n_ffts) != len(self.mel_n_mels) or not self.mel_n_ffts:
            raise ValueError(f"loss.mel_n_ffts {list(self.mel_n_ffts)} and loss.mel_n_mels {list(self.mel_n_mels)} "
                             "need one entry each per mel resolution")


@dataclass
class DataConfig:
    crop_seconds: float = 1.28          # rounded down to whole latent frames
    batch_size: int = 16                # per process
    valid_utts: int = 8
    valid_max_seconds: float = 8.0
    stats_utts: int = 200               # utterances sampled for latent mean/std
    preload: bool = False               # decode every training file once and keep it in memory (GPU runs on small
                                        # carried corpora: the crops of a fast step then cost no file reads)
    # Decoder fine-tuning on given latents (needs train.freeze_encoder): a latent dump of the training data dir's
    # utterances, e.g. the LM's ground-truth-aligned samples (`latentspeech dump-gta-latents`, lm/gta.py). With
    # probability latents_prob a step decodes crops of these frames (utterances shorter than a crop are skipped)
    # instead of the encoder's noisy μ; the loss compares with the same crop of the recording.
    latents: str = ""
    latents_prob: float = 1.0


@dataclass
class OptimConfig:
    lr: float = 5.0e-4
    disc_lr: float = 5.0e-4
    betas: tuple[float, float] = (0.8, 0.99)
    weight_decay: float = 1.0e-2
    warmup_steps: int = 500
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0


@dataclass
class TrainConfig:
    max_steps: int = 20000
    save_every: int = 500
    keep_last: int = 3
    keep_every: int = 0                  # > 0: also keep every checkpoint whose step is a multiple of this
    log_every: int = 50
    valid_every: int = 1000
    audio_samples: int = 2              # validation clips logged to TensorBoard
    seed: int = 1234
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"   # autocast dtype (fp16 on GPU only)
    device: str = "auto"
    freeze_encoder_step: int = 0        # > 0: encoder frozen after this step (latents dumped earlier stay valid)
    freeze_encoder: bool = False        # encoder frozen from the start, latent mean/std kept: decoder-only
                                        # fine-tuning of an --init-from VAE whose latent dumps must stay valid
    max_minutes: float = 0.0            # > 0: stop (save, export model/) after this much wall-clock time; the
                                        # schedule still runs to max_steps (min_lr_ratio 1 = constant after warm-up)


@dataclass
class VAETrainConfig:
    model: VAEConfig = field(default_factory=VAEConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


# --- data -------------------------------------------------------------------------------------------
class CropSampler:
    """Batches of random crops [B, 1, crop] of the utterances (a `segments` file's spans, not whole recordings);
    the batch of a step is a function of (seed, step, rank) only."""

    def __init__(self, items: list[Utterance], sample_rate: int, crop_samples: int, seed: int,
                 preload: bool = False):
        self.items, self.sr, self.crop, self.seed = items, sample_rate, crop_samples, seed
        self.cache: dict[int, np.ndarray] | None = {} if preload else None

    def _load(self, j: int) -> np.ndarray:
        if self.cache is None:
            return load_utterance(self.items[j], self.sr)
        if j not in self.cache:
            self.cache[j] = load_utterance(self.items[j], self.sr)
        return self.cache[j]

    def batch(self, step: int, batch_size: int, rank: int = 0) -> Tensor:
        rng = np.random.default_rng([self.seed, step, rank])
        out = np.zeros((batch_size, 1, self.crop), dtype=np.float32)
        for i, j in enumerate(rng.integers(len(self.items), size=batch_size)):
            wav = self._load(int(j))
            if len(wav) > self.crop:
                start = int(rng.integers(len(wav) - self.crop + 1))
                wav = wav[start: start + self.crop]
            out[i, 0, : len(wav)] = wav
        return torch.from_numpy(out)


class LatentCropSampler:
    """Aligned crops of (audio [B, 1, F·hop], normalised latents [B, F, D]) from a latent dump of the same
    utterances; frame k ↔ samples [k·hop, (k + 1)·hop). The batch of a step is a function of (seed, step, rank)."""

    def __init__(self, items: list[Utterance], latent_dir: str | Path, sample_rate: int, hop_length: int,
                 crop_frames: int, seed: int):
        from latentspeech.data.datasets import read_latent_index

        index = read_latent_index(latent_dir)
        self.items = [(it, index[it.utt][0]) for it in items if it.utt in index and index[it.utt][1] >= crop_frames]
        if not self.items:
            raise DataDirError(f"{latent_dir} has no utterance of the training data dir with >= {crop_frames} frames")
        log.info("data.latents: %d of %d training utterances from %s", len(self.items), len(items), latent_dir)
        self.sr, self.hop, self.frames, self.seed = sample_rate, hop_length, crop_frames, seed

    def batch(self, step: int, batch_size: int, rank: int = 0) -> tuple[Tensor, Tensor]:
        rng = np.random.default_rng([self.seed, step, rank, 1])
        f, hop = self.frames, self.hop
        wavs = np.zeros((batch_size, 1, f * hop), dtype=np.float32)
        lats = []
        for i, j in enumerate(rng.integers(len(self.items), size=batch_size)):
            item, lat_path = self.items[j]
            wav = load_utterance(item, self.sr)
            z = np.load(lat_path)
            if z.shape[0] != -(-len(wav) // hop):
                raise DataDirError(f"{lat_path} has {z.shape[0]} frames but its audio ('{item.utt}') makes "
                                   f"{-(-len(wav) // hop)}: the dump is of other audio or another VAE")
            start = int(rng.integers(z.shape[0] - f + 1))
            piece = wav[start * hop: (start + f) * hop]
            wavs[i, 0, : len(piece)] = piece
            lats.append(z[start: start + f].astype(np.float32))
        return torch.from_numpy(wavs), torch.from_numpy(np.stack(lats))


# --- helpers ----------------------------------------------------------------------------------------
def _autocast(device: torch.device, precision: str):
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


def _unwrap(m: torch.nn.Module) -> torch.nn.Module:
    return m.module if hasattr(m, "module") else m


def _exported_step(model_dir: Path) -> int | None:
    """The training step a model dir was exported at (None: no model dir, or one without `train_step`)."""
    from latentspeech.checkpoint import read_model_config

    try:
        return int(read_model_config(model_dir, VAEConfig, "vae")[1]["train_step"])
    except (CheckpointError, KeyError, TypeError, ValueError):
        return None


def _validation_clips(items: list[Utterance], sample_rate: int, hop_length: int, max_samples: int) -> list[np.ndarray]:
    """The validation utterances' audio (at most `max_samples` each); clips shorter than one latent frame are left
    out with a warning (they cannot be encoded: validation would stop the run before its checkpoint)."""
    clips, short = [], []
    for item in items:
        wav = load_utterance(item, sample_rate)[:max_samples]
        if len(wav) >= hop_length:
            clips.append(wav)
        else:
            short.append(item.utt)
    if short:
        log.warning("%d validation utterances are shorter than one latent frame and left out: %s", len(short),
                    ", ".join(short[:5]) + (", ..." if len(short) > 5 else ""))
    return clips


@torch.no_grad()
def compute_latent_stats(model: SigmaVAE, items: list[Utterance], max_utts: int,
                         seed: int = 0) -> tuple[Tensor, Tensor]:
    """Per-dimension mean/std of μ over (a seeded sample of) utterances → ([D], [D])."""
    model.eval()
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(items))[:max_utts]
    total = torch.zeros(model.latent_dim, dtype=torch.float64)
    total_sq = torch.zeros_like(total)
    count = 0
    device = model.latent_mean.device
    for j in pick:
        wav = load_utterance(items[j], model.sample_rate)
        if len(wav) < model.hop_length:
            continue
        mu = model.encode(torch.from_numpy(wav).to(device).view(1, 1, -1))[0].double().cpu()  # [N, D]
        total += mu.sum(0)
        total_sq += mu.pow(2).sum(0)
        count += mu.shape[0]
    if count == 0:
        raise DataDirError("no utterance long enough to compute latent statistics")
    mean = total / count
    std = (total_sq / count - mean.pow(2)).clamp(min=1e-8).sqrt()
    return mean.float(), std.float()


def export_vae(model: SigmaVAE, train_items: list[Utterance], out_dir: str | Path, stats_utts: int,
               keep_stats: bool = False, step: int | None = None) -> Path:
    """Set `latent_mean`/`latent_std` from training audio (unless `keep_stats`: a frozen encoder keeps the ones
    its latent dumps were normalised with) and write the release model dir (`train_step: step` when given)."""
    if not keep_stats:
        mean, std = compute_latent_stats(model, train_items, stats_utts)
        model.latent_mean.copy_(mean)
        model.latent_std.copy_(std)
    model.save_pretrained(str(out_dir), extra=None if step is None else {"train_step": int(step)})
    log.info("wrote VAE model dir %s (latent std range %.3g..%.3g)", out_dir, model.latent_std.min(),
             model.latent_std.max())
    return Path(out_dir)


@torch.no_grad()
def validate(model: SigmaVAE, wavs: list[Tensor], mel_loss: MultiResolutionMelLoss) -> tuple[dict, list[Tensor]]:
    """Deterministic reconstruction of whole utterances → ({'mel': ..}, reconstructions)."""
    model.eval()
    mels, outs = [], []
    for w in wavs:
        hat = model.decode(model.encode(w))[..., : w.shape[-1]]
        mels.append(float(mel_loss(hat, w)))
        outs.append(hat)
    model.train()
    return {"mel": float(np.mean(mels))}, outs


_DECODER_FIELDS = ("sigma_std", "decoder_causal")  # besides dec_*: what decoder-only fine-tuning may change


def _check_frozen_encoder_config(config: VAEConfig, init_dir: str | Path) -> None:
    """A frozen encoder must compute what it computed when its latents were dumped: refuse any difference in the
    encoder's (or the latent's) settings between the run's model config and the --init-from VAE's."""
    from latentspeech.checkpoint import read_model_config

    saved = read_model_config(init_dir, VAEConfig, "vae")[0]
    diff = [f"--set model.{k}={_set_value(getattr(saved, k))}" for k in saved.__dict__
            if not (k.startswith("dec") or k in _DECODER_FIELDS) and getattr(saved, k) != getattr(config, k)]
    if diff:
        raise ConfigError(f"train.freeze_encoder keeps the encoder of {init_dir}, whose model config differs from "
                          f"this run's: pass {' '.join(diff)}")


def _set_value(v: object) -> str:
    """A config value as `--set KEY=VALUE` writes it."""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_set_value(x) for x in v) + "]"
    return str(v)


def load_init_weights(model: SigmaVAE, init_from: str | Path) -> Path:
    """Load a release VAE model dir (incl. latent mean/std) into `model` (training.load_init_weights)."""
    return _load_init_weights(model, init_from, VAEConfig, "vae",
                              hint=" (train-vae takes a VAE model dir from export-vae)")


# --- training ---------------------------------------------------------------------------------------
def train_vae(cfg: VAETrainConfig, data_dir: str, exp_dir: str, valid_dir: str | None = None,
              resume: bool = False, init_from: str | Path | None = None) -> list[float]:
    """Train; returns the per-step total generator losses of this run (tests use them).

    `init_from` (a VAE model dir or name) warm-starts the generator's weights at step 0 (fresh discriminator,
    optimisers and schedules); ignored when `resume` finds a checkpoint."""
    dist = init_distributed(cfg.train.device)
    device, tc = dist.device, cfg.train
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # fp32 training: TF32 matmuls (convolutions use it already)
    if tc.precision == "fp16" and device.type != "cuda":
        raise ConfigError("train.precision fp16 needs a GPU; use fp32 or bf16 on CPU")
    if tc.freeze_encoder and init_from is None and not resume:
        raise ConfigError("train.freeze_encoder keeps a trained encoder: pass --init-from VAE_MODEL")
    if cfg.data.latents and not tc.freeze_encoder:
        raise ConfigError("data.latents fine-tunes the decoder of a trained VAE: also set train.freeze_encoder=true "
                          "(and --init-from the VAE that made the latents)")
    exp = Path(exp_dir)
    seed_everything(tc.seed + dist.rank)
    train_items = read_utterance_list(data_dir)
    valid_items = (read_utterance_list(valid_dir) if valid_dir else train_items)[: cfg.data.valid_utts]

    model = SigmaVAE(cfg.model).to(device)
    disc = Discriminators(cfg.loss.disc).to(device)
    mel_loss = MultiResolutionMelLoss(cfg.model.sample_rate, cfg.loss.mel_n_ffts, cfg.loss.mel_n_mels).to(device)
    stft_loss = MultiResolutionSTFTLoss(cfg.loss.stft_n_ffts).to(device)
    oc = cfg.optim
    opt_g = torch.optim.AdamW(model.parameters(), lr=oc.lr, betas=oc.betas, weight_decay=oc.weight_decay)
    opt_d = torch.optim.AdamW(disc.parameters(), lr=oc.disc_lr, betas=oc.betas, weight_decay=oc.weight_decay)
    sched_g = torch.optim.lr_scheduler.LambdaLR(
        opt_g, cosine_schedule(oc.warmup_steps, tc.max_steps, oc.min_lr_ratio))
    sched_d = torch.optim.lr_scheduler.LambdaLR(
        opt_d, cosine_schedule(oc.warmup_steps, max(1, tc.max_steps - cfg.loss.gan_start_step), oc.min_lr_ratio))
    scaler = torch.amp.GradScaler(device.type, enabled=tc.precision == "fp16")

    ckpt = Checkpointer(exp, keep_last=tc.keep_last, keep_every=tc.keep_every)
    if not resume and ckpt.latest_path() is not None:  # a fresh run would prune or be mistaken for that run's steps
        raise ConfigError(f"{exp} already has checkpoints; pass --resume to continue or use a new --exp-dir")
    start = 0
    state = ckpt.load_latest() if resume else None
    if resume and state is None:
        log.warning("--resume: no checkpoint in %s; starting from %s", ckpt.dir,
                    "--init-from weights" if init_from is not None else "scratch")
    if state is not None:
        saved = config_from_dict(state["config"], VAETrainConfig, str(ckpt.latest_path()))
        def shapes(c: VAETrainConfig) -> dict:  # what the saved weights' shapes depend on
            return {"model": config_to_dict(c.model), "loss": {"disc": config_to_dict(c.loss.disc)}}

        changed = config_differences(shapes(saved), shapes(cfg))
        if changed:
            raise ConfigError(f"{ckpt.latest_path()} was trained with another model/discriminator config "
                              f"({'; '.join(changed)}); use the same --config/--set or a new --exp-dir")
        model.load_state_dict(state["model"])
        disc.load_state_dict(state["disc"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        sched_g.load_state_dict(state["sched_g"])
        sched_d.load_state_dict(state["sched_d"])
        scaler.load_state_dict(state["scaler"])
        start = int(state["step"])
        resume_rng(state, tc.seed, dist.rank, start, dist.distributed)
        log.info("resumed from step %d (%s)", start, ckpt.latest_path())
        if init_from is not None:
            log.info("--init-from %s ignored: resuming from a checkpoint", init_from)
    elif init_from is not None:
        init_dir = load_init_weights(model, init_from)
        log.info("initialised weights from %s", init_dir)
        if tc.freeze_encoder:
            _check_frozen_encoder_config(cfg.model, init_dir)
    if tc.freeze_encoder:
        model.encoder.requires_grad_(False)  # grads stay None → AdamW leaves the encoder untouched
        log.info("encoder frozen (train.freeze_encoder): only the decoder trains; latent statistics are kept")
    if dist.is_main:
        exp.mkdir(parents=True, exist_ok=True)
        mark_finished(exp, None, tc.max_steps)
        dump_config(cfg, exp / "config.yaml")
        log.info("config:\n%s", dump_config(cfg))
        n_g = sum(p.numel() for p in model.parameters())
        n_d = sum(p.numel() for p in disc.parameters())
        log.info("σ-VAE %.2fM parameters (discriminator %.2fM); %.2f Hz x %d dims; %d training utterances",
                 n_g / 1e6, n_d / 1e6, model.frame_rate, model.latent_dim, len(train_items))

    model_t, disc_t = model, disc
    if dist.distributed:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [device.index] if device.type == "cuda" else None
        model_t = DDP(model, device_ids=ids, find_unused_parameters=tc.freeze_encoder_step > 0)
        disc_t = DDP(disc, device_ids=ids)

    crop = max(1, int(cfg.data.crop_seconds * cfg.model.sample_rate) // cfg.model.hop_length) * cfg.model.hop_length
    sampler = CropSampler(train_items, cfg.model.sample_rate, crop, tc.seed, preload=cfg.data.preload)
    latent_sampler = LatentCropSampler(train_items, cfg.data.latents, cfg.model.sample_rate, cfg.model.hop_length,
                                       crop // cfg.model.hop_length, tc.seed) if cfg.data.latents else None
    max_valid = int(cfg.data.valid_max_seconds * cfg.model.sample_rate)
    valid_wavs = [torch.from_numpy(w).view(1, 1, -1).to(device)
                  for w in _validation_clips(valid_items, cfg.model.sample_rate, cfg.model.hop_length, max_valid)
                  ] if dist.is_main else []
    logger = StepLogger(exp, tc.max_steps, tc.log_every, enabled=dist.is_main)
    lc = cfg.loss
    losses: list[float] = []
    model.train()
    disc.train()
    t_data = 0.0
    deadline = deadline_after(tc.max_minutes)
    last_step = start
    for step in range(start + 1, tc.max_steps + 1):
        if 0 < tc.freeze_encoder_step < step:
            model.encoder.requires_grad_(False)  # grads stay None → AdamW leaves the encoder untouched
            if step == tc.freeze_encoder_step + 1 and dist.is_main and not tc.freeze_encoder:
                # the latents are final from here on: export now so latent dumps can start
                # (not with train.freeze_encoder: that encoder and its statistics were final before step 1)
                export_vae(model, train_items, exp / "model", cfg.data.stats_utts)
                model.train()
        t0 = time.perf_counter()
        latents = None
        if latent_sampler is not None and np.random.default_rng([tc.seed, step, 2]).random() < cfg.data.latents_prob:
            wav, latents = latent_sampler.batch(step, cfg.data.batch_size, dist.rank)
            wav = wav.to(device, non_blocking=True)
            latents = latents.to(device) * model.latent_std + model.latent_mean  # the decoder's (raw μ) scale
        else:
            wav = sampler.batch(step, cfg.data.batch_size, dist.rank).to(device, non_blocking=True)
        t_data += time.perf_counter() - t0
        with _autocast(device, tc.precision):
            out = model_t(wav, latents=latents)
        wav_hat = out.wav.float()
        mel = mel_loss(wav_hat, wav)
        stft = stft_loss(wav_hat, wav)
        loss_g = lc.mel_weight * mel + lc.stft_weight * stft + lc.reg_weight * out.reg.float()
        scalars = {"loss": 0.0, "mel": mel.item(), "stft": stft.item(), "reg": out.reg.item(),
                   "mu_rms": out.mu.detach().float().pow(2).mean().sqrt().item()}
        if step > lc.gan_start_step and (lc.adv_weight > 0 or lc.fm_weight > 0):
            # discriminator step on real + detached fake in one forward (one DDP forward per backward)
            b = min(lc.gan_batch_size or wav.shape[0], wav.shape[0])  # a setting above the batch size: all of it
            real, fake = wav[:b], wav_hat[:b]
            with _autocast(device, tc.precision):
                logits, fmaps = disc_t(torch.cat([real, fake.detach()]))
            loss_d = discriminator_loss([x[:b].float() for x in logits], [x[b:].float() for x in logits])
            opt_d.zero_grad(set_to_none=True)
            scaler.scale(loss_d).backward()
            scaler.unscale_(opt_d)
            torch.nn.utils.clip_grad_norm_(disc.parameters(), oc.grad_clip)
            scaler.step(opt_d)
            sched_d.step()
            # generator adversarial terms; real features reused from the pass above (detached)
            real_fmaps = [[f[:b].detach() for f in fm] for fm in fmaps]
            disc.requires_grad_(False)
            with _autocast(device, tc.precision):
                fake_logits, fake_fmaps = disc(fake)
            disc.requires_grad_(True)
            adv = generator_loss([x.float() for x in fake_logits])
            fm = feature_matching_loss(real_fmaps, fake_fmaps)
            loss_g = loss_g + lc.adv_weight * adv + lc.fm_weight * fm
            scalars.update(d=loss_d.item(), adv=adv.item(), fm=fm.item())
        opt_g.zero_grad(set_to_none=True)
        scaler.scale(loss_g).backward()
        scaler.unscale_(opt_g)
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), oc.grad_clip)
        scaler.step(opt_g)
        scaler.update()
        sched_g.step()
        losses.append(loss_g.item())
        scalars.update(loss=losses[-1], gnorm=float(gnorm), lr=sched_g.get_last_lr()[0])
        if not math.isfinite(losses[-1]):
            raise LatentSpeechError(f"loss is {losses[-1]} at step {step}; check the audio for NaN/Inf, lower "
                                    "optim.lr or resume from an earlier step")
        means = logger.update(step, scalars)
        if means is not None and step % tc.log_every == 0 and dist.is_main:
            log.debug("data loading %.3f s/step", t_data / tc.log_every)
            t_data = 0.0
        if dist.is_main and valid_wavs and (step % tc.valid_every == 0 or step == tc.max_steps):
            values, recons = validate(model, valid_wavs, mel_loss)
            logger.scalars("valid", values, step)
            for i in range(min(tc.audio_samples, len(recons))):
                logger.audio(f"valid/recon_{i}", recons[i].clamp(-1, 1), step, cfg.model.sample_rate)
                if step == tc.valid_every or step == start + tc.valid_every:
                    logger.audio(f"valid/orig_{i}", valid_wavs[i], step, cfg.model.sample_rate)
        last_step = step
        out_of_time = tc.max_minutes > 0 and on_any_rank(time.monotonic() > deadline, dist.distributed, device)
        if dist.is_main and (step % tc.save_every == 0 or step == tc.max_steps or out_of_time):
            ckpt.save({"model": model.state_dict(), "disc": disc.state_dict(), "opt_g": opt_g.state_dict(),
                       "opt_d": opt_d.state_dict(), "sched_g": sched_g.state_dict(),
                       "sched_d": sched_d.state_dict(), "scaler": scaler.state_dict(), "step": step,
                       "config": config_to_dict(cfg), "rng": rng_state()}, step)
        if out_of_time:
            log.info("train.max_minutes=%g reached at step %d; saved (continue with --resume)", tc.max_minutes, step)
            break
    if dist.is_main and last_step > 0 and (start < last_step or _exported_step(exp / "model") != last_step):
        # also when resumed with no steps left: the run that reached max_steps may have died while exporting
        export_vae(model, train_items, exp / "model", cfg.data.stats_utts, keep_stats=tc.freeze_encoder,
                   step=last_step)
    if dist.is_main:
        mark_finished(exp, last_step, tc.max_steps)
    logger.close()
    if dist.distributed:
        torch.distributed.barrier()
    return losses


def load_training_model(exp_dir: str | Path) -> tuple[SigmaVAE, VAETrainConfig, int]:
    """The newest checkpoint's generator (eval mode), its config and step."""
    ckpt = Checkpointer(exp_dir)
    state = ckpt.load_latest()
    if state is None:
        raise CheckpointError(f"'{exp_dir}' has no checkpoints/step_*.pt; train it with `latentspeech train-vae`")
    cfg = config_from_dict(state["config"], VAETrainConfig, str(ckpt.latest_path()))
    model = SigmaVAE(cfg.model)
    model.load_state_dict(state["model"])
    return model.eval(), cfg, int(state["step"])
