"""Per-utterance WER/CER and SIM rows over a meta list, resumable, with missing files reported by name.

Rows go to `<out_dir>/wer.tsv` / `sim.tsv`, flushed every `batch_size` utterances. Each row records what made it
(`scorer`: the ASR or speaker model; `audio`: the generated file's mtime and size; for SIM `prompt`: the prompt file
and its mtime and size); a rerun reuses a row only when all three still hold, and scores the rest.
WER follows seed-tts-eval: ASR of the generated wav, both texts through `normalize_english`, jiwer on words
(and characters for CER); the summary's WER is the mean of per-utterance WERs (as seed-tts-eval's
average_wer.py), with the corpus-level WER (total errors / total reference words) beside it.
SIM-o = cos(emb(generated), emb(prompt)); SIM-r = cos(emb(generated), emb(VAE resynthesis of the prompt)).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latentspeech.errors import InputError
from latentspeech.eval.asr import ASRBackend
from latentspeech.eval.meta import MetaEntry, gen_wav_path
from latentspeech.eval.normalize import normalize_english
from latentspeech.eval.report import TSVWriter, read_tsv, summarize
from latentspeech.eval.speaker import SpeakerEmbedder, cosine_similarity

__all__ = ["wer_scores", "ScoreResult", "score_wer", "score_sim", "vae_resynthesizer", "WER_COLUMNS"]

log = logging.getLogger(__name__)

WER_COLUMNS = ["utt", "wer", "cer", "errors", "ref_words", "substitutions", "deletions", "insertions",
               "ref_norm", "hyp_norm", "hyp", "scorer", "audio"]
SILENT_PEAK = 1e-4  # -80 dBFS: a generated wav no louder than this is scored as failed by SIM (nobody speaks)
Resynthesizer = Callable[[np.ndarray, int], tuple[np.ndarray, int]]


def wer_scores(ref: str, hyp: str, normalizer: Callable[[str], str] = normalize_english) -> dict:
    """WER/CER of `hyp` against `ref` after normalising both; InputError if `ref` normalises to nothing."""
    import jiwer

    ref_n, hyp_n = normalizer(ref), normalizer(hyp)
    if not ref_n:
        raise InputError(f"reference text {ref!r} is empty after normalisation")
    w = jiwer.process_words(ref_n, hyp_n)
    errors = w.substitutions + w.deletions + w.insertions
    return {"wer": float(w.wer), "cer": float(jiwer.process_characters(ref_n, hyp_n).cer), "errors": errors,
            "ref_words": len(ref_n.split()), "substitutions": w.substitutions, "deletions": w.deletions,
            "insertions": w.insertions, "ref_norm": ref_n, "hyp_norm": hyp_n}


@dataclass
class ScoreResult:
    """All rows for the list (resumed + new, meta order), missing generated files, failures (utt → reason)."""

    rows: list[dict]
    missing: list[str]
    failed: dict[str, str] = field(default_factory=dict)

    def values(self, column: str) -> list[float]:
        return [float(r[column]) for r in self.rows if r.get(column, "") not in ("", "nan")]


def _check_missing(entries: list[MetaEntry], gen_dir: Path, strict: bool) -> list[str]:
    if not gen_dir.is_dir():
        raise InputError(f"generated-audio directory '{gen_dir}' does not exist")
    missing = [e.utt for e in entries if not gen_wav_path(gen_dir, e.utt).is_file()]
    if missing:
        names = ", ".join(f"{u}.wav" for u in missing[:10])
        names += f" (+{len(missing) - 10} more)" if len(missing) > 10 else ""
        msg = f"{len(missing)} of {len(entries)} generated files missing in {gen_dir}: {names}"
        if strict:
            raise InputError(msg + "; synthesise them or drop --strict to score the rest")
        log.warning("%s; they are skipped and counted as missing", msg)
    return missing


def file_stamp(path: str | Path) -> str:
    """'<mtime_ns>:<size>' of a file ('' if it does not exist): a row's record of the audio it scored."""
    try:
        st = Path(path).stat()
    except OSError:
        return ""
    return f"{st.st_mtime_ns}:{st.st_size}"


