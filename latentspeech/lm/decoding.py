"""`DecodeConfig`: the one home of decoding defaults (no torch import, so `latentspeech --help` stays instant).

The API's `None` arguments, the CLI's decode flags, `conf/decode.yaml` and a model dir's `decode:` section all
read these fields (pocket-tts' default_parameters pattern).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

__all__ = ["DecodeConfig", "SOLVERS"]

SOLVERS = ("dpm++2m", "ddim", "ddpm")


@dataclass
class DecodeConfig:
    steps: int = 10                         # diffusion-head solver steps per frame
    cfg_scale: float = 1.5                  # classifier-free guidance on the text; 1.0 = off (half the head cost)
    cfg_t_min: float = 0.0                  # guide only at diffusion times cfg_t_min <= t <= cfg_t_max (t = 1 is
    cfg_t_max: float = 1.0                  # noise); the other solver steps run the conditional half alone
    cfg_rescale: float = 0.0                # φ in [0, 1]: each guided output pulled toward the conditional one's std
                                            # (guidance rescale, Lin et al. 2024); 0 = plain CFG
    cfg_parallel: float = 1.0               # η in [0, 1]: weight of the guidance update's part along the conditional
                                            # x0 estimate (adaptive projected guidance, Sadat et al. 2024); 1 = plain
    temperature: float = 0.3                # scales the head's initial noise; 0.3 vs 1.0: WER 71.5 vs 96.3 on the
                                            # synth test set (docs/experiments.md, "The first LM that reads")
    solver: str = "dpm++2m"                 # dpm++2m | ddim | ddpm
    stop_threshold: float = 0.5             # P(end of speech) that ends generation
    candidates: int = 1                     # best-of-N: sample N in one batch, keep the one the LM's CTC head reads
                                            # as the text best (needs a model with a CTC head; not in stream())
    max_seconds: float = 30.0               # hard cap on generated audio per chunk of text
    max_seconds_per_phoneme: float = 0.3    # guard: at most this much audio per target phoneme (+1 s)
    min_seconds_per_phoneme: float = 0.04   # guard: the stop classifier is ignored before this much audio per
                                            # target phoneme (~1/2 of fast speech): no cut-off short answers
    max_chunk_phonemes: int = 300           # longer text is split at sentence boundaries (~20 s chunks)
    end_sentences: bool = True              # a text chunk or prompt transcript not ending with . ! ? reads as if
                                            # it ended with '.' (the LMs learn sentences that do: without it, +9
                                            # WER on texts without their final mark; README *Unpunctuated text*)
    crossfade_seconds: float = 0.05         # overlap when joining chunks of split text
    min_prompt_seconds: float = 0.5         # shorter (or silent) prompts are rejected
    max_prompt_seconds: float = 6.0         # > 0: so are prompts with more speech than this (silence-trimmed);
                                            # the recipes' LMs learn from prompts of at most 5 s and babble after
                                            # longer ones (README *Long prompts*). transcribe_prompt cuts instead
    prompt_max_pace: float = 0.0            # > 0: a prompt slower than this many latent frames per phoneme (its
                                            # silence-trimmed audio over its transcript's phonemes) is sped up to it
                                            # (WSOLA, pitch kept) before encoding; 0 = off. The LM loses its place in
                                            # the text on slow prompts (docs/experiments.md, "Six more voices")
    stream_chunk_frames: int = 4            # frames per audio chunk in TTS.stream()
    stream_lookahead_frames: int = 2        # right context held back per chunk (0 is exact for a causal VAE)
    # Options measured and closed, readable in old configs only at their off value (config.py): another best-of-N
    # judge (a LatentReader on the frames), a length prior on the judge's score, guards relative to the prompt's
    # pace, and a pace factor for LMs told the pace (docs/experiments.md *Who picks the best of N?*, *The end of
    # speech*; the code is at commit 6818663).
    RETIRED: ClassVar[dict[str, object]] = {"rerank": "ctc", "length_weight": 0.0, "min_length_ratio": 0.0,
                                            "max_length_ratio": 0.0, "duration_scale": 1.0}

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if self.candidates < 1:
            raise ValueError(f"candidates must be >= 1, got {self.candidates}")
        if not 0.0 <= self.cfg_t_min <= self.cfg_t_max <= 1.0:
            raise ValueError(f"need 0 <= cfg_t_min <= cfg_t_max <= 1, got {self.cfg_t_min} and {self.cfg_t_max}")
        for name in ("cfg_rescale", "cfg_parallel"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0.0 < self.stop_threshold <= 1.0:
            raise ValueError(f"stop_threshold must be in (0, 1], got {self.stop_threshold}")
        if self.min_seconds_per_phoneme < 0:
            raise ValueError(f"min_seconds_per_phoneme must be >= 0, got {self.min_seconds_per_phoneme}")
        if self.max_prompt_seconds < 0 or 0 < self.max_prompt_seconds < self.min_prompt_seconds:
            raise ValueError(f"max_prompt_seconds must be 0 (off) or >= min_prompt_seconds "
                             f"({self.min_prompt_seconds:g}), got {self.max_prompt_seconds}")
        if self.prompt_max_pace < 0:
            raise ValueError(f"prompt_max_pace must be >= 0 (0 = off), got {self.prompt_max_pace}")
        if self.max_seconds <= 0:
            raise ValueError(f"max_seconds must be > 0, got {self.max_seconds}")
        if self.solver not in SOLVERS:
            raise ValueError(f"unknown solver {self.solver!r}; choose one of {', '.join(SOLVERS)}")
        if self.max_seconds_per_phoneme <= self.min_seconds_per_phoneme:
            raise ValueError(f"max_seconds_per_phoneme must be > min_seconds_per_phoneme "
                             f"({self.min_seconds_per_phoneme:g}), got {self.max_seconds_per_phoneme}")
        for name, low in (("max_chunk_phonemes", 1), ("stream_chunk_frames", 1), ("stream_lookahead_frames", 0),
                          ("crossfade_seconds", 0), ("min_prompt_seconds", 0)):
            if getattr(self, name) < low:
                raise ValueError(f"{name} must be >= {low}, got {getattr(self, name)}")
