"""Speaking-rate transfer: does generated speech take its tempo from the prompt, as the ground truth does?

WER and SIM miss tempo: a zero-shot model can copy the timbre of a slow speaker and still talk at its own average
pace. The rate of a recording here is letters of its transcript per second of speech (leading and trailing
silence trimmed), a text-only proxy for phonemes per second that needs no aligner. Over an evaluation list:

- `r_prompt_gt`: Pearson correlation of prompt rate and ground-truth rate across utterances (how much tempo
  there is to transfer: one speaker's utterances share a pace);
- `r_prompt_gen`: the same for the generated audio (near `r_prompt_gt` = the tempo is transferred, near 0 = not);
- duration ratio generated / ground truth (speech seconds): median and the share outside [0.8, 1.25].
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latentspeech.audio import load_audio, trim_silence
from latentspeech.errors import InputError
from latentspeech.eval.meta import MetaEntry, gen_wav_path

__all__ = ["RateRow", "RateSummary", "count_letters", "speech_seconds", "rate_rows", "summarize_rates"]

OUTSIDE = (0.8, 1.25)  # duration ratios outside this band count as "wrong tempo"


def count_letters(text: str) -> int:
    """Letters (any script) of `text` as the TTS reads it (numbers and symbols as words: `normalize_text`): the
    unit of speaking rate (letters per speech second)."""
    from latentspeech.text.normalize import normalize_text

    return len(re.findall(r"[^\W\d_]", normalize_text(text)))


def speech_seconds(wav: np.ndarray, sr: int, top_db: float = 40.0) -> float:
    """Seconds between the first and last frame within `top_db` of the loudest one."""
    return len(trim_silence(wav, sr, top_db=top_db)) / sr


@dataclass
class RateRow:
    """One utterance: letters per speech second of prompt, generated audio and ground truth (nan if none)."""

    utt: str
    prompt_rate: float
    gen_rate: float
    gt_rate: float
    gen_seconds: float
    gt_seconds: float

    @property
    def duration_ratio(self) -> float:
        """Generated / ground-truth speech seconds (nan without ground truth)."""
        return self.gen_seconds / self.gt_seconds if self.gt_seconds > 0 else math.nan


def _rate_of(path: Path, text: str) -> tuple[float, float]:
    wav, sr = load_audio(path)
    seconds = speech_seconds(wav, sr)
    return (count_letters(text) / seconds if seconds > 0 else math.nan), seconds


def rate_rows(entries: list[MetaEntry], gen_dir: str | Path) -> list[RateRow]:
    """A RateRow for every entry whose generated wav exists (missing ones are skipped)."""
    rows = []
    for e in entries:
        gen = gen_wav_path(gen_dir, e.utt)
        if not gen.is_file():
            continue
        prompt_rate, _ = _rate_of(e.prompt_wav, e.prompt_text)
        gen_rate, gen_s = _rate_of(gen, e.text)
        gt_rate, gt_s = _rate_of(e.gt_wav, e.text) if e.gt_wav is not None else (math.nan, math.nan)
        rows.append(RateRow(e.utt, prompt_rate, gen_rate, gt_rate, gen_s, gt_s))
    if not rows:
        raise InputError(f"no generated wavs of the list in '{gen_dir}'")
    return rows


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
        return math.nan
    return float(np.corrcoef(x[ok], y[ok])[0, 1])


@dataclass
class RateSummary:
    n: int
    r_prompt_gt: float
    r_prompt_gen: float
    median_ratio: float
    share_outside: float  # of utterances with ground truth, duration ratio outside OUTSIDE
    mean_gen_rate: float
    mean_gt_rate: float


def summarize_rates(rows: list[RateRow]) -> RateSummary:
    """Correlations and duration-ratio statistics over `rows` (nan where ground truth is missing)."""
    p = np.array([r.prompt_rate for r in rows])
    g = np.array([r.gen_rate for r in rows])
    t = np.array([r.gt_rate for r in rows])
    ratio = np.array([r.duration_ratio for r in rows])
    ratio = ratio[np.isfinite(ratio)]
    lo, hi = OUTSIDE
    return RateSummary(
        n=len(rows), r_prompt_gt=_pearson(p, t), r_prompt_gen=_pearson(p, g),
        median_ratio=float(np.median(ratio)) if ratio.size else math.nan,
        share_outside=float(np.mean((ratio < lo) | (ratio > hi))) if ratio.size else math.nan,
        mean_gen_rate=float(np.nanmean(g)), mean_gt_rate=float(np.nanmean(t)) if np.isfinite(t).any() else math.nan)
