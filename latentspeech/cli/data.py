"""Sub-commands for the data stage: `prepare-synth`, `prepare CORPUS`, `validate-data`, `combine-data`,
`perturb-tempo`."""

from __future__ import annotations

import argparse
import inspect
import logging

from latentspeech.data.corpora.synth_text import SHORT_FRACTION
from latentspeech.errors import DataDirError, InputError

log = logging.getLogger(__name__)

CORPORA = ("synth", "libritts", "ljspeech", "vctk")


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's sub-commands to `sub`."""
    p = sub.add_parser("prepare-synth", help="synthesise the offline multi-speaker corpus → data/{train,dev,test}",
                       description="Render English sentences with every installed local TTS voice (espeak-ng, "
                                   "MBROLA, flite, festival, pico; RHVoice with --extra-voices) × seeded pitch/rate speakers; test speakers use "
                                   "held-out base voices. Needs the apt packages that "
                                   "egs/synth/tts1/local/data.sh installs. Resumable.")
    p.add_argument("--corpus-dir", default="downloads/synth", help="where the wavs go (default: %(default)s)")
    p.add_argument("--data-dir", default="data", help="kaldi data dirs root (default: %(default)s)")
    p.add_argument("--hours", type=float, default=10.0, help="hours of training audio (default: %(default)s)")
    p.add_argument("--nj", type=int, default=1, help="parallel synthesis threads (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="speaker parameters and texts (default: %(default)s)")
    p.add_argument("--speakers-per-voice", type=int, default=3,
                   help="pitch/rate speakers per base voice (default: %(default)s)")
    p.add_argument("--voices", default=None, help="comma-separated base voices to use (default: all installed)")
    p.add_argument("--test-voices", default=None,
                   help="comma-separated held-out base voices (default: rms,pico-en-GB,mbrola-us3,mbrola-de3,"
                        "mbrola-fr1,espeak-f4,espeak-m5 where installed)")
    p.add_argument("--test-utts-per-speaker", type=int, default=20, help="(default: %(default)s)")
    p.add_argument("--dev-utts-per-speaker", type=int, default=2, help="(default: %(default)s)")
    p.add_argument("--short-fraction", type=float, default=SHORT_FRACTION,
                   help="share of training utterances that are short phrases such as 'Yes, please.' "
                        "(default: %(default)s; 0 remakes corpora from before 2026-11-26)")
    p.add_argument("--reuse-from", metavar="CORPUS_DIR", default=None,
                   help="link the wavs of another synth corpus dir (same --seed) whose speaker and text match "
                        "instead of rendering them, e.g. when remaking a corpus with other --hours/--short-fraction")
    p.add_argument("--extra-voices", action="store_true",
                   help="also use the opt-in voices added 2026-11-27 (RHVoice bdl, clb, evgeniy-eng, lyubov; "
                        "festival rab, don) when --voices is not given; off, corpora made before keep their plan")
    p.add_argument("--test-only", action="store_true",
                   help="every voice in use is a test voice; write only DATA_DIR/test (a zero-shot test set of "
                        "other voices, e.g. --voices bdl,clb,evgeniy-eng,lyubov,rab,don)")
    p.add_argument("--list-voices", action="store_true",
                   help="print the installed base voices (the opt-in ones marked 'extra') and exit")
    p.set_defaults(func=cmd_prepare_synth)

    p = sub.add_parser("prepare", help="corpus → kaldi data dirs DATA_DIR/{train,dev,test}",
                       description="Run latentspeech.data.corpora.<corpus>.prepare_<corpus>(CORPUS_DIR, DATA_DIR, "
                                   "**opts). Options are the function's keyword arguments: --opt key=value.")
    p.add_argument("corpus", choices=CORPORA)
    p.add_argument("corpus_dir", metavar="CORPUS_DIR")
    p.add_argument("data_dir", metavar="DATA_DIR")
    p.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                   help="keyword argument of prepare_<corpus>, e.g. --opt test_speakers=p225,p234 (repeatable)")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("validate-data", help="check kaldi data dirs; list every problem",
                       description="Kaldi validate_data_dir.sh checks: files present, sorted (C locale), unique "
                                   "ids, matching utterance sets, spk2utt = utt2spk, audio files exist, text not "
                                   "empty, utt2dur positive. Exit 1 if any problem.")
    p.add_argument("data_dirs", nargs="+", metavar="DATA_DIR")
    p.add_argument("--strict", action="store_true", help="treat warnings (speaker id not a prefix) as problems")
    p.set_defaults(func=cmd_validate_data)

    p = sub.add_parser("combine-data", help="combine data dirs, phoneme dumps or latent dumps into one",
                       description="Union of several dirs of one layout (Kaldi's utils/combine_data.sh): kaldi "
                                   "data dirs, phoneme dumps (one phoneme table) or latent dumps (one σ-VAE), e.g. "
                                   "two corpora for one LM. Paths are written absolute; nothing is copied; an "
                                   "utterance id may occur in one source only.")
    p.add_argument("sources", nargs="+", metavar="SRC_DIR")
    p.add_argument("--out", required=True, help="the combined dir")
    p.set_defaults(func=cmd_combine_data)

    p = sub.add_parser("perturb-tempo", help="tempo-perturbed copies of a data dir (pitch kept), for training",
                       description="Copies of every N-th utterance at FACTOR × the tempo (WSOLA: pitch kept), ids "
                                   "prefixed tempo<FACTOR>- (Kaldi's perturb_data_dir_speed.sh, without the pitch "
                                   "shift); FLAC under OUT/wav. Combine with the source by combine-data.")
    p.add_argument("data_dir", metavar="DATA_DIR")
    p.add_argument("--out", required=True, help="the new data dir")
    p.add_argument("--factor", type=float, required=True, help="tempo factor: 0.8 = slower, 1.25 = faster")
    p.add_argument("--every", type=int, default=1, help="copy every N-th utterance (C-locale id order; default 1)")
    p.add_argument("--nj", type=int, default=1, help="parallel jobs")
    p.set_defaults(func=cmd_perturb_tempo)


