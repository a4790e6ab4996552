"""Evaluation lists in seed-tts-eval's format, one line per utterance: `utt|prompt_text|prompt_wav|text`.

An optional fifth field `gt_wav` names the ground-truth recording of `text` (seed-tts-eval's reconstruction
lists), used to score real audio as a baseline. Relative wav paths resolve against the list's directory.
The generated file for utterance `utt` is `<gen_dir>/<utt>.wav`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from latentspeech.errors import InputError

__all__ = ["MetaEntry", "read_meta", "write_meta", "gen_wav_path"]

log = logging.getLogger(__name__)

FIELDS = ("utt", "prompt_text", "prompt_wav", "text")


@dataclass(frozen=True)
class MetaEntry:
    """One evaluation item: synthesise `text` in the voice of `prompt_wav` (whose transcript is `prompt_text`)."""

    utt: str
    prompt_text: str
    prompt_wav: Path
    text: str
    gt_wav: Path | None = None


def gen_wav_path(gen_dir: str | Path, utt: str) -> Path:
    """The generated file for `utt`: `<gen_dir>/<utt>.wav`."""
    return Path(gen_dir) / f"{utt}.wav"


def _resolve(path: str, base: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else Path(os.path.normpath(base / p))


AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".opus", ".aiff", ".aif", ".au", ".sph")


def read_meta(path: str | Path) -> list[MetaEntry]:
    """Parse a meta list; InputError names the line of the first malformed entry. Blank lines are skipped."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"meta list '{path}' does not exist; build one with `latentspeech make-eval-list`")
    base = path.resolve().parent
    entries: list[MetaEntry] = []
    seen: dict[str, int] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = [x.strip() for x in line.split("|")]
            where = f"{path}:{lineno}"
            if len(fields) not in (4, 5):
                raise InputError(f"{where}: expected 4 '|'-separated fields (utt|prompt_text|prompt_wav|text), "
                                 f"got {len(fields)}")
            utt, prompt_text, prompt_wav, text = fields[:4]
            if not utt or any(c.isspace() for c in utt) or "/" in utt:
                raise InputError(f"{where}: utterance id {utt!r} must be non-empty, without spaces or '/'")
            if utt in seen:
                raise InputError(f"{where}: duplicate utterance id '{utt}' (first on line {seen[utt]})")
            if not prompt_wav:
                raise InputError(f"{where}: empty prompt_wav for '{utt}'")
            if not text:
                raise InputError(f"{where}: empty text for '{utt}'")
            seen[utt] = lineno
            gt = fields[4] if len(fields) == 5 and fields[4] else None
            for name, value in (("prompt_wav", prompt_wav), ("ground-truth wav", gt)):
                if value is not None and Path(value).suffix.lower() not in AUDIO_SUFFIXES:
                    raise InputError(f"{where}: {name} {value!r} of '{utt}' is not an audio file name "
                                     f"({', '.join(AUDIO_SUFFIXES)}); is there a '|' in a text?")
            entries.append(MetaEntry(utt, prompt_text, _resolve(prompt_wav, base), text,
                                     _resolve(gt, base) if gt else None))
    if not entries:
        raise InputError(f"meta list '{path}' has no entries")
    return entries


def _clean(field: str, what: str, utt: str) -> str:
    if "|" in field or "\n" in field:
        raise InputError(f"{what} of '{utt}' contains '|' or a newline, which the meta format cannot hold")
    return field.strip()


def _rel(p: Path, base: Path) -> str:
    try:
        return os.path.relpath(Path(p).resolve(), base)
    except ValueError:  # other drive (Windows)
        return str(Path(p).resolve())


def write_meta(path: str | Path, entries: list[MetaEntry]) -> Path:
    """Write `entries` atomically; wav paths are stored relative to the list's directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    base = path.resolve().parent
    lines = []
    for e in entries:
        fields = [_clean(e.utt, "utt", e.utt), _clean(e.prompt_text, "prompt_text", e.utt),
                  _rel(e.prompt_wav, base), _clean(e.text, "text", e.utt)]
        if e.gt_wav is not None:
            fields.append(_rel(e.gt_wav, base))
        lines.append("|".join(fields) + "\n")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(lines), encoding="utf-8")
    os.replace(tmp, path)
    log.info("wrote %s (%d entries)", path, len(entries))
    return path
