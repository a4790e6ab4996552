"""Latent dumps: a data dir's audio → σ-VAE μ frames, NORMALISED (stored latent mean/std), float16.

Layout of `<out>` (the LM reads it):
    latents/<utt>.npy   float16 [N, D]        latents.scp      utt → latents/<utt>.npy (relative to <out>)
    utt2num_frames      utt → N               vae.yaml         the VAE model dir's config.yaml (incl. frame_rate)
    utt2spk             copied from the data dir when present
Resumable: an utterance whose .npy exists is skipped (unless force); every .npy is written via temp + rename.
`shard=(i, n)` (1-based) encodes utterances i-1, i-1+n, ...; the index files are written by whichever run sees
every utterance of the data dir dumped, so `--shard` jobs need no merge step.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from latentspeech.errors import DataDirError, InputError

log = logging.getLogger(__name__)

__all__ = ["parse_shard", "dump_latents", "read_wav_list", "save_npy", "write_index"]


def parse_shard(text: str) -> tuple[int, int]:
    """'i/n' (1 ≤ i ≤ n) → (i, n), or InputError."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise InputError(f"--shard {text!r}: expected I/N, e.g. 1/4") from None
    if not 1 <= i <= n:
        raise InputError(f"--shard {text!r}: need 1 <= I <= N")
    return i, n


def read_wav_list(data_dir: str | Path) -> list[tuple[str, str]]:
    """[(utt, path)] from `<data_dir>/wav.scp` (file order); relative paths resolve against the data dir."""
    scp = Path(data_dir) / "wav.scp"
    if not scp.is_file():
        raise DataDirError(f"'{data_dir}' has no wav.scp; prepare the data dir first (latentspeech prepare ...)")
    from latentspeech.data.kaldi import read_kaldi_file

    items = list(read_kaldi_file(scp).items())
    if not items:
        raise DataDirError(f"{scp} is empty")
    base = Path(data_dir)
    return [(u, p if Path(p).is_absolute() or not (base / p).exists() else str(base / p)) for u, p in items]


def save_npy(path: Path, array: np.ndarray) -> None:
    """np.save via a temp file + rename (a killed job leaves no half-written .npy)."""
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.save(f, array)
    os.replace(tmp, path)


def write_index(out: Path, utts: list[str], vae_yaml: Path, utt2spk: Path) -> bool:
    """Write latents.scp / utt2num_frames / vae.yaml (a copy of `vae_yaml`) / utt2spk (the entries of `utt2spk`,
    if that file exists) if every utterance of `utts` is dumped under `out`/latents; → whether it did."""
    from latentspeech.data.kaldi import read_kaldi_file, write_kaldi_file

    frames = {}
    for utt in utts:
        p = out / "latents" / f"{utt}.npy"
        if not p.is_file():
            return False
        frames[utt] = np.load(p, mmap_mode="r").shape[0]
    write_kaldi_file(out / "latents.scp", {u: f"latents/{u}.npy" for u in utts})
    write_kaldi_file(out / "utt2num_frames", frames)
    if utt2spk.is_file():
        spk = read_kaldi_file(utt2spk)
        write_kaldi_file(out / "utt2spk", {u: spk[u] for u in utts if u in spk})
    tmp = out / f"vae.yaml.{os.getpid()}.tmp"  # per process: the last two shards may both get here
    shutil.copyfile(vae_yaml, tmp)
    os.replace(tmp, out / "vae.yaml")
    return True


