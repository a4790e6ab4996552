"""Offline multi-speaker English corpus synthesised with local TTS engines → kaldi data dirs.

Speakers = base voices (see `synth_engines.VOICES`: espeak-ng variants, MBROLA, flite, festival, pico; one
voice through two engines is ONE base voice) × `speakers_per_voice` seeded (pitch shift, speaking rate)
pairs. Pitch shifts are spread ≥ ~300 cents apart over ±400 cents (sox `speed` after `tempo`, i.e. the
resampling pitch shift of sox `pitch`, which also scales formants: a speaker encoder scores such a shift
0.6-0.7 similar to its source, a new speaker), rates 0.88-1.12. Every utterance of a speaker uses the same
parameters. Test speakers come from held-out base voices only (true zero-shot); dev holds a few other
utterances of training speakers. Texts: `synth_text.make_sentences` (test texts from a disjoint slice).

Audio: 16 kHz mono PCM16, silence trimmed (50 dB below peak, 0.1 s margins), -23 LUFS-approx.
Generation runs `nj` threads (each drives engine and sox subprocesses), is resumable (finished wavs are
kept when their speaker and text are unchanged) and writes every file atomically.

Layout: `<corpus_dir>/wav/<speaker>/<utt>.wav`, `<corpus_dir>/speakers.tsv`, `<corpus_dir>/utts.tsv`;
`<data_dir>/{train,dev,test}/{wav.scp,text,utt2spk,spk2utt,utt2dur,spk2gender}`.

Limits: synthetic speech only (no real-speaker variability, breathing, emotion, recording channels); few
truly distinct identities (11 natural-ish voices, 16 accented MBROLA, 15 espeak variants; 6 more natural ones
opt-in, see `synth_engines.EXTRA_VOICES`) stretched ×3 by
pitch shifts (which also scale formants: pitch-shifted siblings sound related); espeak variants share one
formant engine, so held-out espeak voices are less novel than the others. Intelligibility (Whisper tiny.en
WER, 2 utterances per speaker, digits not normalised): natural 17 % (slt 2 %, us3 26 %), espeak 39 %,
accented MBROLA 65 % (27 % of training audio). Template sentences are grammatical but semantically odd, with
a ~500-word vocabulary and no digits or abbreviations.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
from tqdm import tqdm

from latentspeech.audio.dsp import is_silent, loudness_normalize, trim_silence
from latentspeech.audio.io import save_audio
from latentspeech.data.corpora.synth_engines import DEFAULT_TEST_VOICES, EXTRA_VOICES, available_voices, render
from latentspeech.data.corpora.synth_text import SHORT_FRACTION, make_phrases, make_sentences
from latentspeech.data.kaldi import DataDir, check_data_dir
from latentspeech.errors import InputError, LatentSpeechError

log = logging.getLogger(__name__)

__all__ = ["SynthSpeaker", "SynthUtterance", "plan_speakers", "plan_utterances", "prepare_synth",
           "read_speakers", "select_voices"]

FAMILY_WEIGHT = {"natural": 1.0, "mbrola": 0.5, "espeak": 0.5}  # share of training audio per speaker
CHARS_PER_SECOND = 18.0  # measured after trimming, mean of the 42 voices at rate 1.0 (range 14-25)
MEAN_UTT_SECONDS = 3.5  # mean text of make_sentences (63 characters) at CHARS_PER_SECOND
MAX_PITCH_CENTS = 400
TRAIN_POOL, TEST_POOL = 10_000, 1_000  # sentence pool sizes (fixed: a larger --hours only adds utterances)
PHRASE_POOL = 1_500  # short phrases for training speakers (fixed, like the sentence pools)
MARGIN_SECONDS = 0.1


@dataclass(frozen=True)
class SynthSpeaker:
    """One synthetic speaker: a base voice rendered by one engine with fixed pitch shift and rate."""

    speaker: str
    split: str  # train | test
    base_voice: str
    family: str
    gender: str
    engine: str
    engine_voice: str
    pitch_cents: int
    rate: float


@dataclass(frozen=True)
class SynthUtterance:
    utt: str
    speaker: str
    split: str  # train | dev | test
    text: str


def _rng(seed: int, *keys: str | int) -> np.random.Generator:
    """A generator that depends only on (seed, keys), not on which other voices exist."""
    return np.random.default_rng([seed] + [zlib.crc32(str(k).encode()) for k in keys])


def _pitch_centres(n: int) -> list[float]:
    """n pitch shifts over ±MAX_PITCH_CENTS, ≥ ~270 cents apart for n ≤ 4 (0 for one speaker)."""
    if n == 1:
        return [0.0]
    top = min(MAX_PITCH_CENTS, 175.0 * (n - 1))
    return list(np.linspace(-top, top, n))


def plan_speakers(voices: dict[str, tuple], test_voices: list[str], speakers_per_voice: int = 3,
                  seed: int = 0) -> list[SynthSpeaker]:
    """Speakers of the `voices` (from `available_voices`); those of `test_voices` are held out → split 'test'."""
    speakers = []
    for name, (voice, engine, engine_voice) in voices.items():
        r = _rng(seed, name)
        for k, centre in enumerate(_pitch_centres(speakers_per_voice)):
            speakers.append(SynthSpeaker(
                speaker=f"{name}-s{k + 1}", split="test" if name in test_voices else "train", base_voice=name,
                family=voice.family, gender=voice.gender, engine=engine, engine_voice=engine_voice,
                pitch_cents=int(round(centre + r.uniform(-40, 40))), rate=round(float(r.uniform(0.88, 1.12)), 3)))
    return speakers


def _interleaved(speakers: list[SynthSpeaker]) -> list[SynthSpeaker]:
    """s1 of every voice, then s2 of every voice, ...: cutting the list keeps the most base voices."""
    return sorted(speakers, key=lambda s: int(s.speaker.rsplit("-s", 1)[1]))


def plan_utterances(speakers: list[SynthSpeaker], hours: float, test_utts_per_speaker: int = 20,
                    dev_utts_per_speaker: int = 2, seed: int = 0,
                    short_fraction: float = SHORT_FRACTION) -> list[SynthUtterance]:
    """Utterances for ~`hours` of training audio (estimated from text length), plus dev and test.

    Each speaker reads sentences from its own seeded permutation of the pool, so a larger `hours` only adds
    utterances. Training audio is shared by speaker in proportion to FAMILY_WEIGHT. A `short_fraction` of each
    training speaker's utterances are short phrases (`make_phrases`: "Yes, please.", "Good morning, Anna."),
    chosen by a stream of their own: with 0 the plan is the one of corpora made before short phrases existed.
    Dev and test read sentences only.
    """
    train = [s for s in speakers if s.split == "train"]
    test = [s for s in speakers if s.split == "test"]
    train_seconds = hours * 3600.0
    if not 0.0 <= short_fraction < 1.0:
        raise InputError(f"short_fraction must be in [0, 1), got {short_fraction}")
    pool = make_sentences(TRAIN_POOL + TEST_POOL, seed=seed)
    train_pool, test_pool = pool[:TRAIN_POOL], pool[TRAIN_POOL:]  # test texts are never read in train/dev
    phrases = make_phrases(PHRASE_POOL, seed=seed) if short_fraction > 0 else []
    total_weight = sum(FAMILY_WEIGHT[s.family] for s in train) or 1.0
    utts = []
    for s in train:
        order = _rng(seed, s.speaker, "texts").permutation(len(train_pool))
        target = train_seconds * FAMILY_WEIGHT[s.family] / total_weight
        utts += [SynthUtterance(f"{s.speaker}_d{k:03d}", s.speaker, "dev", train_pool[order[k]])
                 for k in range(dev_utts_per_speaker)]
        short = _rng(seed, s.speaker, "short")
        phrase_order = short.permutation(len(phrases)) if phrases else None
        k, n_sent, n_short, got = 0, 0, 0, 0.0
        while got < target or k == 0:
            if phrases and short.random() < short_fraction:
                text = phrases[phrase_order[n_short % len(phrases)]]
                n_short += 1
            else:
                text = train_pool[order[(dev_utts_per_speaker + n_sent) % len(order)]]
                n_sent += 1
            utts.append(SynthUtterance(f"{s.speaker}_{k:05d}", s.speaker, "train", text))
            got += len(text) / CHARS_PER_SECOND / s.rate
            k += 1
    for s in test:
        order = _rng(seed, s.speaker, "texts").permutation(len(test_pool))
        utts += [SynthUtterance(f"{s.speaker}_t{k:03d}", s.speaker, "test", test_pool[order[k % len(order)]])
                 for k in range(test_utts_per_speaker)]
    return utts


# --------------------------------------------------------------------------------------------------------
# Rendering


def _postprocess(raw: Path, speaker: SynthSpeaker, sample_rate: int) -> np.ndarray:
    """Engine wav → pitch/rate-shifted, trimmed, loudness-normalised float32 [T] at `sample_rate`."""
    # tempo (WSOLA, pitch kept) then speed (resample: pitch and formants × f, duration ÷ f): one WSOLA pass
    # gives pitch × f and duration ÷ rate, the same as sox `pitch` followed by `tempo`.
    f = 2.0 ** (speaker.pitch_cents / 1200.0)
    cmd = ["sox", str(raw), "-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-r", str(sample_rate), "-",
           "remix", "-", "tempo", "-s", f"{speaker.rate / f:.5f}", "speed", f"{speaker.pitch_cents}c",
           "rate", "-v", str(sample_rate)]
    res = subprocess.run(cmd, capture_output=True, timeout=120)
    if res.returncode != 0:
        raise LatentSpeechError(f"sox failed on {raw.name}: {res.stderr.decode(errors='replace').strip()[-200:]}")
    wav = np.frombuffer(res.stdout, dtype=np.float32)
    if wav.size < sample_rate // 5 or is_silent(wav):
        raise LatentSpeechError(f"{speaker.engine} voice {speaker.engine_voice} gave silent or empty audio")
    margin = np.zeros(int(MARGIN_SECONDS * sample_rate), dtype=np.float32)
    wav = np.concatenate([margin, trim_silence(wav, sample_rate, top_db=50.0), margin])
    return loudness_normalize(wav, sample_rate, target_lufs=-23.0)


def _render_chunk(speaker: SynthSpeaker, utts: list[SynthUtterance], wav_dir: Path, sample_rate: int) -> int:
    """Synthesise `utts` of one speaker into `wav_dir/<speaker>/<utt>.wav`; returns how many were written."""
    out_dir = wav_dir / speaker.speaker
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="latentspeech_synth_") as tmp:
        raws = [Path(tmp) / f"{u.utt}.wav" for u in utts]
        render(speaker.engine, speaker.engine_voice, [u.text for u in utts], raws)
        for u, raw in zip(utts, raws):
            wav = _postprocess(raw, speaker, sample_rate)
            part = out_dir / f"{u.utt}.part.wav"
            save_audio(part, wav, sample_rate)
            os.replace(part, out_dir / f"{u.utt}.wav")
    return len(utts)


def _render_all(todo: list[SynthUtterance], speakers: dict[str, SynthSpeaker], wav_dir: Path, sample_rate: int,
                nj: int, chunk_size: int = 25) -> None:
    by_spk: dict[str, list[SynthUtterance]] = {}
    for u in todo:
        by_spk.setdefault(u.speaker, []).append(u)
    chunks = [(speakers[s], us[i:i + chunk_size]) for s, us in by_spk.items() for i in range(0, len(us), chunk_size)]
    failures, done = [], 0
    with ThreadPoolExecutor(max_workers=nj) as pool, \
            tqdm(total=len(todo), unit="utt", desc="synth", disable=not sys.stderr.isatty()) as bar:
        futures = {pool.submit(_render_chunk, spk, us, wav_dir, sample_rate): (spk, us) for spk, us in chunks}
        for fut in as_completed(futures):
            spk, us = futures[fut]
            try:
                fut.result()
            except LatentSpeechError as e:
                failures.append(f"{spk.speaker}: {e}")
                log.error("%s (%d utterances): %s", spk.speaker, len(us), e)
            bar.update(len(us))
            done += len(us)
            if bar.disable and done // 500 > (done - len(us)) // 500:  # progress lines for non-tty logs
                log.info("synthesised %d/%d utterances", done, len(todo))
    if failures:
        raise LatentSpeechError(f"{len(failures)} chunks failed, first: {failures[0]}; fix the engine and rerun "
                                f"(finished audio is kept)")


# --------------------------------------------------------------------------------------------------------
# Manifests (resume) and data dirs


def _write_tsv(path: Path, rows: list, cls: type) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow([fl.name for fl in fields(cls)])
        w.writerows([list(asdict(r).values()) for r in rows])
    os.replace(tmp, path)


def _read_tsv(path: Path, cls: type) -> list:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    types = {fl.name: fl.type for fl in fields(cls)}
    conv = {"int": int, "float": float}
    return [cls(**{k: conv.get(types[k], str)(v) for k, v in row.items()}) for row in rows]


def read_speakers(corpus_dir: str | os.PathLike) -> list[SynthSpeaker]:
    """The speakers of a generated corpus (`<corpus_dir>/speakers.tsv`)."""
    return _read_tsv(Path(corpus_dir) / "speakers.tsv", SynthSpeaker)


def _drop_stale(corpus_dir: Path, speakers: dict[str, SynthSpeaker], utts: list[SynthUtterance]) -> None:
    """Delete wavs whose speaker parameters or text differ from the new plan (before the plan is replaced)."""
    old_spk = {s.speaker: s for s in read_speakers(corpus_dir)}
    old_utt = {u.utt: u for u in _read_tsv(corpus_dir / "utts.tsv", SynthUtterance)}
    wav_dir = corpus_dir / "wav"
    n = 0
    for u in utts:
        path = wav_dir / u.speaker / f"{u.utt}.wav"
        old = old_utt.get(u.utt)
        if path.exists() and (old is None or old.text != u.text or old_spk.get(u.speaker) != speakers[u.speaker]):
            path.unlink()
            n += 1
    if n:
        log.warning("removed %d wavs made with other speaker parameters or texts; they are regenerated", n)


def _reuse_wavs(other_dir: Path, speakers: dict[str, SynthSpeaker], todo: list[SynthUtterance],
                wav_dir: Path) -> list[SynthUtterance]:
    """Hard-link (copy across file systems) the wavs of `other_dir`, a corpus made with the same seed, whose
    speaker parameters and text equal a planned utterance's; returns the utterances still to render."""
    other_spk = {s.speaker: s for s in read_speakers(other_dir)}
    done = {(u.speaker, u.text): other_dir / "wav" / u.speaker / f"{u.utt}.wav"
            for u in _read_tsv(other_dir / "utts.tsv", SynthUtterance)
            if other_spk.get(u.speaker) == speakers.get(u.speaker)}
    left = []
    for u in todo:
        src, dst = done.get((u.speaker, u.text)), wav_dir / u.speaker / f"{u.utt}.wav"
        if src is None or not src.is_file():
            left.append(u)
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)
    log.info("reused %d wavs from %s", len(todo) - len(left), other_dir)
    return left


