"""Latent dumps: a data dir's audio → σ-VAE μ frames, NORMALISED (stored latent mean/std), float16.

Layout of `<out>` (the LM reads it):
    latents/<utt>.npy   float16 [N, D]        latents.scp      utt → latents/<utt>.npy (relative to <out>)
    utt2num_frames      utt → N               vae.yaml         the VAE model dir's config.yaml (incl. frame_rate)
    utt2spk             copied from the data dir when present
    vae.sha256          the VAE encoder's digest: resuming with another latent space is refused (--force redoes all)
Resumable: an utterance whose .npy exists is skipped (unless force); every .npy is written via temp + rename.
Utterances are the data dir's (a `segments` file's spans of recordings, or one file each); each batch's audio is
read when it is encoded, so a corpus never sits in memory at once.
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
from typing import NamedTuple

import numpy as np

from latentspeech.errors import DataDirError, InputError

log = logging.getLogger(__name__)

__all__ = ["parse_shard", "dump_latents", "encoder_digest", "read_wav_list", "read_utterance_list",
           "load_utterance", "Utterance", "save_npy", "write_index"]


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
    """[(recording, path)] from `<data_dir>/wav.scp` (file order; the utterances unless there is a `segments`
    file: `read_utterance_list`); relative paths resolve as `kaldi.resolve_path` says."""
    scp = Path(data_dir) / "wav.scp"
    if not scp.is_file():
        raise DataDirError(f"'{data_dir}' has no wav.scp; prepare the data dir first (latentspeech prepare ...)")
    from latentspeech.data.kaldi import read_kaldi_file, resolve_path

    items = list(read_kaldi_file(scp).items())
    if not items:
        raise DataDirError(f"{scp} is empty")
    return [(u, str(resolve_path(p, data_dir))) for u, p in items]


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


class Utterance(NamedTuple):
    """One utterance's audio: a whole file, or a span of a recording."""

    utt: str
    path: str
    span: tuple[float, float] | None  # (start, end) seconds in the recording (a segments file), or the whole file
    seconds: float                    # duration, for batching before any audio is read


MAX_SEGMENT_OVERSHOOT = 0.5  # seconds a segment may run past its recording's end (cut there, with a warning)


def read_utterance_list(data_dir: str | Path) -> list[Utterance]:
    """Every utterance of a data dir with its audio: one file each, or a span of a recording (`segments`);
    durations from utt2dur, segments or the file headers (the audio itself is read only when encoded)."""
    from latentspeech.data.kaldi import read_kaldi_file

    data_dir = Path(data_dir)
    recordings = dict(read_wav_list(data_dir))
    utt2dur = read_kaldi_file(data_dir / "utt2dur") if (data_dir / "utt2dur").is_file() else {}
    if (data_dir / "segments").is_file():
        items = []
        for utt, rest in read_kaldi_file(data_dir / "segments").items():
            rec, start, end = _segment_fields(data_dir / "segments", utt, rest)
            if rec not in recordings:
                raise DataDirError(f"{data_dir}/segments: utterance '{utt}' is in recording '{rec}', which wav.scp "
                                   "does not list")
            items.append(Utterance(utt, recordings[rec], (start, end), end - start))
        return items
    return [Utterance(utt, path, None, _seconds(data_dir / "utt2dur", utt, utt2dur[utt]) if utt in utt2dur
                      else _header_seconds(path)) for utt, path in recordings.items()]


def _segment_fields(path: Path, utt: str, value: str) -> tuple[str, float, float]:
    """'<recording> <start> <end>' with 0 ≤ start < end, or DataDirError naming the utterance."""
    fields = value.split()
    try:
        rec, start, end = fields[0], float(fields[1]), float(fields[2])
        ok = len(fields) == 3 and 0 <= start < end
    except (IndexError, ValueError):
        ok = False
    if not ok:
        raise DataDirError(f"{path}: '{utt} {value}' is not '<utt> <recording> <start> <end>' with 0 <= start < end "
                           f"seconds; run `latentspeech validate-data {path.parent}`")
    return rec, start, end


