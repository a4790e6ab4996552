"""Calibrate the offline evaluators on real (ground-truth) audio of a kaldi data dir.

- WER/CER of every available ASR backend on the recordings themselves (the floor a TTS system can reach);
- speaker SIM of same-speaker vs different-speaker pairs (mean ± sd) and the EER, per speaker backend.

    python benchmarks/eval_calibration.py --data data/test --extra-data data/train --extra-speakers 5 \
        --report exp/eval_calibration.md

Backends that cannot load offline (missing package or model dir) are listed as skipped with the reason.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import platform
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

from latentspeech.audio.io import load_audio
from latentspeech.data.kaldi import DataDir, check_data_dir
from latentspeech.errors import LatentSpeechError
from latentspeech.eval.asr import load_asr
from latentspeech.eval.report import summarize
from latentspeech.eval.score import wer_scores
from latentspeech.eval.speaker import cosine_similarity, equal_error_rate, load_embedder

log = logging.getLogger("eval_calibration")


def _utterances(data_dir: Path, max_utts: int | None, per_speaker: int | None, speakers: int | None,
                rng: random.Random) -> list[tuple[str, str, Path, str]]:
    """(utt, speaker, wav path, text), seeded subsets by speaker and utterance."""
    check_data_dir(data_dir)
    data = DataDir.load(data_dir)
    spk2utt = data.spk2utt
    spks = sorted(spk2utt)
    if speakers is not None and len(spks) > speakers:
        spks = sorted(rng.sample(spks, speakers))
    out = []
    for spk in spks:
        utts = sorted(spk2utt[spk])
        if per_speaker is not None and len(utts) > per_speaker:
            utts = sorted(rng.sample(utts, per_speaker))
        for u in utts:
            if data.segments:
                raise LatentSpeechError(f"{data_dir} uses segments; calibrate on a data dir of whole files")
            out.append((u, spk, Path(data.wav_path(u)), data.text[u]))
    if max_utts is not None and len(out) > max_utts:
        out = sorted(rng.sample(out, max_utts))
    return out


def calibrate_asr(name: str, model_dir: str | None, utts, threads: int, group_pattern: str | None) -> dict:
    """WER/CER of one ASR backend on ground-truth audio, the real-time factor, and WER per speaker group."""
    options = {"cpu_threads": threads} if name == "whisper" else {}
    asr = load_asr(name, model_dir, **options)
    wers, cers, groups, errors, words, audio_s, start = [], [], {}, 0, 0, 0.0, time.perf_counter()
    for _, spk, path, text in utts:
        wav, sr = load_audio(path, sample_rate=16_000)
        s = wer_scores(text, asr.transcribe(wav, sr))
        wers.append(s["wer"])
        cers.append(s["cer"])
        if group_pattern:
            groups.setdefault(re.sub(group_pattern, "", spk), []).append(s["wer"])
        errors, words, audio_s = errors + s["errors"], words + s["ref_words"], audio_s + wav.size / sr
    elapsed = time.perf_counter() - start
    return {"backend": asr.name, "wer": summarize(wers).__dict__, "cer": summarize(cers).__dict__,
            "wer_corpus": errors / max(words, 1), "audio_seconds": audio_s, "rtf": elapsed / max(audio_s, 1e-9),
            "wer_by_group": {g: summarize(v).__dict__ for g, v in sorted(groups.items())}}


def _pairs(utts, n_pairs: int, rng: random.Random) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    same = [(i, j) for i, j in itertools.combinations(range(len(utts)), 2) if utts[i][1] == utts[j][1]]
    diff_all = len(utts) * (len(utts) - 1) // 2 - len(same)
    if len(same) > n_pairs:
        same = rng.sample(same, n_pairs)
    n_diff = min(max(len(same), 1), diff_all)
    diff: set[tuple[int, int]] = set()
    while len(diff) < n_diff:
        i, j = sorted(rng.sample(range(len(utts)), 2))
        if utts[i][1] != utts[j][1]:
            diff.add((i, j))
    return sorted(same), sorted(diff)


def calibrate_speaker(name: str, model_dir: str | None, utts, same, diff) -> dict:
    """Same- vs different-speaker cosine distributions and EER of one speaker backend."""
    embedder = load_embedder(name, model_dir)
    start = time.perf_counter()
    needed = sorted({i for pair in same + diff for i in pair})
    emb = {i: embedder.embed(*load_audio(utts[i][2], sample_rate=embedder.sample_rate)) for i in needed}
    s = np.array([cosine_similarity(emb[i], emb[j]) for i, j in same])
    d = np.array([cosine_similarity(emb[i], emb[j]) for i, j in diff])
    eer, threshold = equal_error_rate(np.r_[s, d], np.r_[np.ones(s.size), np.zeros(d.size)])
    return {"backend": embedder.name, "same_mean": float(s.mean()), "same_sd": float(s.std(ddof=1)),
            "diff_mean": float(d.mean()), "diff_sd": float(d.std(ddof=1)), "n_same": int(s.size),
            "n_diff": int(d.size), "eer": eer, "threshold": threshold,
            "seconds_per_utt": (time.perf_counter() - start) / max(len(needed), 1)}


def render(results: dict) -> str:
    lines = [f"# Evaluator calibration on `{results['data']}`", "",
             f"Command: `{results['command']}`  ", f"Host: {results['host']}; {results['date']}", "",
             "## WER of ground-truth audio", "",
             "| ASR backend | utts | WER (%) mean [95% CI] | corpus WER (%) | CER (%) | RTF |",
             "|---|---|---|---|---|---|"]
    for r in results["asr"]:
        w, c = r["wer"], r["cer"]
        lines.append(f"| {r['backend']} | {w['n']} | {100 * w['mean']:.2f} [{100 * w['ci_low']:.2f}, "
                     f"{100 * w['ci_high']:.2f}] | {100 * r['wer_corpus']:.2f} | {100 * c['mean']:.2f} "
                     f"| {r['rtf']:.3f} |")
    groups = sorted({g for r in results["asr"] for g in r["wer_by_group"]})
    if groups:
        lines += ["", "WER (%) per speaker group:", "",
                  "| group | " + " | ".join(r["backend"] for r in results["asr"]) + " |",
                  "|---|" + "---|" * len(results["asr"])]
        for g in groups:
            cells = [r["wer_by_group"].get(g) for r in results["asr"]]
            lines.append(f"| {g} | " + " | ".join("–" if c is None else f"{100 * c['mean']:.1f} (n={c['n']})"
                                                  for c in cells) + " |")
    lines += ["", "## Speaker similarity: same vs different speaker", "",
              f"{results['n_sim_utts']} utterances of {results['n_speakers']} speakers.", "",
              "| backend | same-speaker cos (mean ± sd) | different-speaker cos (mean ± sd) | pairs (same/diff) | "
              "EER (%) | threshold |", "|---|---|---|---|---|---|"]
    for r in results["speaker"]:
        lines.append(f"| {r['backend']} | {r['same_mean']:.3f} ± {r['same_sd']:.3f} | {r['diff_mean']:.3f} ± "
                     f"{r['diff_sd']:.3f} | {r['n_same']}/{r['n_diff']} | {100 * r['eer']:.2f} | "
                     f"{r['threshold']:.3f} |")
    if results["skipped"]:
        lines += ["", "Skipped backends:"] + [f"- {k}: {v}" for k, v in results["skipped"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, type=Path, help="kaldi data dir (held-out speakers)")
    p.add_argument("--extra-data", type=Path, help="more speakers for different-speaker trials (e.g. data/train)")
    p.add_argument("--extra-speakers", type=int, default=5, help="speakers drawn from --extra-data (default 5)")
    p.add_argument("--report", required=True, type=Path, help="Markdown report; JSON written beside it")
    p.add_argument("--max-utts", type=int, default=200, help="utterances for WER (seeded subset, default 200)")
    p.add_argument("--utts-per-speaker", type=int, default=8, help="utterances per speaker for SIM (default 8)")
    p.add_argument("--pairs", type=int, default=1000, help="max same-speaker pairs (as many different, default 1000)")
    p.add_argument("--asr", default="whisper,pocketsphinx", help="ASR backends, comma-separated")
    p.add_argument("--asr-model-dir", help="CTranslate2 Whisper dir instead of tiny.en")
    p.add_argument("--speaker", default="resemblyzer", help="speaker backends, comma-separated; "
                                                            "ecapa=DIR / wavlm=DIR for a local model dir")
    p.add_argument("--group-pattern", help="regex removed from speaker ids to group them for a WER breakdown "
                                           "(synth corpus: '--group-pattern=-s[0-9]+$' groups by base voice)")
    p.add_argument("--threads", type=int, default=2, help="Whisper CPU threads (default 2)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)

    rng = random.Random(args.seed)
    wer_utts = _utterances(args.data, args.max_utts, None, None, rng)
    sim_utts = _utterances(args.data, None, args.utts_per_speaker, None, rng)
    if args.extra_data:
        sim_utts += _utterances(args.extra_data, None, args.utts_per_speaker, args.extra_speakers, rng)
    same, diff = _pairs(sim_utts, args.pairs, rng)
    results = {"data": str(args.data), "command": " ".join(["python benchmarks/eval_calibration.py", *sys.argv[1:]]),
               "host": f"{platform.processor() or platform.machine()}, threads={args.threads}",
               "date": time.strftime("%Y-%m-%d"), "asr": [], "speaker": [], "skipped": {},
               "n_sim_utts": len(sim_utts), "n_speakers": len({u[1] for u in sim_utts})}
    for name in filter(None, args.asr.split(",")):
        try:
            log.info("ASR %s on %d utterances", name, len(wer_utts))
            results["asr"].append(calibrate_asr(name, args.asr_model_dir if name == "whisper" else None,
                                                wer_utts, args.threads, args.group_pattern))
        except LatentSpeechError as e:
            results["skipped"][f"asr {name}"] = str(e)
    for spec in filter(None, args.speaker.split(",")):
        name, _, model_dir = spec.partition("=")
        try:
            log.info("speaker %s on %d same / %d different pairs", name, len(same), len(diff))
            results["speaker"].append(calibrate_speaker(name, model_dir or None, sim_utts, same, diff))
        except LatentSpeechError as e:
            results["skipped"][f"speaker {name}"] = str(e)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(render(results))
    args.report.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    print(render(results), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