def _write_data_dirs(utts: list[SynthUtterance], speakers: dict[str, SynthSpeaker], wav_dir: Path,
                     data_dir: Path, splits: tuple[str, ...] = ("train", "dev", "test")) -> dict[str, Path]:
    import soundfile as sf

    out = {}
    for split in splits:
        us = [u for u in utts if u.split == split]
        paths = {u.utt: str((wav_dir / u.speaker / f"{u.utt}.wav").resolve()) for u in us}
        data = DataDir(wav_scp=paths, text={u.utt: u.text for u in us}, utt2spk={u.utt: u.speaker for u in us},
                       utt2dur={u: sf.info(p).duration for u, p in paths.items()},
                       spk2gender={u.speaker: speakers[u.speaker].gender for u in us})
        tmp, dst = data_dir / f"{split}.tmp", data_dir / split
        shutil.rmtree(tmp, ignore_errors=True)
        data.save(tmp)
        check_data_dir(tmp)
        if dst.exists():
            shutil.rmtree(dst)
        os.replace(tmp, dst)
        log.info("wrote %s: %d utterances, %d speakers, %.2f h", dst, len(us), len(data.speakers),
                 sum(data.utt2dur.values()) / 3600)
        out[split] = dst
    return out


def _names(value: str | list[str] | tuple[str, ...] | None) -> list[str] | None:
    if value is None or isinstance(value, (list, tuple)):
        return None if value is None else list(value)
    return [v for v in value.replace(",", " ").split() if v]