def cmd_prepare_synth(args: argparse.Namespace) -> int:
    from latentspeech.data.corpora.synth import prepare_synth
    from latentspeech.data.corpora.synth_engines import DEFAULT_TEST_VOICES, EXTRA_VOICES, available_voices

    if args.list_voices:  # one probe of the engines (festival's voice list takes up to a second)
        extra = {v.name for v in EXTRA_VOICES}
        for name, (voice, engine, engine_voice) in available_voices(extra=True).items():
            held = "  (test)" if name in DEFAULT_TEST_VOICES else "  (extra)" if name in extra else ""
            print(f"{name}\t{voice.family}\t{voice.gender}\t{engine}:{engine_voice}{held}")
        return 0
    if args.hours <= 0:
        raise InputError(f"--hours must be > 0, got {args.hours}")
    if args.nj < 1:
        raise InputError(f"--nj must be ≥ 1, got {args.nj}")
    prepare_synth(args.corpus_dir, args.data_dir, hours=args.hours, nj=args.nj, seed=args.seed,
                  speakers_per_voice=args.speakers_per_voice, voices=args.voices, test_voices=args.test_voices,
                  test_utts_per_speaker=args.test_utts_per_speaker, dev_utts_per_speaker=args.dev_utts_per_speaker,
                  short_fraction=args.short_fraction, reuse_from=args.reuse_from, extra_voices=args.extra_voices,
                  test_only=args.test_only)
    return 0


def _parse_opts(fn, opts: list[str]) -> dict[str, object]:
    """KEY=VALUE strings → kwargs of `fn`, cast to the type of each default (bool/int/float, else str)."""
    params = {n: p for n, p in inspect.signature(fn).parameters.items()
              if n not in ("corpus_dir", "data_dir") and p.kind is p.POSITIONAL_OR_KEYWORD}
    out: dict[str, object] = {}
    for opt in opts:
        key, sep, value = opt.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise InputError(f"--opt '{opt}' is not KEY=VALUE")
        if key not in params:
            raise InputError(f"{fn.__name__} has no option '{key}'; options: {', '.join(params) or 'none'}")
        default = params[key].default
        try:
            if isinstance(default, bool):
                if value.lower() not in ("true", "false"):
                    raise ValueError
                out[key] = value.lower() == "true"
            elif isinstance(default, (int, float)):
                out[key] = type(default)(value)
            else:
                out[key] = value
        except ValueError:
            raise InputError(f"--opt {key}: '{value}' is not a valid {type(default).__name__}") from None
    return out


def cmd_prepare(args: argparse.Namespace) -> int:
    import importlib

    module = importlib.import_module(f"latentspeech.data.corpora.{args.corpus}")
    fn = getattr(module, f"prepare_{args.corpus}")
    fn(args.corpus_dir, args.data_dir, **_parse_opts(fn, args.opt))
    return 0


def cmd_validate_data(args: argparse.Namespace) -> int:
    from latentspeech.data.kaldi import DataDir, validate_data_dir

    n_bad = 0
    for d in args.data_dirs:
        problems = validate_data_dir(d, strict=args.strict)
        if problems:
            n_bad += 1
            print(f"{d}: {len(problems)} problems")
            for problem in problems:
                print(f"  {problem}")
            continue
        data = DataDir.load(d)
        hours = f", {sum(data.utt2dur.values()) / 3600:.2f} h" if data.utt2dur else ""
        print(f"{d}: ok ({len(data.utt2spk)} utterances, {len(data.speakers)} speakers{hours})")
    if n_bad:
        raise DataDirError(f"{n_bad} of {len(args.data_dirs)} data dirs have problems (listed above)")
    return 0


def cmd_perturb_tempo(args: argparse.Namespace) -> int:
    from latentspeech.data.perturb import perturb_tempo

    new = perturb_tempo(args.data_dir, args.out, args.factor, every=args.every, nj=args.nj)
    hours = sum(new.utt2dur.values()) / 3600
    print(f"wrote {len(new.utt2spk)} copies at tempo × {args.factor:g} ({hours:.2f} h) to {args.out}")
    return 0


def cmd_combine_data(args: argparse.Namespace) -> int:
    from latentspeech.data.combine import combine_dirs

    layout = combine_dirs(args.sources, args.out)
    print(f"combined {len(args.sources)} {layout} dirs into {args.out}")
    return 0
