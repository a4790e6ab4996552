"""Build a meta list from a kaldi data dir of held-out speakers (seeded, deterministic).

Modes:
- cross-sentence: the prompt is another utterance of the same speaker, drawn among those lasting
  0.5–2× `prompt_seconds` (else the closest in length), never longer than `max_prompt_seconds` (the decode
  config's limit; a target whose speaker has no such utterance is skipped), with its transcript as prompt_text;
  gt_wav is the target's own recording.
- continuation: the prompt is the first ≈`prompt_seconds` of the same utterance, cut at a word boundary. Word
  times come from the ASR backend's word timestamps, matched to the reference transcript (normalised words,
  difflib alignment), so prompt_text is the reference's own words up to the cut and text is the remainder; the
  cut is moved to the quietest 10 ms within the pause. Utterances with no matched boundary are skipped
  (logged). Prompt and remainder wavs are written to `<wav_dir>/<utt>_prompt.wav` and `<utt>_target.wav`.
"""

from __future__ import annotations

import difflib
import logging
import random
from pathlib import Path

import numpy as np

from latentspeech.errors import InputError
from latentspeech.eval.asr import ASRBackend, WordTiming
from latentspeech.eval.meta import MetaEntry
from latentspeech.eval.normalize import normalize_english

__all__ = ["build_cross_sentence", "build_continuation", "find_cut"]

log = logging.getLogger(__name__)


class _Utterances:
    """Paths, transcripts, speakers and durations from a kaldi data dir (segments cut out on demand)."""

    def __init__(self, data_dir: str | Path):
        from latentspeech.data.kaldi import DataDir, check_data_dir

        self.dir = Path(data_dir)
        check_data_dir(self.dir)
        self.data = DataDir.load(self.dir)
        self.segments = self.data.segments or {}
        self.utt2dur = {k: float(v) for k, v in (self.data.utt2dur or {}).items()}

    def wav_path(self, utt: str) -> Path:
        """The recording file of `utt` (relative wav.scp paths resolve as `kaldi.resolve_path` says)."""
        return Path(self.data.wav_path(utt))

    def _segment(self, utt: str) -> tuple[str, float, float]:
        seg = self.segments[utt]  # (recording, start seconds, end seconds)
        return seg[0], float(seg[1]), float(seg[2])

    def duration(self, utt: str) -> float:
        if utt not in self.utt2dur:
            if utt in self.segments:
                _, start, end = self._segment(utt)
                self.utt2dur[utt] = end - start
            else:
                import soundfile as sf

                self.utt2dur[utt] = sf.info(str(self.wav_path(utt))).duration
        return self.utt2dur[utt]

    def load(self, utt: str) -> tuple[np.ndarray, int]:
        """Mono float32 audio of `utt` [T] at its file's rate."""
        from latentspeech.audio.io import load_audio

        wav, sr = load_audio(self.wav_path(utt))
        if utt in self.segments:
            _, start, end = self._segment(utt)
            wav = wav[int(start * sr): int(end * sr)]
        return wav, sr

    def export(self, utt: str, out_dir: Path) -> Path:
        """A file holding exactly `utt`'s audio: the wav itself, or its segment written to `out_dir`."""
        if utt not in self.segments:
            return self.wav_path(utt).resolve()
        from latentspeech.audio.io import save_audio

        return save_audio(out_dir / f"{utt}.wav", *self.load(utt))


def _select(utts: list[str], durations: dict[str, float], min_seconds: float | None, max_seconds: float | None,
            max_utts: int | None, rng: random.Random) -> list[str]:
    utts = [u for u in utts if (min_seconds is None or durations[u] >= min_seconds)
            and (max_seconds is None or durations[u] <= max_seconds)]
    if max_utts is not None and len(utts) > max_utts:
        utts = sorted(rng.sample(utts, max_utts))
    return utts