def select_voices(installed: dict[str, tuple], voices: str | list[str] | None = None,
                  test_voices: str | list[str] | None = None, extra_voices: bool = False,
                  test_only: bool = False) -> tuple[dict[str, tuple], list[str]]:
    """The base voices in use (of `installed`, from `available_voices(extra=True)`) and the held-out ones.

    Named `voices` may be any installed ones; without names the opt-in `EXTRA_VOICES` are left out unless
    `extra_voices`. With `test_only` every voice in use is held out. InputError on unknown or bad choices.
    """
    found = installed
    wanted = _names(voices)
    if wanted is not None:
        missing = [v for v in wanted if v not in found]
        if missing:
            raise InputError(f"base voices not installed or unknown: {', '.join(missing)}; installed: "
                             f"{', '.join(found)} (install more with egs/synth/tts1/local/data.sh)")
        found = {v: found[v] for v in wanted}
    elif not extra_voices:
        found = {k: v for k, v in found.items() if k not in {e.name for e in EXTRA_VOICES}}
    if not found:
        raise InputError("no base voice is installed; run egs/synth/tts1/local/data.sh (installs them with apt)")
    held = _names(test_voices)
    if test_only:
        if held is not None:
            raise InputError("test_only makes every voice in use a test voice; pass voices, not test_voices")
        held = list(found)
    elif held is None:
        held = [v for v in DEFAULT_TEST_VOICES if v in found] or list(found)[::6]
    unknown = [v for v in held if v not in found]
    if unknown:
        raise InputError(f"test voices not among the voices in use: {', '.join(unknown)}")
    if len(held) >= len(found) and not test_only:
        raise InputError("every base voice is held out for test; leave some for training")
    return found, held


