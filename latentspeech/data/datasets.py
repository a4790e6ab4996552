"""LM training data: dumped phoneme text + dumped σ-VAE latents → (phoneme ids, frames, prompt length).

Reads only text files, YAML and .npy (numpy + torch + pyyaml): no audio or phonemizer imports, so training
runs on machines without librosa/soundfile/espeak.
- `<phn_dir>/text` ("utt phoneme string"), `<phn_dir>/vocab.yaml` (PhonemeVocab.to_dict()),
- `<latent_dir>/latents.scp` (utt → .npy [N, D] normalised latents), `<latent_dir>/utt2num_frames`,
  `<latent_dir>/vae.yaml` (frame rate), optional `<latent_dir>/utt2spk` (or pass one from a data dir).

Each item is one training example, chosen afresh per (seed, epoch, index):
- continuation: the first fraction u ~ U(prompt_min_frac, prompt_max_frac) of the utterance (at most
  `prompt_seconds`) is the prompt, the rest the target; the phonemes are the whole utterance's;
- cross-utterance (probability `cross_prompt_prob`, when the speaker has another utterance no longer than
  `max_prompt_seconds`): that utterance is the prompt, phonemes = its phonemes + " " + the target's.
Shape letters: P phonemes, N frames (prompt + target), D latent_dim.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import yaml

from latentspeech.data.kaldi import resolve_path
from latentspeech.errors import DataDirError

log = logging.getLogger(__name__)

__all__ = ["LMDataConfig", "LMDataset", "collate_lm", "read_map", "read_frame_rate", "read_latent_index"]


@dataclass
class LMDataConfig:
    max_batch_seconds: float = 200.0       # padded audio per batch (prompt allowance included)
    max_utt_seconds: float = 20.0          # longer utterances are skipped
    min_utt_seconds: float = 0.5
    cross_prompt_prob: float = 0.5         # P(prompt = another utterance of the same speaker)
    max_prompt_seconds: float = 5.0        # longest cross-utterance prompt
    prompt_seconds: float = 3.0            # continuation prompt: at most this long ...
    prompt_min_frac: float = 0.1           # ... and this fraction range of the utterance
    prompt_max_frac: float = 0.5
    num_workers: int = 0
    pad_multiple: int = 0                  # > 0: pad each batch's phoneme and frame axes up to a multiple of this
                                           # (and the LM's joint sequence to their sum), so tensor shapes repeat
                                           # and GPU kernel/graph caches hit; 0 = pad to the longest example
    # Utterances whose id this regular expression finds (re.search) are left out, e.g. the tempo-augmented copies
    # ("-t080$") of a combined dump, for a control trained beside the augmented run on the same dump; "" = none.
    exclude_utts: str = ""
    # Scheduled sampling with the LM's own samples: each target frame's copy in the INPUT history is, with
    # probability history_prob, taken from the latent dump history_latents (frame-aligned with the training
    # latents: `latentspeech dump-gta-latents`, what the LM makes of each frame when fed the true ones before it)
    # instead of the true frame; targets stay true, prompts stay real. "" / 0 = off (teacher forcing).
    history_latents: str = ""
    history_prob: float = 0.0
    # Retired with the pace conditionings it fed (LMConfig.RETIRED), readable in old configs at its default.
    RETIRED: ClassVar[dict[str, object]] = {"continuation_rate": "utterance"}

    def __post_init__(self) -> None:
        if not 0.0 <= self.history_prob <= 1.0:
            raise ValueError(f"data.history_prob must be in [0, 1], got {self.history_prob}")
        if self.history_prob > 0 and not self.history_latents:
            raise ValueError("data.history_prob > 0 needs data.history_latents (a dump-gta-latents dir)")
        try:
            re.compile(self.exclude_utts)
        except re.error as e:
            raise ValueError(f"data.exclude_utts is not a regular expression: {self.exclude_utts!r} ({e})") from None


def read_map(path: str | os.PathLike) -> dict[str, str]:
    """Kaldi-style 'id rest of line' file → dict (file order); missing file → DataDirError."""
    p = Path(path)
    if not p.is_file():
        raise DataDirError(f"'{p}' does not exist")
    out: dict[str, str] = {}
    for line in p.read_text(encoding="utf-8").splitlines():
        if line.strip():
            key, _, rest = line.strip().partition(" ")
            out[key] = rest.strip()
    return out


def read_frame_rate(latent_dir: str | os.PathLike) -> tuple[float, int | None]:
    """(frame rate in Hz, latent_dim or None) from `<latent_dir>/vae.yaml` (VAE config or its model dir doc)."""
    p = Path(latent_dir) / "vae.yaml"
    if not p.is_file():
        raise DataDirError(f"'{p}' does not exist; dump latents with `latentspeech dump-latents` first")
    doc = yaml.safe_load(p.read_text()) or {}
    model = doc.get("model", doc)
    rate = doc.get("frame_rate")
    if rate is None:
        if "sample_rate" not in model or "hop_length" not in model:
            raise DataDirError(f"{p} has neither frame_rate nor sample_rate/hop_length")
        rate = model["sample_rate"] / model["hop_length"]
    return float(rate), model.get("latent_dim")


def read_latent_index(latent_dir: str | os.PathLike) -> dict[str, tuple[Path, int]]:
    """A latent dump's index: utt → (its .npy path, frame count), from latents.scp and utt2num_frames (an
    utterance missing from either is left out); relative paths resolve as `kaldi.resolve_path` says."""
    latent_dir = Path(latent_dir)
    scp = read_map(latent_dir / "latents.scp")
    n2f = read_map(latent_dir / "utt2num_frames")
    return {u: (resolve_path(path, latent_dir), int(n2f[u])) for u, path in scp.items() if u in n2f}


class LMDataset(torch.utils.data.Dataset):
    """Examples {utt, phonemes [P] long, frames [N, D] float32, prompt_len, rate (the prompt's frames per phoneme)}
    over a phoneme + latent dump."""

    def __init__(self, phn_dir: str | os.PathLike, latent_dir: str | os.PathLike, vocab: Any,
                 config: LMDataConfig | None = None, utt2spk: dict[str, str] | None = None, seed: int = 0):
        self.config = config or LMDataConfig()
        self.seed = seed
        self.epoch = 0
        latent_dir = Path(latent_dir)
        self.frame_rate, self.latent_dim = read_frame_rate(latent_dir)
        texts = read_map(Path(phn_dir) / "text")
        index = read_latent_index(latent_dir)
        if utt2spk is None and (latent_dir / "utt2spk").is_file():
            utt2spk = read_map(latent_dir / "utt2spk")
        c, fr = self.config, self.frame_rate
        lo, hi = c.min_utt_seconds * fr, c.max_utt_seconds * fr
        self.utts: list[str] = []
        self.phonemes: list[str] = []
        self.ids: list[list[int]] = []
        self.paths: list[Path] = []
        self.num_frames: list[int] = []
        skipped = {"no latents": 0, "length": 0, "empty text": 0}
        exclude = re.compile(c.exclude_utts) if c.exclude_utts else None
        if exclude:
            skipped["excluded"] = 0
        for utt, phn in texts.items():
            if exclude and exclude.search(utt):
                skipped["excluded"] += 1
                continue
            if utt not in index:
                skipped["no latents"] += 1
                continue
            path, n = index[utt]
            if not lo <= n <= hi or n < 2:
                skipped["length"] += 1
                continue
            ids = vocab.encode(phn)
            if not ids:
                skipped["empty text"] += 1
                continue
            self.utts.append(utt)
            self.phonemes.append(phn)
            self.ids.append(ids)
            self.paths.append(path)
            self.num_frames.append(n)
        if not self.utts:
            raise DataDirError(f"no usable utterances in {phn_dir} + {latent_dir} (skipped: {skipped})")
        self.history_paths: list[Path | None] = [None] * len(self.utts)
        if c.history_latents and c.history_prob > 0:
            own = read_latent_index(c.history_latents)
            self.history_paths = [own[u][0] if u in own else None for u in self.utts]
            missing = sum(p is None for p in self.history_paths)
            log.info("LM data: %d of %d utterances have history frames in %s (the rest keep true histories)",
                     len(self.utts) - missing, len(self.utts), c.history_latents)
        if any(skipped.values()):
            log.info("LM data: %d utterances, skipped %s", len(self.utts), skipped)
        sep = vocab.encode(" ")
        self.sep = sep[:1]
        # other utterances of the same speaker, short enough: cross-utterance prompts
        self.spk_prompts: list[list[int]] = [[] for _ in self.utts]
        if utt2spk and c.cross_prompt_prob > 0:
            by_spk: dict[str, list[int]] = {}
            for i, utt in enumerate(self.utts):
                if utt in utt2spk and self.num_frames[i] <= c.max_prompt_seconds * fr:
                    by_spk.setdefault(utt2spk[utt], []).append(i)
            for i, utt in enumerate(self.utts):
                self.spk_prompts[i] = [k for k in by_spk.get(utt2spk.get(utt, ""), []) if k != i]
        hours = sum(self.num_frames) / fr / 3600
        if c.cross_prompt_prob > 0 and utt2spk is not None:
            log.info("LM data: %d utterances, %.1f h, %d with a cross-utterance prompt candidate",
                     len(self.utts), hours, sum(bool(p) for p in self.spk_prompts))
        elif c.cross_prompt_prob > 0:  # training without speakers: say why no prompt comes from another utterance
            log.info("LM data: %d utterances, %.1f h; no utt2spk, so continuation prompts only", len(self.utts), hours)
        else:  # cross-utterance prompts not asked for (GTA dumps): nothing to count
            log.info("LM data: %d utterances, %.1f h", len(self.utts), hours)

    def __len__(self) -> int:
        return len(self.utts)

    @property
    def lengths(self) -> list[int]:
        """Batching cost per item in frames: the utterance plus the largest prompt it may get."""
        c = self.config
        extra = int(c.max_prompt_seconds * self.frame_rate) if c.cross_prompt_prob > 0 else 0
        return [n + (extra if self.spk_prompts[i] else 0) for i, n in enumerate(self.num_frames)]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def load_frames(self, i: int, path: Path | None = None) -> np.ndarray:
        """Latents [N, D] float32 of item i (from `path` instead of its dump entry when given)."""
        path = path or self.paths[i]
        try:
            x = np.load(path)
        except (OSError, ValueError) as e:
            raise DataDirError(f"cannot read latents of '{self.utts[i]}' from {path} ({e})") from None
        if x.ndim != 2:
            raise DataDirError(f"{path}: expected [frames, dim] latents, got shape {x.shape}")
        return x.astype(np.float32)

    def _history(self, i: int, frames: np.ndarray, start: int, prompt_len: int,
                 rng: np.random.Generator) -> np.ndarray | None:
        """Input frames for item i: `frames` (utterance i from `start` on, after a cross-utterance prompt) with
        each target frame (from `prompt_len` on) swapped, with probability history_prob, for the history dump's
        frame; None when item i has none."""
        path = self.history_paths[i]
        if path is None:
            return None
        own = self.load_frames(i, path)
        n = frames.shape[0] - start
        if own.shape != (n, frames.shape[1]):
            raise DataDirError(f"{path}: history frames of '{self.utts[i]}' have shape {own.shape}, its latents "
                               f"{(n, frames.shape[1])}: make the history dump from this latent dump")
        swap = rng.random(n) < self.config.history_prob
        swap[: prompt_len - start] = False  # a continuation's prompt part stays real
        history = frames.copy()
        history[start:][swap] = own[swap]
        return history

    def __getitem__(self, i: int) -> dict[str, Any]:
        c = self.config
        rng = np.random.default_rng((self.seed, self.epoch, i))
        frames = self.load_frames(i)
        n = frames.shape[0]
        start = 0  # where utterance i begins in `frames`
        if self.spk_prompts[i] and rng.random() < c.cross_prompt_prob:
            k = self.spk_prompts[i][rng.integers(len(self.spk_prompts[i]))]  # another of its speaker's
            prompt = self.load_frames(k)
            ids = self.ids[k] + self.sep + self.ids[i]
            frames = np.concatenate([prompt, frames], axis=0)
            prompt_len = start = prompt.shape[0]
        else:
            frac = rng.uniform(c.prompt_min_frac, c.prompt_max_frac)
            prompt_len = int(round(min(frac * n, c.prompt_seconds * self.frame_rate)))
            prompt_len = max(1, min(prompt_len, n - 1))
            ids = self.ids[i]
        item = {"utt": self.utts[i], "phonemes": torch.tensor(ids, dtype=torch.long),
                "frames": torch.from_numpy(frames), "prompt_len": prompt_len}
        history = self._history(i, frames, start, prompt_len, rng)
        if history is not None:
            item["history"] = torch.from_numpy(history)
        return item


def collate_lm(items: list[dict[str, Any]], pad_multiple: int = 0) -> dict[str, Any]:
    """Right-pad a list of items → phonemes [B, P], phoneme_lens [B], frames [B, N, D], frame_lens, prompt_lens,
    and history [B, N, D] (the input frames, LMDataConfig.history_prob) when an item has one (the others' frames
    stand in);
    P and N rounded up to a multiple of `pad_multiple` when it is > 0."""
    b = len(items)
    p = max(len(it["phonemes"]) for it in items)
    n = max(it["frames"].shape[0] for it in items)
    if pad_multiple > 0:
        p, n = (-(-x // pad_multiple) * pad_multiple for x in (p, n))
    d = items[0]["frames"].shape[1]
    phonemes = torch.zeros(b, p, dtype=torch.long)
    frames = torch.zeros(b, n, d)
    history = frames.clone() if any("history" in it for it in items) else None
    for k, it in enumerate(items):
        phonemes[k, : len(it["phonemes"])] = it["phonemes"]
        frames[k, : it["frames"].shape[0]] = it["frames"]
        if history is not None:
            history[k, : it["frames"].shape[0]] = it.get("history", it["frames"])
    batch = {
        "utts": [it["utt"] for it in items],
        "phonemes": phonemes,
        "phoneme_lens": torch.tensor([len(it["phonemes"]) for it in items]),
        "frames": frames,
        "frame_lens": torch.tensor([it["frames"].shape[0] for it in items]),
        "prompt_lens": torch.tensor([it["prompt_len"] for it in items]),
    }
    if history is not None:
        batch["history"] = history
    return batch
