"""Combine several dirs of one layout into one, like Kaldi's `utils/combine_data.sh`, for the three layouts the
stages pass on: kaldi data dirs (`wav.scp text utt2spk ...`), phoneme dumps (`text vocab.yaml`) and latent dumps
(`latents.scp utt2num_frames vae.yaml [utt2spk]`).

Nothing is copied: audio and latent paths are written absolute, so the combined dir may live anywhere. Every
source must be of the same layout; phoneme dumps must share one phoneme table and latent dumps one σ-VAE
(identical `vocab.yaml` / `vae.yaml`), and an utterance id may occur in only one source. When some data dirs have
a `segments` file, the whole files of the others become one segment each (recording id = utterance id), as in Kaldi.
"""

from __future__ import annotations

import filecmp
import logging
import os
import shutil
from pathlib import Path

from latentspeech.data.kaldi import DataDir, absolute_path, read_kaldi_file, write_kaldi_file
from latentspeech.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["dir_layout", "combine_dirs"]


def dir_layout(path: str | os.PathLike) -> str:
    """'data' (wav.scp), 'latents' (latents.scp) or 'phonemes' (text + vocab.yaml); InputError otherwise."""
    p = Path(path)
    if not p.is_dir():
        raise InputError(f"'{p}' is not a directory")
    if (p / "wav.scp").is_file():
        return "data"
    if (p / "latents.scp").is_file():
        return "latents"
    if (p / "text").is_file() and (p / "vocab.yaml").is_file():
        return "phonemes"
    raise InputError(f"'{p}' is neither a data dir (wav.scp), a phoneme dump (text + vocab.yaml) nor a latent "
                     "dump (latents.scp)")


def _merge(maps: list[tuple[Path, dict[str, str]]], what: str) -> dict[str, str]:
    """Union of per-source maps; InputError on an id that two sources share."""
    out: dict[str, str] = {}
    owner: dict[str, Path] = {}
    for src, m in maps:
        for k, v in m.items():
            if k in out:
                raise InputError(f"{what} '{k}' is in both {owner[k]} and {src}; ids must be unique across sources")
            out[k], owner[k] = v, src
    return out


def _same_file(sources: list[Path], name: str, what: str) -> Path:
    first = sources[0] / name
    for s in sources[1:]:
        if not filecmp.cmp(first, s / name, shallow=False):
            raise InputError(f"{s}/{name} differs from {first}: {what}")
    return first


def _whole_file_segments(data: DataDir) -> dict[str, tuple[str, float, float]]:
    """utt → (utt, 0, duration): a data dir of whole files as segments of recordings named like its utterances
    (durations from utt2dur, else the file headers)."""
    import soundfile as sf

    out = {}
    for utt in data.utt2spk:
        if data.utt2dur is not None and utt in data.utt2dur:
            seconds = float(data.utt2dur[utt])
        else:
            try:
                seconds = sf.info(data.wav_path(utt)).duration
            except Exception as e:  # noqa: BLE001 — soundfile raises several types
                raise InputError(f"cannot read the duration of '{data.wav_path(utt)}' ({type(e).__name__}); "
                                 f"run validate-data on {data.path} first") from None
        out[utt] = (utt, 0.0, round(seconds, 3))
    return out


def _copy(src: Path, dst: Path) -> None:
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def combine_dirs(sources: list[str | os.PathLike], out: str | os.PathLike) -> str:
    """Write the union of `sources` (all of one layout) to `out`; returns the layout."""
    srcs = [Path(s) for s in sources]
    if len(srcs) < 2:
        raise InputError("give at least two dirs to combine")
    out = Path(out)
    if any(out.resolve() == s.resolve() for s in srcs):
        raise InputError(f"the output dir {out} is one of the sources")
    layouts = {s: dir_layout(s) for s in srcs}
    if len(set(layouts.values())) > 1:
        raise InputError("cannot combine different layouts: " + ", ".join(f"{s} ({k})" for s, k in layouts.items()))
    layout = layouts[srcs[0]]
    out.mkdir(parents=True, exist_ok=True)
    if layout == "data":
        dirs = [DataDir.load(s) for s in srcs]
        segments = None
        if any(d.segments is not None for d in dirs):  # Kaldi's combine_data.sh: whole files become one segment
            segments = _merge([(s, d.segments or _whole_file_segments(d)) for s, d in zip(srcs, dirs)], "utterance")
        wav_scp = _merge([(s, {k: absolute_path(v, s) for k, v in d.wav_scp.items()}) for s, d in zip(srcs, dirs)],
                         "recording" if segments is not None else "utterance")
        every = all(d.utt2dur is not None for d in dirs)
        genders: dict[str, str] = {}
        if all(d.spk2gender is not None for d in dirs):
            for d in dirs:
                genders.update(d.spk2gender)
        elif any(d.spk2gender is not None for d in dirs):  # a partial spk2gender would fail validation
            log.warning("not every source has spk2gender; the combined dir has none (Kaldi's combine_data.sh)")
        DataDir(wav_scp=wav_scp, text=_merge([(s, d.text) for s, d in zip(srcs, dirs)], "utterance"),
                utt2spk=_merge([(s, d.utt2spk) for s, d in zip(srcs, dirs)], "utterance"),
                utt2dur=_merge([(s, d.utt2dur) for s, d in zip(srcs, dirs)], "utterance") if every else None,
                segments=segments, spk2gender=genders or None).save(out)
        n = sum(len(d.utt2spk) for d in dirs)
    elif layout == "phonemes":
        vocab = _same_file(srcs, "vocab.yaml", "phoneme dumps with other phoneme tables cannot be combined")
        text = _merge([(s, read_kaldi_file(s / "text")) for s in srcs], "utterance")
        write_kaldi_file(out / "text", text)
        _copy(vocab, out / "vocab.yaml")
        n = len(text)
    else:
        if all((s / "vae.sha256").is_file() for s in srcs):  # the encoder's digest: a fine-tuned decoder differs
            mark = _same_file(srcs, "vae.sha256", "latents of different σ-VAE encoders cannot be combined")
            vae = srcs[0] / "vae.yaml"
            _copy(mark, out / "vae.sha256")
        else:
            vae = _same_file(srcs, "vae.yaml", "latents of different σ-VAEs cannot be combined")
        scp = _merge([(s, {k: absolute_path(v, s) for k, v in read_kaldi_file(s / "latents.scp").items()})
                      for s in srcs], "utterance")
        frames = _merge([(s, read_kaldi_file(s / "utt2num_frames")) for s in srcs], "utterance")
        write_kaldi_file(out / "latents.scp", scp)
        write_kaldi_file(out / "utt2num_frames", frames)
        if all((s / "utt2spk").is_file() for s in srcs):
            write_kaldi_file(out / "utt2spk", _merge([(s, read_kaldi_file(s / "utt2spk")) for s in srcs],
                                                     "utterance"))
        _copy(vae, out / "vae.yaml")
        n = len(scp)
    log.info("combined %d %s dirs into %s: %d utterances", len(srcs), layout, out, n)
    return layout
