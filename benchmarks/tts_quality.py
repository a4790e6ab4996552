"""Quality and speed of a TTS model across decoding settings: the default model's README tables in one run.

    python benchmarks/tts_quality.py --model default --data /work/corpus/synth/data/test --max-utts 42 \
        --steps 1 2 4 8 16 --cfg 1.0 1.5 2.5 --work-dir /tmp/tts_quality --report tts_quality.md
    ... --steps 10 --cfg 1.5 2.5 --temperature 1.0 0.5 0.3     # the head's noise scale too
    ... --steps 10 --cfg 1.5 --candidates 1 2 4                 # best-of-N reranked by the LM's CTC head
    ... --max-utts 105 --steps 10 --cfg 2.5 --seeds 0 1         # two sampling seeds: one row each + their mean
    ... --batch-size 16                                         # 16 utterances per LM batch: same audio, ~2.3x faster

(a) quality on held-out speakers: WER / CER (Whisper tiny.en) and SIM-o (resemblyzer, against the prompt) with
    95% bootstrap CIs, for the ground truth, the model's own σ-VAE resynthesis, and the TTS at every steps × CFG;
(b) speed on this machine for the same settings: RTF (synthesis seconds / audio seconds, whole utterances) and
    time to first audio (`TTS.stream`, first chunk, mean over --ttfa-utts utterances);
(c) decoding work per second of audio: autoregressive transformer passes and network evaluations, ours vs a
    VALL-E-style LM over a 75 Hz, 8-codebook discrete codec (EnCodec 24 kHz, 6 kbps).
Cross-sentence prompts from `make-eval-list --mode cross` (seed 0); every utterance is synthesised with seed 0, or
with each of `--seeds` (one draw moves WER by 3–4 points on 105 utterances; the mean row averages each utterance
over the seeds, and `latentspeech eval-compare A_SEED0,A_SEED1 B_SEED0,B_SEED1` pairs two settings that way).
Resumable: a setting whose wavs, timings and scores exist is not redone. `--references-from W0` copies the scored
ground truth (and resynthesis, when W0's was made by the same VAE weights) from an earlier work dir of the same list.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path

from vae_intelligibility import make_meta, metric_cell, reuse_references, score, write_reference_audio

from latentspeech.eval.compare import read_runs
from latentspeech.eval.report import summarize

CODEC_RATE, CODEC_BOOKS = 75.0, 8   # EnCodec 24 kHz at 6 kbps, as VALL-E uses it


def _tag(steps: int, cfg: float, temperature: float | None = None, candidates: int | None = None,
         seed: int = 0) -> str:
    return (f"tts_steps{steps}_cfg{cfg:g}" + (f"_t{temperature:g}" if temperature is not None else "")
            + (f"_n{candidates}" if candidates is not None else "") + (f"_seed{seed}" if seed else ""))


def seed_mean_summary(score_dirs: list[Path]) -> dict:
    """An eval summary (the fields `metric_cell` reads) of each utterance's mean over several runs' score dirs:
    WER, CER and SIM-o with a bootstrap CI over the utterances all runs scored."""
    metrics = {}
    for key in ("wer", "cer", "sim_o"):
        m = summarize(list(read_runs(score_dirs, key).values()))
        metrics[key] = {"mean": m.mean, "ci_low": m.ci_low, "ci_high": m.ci_high, "n": m.n}
    return {"sections": {"seed_mean": {"metrics": metrics}}}


def speed_cells(timing: dict | None) -> str:
    """The RTF | first audio | stopped cells of a report row ('–' for what was not measured)."""
    if not timing:
        return "– | – | –"
    first = timing["first_audio_s"]
    return (f"{timing['rtf']:.3f} | {'–' if math.isnan(first) else f'{first:.2f}'} | "
            f"{timing['stopped']:g}/{timing['utts']:g}")


def synthesize_setting(tts, entries, out_dir: Path, steps: int, cfg: float, ttfa_utts: int,
                       temperature: float | None = None, candidates: int | None = None, seed: int = 0,
                       batch_size: int = 1) -> dict:
    """Write <out_dir>/<utt>.wav for every entry; return RTF and time-to-first-audio (cached in timing.json).
    batch_size > 1 (one candidate only): `synthesize_batch`, the same audio, RTF = throughput."""
    from latentspeech.audio.io import save_audio

    timing_file = out_dir / "timing.json"
    if timing_file.exists():
        return json.loads(timing_file.read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    synth_s = audio_s = 0.0
    stopped = 0
    options = dict(steps=steps, cfg_scale=cfg, temperature=temperature, seed=seed)
    if batch_size > 1 and (candidates or tts.decode_options().candidates) == 1:
        groups = [entries[i : i + batch_size] for i in range(0, len(entries), batch_size)]
        done = [(e, r) for g in groups for e, r in zip(g, tts.synthesize_batch(
            [(e.text, e.prompt_wav, e.prompt_text) for e in g], batch_size=batch_size, **options))]
    else:
        done = [(e, tts.synthesize(e.text, e.prompt_wav, e.prompt_text, candidates=candidates, **options))
                for e in entries]
    for e, result in done:
        save_audio(out_dir / f"{e.utt}.wav", result.wav, result.sample_rate)
        synth_s += result.timings["total_s"]
        audio_s += result.seconds
        stopped += bool(result.timings["stopped"])
    firsts = []
    for e in entries[:ttfa_utts]:
        t0 = time.perf_counter()
        for _ in tts.stream(e.text, e.prompt_wav, e.prompt_text, steps=steps, cfg_scale=cfg,
                            temperature=temperature, seed=seed):
            firsts.append(time.perf_counter() - t0)
            break
    timing = {"steps": steps, "cfg": cfg, "temperature": temperature, "candidates": candidates, "seed": seed,
              "batch_size": batch_size, "utts": len(entries), "audio_s": audio_s, "synth_s": synth_s,
              "rtf": synth_s / audio_s if audio_s else float("nan"), "stopped": stopped,
              "first_audio_s": sum(firsts) / len(firsts) if firsts else float("nan")}
    timing_file.write_text(json.dumps(timing, indent=2))
    return timing


def work_table(frame_rate: float, steps_list: list[int]) -> list[str]:
    """(c): per second of audio, AR passes and network evaluations, ours vs a 75 Hz codec LM."""
    lines = ["| system | AR transformer passes / s of audio | diffusion-head evaluations / s (no CFG / CFG) |",
             "|---|---|---|",
             f"| VALL-E-style LM on a {CODEC_RATE:g} Hz × {CODEC_BOOKS}-codebook codec | {CODEC_RATE:g} "
             f"(+ {CODEC_BOOKS - 1} non-autoregressive passes per utterance) | – |"]
    for steps in steps_list:
        lines.append(f"| LatentSpeech, {steps} solver step{'s' * (steps > 1)} | {frame_rate:g} "
                     f"({CODEC_RATE / frame_rate:g}× fewer) | {frame_rate * steps:g} / {2 * frame_rate * steps:g} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="default", help="'tts' model name under pretrained/ or model dir")
    p.add_argument("--data", required=True, help="kaldi data dir of held-out speakers")
    p.add_argument("--max-utts", type=int, default=42)
    p.add_argument("--steps", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    p.add_argument("--cfg", type=float, nargs="+", default=[1.0, 1.5, 2.5])
    p.add_argument("--temperature", type=float, nargs="+", default=[None],
                   help="head noise scales to sweep (default: the model's decode default only)")
    p.add_argument("--candidates", type=int, nargs="+", default=[None],
                   help="best-of-N counts to sweep (default: the model's decode default only)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0],
                   help="sampling seeds: each setting is synthesised and scored once per seed (seed 0's dirs keep "
                        "their names, others end in _seed<N>); with several, a row of their per-utterance mean")
    p.add_argument("--ttfa-utts", type=int, default=3, help="utterances streamed to time the first audio")
    p.add_argument("--batch-size", type=int, default=1,
                   help="utterances per LM batch for one-candidate settings: the same audio, ~2.3x faster on one "
                        "thread; RTF is then the batch's throughput")
    p.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    p.add_argument("--threads", type=int, default=1, help="torch threads for synthesis and Whisper")
    p.add_argument("--work-dir", required=True, help="meta list, wavs, timings and scores go here")
    p.add_argument("--report", help="also write the Markdown tables here")
    p.add_argument("--references-from", metavar="W0",
                   help="another work dir of the same --data/--max-utts: copy its scored ground truth (and its "
                        "resynthesis, if made by the same VAE weights) instead of rescoring them (~4 of 12 min)")
    args = p.parse_args(argv)

    import torch

    from latentspeech.api import TTS
    from latentspeech.cli import main as cli
    from latentspeech.data.kaldi import DataDir
    from latentspeech.eval.meta import read_meta

    torch.set_num_threads(args.threads)
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    meta = make_meta(cli, args.data, work, args.max_utts)
    entries = read_meta(meta)
    tts = TTS.from_pretrained(args.model, dtype=args.dtype)
    if args.references_from:
        copied = reuse_references(Path(args.references_from), work, meta, tts.vae)
        print(f"reused from {args.references_from}: {', '.join(copied) or 'nothing new'}", flush=True)
    write_reference_audio(entries, DataDir.load(args.data), tts.vae, work)

    quality = [("ground truth", None, score(cli, meta, work / "ground_truth", args.threads)),
               ("σ-VAE resynthesis", None, score(cli, meta, work / "resynthesis", args.threads))]
    settings = [(t, s, c, n) for t in args.temperature for s in args.steps for c in args.cfg for n in args.candidates]
    run_timings = []  # one per synthesised run (seed), for the mean audio per run
    for temp, steps, cfg, n in settings:
        setting = (f"TTS {steps} step{'s' * (steps > 1)}, CFG {cfg:g}" + (f", T {temp:g}" if temp is not None else "")
                   + (f", best of {n}" if n is not None and n > 1 else ""))
        timings, score_dirs = [], []
        for seed in args.seeds:
            gen = work / _tag(steps, cfg, temp, n, seed)
            timing = synthesize_setting(tts, entries, gen, steps, cfg, args.ttfa_utts, temp, n, seed,
                                        args.batch_size)
            name = setting + (f", seed {seed}" if len(args.seeds) > 1 else "")
            quality.append((name, timing, score(cli, meta, gen, args.threads)))
            timings.append(timing)
            run_timings.append(timing)
            score_dirs.append(work / f"scores_{gen.name}")
            print(f"{name}: WER {metric_cell(quality[-1][2], 'wer')} "
                  f"SIM-o {metric_cell(quality[-1][2], 'sim_o')} RTF {timing['rtf']:.3f}", flush=True)
        if len(args.seeds) > 1:  # speed: the seeds' mean
            mean_timing = {k: sum(t[k] for t in timings) / len(timings)
                           for k in ("rtf", "first_audio_s", "stopped", "utts")}
            quality.append((f"{setting}, mean of {len(args.seeds)} seeds", mean_timing, seed_mean_summary(score_dirs)))

    n_utts, audio = len(entries), sum(t["audio_s"] for t in run_timings) / max(1, len(run_timings))
    cpu = platform.processor() or platform.machine()
    seeds = ", ".join(str(x) for x in args.seeds)
    lines = [f"Model `{args.model}` on `{args.data}`: {n_utts} held-out utterances with cross-sentence prompts "
             f"(sampling seed{'s' * (len(args.seeds) > 1)} {seeds}), {args.dtype}, {args.threads} thread(s), {cpu}; the model's decode defaults otherwise "
             f"(temperature {tts.decode_options().temperature:g}, solver {tts.decode_options().solver}). "
             "WER/CER: Whisper tiny.en; SIM-o: resemblyzer cosine to the prompt; 95% bootstrap CIs. RTF = synthesis time / audio time (whole utterances, VAE "
             f"decode included{f'; one-candidate rows {args.batch_size} utterances per batch' if args.batch_size > 1 else ''}); first audio = `TTS.stream` first chunk, mean of {args.ttfa_utts} utterances"
             f"{' (not timed: --ttfa-utts 0)' if args.ttfa_utts == 0 else ''}.", "",
             "| audio | WER % | CER % | SIM-o | RTF | first audio s | stopped by the stop head |",
             "|---|---|---|---|---|---|---|"]
    for name, timing, summary in quality:
        speed = speed_cells(timing)
        lines.append(f"| {name} | {metric_cell(summary, 'wer')} | {metric_cell(summary, 'cer')} | "
                     f"{metric_cell(summary, 'sim_o')} | {speed} |")
    lines += ["", f"Mean generated audio per setting: {audio:.0f} s.", "",
              f"Decoding work per second of audio ({tts.vae.frame_rate:g} Hz latents):", ""]
    lines += work_table(tts.vae.frame_rate, args.steps)
    text = "\n".join(lines)
    print(text)
    if args.report:
        Path(args.report).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