def _seconds(path: Path, utt: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise DataDirError(f"{path}: '{utt} {value}' is not '<utt> <seconds>'; rerun validate-data to rewrite it "
                           "from the audio") from None


def _header_seconds(path: str) -> float:
    """A file's duration from its header (0 when soundfile cannot tell: such files are batched first)."""
    import soundfile as sf

    try:
        return float(sf.info(path).duration)
    except Exception:  # noqa: BLE001 — a missing or undecodable file is reported by load_audio when encoded
        return 0.0


def load_utterance(item: Utterance, sample_rate: int) -> np.ndarray:
    """An utterance's audio, mono float32 at `sample_rate` (its span of the recording when it has one)."""
    from latentspeech.audio.io import load_audio

    if item.span is None:
        return load_audio(item.path, sample_rate)[0]
    import soundfile as sf

    from latentspeech.audio.io import resample, to_mono

    what = f"segment {item.span[0]:g}-{item.span[1]:g} s of '{item.path}' (utterance '{item.utt}')"
    try:
        info = sf.info(item.path)
        sr = info.samplerate
        start, end = (int(round(t * sr)) for t in item.span)
        data, sr = sf.read(item.path, start=start, stop=end, dtype="float32", always_2d=True)
    except Exception as e:  # noqa: BLE001 — soundfile raises several types
        raise InputError(f"cannot read {what} ({type(e).__name__}); use wav/flac recordings") from None
    overshoot = (end - info.frames) / sr
    if overshoot > MAX_SEGMENT_OVERSHOOT:  # Kaldi's extract-segments: --max-overshoot 0.5
        raise InputError(f"{what} ends {overshoot:.2f} s after its recording ({info.frames / sr:.2f} s); fix segments")
    if overshoot > 0:
        log.warning("%s ends %.2f s after its recording: cut at its end", what, overshoot)
    if data.size == 0:
        raise InputError(f"{what} is empty: it starts after its recording ends")
    if not np.isfinite(data).all():
        raise InputError(f"{what} contains NaN/Inf samples; re-export the recording from the source")
    return resample(to_mono(np.ascontiguousarray(data.T)), sr, sample_rate)


def _encode_items(items: list[Utterance], vae_dir: str, out: str, max_batch_seconds: float, device: str,
                  num_threads: int | None = None, quiet: bool = False) -> int:
    """Encode `items` in length-sorted batches, reading each batch's audio only when it is encoded (a corpus
    never sits in memory at once); returns the number written."""
    import torch
    from tqdm import tqdm

    from latentspeech.vae.model import SigmaVAE

    if num_threads:
        torch.set_num_threads(num_threads)
    vae = SigmaVAE.from_pretrained(vae_dir, device=device)
    lat_dir = Path(out) / "latents"
    min_seconds = vae.hop_length / vae.sample_rate
    for item in items:
        if 0 < item.seconds < min_seconds:
            raise InputError(_too_short(item.utt, item.path, item.seconds, min_seconds))
    # a batch zero-pads its shorter utterances: harmless for the causal ConvNeXt encoder, whose frames never see
    # later samples; a non-causal one would change their last frames, and encodec's causal SEANet reflect-pads
    # short inputs (under ~0.4 s) across that padding, so those encode each utterance alone
    shared = vae.config.causal and vae.config.backbone == "convnext"
    batches: list[list[Utterance]] = [[]]
    for item in sorted(items, key=lambda it: it.seconds):  # padded batch size ≈ count × longest
        cur = batches[-1]
        if cur and (not shared or (len(cur) + 1) * item.seconds > max_batch_seconds):
            batches.append(cur := [])
        cur.append(item)
    done = 0
    bar = tqdm(total=len(items), unit="utt", disable=quiet or not sys.stderr.isatty())
    with torch.inference_mode():
        for batch in (b for b in batches if b):
            wavs = [load_utterance(item, vae.sample_rate) for item in batch]
            for item, w in zip(batch, wavs):
                if len(w) < vae.hop_length:
                    raise InputError(_too_short(item.utt, item.path, len(w) / vae.sample_rate, min_seconds))
            x = torch.zeros(len(batch), 1, max(len(w) for w in wavs))
            for i, w in enumerate(wavs):
                x[i, 0, : len(w)] = torch.from_numpy(w)
            mu = vae.encode(x.to(device), normalize=True).float().cpu().numpy()
            for i, (item, w) in enumerate(zip(batch, wavs)):
                n = -(-len(w) // vae.hop_length)
                save_npy(lat_dir / f"{item.utt}.npy", mu[i, :n].astype(np.float16))
                done += 1
            bar.update(len(batch))
    bar.close()
    return done


def _too_short(utt: str, path: str, seconds: float, min_seconds: float) -> str:
    return (f"utterance '{utt}' ({path}) is {seconds:.3f} s long; need at least one latent frame "
            f"({min_seconds:.3f} s); remove it from the data dir")


def encoder_digest(vae_dir: str | os.PathLike) -> str:
    """16 hex digits naming what a σ-VAE's latents depend on: its encoder weights, latent statistics and every
    config field but the decoder's. A decoder trained on (`train.freeze_encoder[_step]`) keeps the digest, so a
    dump begun with the mid-training export resumes (and combines) with the final one."""
    import hashlib

    import torch
    from safetensors import safe_open

    from latentspeech.checkpoint import read_model_config
    from latentspeech.config import config_to_dict
    from latentspeech.vae.model import VAEConfig

    config = config_to_dict(read_model_config(vae_dir, VAEConfig, "vae")[0])
    h = hashlib.sha256(repr(sorted((k, v) for k, v in config.items()
                                   if not k.startswith(("dec_", "decoder_")))).encode())
    with safe_open(str(Path(vae_dir) / "model.safetensors"), "pt") as f:
        for key in sorted(k for k in f.keys() if k.startswith("encoder.") or k in ("latent_mean", "latent_std")):
            t = f.get_tensor(key)
            h.update(f"{key}:{t.dtype}:{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def _claim_for_vae(out: Path, vae_dir: Path, force: bool) -> None:
    """Mark `out` as the dump of this VAE's latent space (`vae.sha256`: `encoder_digest`); resuming the dump of
    another VAE would mix two latent spaces, so it is an InputError unless `force` (which re-encodes everything)."""
    from latentspeech.checkpoint import sha256_prefix

    mark, digest = out / "vae.sha256", encoder_digest(vae_dir)
    if mark.is_file() and not force:
        # marks written before the encoder digest (session 25) hold the weights file's digest
        if mark.read_text().strip() not in (digest, sha256_prefix(vae_dir / "model.safetensors", 16)):
            raise InputError(f"'{out}' holds latents of another VAE (encoder {mark.read_text().strip()}, this one "
                             f"{digest}); pass --force to encode everything again, or use a new --out")
        return
    tmp = out / f"vae.sha256.{os.getpid()}.tmp"  # shards may start together: same content, atomic rename
    tmp.write_text(digest + "\n")
    os.replace(tmp, mark)


def dump_latents(data_dir: str | os.PathLike, vae_dir: str | os.PathLike, out_dir: str | os.PathLike,
                 shard: tuple[int, int] | None = None, nj: int = 1, force: bool = False,
                 max_batch_seconds: float = 60.0, device: str = "cpu") -> Path:
    """Encode every utterance of `data_dir` (or one shard) with the VAE at `vae_dir` into `out_dir`."""
    from latentspeech.pretrained import resolve_model
    from latentspeech.vae.model import SigmaVAE

    data_dir, vae_dir, out = Path(data_dir), resolve_model(vae_dir), Path(out_dir)
    SigmaVAE.from_pretrained(str(vae_dir))  # fail fast on a wrong/corrupt model dir
    items = read_utterance_list(data_dir)
    utts = [it.utt for it in items]
    mine = items if shard is None else items[shard[0] - 1:: shard[1]]
    (out / "latents").mkdir(parents=True, exist_ok=True)
    _claim_for_vae(out, vae_dir, force)
    todo = [it for it in mine if force or not (out / "latents" / f"{it.utt}.npy").is_file()]
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
