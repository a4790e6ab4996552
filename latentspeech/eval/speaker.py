"""Speaker-embedding backends for SIM (cosine of embeddings) and EER on verification trials.

One interface: `SpeakerEmbedder.embed(wav [T] float32, sr) -> emb [E]`. Backends, all offline:
- `resemblyzer` (default): GE2E d-vector, E = 256, weights inside the wheel (Wan et al., 2018).
- `ecapa`: speechbrain ECAPA-TDNN from a local directory as speechbrain stores it (`hyperparams.yaml` +
  `embedding_model.ckpt`, e.g. a copy of speechbrain/spkrec-ecapa-voxceleb), E = 192. The hub is never used.
- `wavlm`: WavLM x-vector in Hugging Face format from a local directory (e.g. microsoft/wavlm-base-plus-sv);
  needs the `transformers` package. seed-tts-eval's `wavlm_large_finetune.pth` (UniSpeech ECAPA on WavLM-Large)
  also needs UniSpeech's model code and s3prl, which are not packaged; convert or use `ecapa` instead.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

import numpy as np

from latentspeech.errors import InputError

__all__ = ["SpeakerEmbedder", "ResemblyzerEmbedder", "EcapaEmbedder", "WavLMEmbedder", "load_embedder",
           "cosine_similarity", "SPEAKER_BACKENDS"]

log = logging.getLogger(__name__)

SPEAKER_BACKENDS = ("resemblyzer", "ecapa", "wavlm")


class SpeakerEmbedder(Protocol):
    """A speaker-embedding model; `sample_rate` is the rate it works at (inputs are resampled to it)."""

    name: str
    sample_rate: int

    def embed(self, wav: np.ndarray, sr: int) -> np.ndarray:
        """Embedding [E] of mono float32 `wav [T]` at `sr` Hz."""


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """cos(a, b) in [-1, 1]; 0 if either vector is zero."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denom) if denom > 0 else 0.0


def _mono_at(wav: np.ndarray, sr: int, target_sr: int) -> np.ndarray:
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim != 1 or wav.size == 0:
        raise InputError(f"speaker embedding expects non-empty mono audio [T], got shape {tuple(wav.shape)}")
    if sr != target_sr:
        from latentspeech.audio.io import resample

        wav = np.asarray(resample(wav, sr, target_sr), dtype=np.float32)
    return wav


class ResemblyzerEmbedder:
    """Resemblyzer's GE2E VoiceEncoder (16 kHz; volume-normalised, long silences trimmed by its VAD)."""

    name = "resemblyzer"
    sample_rate = 16_000

    def __init__(self, device: str = "cpu"):
        self.device = device
        self._encoder = None

    @property
    def encoder(self):
        """The VoiceEncoder, loaded on first use from the weights inside the wheel."""
        if self._encoder is None:
            try:
                from resemblyzer import VoiceEncoder
            except ImportError as e:
                raise InputError("the resemblyzer backend needs 'resemblyzer' (pip install resemblyzer --no-deps "
                                 "webrtcvad-wheels)") from e
            self._encoder = VoiceEncoder(device=self.device, verbose=False)
        return self._encoder

    def embed(self, wav: np.ndarray, sr: int) -> np.ndarray:
        from resemblyzer import preprocess_wav

        wav = _mono_at(wav, sr, self.sample_rate)
        trimmed = preprocess_wav(wav)  # source_sr=None: already 16 kHz
        if trimmed.size < self.sample_rate // 4:  # VAD removed (nearly) everything: embed what there is
            log.debug("resemblyzer VAD left %d samples; embedding the untrimmed audio", trimmed.size)
            trimmed = wav
        return self.encoder.embed_utterance(trimmed).astype(np.float32)


class EcapaEmbedder:
    """speechbrain ECAPA-TDNN built from a local `hyperparams.yaml`, weights from `embedding_model.ckpt`."""

    name = "ecapa"

    def __init__(self, model_dir: str | Path | None, device: str = "cpu"):
        if not model_dir:
            raise InputError("the ecapa backend needs --model-dir DIR with hyperparams.yaml and embedding_model.ckpt "
                             "(a local copy of speechbrain/spkrec-ecapa-voxceleb)")
        self.model_dir = Path(model_dir)
        for name in ("hyperparams.yaml", "embedding_model.ckpt"):
            if not (self.model_dir / name).is_file():
                raise InputError(f"ECAPA model dir '{self.model_dir}' lacks {name}; copy the speechbrain model "
                                 "directory there (this backend never downloads)")
        self.device = device
        self._modules = None
        self.sample_rate = 16_000

    def _load(self):
        import torch
        from hyperpyyaml import load_hyperpyyaml

        overrides = {}
        text = (self.model_dir / "hyperparams.yaml").read_text()
        if "pretrained_path" in text:  # speechbrain's files point the pretrainer at a hub id
            overrides["pretrained_path"] = str(self.model_dir)
        hparams = load_hyperpyyaml(text, overrides=overrides)
        missing = [k for k in ("compute_features", "mean_var_norm", "embedding_model") if k not in hparams]
        if missing:
            raise InputError(f"{self.model_dir}/hyperparams.yaml lacks {', '.join(missing)}; is it an ECAPA model?")
        self.sample_rate = int(hparams.get("sample_rate", 16_000))
        model = hparams["embedding_model"]
        state = torch.load(self.model_dir / "embedding_model.ckpt", map_location="cpu", weights_only=True)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise InputError(f"{self.model_dir}/embedding_model.ckpt does not match hyperparams.yaml: "
                             f"{str(e).splitlines()[0]}") from e
        self._modules = (hparams["compute_features"], hparams["mean_var_norm"], model.to(self.device).eval())
        log.info("loaded ECAPA-TDNN from %s", self.model_dir)

    def embed(self, wav: np.ndarray, sr: int) -> np.ndarray:
        import torch

        if self._modules is None:
            self._load()
        features, norm, model = self._modules
        x = torch.from_numpy(_mono_at(wav, sr, self.sample_rate))[None].to(self.device)  # [1, T]
        lengths = torch.ones(1, device=self.device)
        with torch.inference_mode():
            feats = norm(features(x), lengths)  # [1, frames, n_mels]
            emb = model(feats, lengths)  # [1, 1, E]
        return emb.reshape(-1).float().cpu().numpy()


