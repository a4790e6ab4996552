"""Sub-commands for the vae stage: train-vae, export-vae, encode, decode, resynth, dump-latents."""

from __future__ import annotations

import argparse
from pathlib import Path

from latentspeech.cli.common import add_config_args, existing_file, output_path

DEFAULT_VAE = "vae_synth_cpu"  # pretrained/vae_synth_cpu: the shipped CPU σ-VAE


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's sub-commands to `sub`."""
    p = sub.add_parser("train-vae", help="train the σ-VAE (torchrun-ready)")
    add_config_args(p)
    p.add_argument("--data", required=True, help="training data dir (wav.scp)")
    p.add_argument("--valid-data", help="validation data dir (default: first utterances of --data)")
    p.add_argument("--exp-dir", required=True, help="output: checkpoints/, tensorboard/, config.yaml, model/")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --exp-dir")
    p.add_argument("--init-from", default=None, metavar="MODEL",
                   help="start from the weights of a 'vae' model (name or dir), fresh optimisers; --resume wins")
    p.add_argument("--num-threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.set_defaults(func=cmd_train_vae)

    p = sub.add_parser("export-vae", help="write a release VAE model dir (with latent mean/std) from a training run")
    p.add_argument("--exp-dir", required=True, help="training run with checkpoints/")
    p.add_argument("--data", required=True, help="data dir whose audio gives the latent mean/std")
    p.add_argument("--out", help="model dir to write (default: <exp-dir>/model)")
    p.add_argument("--stats-utts", type=int, default=None, help="utterances sampled for the statistics")
    p.add_argument("--force", action="store_true", help="overwrite an existing model dir")
    p.set_defaults(func=cmd_export_vae)

    for name, what in (("encode", "wav → latent frames .npy [N, D]"), ("decode", "latent frames .npy → wav"),
                       ("resynth", "wav → encode → decode → wav")):
        p = sub.add_parser(name, help=what)
        p.add_argument("input", help="input .npy" if name == "decode" else "input audio file")
        p.add_argument("-o", "--out", required=True, help="output file")
        p.add_argument("--vae", default=None, help=f"VAE model name under pretrained/ or model dir (default: {DEFAULT_VAE})")
        if name != "resynth":
            p.add_argument("--raw", action="store_true",
                           help="un-normalised μ (default: normalised by the stored latent mean/std, as in dumps)")
        p.add_argument("--device", default="cpu")
        p.add_argument("--force", action="store_true", help="overwrite the output")
        p.set_defaults(func={"encode": cmd_encode, "decode": cmd_decode, "resynth": cmd_resynth}[name])

    p = sub.add_parser("dump-latents", help="encode a data dir into normalised float16 latents (resumable)")
    p.add_argument("--data", required=True, help="data dir (wav.scp)")
    p.add_argument("--vae", required=True, help="VAE model name under pretrained/ or model dir")
    p.add_argument("--out", required=True, help="e.g. dump/latents/<tag>/train")
    p.add_argument("--shard", default=None, metavar="I/N", help="only shard I of N (1-based, kaldi JOB style)")
    p.add_argument("--nj", type=int, default=1, help="parallel processes (1 thread each)")
    p.add_argument("--max-batch-seconds", type=float, default=60.0,
                   help="audio per encoder batch (causal encoders; a non-causal one encodes each utterance alone: "
                        "batch zero-padding would change its last frames)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--force", action="store_true", help="re-encode utterances already dumped")
    p.set_defaults(func=cmd_dump_latents)


def resolve_vae_dir(arg: str | None) -> Path:
    """--vae value (a name under pretrained/ or a model dir; default DEFAULT_VAE) → model dir, or a one-line error."""
    from latentspeech.errors import CheckpointError, InputError
    from latentspeech.pretrained import resolve_model

    try:
        return resolve_model(arg if arg is not None else DEFAULT_VAE)
    except CheckpointError as e:
        hint = " (no --vae given)" if arg is None else ""
        raise InputError(f"{e}{hint}; pass --vae DIR, a model dir from train-vae/export-vae such as exp/vae/model") from None


def _load_vae(args):
    from latentspeech.vae.model import SigmaVAE

    return SigmaVAE.from_pretrained(str(resolve_vae_dir(args.vae)), device=args.device)


def _load_wav_tensor(path: str, vae):
    import torch

    from latentspeech.audio.io import load_audio

    wav, _ = load_audio(existing_file(path, "audio file"), vae.sample_rate)
    return torch.from_numpy(wav).view(1, 1, -1).to(vae.latent_mean.device)


def cmd_encode(args) -> int:
    import logging
    import time

    import numpy as np
    import torch

    out = output_path(args.out, args.force)
    vae = _load_vae(args)
    wav = _load_wav_tensor(args.input, vae)
    t0 = time.perf_counter()
    with torch.inference_mode():
        mu = vae.encode(wav, normalize=not args.raw)[0].float().cpu().numpy()
    elapsed = time.perf_counter() - t0
    with open(out, "wb") as f:  # the name as given (np.save on a path would append .npy)
        np.save(f, mu)
    seconds = wav.shape[-1] / vae.sample_rate
    logging.getLogger(__name__).info("wrote %s (%d frames x %d dims at %.4g Hz, %.1fx real time)", out,
                                     mu.shape[0], mu.shape[1], vae.frame_rate, seconds / max(elapsed, 1e-9))
    return 0


def _read_latents(path: str, latent_dim: int):
    import numpy as np

    from latentspeech.errors import InputError

    p = existing_file(path, "latent file")
    try:
        z = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise InputError(f"'{path}' is not a readable .npy latent file ({type(e).__name__}); "
                         "write it with `latentspeech encode`") from None
    if z.ndim != 2 or z.shape[1] != latent_dim or z.shape[0] == 0:
        raise InputError(f"'{path}' holds shape {z.shape}; this VAE needs [N > 0, {latent_dim}]")
    if not np.isfinite(z).all():
        raise InputError(f"'{path}' contains NaN/Inf values")
    return z


def cmd_decode(args) -> int:
    import logging
    import time

    import torch

    from latentspeech.audio.io import save_audio

    out = output_path(args.out, args.force)
    vae = _load_vae(args)
    z = torch.from_numpy(_read_latents(args.input, vae.latent_dim).astype("float32")).unsqueeze(0)
    t0 = time.perf_counter()
    with torch.inference_mode():
        wav = vae.decode(z.to(vae.latent_mean.device), denormalize=not args.raw)[0, 0].cpu()
    elapsed = time.perf_counter() - t0
    save_audio(out, wav.clamp(-1, 1).numpy(), vae.sample_rate)
    seconds = wav.shape[-1] / vae.sample_rate
    logging.getLogger(__name__).info("wrote %s (%.2f s, %.1fx real time)", out, seconds, seconds / max(elapsed, 1e-9))
    return 0


def cmd_resynth(args) -> int:
    import logging

    import torch

    from latentspeech.audio.io import save_audio

    out = output_path(args.out, args.force)
    vae = _load_vae(args)
    wav = _load_wav_tensor(args.input, vae)
    with torch.inference_mode():
        hat = vae.decode(vae.encode(wav))[0, 0, : wav.shape[-1]].cpu()
    save_audio(out, hat.clamp(-1, 1).numpy(), vae.sample_rate)
    logging.getLogger(__name__).info("wrote %s (%.2f s)", out, hat.shape[-1] / vae.sample_rate)
    return 0


def cmd_train_vae(args) -> int:
    import torch

    from latentspeech.config import load_config
    from latentspeech.vae.train import VAETrainConfig, train_vae

    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    cfg = load_config(args.config, VAETrainConfig, args.overrides)
    train_vae(cfg, args.data, args.exp_dir, valid_dir=args.valid_data, resume=args.resume, init_from=args.init_from)
    return 0


def cmd_export_vae(args) -> int:
    from latentspeech.errors import InputError
    from latentspeech.vae.train import export_vae, load_training_model, read_utterance_list

    out = Path(args.out) if args.out else Path(args.exp_dir) / "model"
    if (out / "model.safetensors").exists() and not args.force:
        raise InputError(f"'{out}' already holds a model; pass --force to overwrite")
    model, cfg, step = load_training_model(args.exp_dir)
    # a frozen-encoder run keeps the statistics its latent dumps were normalised with
    export_vae(model, read_utterance_list(args.data), out, args.stats_utts or cfg.data.stats_utts,
               keep_stats=cfg.train.freeze_encoder)
    return 0


def cmd_dump_latents(args) -> int:
    from latentspeech.data.dump import dump_latents, parse_shard

    shard = parse_shard(args.shard) if args.shard else None
    dump_latents(args.data, args.vae, args.out, shard=shard, nj=args.nj, force=args.force,
                 max_batch_seconds=args.max_batch_seconds, device=args.device)
    return 0