def _encode_items(items: list[tuple[str, str]], vae_dir: str, out: str, max_batch_seconds: float, device: str,
                  num_threads: int | None = None, quiet: bool = False) -> int:
    """Encode `items` [(utt, wav path)] in length-sorted batches; returns the number written."""
    import torch
    from tqdm import tqdm

    from latentspeech.audio.io import load_audio
    from latentspeech.vae.model import SigmaVAE

    if num_threads:
        torch.set_num_threads(num_threads)
    vae = SigmaVAE.from_pretrained(vae_dir, device=device)
    lat_dir = Path(out) / "latents"
    wavs = []
    for utt, path in items:
        wav, _ = load_audio(path, vae.sample_rate)
        if len(wav) < vae.hop_length:
            raise InputError(f"utterance '{utt}' ({path}) is {len(wav) / vae.sample_rate:.3f} s long; need at "
                             f"least one latent frame ({vae.hop_length / vae.sample_rate:.3f} s); remove it from the "
                             "data dir")
        wavs.append((utt, wav))
    wavs.sort(key=lambda x: len(x[1]))
    limit = max(1, int(max_batch_seconds * vae.sample_rate))
    # a batch zero-pads its shorter utterances: harmless for a causal encoder, whose frames never see later
    # samples; a non-causal one would change their last frames, so it encodes each utterance alone
    shared = vae.config.causal
    batches, cur = [], []
    for item in wavs:  # sorted by length: padded batch size = count x longest
        if cur and (not shared or (len(cur) + 1) * len(item[1]) > limit):
            batches.append(cur)
            cur = []
        cur.append(item)
    if cur:
        batches.append(cur)
    done = 0
    bar = tqdm(total=len(wavs), unit="utt", disable=quiet or not sys.stderr.isatty())
    with torch.inference_mode():
        for batch in batches:
            t_max = max(len(w) for _, w in batch)
            x = torch.zeros(len(batch), 1, t_max)
            for i, (_, w) in enumerate(batch):
                x[i, 0, : len(w)] = torch.from_numpy(w)
            mu = vae.encode(x.to(device), normalize=True).float().cpu().numpy()
            for i, (utt, w) in enumerate(batch):
                n = -(-len(w) // vae.hop_length)
                save_npy(lat_dir / f"{utt}.npy", mu[i, :n].astype(np.float16))
                done += 1
            bar.update(len(batch))
    bar.close()
    return done


def dump_latents(data_dir: str | os.PathLike, vae_dir: str | os.PathLike, out_dir: str | os.PathLike,
                 shard: tuple[int, int] | None = None, nj: int = 1, force: bool = False,
                 max_batch_seconds: float = 60.0, device: str = "cpu") -> Path:
    """Encode every utterance of `data_dir` (or one shard) with the VAE at `vae_dir` into `out_dir`."""
    from latentspeech.pretrained import resolve_model
    from latentspeech.vae.model import SigmaVAE

    data_dir, vae_dir, out = Path(data_dir), resolve_model(vae_dir), Path(out_dir)
    SigmaVAE.from_pretrained(str(vae_dir))  # fail fast on a wrong/corrupt model dir
    items = read_wav_list(data_dir)
    utts = [u for u, _ in items]
    mine = items if shard is None else items[shard[0] - 1:: shard[1]]
    (out / "latents").mkdir(parents=True, exist_ok=True)
    todo = [(u, p) for u, p in mine if force or not (out / "latents" / f"{u}.npy").is_file()]
    log.info("dump-latents: %d utterances in %s, %d to encode (%d already dumped)", len(items), data_dir,
             len(todo), len(mine) - len(todo))
    t0 = time.perf_counter()
    if nj <= 1 or len(todo) < 2:
        _encode_items(todo, str(vae_dir), str(out), max_batch_seconds, device)
    else:
        from concurrent.futures import ProcessPoolExecutor
        import multiprocessing as mp

        parts = [todo[k::nj] for k in range(nj)]
        with ProcessPoolExecutor(nj, mp_context=mp.get_context("spawn")) as ex:
            futs = [ex.submit(_encode_items, part, str(vae_dir), str(out), max_batch_seconds, device, 1, True)
                    for part in parts if part]
            for f in futs:
                f.result()
    if write_index(out, utts, vae_dir / "config.yaml", data_dir / "utt2spk"):
        log.info("wrote %s/latents.scp (%d utterances, %.1f s)", out, len(utts), time.perf_counter() - t0)
    else:
        log.info("shard done in %.1f s; index files are written once every utterance is dumped",
                 time.perf_counter() - t0)
    return out
