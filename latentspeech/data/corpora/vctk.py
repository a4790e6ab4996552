"""VCTK → kaldi data dirs with held-out (unseen) test and dev speakers (lhotse-style preparer).

Two real layouts, both handled:

    VCTK-Corpus-0.92/wav48_silence_trimmed/p225/p225_001_mic1.flac   (+ _mic2.flac; 48 kHz FLAC, 2019 release)
    VCTK-Corpus-0.92/txt/p225/p225_001.txt
    VCTK-Corpus/wav48/p225/p225_001.wav                              (0.80 release, 48 kHz wav)
    VCTK-Corpus/txt/p225/p225_001.txt

Speakers without transcripts (p315, and s5 in 0.92) and clips without a text file are skipped with one
warning. Utterance ids drop the mic suffix (`p225_001`). Default test speakers are YourTTS's 11 VCTK test
speakers (Casanova et al. 2022); dev holds 4 more unseen speakers; everyone else → train.

    prepare_vctk("/data/VCTK-Corpus-0.92", "data")   # → data/{train,dev,test}
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from latentspeech.data.corpora.libritts import as_names, clean_text, find_root, write_data_dirs
from latentspeech.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["prepare_vctk", "TEST_SPEAKERS", "DEV_SPEAKERS"]

TEST_SPEAKERS = ("p225", "p234", "p238", "p245", "p248", "p261", "p294", "p302", "p326", "p335", "p347")
DEV_SPEAKERS = ("p226", "p228", "p274", "p299")


def _layout(root: Path) -> tuple[Path, str]:
    """(audio dir, glob pattern suffix): 0.92 FLAC per mic, or the 0.80 wav48 wavs."""
    if (root / "wav48_silence_trimmed").is_dir():
        return root / "wav48_silence_trimmed", ".flac"
    return root / "wav48", ".wav"


def prepare_vctk(corpus_dir: str | os.PathLike, data_dir: str | os.PathLike, mic: str = "mic1",
                 test_speakers: str | tuple[str, ...] | list[str] = TEST_SPEAKERS,
                 dev_speakers: str | tuple[str, ...] | list[str] = DEV_SPEAKERS) -> dict[str, Path]:
    """VCTK → `<data_dir>/{train,dev,test}`; returns {set name: data dir}.

    `corpus_dir`: the extracted `VCTK-Corpus-0.92` / `VCTK-Corpus` dir or its parent. `mic`: 'mic1' or 'mic2'
    (0.92 only; the 0.80 release has one recording per sentence). Speakers in `test_speakers` → test, in
    `dev_speakers` → dev (both unseen in training); held-out speakers absent from the corpus are an error.
    """
    if mic not in ("mic1", "mic2"):
        raise InputError(f"mic must be 'mic1' or 'mic2', got '{mic}'")
    test_speakers, dev_speakers = as_names(test_speakers), as_names(dev_speakers)
    if set(test_speakers) & set(dev_speakers):
        raise InputError(f"speakers in both test and dev: {', '.join(sorted(set(test_speakers) & set(dev_speakers)))}")
    root = find_root(corpus_dir, ("VCTK-Corpus-0.92", "VCTK-Corpus"),
                     lambda p: (p / "txt").is_dir() and ((p / "wav48_silence_trimmed").is_dir() or (p / "wav48").is_dir()))
    audio_dir, ext = _layout(root)
    suffix = f"_{mic}{ext}" if ext == ".flac" else ext
    sets: dict[str, dict[str, tuple[str, str, str]]] = {"train": {}, "dev": {}, "test": {}}
    no_txt_speakers, no_txt_clips = [], 0
    for spk_dir in sorted(p for p in audio_dir.iterdir() if p.is_dir()):
        spk = spk_dir.name
        txt_dir = root / "txt" / spk
        if not txt_dir.is_dir():
            no_txt_speakers.append(spk)
            continue
        name = "test" if spk in test_speakers else "dev" if spk in dev_speakers else "train"
        for audio in sorted(spk_dir.glob(f"*{suffix}")):
            utt = audio.name[: -len(suffix)]
            txt = txt_dir / f"{utt}.txt"
            text = clean_text(txt.read_text(encoding="utf-8", errors="replace")) if txt.is_file() else ""
            if not text:
                no_txt_clips += 1
                continue
            sets[name][utt] = (str(audio.resolve()), text, spk)
    if no_txt_speakers:
        log.warning("%s: skipped speakers without transcripts: %s", root, ", ".join(no_txt_speakers))
    if no_txt_clips:
        log.warning("%s: skipped %d clips without a transcript", root, no_txt_clips)
    for name, wanted in (("test", test_speakers), ("dev", dev_speakers)):
        found = {spk for _, _, spk in sets[name].values()}
        absent = [s for s in wanted if s not in found]
        if absent:
            raise InputError(f"{name} speaker(s) {', '.join(absent)} have no transcribed {suffix} clips in {root}; "
                             f"choose others with --{name}_speakers")
    return write_data_dirs({k: v for k, v in sets.items() if v or k == "train"}, data_dir)