def _prompt_cap(prompt_seconds: float, max_prompt_seconds: float | None) -> float:
    """The longest prompt allowed (inf for None or 0); a target above it is an input error."""
    if max_prompt_seconds is not None and max_prompt_seconds < 0:
        raise InputError(f"max_prompt_seconds must be >= 0 (0 = no limit), got {max_prompt_seconds:g}")
    cap = max_prompt_seconds or float("inf")
    if prompt_seconds > cap:
        raise InputError(f"prompt_seconds {prompt_seconds:g} exceeds max_prompt_seconds {cap:g}")
    return cap


def build_cross_sentence(data_dir: str | Path, prompt_seconds: float = 3.0, seed: int = 0,
                         max_utts: int | None = None, min_seconds: float | None = None,
                         max_seconds: float | None = None, wav_dir: str | Path | None = None,
                         max_prompt_seconds: float | None = 6.0) -> list[MetaEntry]:
    """Entries whose prompt is another utterance of the same speaker (≈`prompt_seconds` long).

    Prompts last at most `max_prompt_seconds` (file duration; None or 0: no limit), as `latentspeech tts`
    refuses longer ones by default; targets whose speaker has no other utterance that short are skipped."""
    data = _Utterances(data_dir)
    rng = random.Random(seed)
    wav_dir = Path(wav_dir or data.dir / "eval_wavs")
    cap = _prompt_cap(prompt_seconds, max_prompt_seconds)
    by_spk: dict[str, list[str]] = {}
    for utt in sorted(data.data.utt2spk):
        by_spk.setdefault(data.data.utt2spk[utt], []).append(utt)
    eligible = [u for spk in sorted(by_spk) if len(by_spk[spk]) > 1 for u in by_spk[spk]]
    if not eligible:
        raise InputError(f"{data.dir}: no speaker has two utterances; cross-sentence prompts need them")
    durations = {u: data.duration(u) for utts in by_spk.values() if len(utts) > 1 for u in utts}
    targets = _select(eligible, durations, min_seconds, max_seconds, max_utts, rng)
    entries, n_fallback, skipped = [], 0, []
    for utt in targets:
        others = [u for u in by_spk[data.data.utt2spk[utt]] if u != utt and durations[u] <= cap]
        near = [u for u in others if 0.5 * prompt_seconds <= durations[u] <= 2.0 * prompt_seconds]
        if near:
            prompt = rng.choice(near)
        elif others:
            n_fallback += 1
            prompt = min(others, key=lambda u: (abs(durations[u] - prompt_seconds), u))
        else:
            skipped.append(utt)
            continue
        entries.append(MetaEntry(utt, data.data.text[prompt], data.export(prompt, wav_dir), data.data.text[utt],
                                 data.export(utt, wav_dir)))
    if n_fallback:
        log.warning("%d utterances had no prompt of %.1f–%.1f s; used the closest length", n_fallback,
                    0.5 * prompt_seconds, min(2.0 * prompt_seconds, cap))
    if skipped:
        log.warning("cross-sentence: %d utterances skipped (their speaker has no other utterance of at most "
                    "%g s, max_prompt_seconds): %s", len(skipped), cap, " ".join(skipped[:5]))
    log.info("cross-sentence list: %d utterances from %d speakers", len(entries),
             len({data.data.utt2spk[e.utt] for e in entries}))
    return entries


def _flatten(words: list[str]) -> tuple[list[str], list[bool], list[int]]:
    """Normalised words of each token; flags the last normalised word of a token; token index per word."""
    flat, last, owner = [], [], []
    for i, w in enumerate(words):
        parts = normalize_english(w).split()
        flat += parts
        last += [j == len(parts) - 1 for j in range(len(parts))]
        owner += [i] * len(parts)
    return flat, last, owner


