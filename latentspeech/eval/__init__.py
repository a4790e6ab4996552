"""Evaluation in the seed-tts-eval style, offline: WER (ASR + English normaliser + jiwer) and speaker SIM.

meta.py (lists) · make_list.py (lists from kaldi dirs) · normalize.py · asr.py · speaker.py (embedders, EER)
· score.py (per-utterance rows) · report.py (TSV, bootstrap CI, summary.json/md). Models load lazily.
"""

from latentspeech.eval.asr import WhisperASR, PocketSphinxASR, load_asr
from latentspeech.eval.meta import MetaEntry, read_meta, write_meta
from latentspeech.eval.normalize import normalize_english
from latentspeech.eval.report import bootstrap_ci, summarize
from latentspeech.eval.score import score_sim, score_wer, wer_scores
from latentspeech.eval.speaker import cosine_similarity, equal_error_rate, load_embedder

__all__ = ["MetaEntry", "read_meta", "write_meta", "normalize_english", "load_asr", "WhisperASR",
           "PocketSphinxASR", "load_embedder", "cosine_similarity", "equal_error_rate", "wer_scores", "score_wer",
           "score_sim", "bootstrap_ci", "summarize"]