def prepare_synth(corpus_dir: str | os.PathLike, data_dir: str | os.PathLike, hours: float = 10.0, nj: int = 1,
                  seed: int = 0, speakers_per_voice: int = 3, voices: str | list[str] | None = None,
                  test_voices: str | list[str] | None = None, test_utts_per_speaker: int = 20,
                  dev_utts_per_speaker: int = 2, min_utts_per_speaker: int = 20,
                  sample_rate: int = 16_000, short_fraction: float = SHORT_FRACTION,
                  reuse_from: str | os.PathLike | None = None, extra_voices: bool = False,
                  test_only: bool = False) -> dict[str, Path]:
    """Synthesise the corpus into `corpus_dir` and write `<data_dir>/{train,dev,test}`; returns {set: dir}.

    `hours`: training audio (estimated from text length; dev/test come on top). `voices`: base voices to use
    (default: every installed one of `VOICES`, and of the opt-in `EXTRA_VOICES` with `extra_voices`);
    `test_voices`: held-out base voices (default DEFAULT_TEST_VOICES that are installed). `test_only`: every
    voice in use is a test voice and only `<data_dir>/test` is written (a zero-shot test set of other voices,
    e.g. `voices` = the extra ones, none of which a model trained on the default plan has heard). With few hours, training speakers are cut (fewest base voices lost first) so each keeps
    ≥ `min_utts_per_speaker` utterances, and test speakers to a fifth of them (≥ 2). `short_fraction`: share of
    training utterances that are short phrases (see `plan_utterances`). `reuse_from`: another corpus dir made with
    the same seed whose identical (speaker, text) wavs are linked instead of rendered. Resumable; `nj` threads.
    """
    t0 = time.time()
    corpus_dir, data_dir = Path(corpus_dir), Path(data_dir)
    if hours <= 0 or nj < 1 or speakers_per_voice < 1:
        raise InputError("hours must be > 0, nj and speakers_per_voice ≥ 1")
    if reuse_from is not None and not (Path(reuse_from) / "speakers.tsv").is_file():
        raise InputError(f"--reuse-from {reuse_from}: not a synth corpus dir (no speakers.tsv)")
    found, held = select_voices(available_voices(extra=True), voices, test_voices, extra_voices, test_only)

    speakers = plan_speakers(found, held, speakers_per_voice, seed)
    train = _interleaved([s for s in speakers if s.split == "train"])
    test = _interleaved([s for s in speakers if s.split == "test"])
    if train:  # cut to the hours: training speakers, and test speakers to a fifth of them
        n_train = max(2, min(len(train), int(hours * 3600 / MEAN_UTT_SECONDS / min_utts_per_speaker)))
        n_test = max(2, min(len(test), math.ceil(n_train / 5)))
    else:  # test_only: every speaker of the held-out voices
        n_train, n_test = 0, len(test)
    speakers = sorted(train[:n_train] + test[:n_test], key=lambda s: s.speaker)
    by_name = {s.speaker: s for s in speakers}
    utts = plan_utterances(speakers, hours, test_utts_per_speaker, dev_utts_per_speaker, seed, short_fraction)
    log.info("%d base voices (%d held out) → %d training and %d test speakers, %d utterances",
             len(found), len(held), n_train, n_test, len(utts))
    if train and (n_test < 8 or n_train < 40):
        log.warning("only %d training / %d test speakers (a full corpus has ≥ 40 / ≥ 8): install more voices "
                    "(local/data.sh) or raise --hours", n_train, n_test)

    corpus_dir.mkdir(parents=True, exist_ok=True)
    _drop_stale(corpus_dir, by_name, utts)
    _write_tsv(corpus_dir / "speakers.tsv", speakers, SynthSpeaker)
    _write_tsv(corpus_dir / "utts.tsv", utts, SynthUtterance)
    wav_dir = corpus_dir / "wav"
    todo = [u for u in utts if not (wav_dir / u.speaker / f"{u.utt}.wav").is_file()]
    if reuse_from is not None and todo:
        todo = _reuse_wavs(Path(reuse_from), by_name, todo, wav_dir)
    log.info("%d of %d utterances already synthesised; rendering %d with nj=%d",
             len(utts) - len(todo), len(utts), len(todo), nj)
    _render_all(todo, by_name, wav_dir, sample_rate, nj)
    out = _write_data_dirs(utts, by_name, wav_dir, data_dir, ("test",) if test_only else ("train", "dev", "test"))
    log.info("prepare_synth finished in %.0f s", time.time() - t0)
    return out