class WavLMEmbedder:
    """WavLM x-vector head (Hugging Face `WavLMForXVector`) from a local directory; needs `transformers`."""

    name = "wavlm"
    sample_rate = 16_000

    def __init__(self, model_dir: str | Path | None, device: str = "cpu"):
        if not model_dir or not Path(model_dir).is_dir():
            raise InputError("the wavlm backend needs --model-dir DIR: a local Hugging Face WavLM x-vector model "
                             "(config.json, preprocessor_config.json, weights), e.g. microsoft/wavlm-base-plus-sv")
        self.model_dir = Path(model_dir)
        self.device = device
        self._model = None

    def _load(self):
        try:
            from transformers import AutoFeatureExtractor, WavLMForXVector
        except ImportError as e:
            raise InputError("the wavlm backend needs the 'transformers' package (pip install transformers)") from e
        try:
            extractor = AutoFeatureExtractor.from_pretrained(self.model_dir, local_files_only=True)
            model = WavLMForXVector.from_pretrained(self.model_dir, local_files_only=True)
        except (OSError, ValueError) as e:
            raise InputError(f"cannot load a WavLM x-vector model from '{self.model_dir}': {e}") from e
        self._model = (extractor, model.to(self.device).eval())

    def embed(self, wav: np.ndarray, sr: int) -> np.ndarray:
        import torch

        if self._model is None:
            self._load()
        extractor, model = self._model
        inputs = extractor(_mono_at(wav, sr, self.sample_rate), sampling_rate=self.sample_rate, return_tensors="pt")
        with torch.inference_mode():
            emb = model(**{k: v.to(self.device) for k, v in inputs.items()}).embeddings  # [1, E]
        return emb.reshape(-1).float().cpu().numpy()


def load_embedder(backend: str = "resemblyzer", model_dir: str | Path | None = None,
                  device: str = "cpu") -> SpeakerEmbedder:
    """A speaker embedder by name: 'resemblyzer' (default, no model dir), 'ecapa' or 'wavlm' (need `model_dir`)."""
    if backend == "resemblyzer":
        if model_dir:
            raise InputError("--model-dir is not used by resemblyzer (its weights ship in the wheel)")
        return ResemblyzerEmbedder(device)
    if backend == "ecapa":
        return EcapaEmbedder(model_dir, device)
    if backend == "wavlm":
        return WavLMEmbedder(model_dir, device)
    raise InputError(f"unknown speaker backend '{backend}'; choose one of {', '.join(SPEAKER_BACKENDS)}")


def equal_error_rate(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(EER, threshold) of verification `scores [N]` against `labels [N]` (1 = same speaker, 0 = different).

    Sweeps the threshold over every score: FRR(t) = P(score < t | target), FAR(t) = P(score >= t | non-target);
    the EER is where they cross, linearly interpolated between the two neighbouring thresholds.
    """
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels).astype(bool)
    if scores.shape != labels.shape or labels.all() or not labels.any():
        raise InputError("EER needs matching scores/labels with both target (1) and non-target (0) trials")
    thresholds = np.unique(np.concatenate([scores, [np.inf]]))
    tgt, non = np.sort(scores[labels]), np.sort(scores[~labels])
    frr = np.searchsorted(tgt, thresholds, side="left") / tgt.size  # rises with t
    far = 1.0 - np.searchsorted(non, thresholds, side="left") / non.size  # falls with t
    i = int(np.argmax(frr >= far))  # first threshold where the curves have crossed
    if i == 0 or frr[i] == far[i]:
        return float((frr[i] + far[i]) / 2), float(thresholds[i])
    d0, d1 = far[i - 1] - frr[i - 1], frr[i] - far[i]  # both > 0 around the crossing
    w = d0 / (d0 + d1)
    eer = frr[i - 1] + w * (frr[i] - frr[i - 1])
    t = thresholds[i - 1] + w * (thresholds[i] - thresholds[i - 1]) if np.isfinite(thresholds[i]) else thresholds[i - 1]
    return float(eer), float(t)


def read_trials(path: str | Path) -> list[tuple[int, Path, Path]]:
    """Trials `label a.wav b.wav` per line (label 1/target or 0/nontarget); paths relative to the file's dir."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"trials file '{path}' does not exist")
    base, trials = path.resolve().parent, []
    names = {"1": 1, "target": 1, "0": 0, "nontarget": 0}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 3 or fields[0].lower() not in names:
            raise InputError(f"{path}:{lineno}: expected 'label a.wav b.wav' with label 1/0 or target/nontarget")
        a, b = (Path(p) if Path(p).is_absolute() else base / p for p in fields[1:])
        trials.append((names[fields[0].lower()], a, b))
    if not trials:
        raise InputError(f"trials file '{path}' has no trials")
    return trials