def find_cut(ref_words: list[str], asr_words: list[WordTiming], prompt_seconds: float,
             min_prompt_seconds: float = 1.0, max_prompt_seconds: float | None = None
             ) -> tuple[int, float, float] | None:
    """(n reference words in the prompt, end of the last prompt word, start of the next word) or None.

    Picks the boundary after a word that the ASR and the reference agree on, with its end closest to
    `prompt_seconds` (at least `min_prompt_seconds`, at most `max_prompt_seconds`), leaving at least one word
    for the continuation.
    """
    cap = max_prompt_seconds or float("inf")
    ref_flat, ref_last, ref_owner = _flatten(ref_words)
    hyp_flat, hyp_last, hyp_owner = _flatten([w.word for w in asr_words])
    best = None
    matcher = difflib.SequenceMatcher(a=hyp_flat, b=ref_flat, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            i, j = block.a + k, block.b + k
            if not (hyp_last[i] and ref_last[j]):
                continue
            n_ref, w = ref_owner[j] + 1, hyp_owner[i]
            end = asr_words[w].end
            if n_ref >= len(ref_words) or w + 1 >= len(asr_words) or not min_prompt_seconds <= end <= cap:
                continue
            if best is None or abs(end - prompt_seconds) < abs(best[1] - prompt_seconds):
                best = (n_ref, end, asr_words[w + 1].start)
    return best


def _quietest(wav: np.ndarray, sr: int, start_s: float, end_s: float) -> int:
    """Sample index of the quietest 10 ms frame centre within [start_s, end_s] (widened by 50 ms)."""
    hop = sr // 100
    lo = max(0, int((start_s - 0.05) * sr))
    hi = min(len(wav), max(int((end_s + 0.05) * sr), lo + hop))
    starts = range(lo, max(lo + 1, hi - hop + 1), hop // 2)
    frames = [(float(np.mean(wav[a:a + hop] ** 2)), a + hop // 2) for a in starts]
    return min(frames)[1] if frames else lo


def build_continuation(data_dir: str | Path, asr: ASRBackend, wav_dir: str | Path, prompt_seconds: float = 3.0,
                       seed: int = 0, max_utts: int | None = None, min_seconds: float | None = None,
                       max_seconds: float | None = None, max_prompt_seconds: float | None = 6.0) -> list[MetaEntry]:
    """Entries whose prompt is the first ≈`prompt_seconds` of the utterance itself, cut at a word boundary
    that ends by `max_prompt_seconds` (None or 0: anywhere)."""
    from latentspeech.audio.io import save_audio

    data = _Utterances(data_dir)
    rng = random.Random(seed)
    wav_dir = Path(wav_dir)
    _prompt_cap(prompt_seconds, max_prompt_seconds)
    utts = sorted(data.data.utt2spk)
    durations = {u: data.duration(u) for u in utts}
    long_enough = [u for u in utts if durations[u] >= prompt_seconds + 1.0]
    targets = _select(long_enough, durations, min_seconds, max_seconds, max_utts, rng)
    entries, skipped = [], []
    for utt in targets:
        wav, sr = data.load(utt)
        ref_words = data.data.text[utt].split()
        cut = find_cut(ref_words, asr.transcribe_words(wav, sr), prompt_seconds,
                       max_prompt_seconds=max_prompt_seconds)
        if cut is None:
            skipped.append(utt)
            continue
        n_ref, end_s, next_s = cut
        at = _quietest(wav, sr, end_s, next_s)
        prompt_wav = save_audio(wav_dir / f"{utt}_prompt.wav", wav[:at], sr)
        target_wav = save_audio(wav_dir / f"{utt}_target.wav", wav[at:], sr)
        entries.append(MetaEntry(utt, " ".join(ref_words[:n_ref]), prompt_wav, " ".join(ref_words[n_ref:]),
                                 target_wav))
    if skipped:
        log.warning("continuation: %d utterances skipped (no word boundary where ASR and transcript agree "
                    "within max_prompt_seconds): %s",
                    len(skipped), ", ".join(skipped[:10]) + (" ..." if len(skipped) > 10 else ""))
    log.info("continuation list: %d utterances", len(entries))
    return entries
