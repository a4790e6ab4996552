"""LJSpeech 1.1 → kaldi data dirs (single speaker `LJ`; lhotse-style preparer).

Real layout (keithito.com), 22.05 kHz 16-bit mono wav, 13,100 clips:

    LJSpeech-1.1/metadata.csv      LJ001-0001|raw transcription|normalized transcription   (no header, no quoting)
    LJSpeech-1.1/wavs/LJ001-0001.wav

Split (ESPnet's egs2/ljspeech/tts1 split): the last 500 clips in id order (all from LJ050) are held out,
the first 250 of them → dev, the last 250 → test; the other 12,600 → train. LJSpeech has one speaker,
so its "zero-shot" test prompts are other clips of the same voice (speaker-seen evaluation).

    prepare_ljspeech("/data/LJSpeech-1.1", "data")   # → data/{train,dev,test}
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from latentspeech.data.corpora.libritts import clean_text, find_root, write_data_dirs
from latentspeech.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["prepare_ljspeech", "SPEAKER"]

SPEAKER = "LJ"


def prepare_ljspeech(corpus_dir: str | os.PathLike, data_dir: str | os.PathLike, n_dev: int = 250,
                     n_test: int = 250, text_kind: str = "normalized") -> dict[str, Path]:
    """metadata.csv + wavs/ → `<data_dir>/{train,dev,test}`; returns {set name: data dir}.

    `corpus_dir`: the extracted `LJSpeech-1.1` dir or its parent. `text_kind`: 'normalized' (3rd column;
    numbers and abbreviations spelled out, falls back to the raw column when empty) or 'raw'.
    Rows whose wav is missing are skipped with one warning.
    """
    if text_kind not in ("normalized", "raw"):
        raise InputError(f"text_kind must be 'normalized' or 'raw', got '{text_kind}'")
    if n_dev < 0 or n_test < 0:
        raise InputError(f"n_dev and n_test must be >= 0, got {n_dev}, {n_test}")
    root = find_root(corpus_dir, ("LJSpeech-1.1",), lambda p: (p / "metadata.csv").is_file())
    rows: dict[str, tuple[str, str, str]] = {}
    missing = 0
    for n, line in enumerate((root / "metadata.csv").read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) < 2:
            raise InputError(f"{root}/metadata.csv:{n}: expected 'id|raw|normalized', got {line[:60]!r}")
        utt, raw = fields[0].strip(), fields[1]
        norm = fields[2] if len(fields) > 2 else ""
        text = clean_text(norm if text_kind == "normalized" and norm.strip() else raw)
        wav = root / "wavs" / f"{utt}.wav"
        if not wav.is_file() or not text:
            missing += 1
            continue
        rows[utt] = (str(wav.resolve()), text, SPEAKER)
    if missing:
        log.warning("%s: skipped %d metadata rows without a wav or text", root, missing)
    ids = sorted(rows)
    if len(ids) <= n_dev + n_test:
        raise InputError(f"{root} has {len(ids)} usable clips; need more than n_dev + n_test = {n_dev + n_test}")
    held = ids[len(ids) - n_dev - n_test:]
    split = {"train": ids[: len(ids) - n_dev - n_test], "dev": held[:n_dev], "test": held[n_dev:]}
    return write_data_dirs({name: {u: rows[u] for u in utts} for name, utts in split.items() if utts}, data_dir)
