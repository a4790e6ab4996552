"""Tempo-perturbed copies of a kaldi data dir, like Kaldi's `utils/data/perturb_data_dir_speed.sh`, but the pitch
is kept (WSOLA, `latentspeech.audio.dsp.time_stretch`): the same voices speaking slower or faster, so an LM learns
to keep its place in the text at paces its corpus lacks (docs/experiments.md, "Six more voices" and "The pace on a
GPU, decided").

Utterance and speaker ids get the prefix `tempo<factor>-` (Kaldi's `sp0.9-` style), so a copy's speaker id stays a
prefix of its utterance ids, cross-utterance prompts come from copies of the same pace, and a control run can leave
the copies out with `data.exclude_utts=^tempo`. Audio is written as FLAC under `<out>/wav/`; combine the copies with
their source by `latentspeech combine-data`.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from latentspeech.data.dump import Utterance, read_utterance_list
from latentspeech.data.kaldi import DataDir, check_data_dir
from latentspeech.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["tempo_prefix", "tempo_copy", "perturb_tempo"]


def tempo_prefix(factor: float) -> str:
    """The id prefix of copies at `factor` × the original tempo, e.g. 'tempo0.8-'."""
    return f"tempo{factor:g}-"


def tempo_copy(src: str | os.PathLike | Utterance, dst: str | os.PathLike, factor: float) -> float:
    """Write the audio file `src` (or an utterance: its span of a recording) at `factor` × its tempo (WSOLA, pitch
    kept; mono, same rate) to `dst` (.wav or .flac); → the copy's duration in seconds."""
    import soundfile as sf

    from latentspeech.audio.dsp import time_stretch
    from latentspeech.audio.io import save_audio
    from latentspeech.data.dump import load_utterance

    if isinstance(src, Utterance):
        sr = sf.info(src.path).samplerate
        wav = load_utterance(src, sr)
    else:
        wav, sr = sf.read(str(src), dtype="float32", always_2d=True)
        wav = wav.mean(axis=1)
    out = time_stretch(wav, factor, sr)
    save_audio(dst, out, sr)
    return len(out) / sr


def perturb_tempo(src: str | os.PathLike, out: str | os.PathLike, factor: float, every: int = 1,
                  nj: int = 1) -> DataDir:
    """Write `out`: copies of every `every`-th utterance of the data dir `src` at `factor` × its tempo (> 1 faster).

    Texts are kept; ids are prefixed (`tempo_prefix`); utt2dur is the copies' durations. Returns the new data dir.
    """
    if factor <= 0 or factor == 1.0:
        raise InputError(f"tempo factor must be > 0 and not 1, got {factor}")
    if every < 1:
        raise InputError(f"--every must be ≥ 1, got {every}")
    if nj < 1:
        raise InputError(f"--nj must be ≥ 1, got {nj}")
    if Path(out).resolve() == Path(src).resolve():
        raise InputError(f"--out {out} is the source data dir; write the copies to a new dir and combine them with "
                         "`latentspeech combine-data`")
    check_data_dir(src)
    data = DataDir.load(src)
    prefix = tempo_prefix(factor)
    utts = data.utt_ids[every - 1::every]
    out = Path(out)
    (out / "wav").mkdir(parents=True, exist_ok=True)
    items = {it.utt: it for it in read_utterance_list(src)}  # a segments file's spans become files of their own
    sources = [items[u] for u in utts]
    copies = [str((out / "wav" / f"{prefix}{u}.flac").resolve()) for u in utts]
    factors = [factor] * len(utts)
    if nj == 1:
        durations = list(map(tempo_copy, sources, copies, factors))
    else:
        with ProcessPoolExecutor(nj) as pool:
            durations = list(pool.map(tempo_copy, sources, copies, factors, chunksize=16))
    new = DataDir(wav_scp={prefix + u: c for u, c in zip(utts, copies)},
                  text={prefix + u: data.text[u] for u in utts},
                  utt2spk={prefix + u: prefix + data.utt2spk[u] for u in utts},
                  utt2dur={prefix + u: round(d, 3) for u, d in zip(utts, durations)},
                  spk2gender=None if data.spk2gender is None else
                  {prefix + spk: data.spk2gender[spk] for spk in {data.utt2spk[u] for u in utts}})
    new.save(out)
    # debug level: `latentspeech perturb-tempo` prints its own summary line
    log.debug("wrote %d copies at tempo × %g (%.2f h) to %s", len(utts), factor, sum(durations) / 3600, out)
    return new