def _reusable(entries: list[MetaEntry], tsv_path: Path, columns: list[str], missing: list[str],
              stamp: Callable[[MetaEntry], dict], refresh: Callable[[MetaEntry, dict], dict | None],
              desc: str) -> tuple[set[str], list[dict]]:
    """Utterances whose row in `tsv_path` still holds (its `stamp` columns, i.e. scorer, audio and prompt, equal
    today's), and the rows `refresh` recomputed without the audio (e.g. WER from the stored transcript when the
    reference or the normaliser changed); the others are scored again. A file of other columns (another version)
    is started afresh."""
    if not tsv_path.exists():
        return set(), []
    with open(tsv_path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
    if header != columns:
        log.warning("%s: %s has other columns (written by another version): rescoring every utterance", desc,
                    tsv_path)
        tsv_path.unlink()
        return set(), []
    rows = {r["utt"]: r for r in read_tsv(tsv_path)}
    reuse, refreshed, stale, gone = set(), [], 0, set(missing)
    for e in (e for e in entries if e.utt in rows and e.utt not in gone):  # a missing wav's old row is not counted
        row = rows[e.utt]
        if all(row.get(k) == v for k, v in stamp(e).items()):
            reuse.add(e.utt)
            if (new := refresh(e, row)) is not None:
                refreshed.append(new)
        else:
            stale += 1
    if reuse or stale:
        log.info("%s: resuming, %d utterances already in %s%s%s", desc, len(reuse), tsv_path,
                 f" ({len(refreshed)} recomputed for another reference or normaliser)" if refreshed else "",
                 f"; {stale} rescored (other audio, prompt or scorer than their row's)" if stale else "")
    return reuse, refreshed


def _run(entries: list[MetaEntry], gen_dir: str | Path, tsv_path: str | Path, columns: list[str],
         score_one: Callable[[MetaEntry, np.ndarray, int], dict], sample_rate: int, *, batch_size: int,
         strict: bool, force: bool, desc: str, quiet: bool, stamp: Callable[[MetaEntry], dict],
         refresh: Callable[[MetaEntry, dict], dict | None] = lambda e, row: None) -> ScoreResult:
    """Shared loop: skip missing and already-scored utterances (rows whose `stamp` columns still hold, or
    refreshed), score the rest, flush rows per batch; the result holds this list's rows only, the newest per
    utterance."""
    from tqdm import tqdm

    from latentspeech.audio.io import load_audio

    gen_dir, tsv_path = Path(gen_dir), Path(tsv_path)
    missing = _check_missing(entries, gen_dir, strict)
    if force and tsv_path.exists():
        tsv_path.unlink()
    failed: dict[str, str] = {}
    done, refreshed = _reusable(entries, tsv_path, columns, missing, stamp, refresh, desc)
    with TSVWriter(tsv_path, columns) as writer:
        writer.write(refreshed)
        skip = done | set(missing)
        todo = [e for e in entries if e.utt not in skip]
        with tqdm(total=len(todo), desc=desc, unit="utt", disable=quiet or not sys.stderr.isatty()) as bar:
            for start in range(0, len(todo), batch_size):
                rows = []
                for e in todo[start:start + batch_size]:
                    try:
                        made_by = stamp(e)  # before reading: a file rewritten meanwhile is rescored next time
                        wav, sr = load_audio(gen_wav_path(gen_dir, e.utt), sample_rate=sample_rate)
                        rows.append({"utt": e.utt, **score_one(e, wav, sr), **made_by})
                    except InputError as err:
                        if strict:
                            raise
                        failed[e.utt] = str(err)
                        log.warning("%s: skipping %s: %s", desc, e.utt, err)
                    bar.update(1)
                writer.write(rows)
    by_utt = {r["utt"]: r for r in read_tsv(tsv_path)}  # a rescored utterance's newest row wins
    scored = done | {e.utt for e in todo if e.utt not in failed}
    return ScoreResult([by_utt[e.utt] for e in entries if e.utt in scored and e.utt in by_utt], missing, failed)


def score_wer(entries: list[MetaEntry], gen_dir: str | Path, asr: ASRBackend, tsv_path: str | Path, *,
              batch_size: int = 16, strict: bool = False, force: bool = False, quiet: bool = False,
              scorer: str | None = None) -> ScoreResult:
    """Transcribe `<gen_dir>/<utt>.wav` and score it against the entry's `text`; rows to `tsv_path`. `scorer`
    names the ASR model and its settings (default `asr.name`): rows of another scorer are not reused."""
    scorer = scorer or asr.name

    def stamp(e: MetaEntry) -> dict:
        return {"scorer": scorer, "audio": file_stamp(gen_wav_path(gen_dir, e.utt))}

    def score_one(e: MetaEntry, wav: np.ndarray, sr: int) -> dict:
        hyp = asr.transcribe(wav, sr)
        return {**wer_scores(e.text, hyp), "hyp": hyp}

    def refresh(e: MetaEntry, row: dict) -> dict | None:
        """The row again from its stored transcript if the reference or the normaliser changed since."""
        if row.get("ref_norm") == normalize_english(e.text) and row.get("hyp_norm") == normalize_english(
                row.get("hyp", "")):
            return None
        return {"utt": e.utt, **wer_scores(e.text, row.get("hyp", "")), "hyp": row.get("hyp", ""), **stamp(e)}

    return _run(entries, gen_dir, tsv_path, WER_COLUMNS, score_one, 16_000, batch_size=batch_size,
                strict=strict, force=force, desc="WER", quiet=quiet, stamp=stamp, refresh=refresh)


def score_sim(entries: list[MetaEntry], gen_dir: str | Path, embedder: SpeakerEmbedder, tsv_path: str | Path, *,
              resynthesize: Resynthesizer | None = None, batch_size: int = 16, strict: bool = False,
              force: bool = False, quiet: bool = False, scorer: str | None = None) -> ScoreResult:
    """SIM-o (and SIM-r when `resynthesize` maps a prompt wav, at its own rate, to its VAE resynthesis) per
    utterance. `scorer` names the speaker model and the resynthesizer (default `embedder.name`): rows of another
    scorer are not reused. A silent generated wav (peak ≤ SILENT_PEAK) fails instead of scoring a similarity."""
    from latentspeech.audio.io import load_audio, resample

    sr_e = embedder.sample_rate
    scorer = scorer or embedder.name + ("+resynth" if resynthesize is not None else "")

    def stamp(e: MetaEntry) -> dict:
        return {"scorer": scorer, "audio": file_stamp(gen_wav_path(gen_dir, e.utt)),
                "prompt": f"{Path(e.prompt_wav).resolve()}@{file_stamp(e.prompt_wav)}"}

    prompt_emb: dict[Path, np.ndarray] = {}
    resynth_emb: dict[Path, np.ndarray] = {}

    def prompt_embeddings(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
        if path not in prompt_emb:
            wav, sr = load_audio(path)  # its own rate: the VAE hears the prompt as the TTS did
            prompt_emb[path] = embedder.embed(resample(wav, sr, sr_e), sr_e)
            if resynthesize is not None:
                resyn, sr_r = resynthesize(wav, sr)
                resynth_emb[path] = embedder.embed(resample(resyn, sr_r, sr_e), sr_e)
        return prompt_emb[path], resynth_emb.get(path)

    def score_one(e: MetaEntry, wav: np.ndarray, sr: int) -> dict:
        if wav.size == 0 or float(np.max(np.abs(wav))) <= SILENT_PEAK:
            raise InputError(f"{gen_wav_path(gen_dir, e.utt)} is silent: no speaker to compare")
        emb_o, emb_r = prompt_embeddings(e.prompt_wav)
        emb = embedder.embed(wav, sr)
        row = {"sim_o": cosine_similarity(emb, emb_o)}
        if emb_r is not None:
            row["sim_r"] = cosine_similarity(emb, emb_r)
        return row

    columns = ["utt", "sim_o"] + (["sim_r"] if resynthesize is not None else []) + ["scorer", "audio", "prompt"]
    return _run(entries, gen_dir, tsv_path, columns, score_one, sr_e, batch_size=batch_size, strict=strict,
                force=force, desc="SIM", quiet=quiet, stamp=stamp)


def summary_section(result: ScoreResult, metrics: list[str], backend: str, tsv_name: str,
                    seed: int = 0, n_resamples: int = 1000) -> dict:
    """The summary.json section of one scorer: per metric mean/CI/n, plus missing and failed utterances."""
    section = {"backend": backend, "tsv": tsv_name,
               "metrics": {m: summarize(result.values(m), n_resamples=n_resamples, seed=seed) for m in metrics},
               "missing": result.missing, "failed": result.failed}
    if "wer" in metrics and result.rows:
        errors, words = sum(result.values("errors")), sum(result.values("ref_words"))
        section["metrics"]["wer_corpus"] = {"mean": errors / words if words else None, "ci_low": None,
                                            "ci_high": None, "n": len(result.rows)}
    return section


def vae_resynthesizer(vae_dir: str | Path, device: str = "cpu") -> Resynthesizer:
    """(wav, sr) → (VAE decode(encode(wav)), vae sample rate), for SIM-r; loads the σ-VAE model dir once."""
    import torch

    from latentspeech.audio.io import resample
    from latentspeech.vae.model import SigmaVAE

    vae = SigmaVAE.from_pretrained(str(vae_dir), device=device)

    def resynthesize(wav: np.ndarray, sr: int) -> tuple[np.ndarray, int]:
        x = np.asarray(resample(wav, sr, vae.sample_rate) if sr != vae.sample_rate else wav, dtype=np.float32)
        with torch.inference_mode():
            y = vae.decode(vae.encode(torch.from_numpy(x)[None, None].to(device)))  # [1, 1, N * hop]
        return y[0, 0, : x.size].float().cpu().numpy(), vae.sample_rate

    return resynthesize
