"""Sub-commands of the LM stage: `train-lm`, `export-tts`, `tts`, `dump-gta-latents`.

    latentspeech train-lm --config conf/lm.yaml --data dump/phn/train --latents dump/latents/vae/train --exp-dir exp/lm
    latentspeech export-tts --vae exp/vae --lm exp/lm --out pretrained/default [--dtype float16]
    latentspeech tts --text "Hello." --prompt-wav p.wav --prompt-text "..." --out out.wav [--model default]
    latentspeech tts --text "Hello." --prompt espeak-f4 --out out.wav   # an example prompt shipped with the model
    latentspeech tts --text-file meta.lst --out-dir gen/          # seed-tts-eval list utt|prompt_text|prompt_wav|text
                                                                   # (--batch-size 8: 8 utterances per LM batch)
                                                                   # (+ gen/generation.jsonl: timings, best-of-N scores)
    latentspeech tts --list-models
    latentspeech dump-gta-latents --model default --data dump/phn/train --latents dump/latents/vae/train \
        --out dump/gta/train                                       # decoder fine-tuning data (lm/gta.py)
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from latentspeech.cli.common import add_config_args, output_path
from latentspeech.errors import InputError

log = logging.getLogger(__name__)

GENERATION_LOG = "generation.jsonl"  # batch tts: one JSON line per utterance (timings, best-of-N scores and choice)


def _decode_defaults():
    from latentspeech.lm.decoding import DecodeConfig  # torch-free: --help stays instant

    return DecodeConfig()


def _add_decode_args(p: argparse.ArgumentParser, sampling_only: bool = False) -> None:
    """Decoding flags; default None = the model's decode config (whose defaults are DecodeConfig's).
    `sampling_only`: just how each frame is drawn (steps, CFG, temperature, solver)."""
    from latentspeech.lm.decoding import SOLVERS  # torch-free, like _decode_defaults

    d = _decode_defaults()
    g = p.add_argument_group("decoding (defaults: the model's decode config)")
    g.add_argument("--steps", type=int, default=None, help=f"diffusion solver steps per frame (default {d.steps})")
    g.add_argument("--cfg-scale", "--cfg", dest="cfg_scale", type=float, default=None,
                   help=f"classifier-free guidance scale, 1 = off (default {d.cfg_scale})")
    g.add_argument("--cfg-interval", nargs=2, type=float, default=None, metavar=("T_MIN", "T_MAX"),
                   help=f"guide only at diffusion times T_MIN <= t <= T_MAX (1 = noise); the other solver steps "
                        f"run the conditional half alone (default {d.cfg_t_min:g} {d.cfg_t_max:g})")
    g.add_argument("--cfg-rescale", type=float, default=None, metavar="PHI",
                   help=f"guidance rescale φ in [0, 1]: pull each guided frame toward the conditional one's std "
                        f"(Lin et al. 2024; default {d.cfg_rescale:g} = plain CFG)")
    g.add_argument("--cfg-parallel", type=float, default=None, metavar="ETA",
                   help=f"weight in [0, 1] of the guidance update's part along the conditional x0 estimate "
                        f"(adaptive projected guidance, Sadat et al. 2024; default {d.cfg_parallel:g} = plain CFG)")
    g.add_argument("--temperature", type=float, default=None, help=f"initial-noise scale (default {d.temperature})")
    g.add_argument("--solver", choices=SOLVERS, default=None, help=f"(default {d.solver})")
    if sampling_only:
        return
    g.add_argument("--candidates", type=int, default=None, metavar="N",
                   help=f"best-of-N: sample N in one batch, keep the one the LM's CTC head reads as the text best "
                        f"(default {d.candidates})")
    g.add_argument("--max-seconds", type=float, default=None,
                   help=f"length guard per text chunk (default {d.max_seconds:g})")
    g.add_argument("--max-prompt-seconds", type=float, default=None,
                   help=f"longest prompt taken, in seconds of speech; --transcribe-prompt cuts a longer one at a word; "
                        f"0 = no limit (default {d.max_prompt_seconds:g})")
    g.add_argument("--prompt-max-pace", type=float, default=None,
                   help=f"speed a prompt slower than this many latent frames per phoneme up to it (WSOLA, pitch "
                        f"kept) before encoding; 0 = off (default {d.prompt_max_pace:g})")
    g.add_argument("--no-end-sentences", dest="end_sentences", action="store_const", const=False, default=None,
                   help="read a text or prompt transcript that ends without . ! ? as written (default: as if it "
                        "ended with '.', the sentences the LM learnt)")
    g.add_argument("--decode-config", default=None, metavar="YAML", help="a DecodeConfig YAML (conf/decode.yaml)")


def _add_training_dump_args(p: argparse.ArgumentParser) -> None:
    """--config/--set and the dump, validation and exp dirs of train-lm (`_check_dump_dirs`)."""
    add_config_args(p)
    p.add_argument("--data", required=True, help="phoneme dump dir (text, vocab.yaml), e.g. dump/phn/train")
    p.add_argument("--latents", required=True, help="latent dump dir (latents.scp, utt2num_frames, vae.yaml)")
    p.add_argument("--exp-dir", required=True, help="output dir (checkpoints/, tensorboard/, config.yaml)")
    p.add_argument("--valid-data", default=None, help="phoneme dump of a validation set (with --valid-latents)")
    p.add_argument("--valid-latents", default=None, help="latent dump of the validation set")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --exp-dir")


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's sub-commands to `sub`."""
    p = sub.add_parser("train-lm", help="train the next-frame diffusion LM on dumped phonemes + latents")
    _add_training_dump_args(p)
    p.add_argument("--data-dir", default=None, help="kaldi data dir whose utt2spk enables cross-utterance prompts")
    p.add_argument("--init-from", default=None, metavar="MODEL",
                   help="start from the LM weights of a 'tts' model (name or dir), fresh optimiser; --resume wins")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda (under torchrun: cuda:LOCAL_RANK)")
    p.set_defaults(func=cmd_train_lm, _parser=p)

    p = sub.add_parser("export-tts", help="bundle a VAE and a trained LM into a 'tts' model dir")
    p.add_argument("--vae", required=True, help="VAE model dir (or train-vae exp dir holding model/)")
    p.add_argument("--lm", required=True, help="train-lm exp dir (newest checkpoint, EMA weights if any)")
    p.add_argument("--out", required=True, help="output model dir, e.g. pretrained/default")
    p.add_argument("--checkpoint", default=None, help="a specific LM checkpoint .pt instead of the newest")
    p.add_argument("--dtype", choices=("float32", "float16", "bfloat16", "int8"), default=None,
                   help="storage dtype of the weights (float16 halves the size; int8 = weight-only int8 matrices "
                        "with per-row scales, float16 for the rest, dequantized to float32 on load)")
    p.add_argument("--decode-config", default=None, metavar="YAML", help="decode defaults to store (conf/decode.yaml)")
    p.add_argument("--prompts", default=None, metavar="LIST",
                   help="example prompts to ship under prompts/: one 'name|wav|transcript' per line")
    p.add_argument("--force", action="store_true", help="overwrite an existing model dir")
    p.set_defaults(func=cmd_export_tts)

    p = sub.add_parser("tts", help="synthesize speech in the voice of a prompt recording")
    p.add_argument("--text", default=None, help="text to speak ('-' reads stdin)")
    p.add_argument("--text-file", default=None,
                   help=f"batch: seed-tts-eval list utt|prompt_text|prompt_wav|text; each utterance's timings and "
                        f"best-of-N scores are appended to OUT_DIR/{GENERATION_LOG}")
    p.add_argument("--prompt-wav", default=None, help="a few seconds of the target voice (any sample rate)")
    p.add_argument("--prompt-text", default=None, help="transcript of --prompt-wav")
    p.add_argument("--transcribe-prompt", action="store_true",
                   help="no transcript at hand: have Whisper tiny.en hear the prompt (pip install "
                        "'latentspeech[eval]'); with --text-file, the lines whose prompt text is empty. A true "
                        "transcript reads better (README)")
    p.add_argument("--prompt", default=None, metavar="NAME",
                   help="an example prompt shipped with the model (wav + transcript; names: --list-models)")
    p.add_argument("--out", "-o", default=None, help="output wav ('-' writes the wav to stdout)")
    p.add_argument("--out-dir", default=None, help="batch output dir: <out-dir>/<utt>.wav")
    p.add_argument("--model", default="default", help="model name (see --list-models) or model dir")
    p.add_argument("--list-models", action="store_true", help="list the named models and exit")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed → same audio)")
    p.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    p.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32",
                   help="LM compute dtype (bfloat16 is ~3x faster on CPUs with avx512-bf16)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch intra-op threads (0 = torch's default); batch-1 decoding is latency-bound: on a "
                        "shared 2-core machine 2 threads ran 5-30x slower than 1 (benchmarks/tts_speed.py)")
    p.add_argument("--batch-size", type=int, default=1,
                   help="--text-file: utterances generated together in one LM batch (same audio, more throughput: "
                        "benchmarks/tts_batch.py); one candidate each")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    _add_decode_args(p)
    p.set_defaults(func=cmd_tts, _parser=p)

    p = sub.add_parser("dump-gta-latents",
                       help="the LM's teacher-forced samples of every frame of a latent dump (σ-VAE decoder "
                            "fine-tuning data, train-vae data.latents)")
    p.add_argument("--model", default="default", help="'tts' model (name or dir) whose σ-VAE made --latents")
    p.add_argument("--data", required=True, help="phoneme dump dir (text), e.g. dump/phn/train")
    p.add_argument("--latents", required=True, help="latent dump dir of the same utterances")
    p.add_argument("--out", required=True, help="output latent dump dir, e.g. dump/gta/train")
    p.add_argument("--prompt-seconds", type=float, default=3.0,
                   help="true frames kept at the start (at most half the utterance); the rest are sampled")
    p.add_argument("--max-utts", type=int, default=None, help="an evenly spaced subset of N utterances of the dump")
    p.add_argument("--shard", default=None, metavar="I/N", help="only shard I of N (1-based)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--device", default="cpu")
    p.add_argument("--force", action="store_true", help="remake utterances already dumped")
    _add_decode_args(p, sampling_only=True)
    p.set_defaults(func=cmd_dump_gta_latents, _parser=p)


def _check_dump_dirs(args) -> None:
    """--data/--latents (and the --valid-* pair, given together) must be existing dump dirs."""
    if (args.valid_data is None) != (args.valid_latents is None):
        args._parser.error("--valid-data and --valid-latents go together")
    for path, what in ((args.data, "--data"), (args.latents, "--latents"), (args.valid_data, "--valid-data"),
                       (args.valid_latents, "--valid-latents")):
        if path is not None and not Path(path).is_dir():
            raise InputError(f"{what} directory '{path}' does not exist")


def cmd_train_lm(args) -> int:
    from latentspeech.config import load_config
    from latentspeech.lm.train import LMTrainConfig, train_lm

    config = load_config(args.config, LMTrainConfig, args.overrides)
    _check_dump_dirs(args)
    train_lm(config, args.data, args.latents, args.exp_dir, data_dir=args.data_dir, resume=args.resume,
             device=args.device, valid_phn_dir=args.valid_data, valid_latent_dir=args.valid_latents,
             init_from=args.init_from)
    return 0


def cmd_dump_gta_latents(args) -> int:
    import torch

    from latentspeech.data.dump import parse_shard
    from latentspeech.lm.gta import dump_gta_latents

    for path, what in ((args.data, "--data"), (args.latents, "--latents")):
        if not Path(path).is_dir():
            raise InputError(f"{what} directory '{path}' does not exist")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    decode = {"steps": args.steps, "cfg_scale": args.cfg_scale, "temperature": args.temperature,
              "solver": args.solver, **_guidance(args)}
    dump_gta_latents(args.model, args.data, args.latents, args.out, decode=decode,
                     prompt_seconds=args.prompt_seconds, seed=args.seed, max_utts=args.max_utts,
                     shard=parse_shard(args.shard) if args.shard else None, force=args.force,
                     device=_device(args.device))
    return 0


def _guidance(args) -> dict:
    """--cfg-interval, --cfg-rescale and --cfg-parallel → DecodeConfig's cfg_t_min / cfg_t_max / cfg_rescale /
    cfg_parallel (None: the model's); out-of-range values are usage errors before the model loads."""
    for flag, meta, value in (("--cfg-rescale", "PHI", args.cfg_rescale), ("--cfg-parallel", "ETA", args.cfg_parallel)):
        if value is not None and not 0.0 <= value <= 1.0:
            args._parser.error(f"{flag} needs 0 <= {meta} <= 1, got {value:g}")
    shape = {"cfg_rescale": args.cfg_rescale, "cfg_parallel": args.cfg_parallel}
    if args.cfg_interval is None:
        return {"cfg_t_min": None, "cfg_t_max": None, **shape}
    lo, hi = args.cfg_interval
    if not 0.0 <= lo <= hi <= 1.0:
        args._parser.error(f"--cfg-interval needs 0 <= T_MIN <= T_MAX <= 1, got {lo:g} {hi:g}")
    return {"cfg_t_min": lo, "cfg_t_max": hi, **shape}


def _decode_config(path: str | None):
    from latentspeech.config import load_config
    from latentspeech.lm.decoding import DecodeConfig

    return load_config(path, DecodeConfig) if path else None


def cmd_export_tts(args) -> int:
    from latentspeech.pretrained import export_tts

    out = export_tts(args.vae, args.lm, args.out, dtype=args.dtype, decode_config=_decode_config(args.decode_config),
                     checkpoint=args.checkpoint, force=args.force, prompts=args.prompts)
    print(f"wrote {out}")
    return 0


def _list_models() -> int:
    from latentspeech.checkpoint import read_model_kind
    from latentspeech.errors import CheckpointError
    from latentspeech.pretrained import available_models, example_prompts

    models = available_models()
    if not models:
        print("no named models yet; export one with `latentspeech export-tts ... --out pretrained/<name>`")
    for name, path in models.items():
        try:
            kind = read_model_kind(path)
        except CheckpointError:
            kind = "unreadable"
        prompts = ", ".join(example_prompts(path))
        # only kind 'tts' can speak; 'vae' dirs serve --vae
        print(f"{name}\t{kind}\t{path}" + (f"\tprompts: {prompts}" if prompts else ""))
    return 0


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is available; use --device cpu")
    return name


def cmd_tts(args) -> int:
    if args.list_models:
        return _list_models()
    from latentspeech.api import TTS

    usage = args._parser.error  # conflicts and ranges are usage errors (exit 2)
    batch = args.text_file is not None
    if batch == (args.text is not None):
        usage("give either --text (one utterance) or --text-file (a meta list)")
    if batch and not args.out_dir:
        usage("--text-file needs --out-dir (one <utt>.wav per line)")
    if not batch and not args.out:
        usage("--text needs --out out.wav (or --out - for stdout)")
    options = {"steps": args.steps, "cfg_scale": args.cfg_scale, "temperature": args.temperature,
               "solver": args.solver, "max_seconds": args.max_seconds, "candidates": args.candidates,
               "prompt_max_pace": args.prompt_max_pace, "max_prompt_seconds": args.max_prompt_seconds,
               "end_sentences": args.end_sentences, **_guidance(args)}
    for key in ("steps", "candidates"):
        if options[key] is not None and options[key] < 1:
            usage(f"--{key} must be >= 1, got {options[key]}")
    if args.batch_size < 1:
        usage(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.batch_size > 1 and not batch:
        usage("--batch-size is for --text-file (several utterances)")
    if args.batch_size > 1 and (options["candidates"] or 1) > 1:
        usage("--batch-size > 1 samples one candidate per utterance; drop --candidates or use --batch-size 1")
    for key in ("cfg_scale", "temperature", "max_seconds", "prompt_max_pace", "max_prompt_seconds"):
        if options[key] is not None and options[key] < 0:
            usage(f"--{key.replace('_', '-')} must be >= 0, got {options[key]}")

    if args.prompt is not None:
        if batch:
            usage("--prompt is for --text; a --text-file names each line's prompt itself")
        if args.prompt_wav is not None or args.prompt_text is not None:
            usage("give either --prompt NAME or --prompt-wav/--prompt-text, not both")
        args.prompt_wav, args.prompt_text = _example_prompt(args.model, args.prompt)
    if args.transcribe_prompt and args.prompt_text is not None:
        usage("--transcribe-prompt is for a prompt without its transcript; drop it, or --prompt-text/--prompt")
    if not batch and args.prompt_wav is None and args.prompt_text is None:
        raise InputError("no prompt: pass --prompt-wav ref.wav --prompt-text \"what ref.wav says\" (a few seconds of "
                         f"the voice), or --prompt NAME, {_prompt_names(args.model)}")

    if batch:
        from latentspeech.eval.meta import gen_wav_path, read_meta

        entries = read_meta(args.text_file)
        for e in entries:  # every file check before any compute
            TTS.check_text(e.text, e.prompt_wav, e.prompt_text, need_prompt_text=not args.transcribe_prompt)
    else:
        text = sys.stdin.read() if args.text == "-" else args.text
        TTS.check_text(text, args.prompt_wav, args.prompt_text, need_prompt_text=not args.transcribe_prompt)
        out = None if args.out == "-" else output_path(args.out, args.force)
        if out is not None and out.suffix.lower() not in (".wav", ".flac"):
            raise InputError(f"--out '{args.out}': use a .wav or .flac file name")

    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    tts = TTS.from_pretrained(args.model, device=_device(args.device), dtype=args.dtype)
    decode = _decode_config(args.decode_config)
    if decode is not None:
        tts.decode_config = decode
    options = {k: v for k, v in options.items() if v is not None}
    config = tts.decode_options(**options)  # range checks before compute

    if not batch:
        if args.transcribe_prompt:
            args.prompt_wav, args.prompt_text = tts.transcribe_prompt(  # it logs what it heard
                args.prompt_wav, max_seconds=config.max_prompt_seconds)
        result = tts.synthesize(text, args.prompt_wav, args.prompt_text, seed=args.seed, **options)
        _write(result, out)
        where = "stdout" if out is None else str(out)
        print(f"wrote {where} ({result.seconds:.1f} s, RTF {result.timings['rtf']:.2f})",
              file=sys.stderr if out is None else sys.stdout)
        return 0

    from tqdm import tqdm

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    todo = [e for e in entries if args.force or not gen_wav_path(out_dir, e.utt).exists()]
    if len(todo) < len(entries):
        log.info("skipping %d utterances already in %s (--force redoes them)", len(entries) - len(todo), out_dir)
    heard = {}  # utt → (prompt audio, its recognised transcript): --transcribe-prompt, lines without a transcript
    if args.transcribe_prompt:
        for e in todo:
            if not e.prompt_text.strip():
                try:
                    heard[e.utt] = tts.transcribe_prompt(e.prompt_wav, max_seconds=config.max_prompt_seconds)
                except InputError as err:
                    raise InputError(f"{e.utt}: {err}") from None

    def prompt_of(e):  # (prompt audio, transcript) of a line
        return heard.get(e.utt, (e.prompt_wav, e.prompt_text))

    total_audio = total_time = 0.0
    quiet = args.quiet or not sys.stderr.isatty()
    log_path = out_dir / GENERATION_LOG
    if args.batch_size > 1:
        if config.candidates > 1:
            raise InputError("--batch-size > 1 samples one candidate per utterance, but this model's decode config "
                             "asks for best-of-N: pass --candidates 1 or use --batch-size 1")
        todo = sorted(todo, key=lambda e: len(e.text))  # similar lengths share a batch (same audio either way)
    groups = [todo[i : i + args.batch_size] for i in range(0, len(todo), args.batch_size)]
    with tqdm(total=len(todo), desc="tts", unit="utt", disable=quiet) as bar:
        for group in groups:
            try:
                if len(group) == 1:
                    results = [tts.synthesize(group[0].text, *prompt_of(group[0]), seed=args.seed, **options)]
                else:
                    results = tts.synthesize_batch([(e.text, *prompt_of(e)) for e in group],
                                                   seed=args.seed, batch_size=args.batch_size, **options)
            except InputError as err:
                i, reason = getattr(err, "request", 0), getattr(err, "reason", str(err))
                raise InputError(f"{group[i].utt}: {reason}") from None
            for e, result in zip(group, results):
                _write(result, gen_wav_path(out_dir, e.utt))
                with open(log_path, "a", encoding="utf-8") as f:  # one line per utterance, appended as written
                    said = {"prompt_transcript": heard[e.utt][1]} if e.utt in heard else {}
                    f.write(json.dumps({"utt": e.utt, "seed": args.seed, **said, **result.timings}) + "\n")
                total_audio += result.seconds
                total_time += result.timings["total_s"]
            bar.update(len(group))
    rtf = total_time / total_audio if total_audio else 0.0
    print(f"wrote {len(todo)} files to {out_dir} ({total_audio:.1f} s, RTF {rtf:.2f})")
    return 0


def _example_prompt(model: str, name: str):
    from latentspeech.pretrained import example_prompt, resolve_model

    return example_prompt(resolve_model(model), name)


def _prompt_names(model: str) -> str:
    """'a model example (names: a, b)' for error messages; never raises."""
    from latentspeech.errors import LatentSpeechError
    from latentspeech.pretrained import example_prompts, resolve_model

    try:
        names = list(example_prompts(resolve_model(model)))
    except LatentSpeechError:
        names = []
    return f"a shipped example (names: {', '.join(names)})" if names else "a shipped example (see --list-models)"


def _write(result, path: Path | None) -> None:
    from latentspeech.audio import save_audio

    if path is not None:
        save_audio(path, result.wav, result.sample_rate)
        return
    import io

    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, result.wav, result.sample_rate, format="WAV", subtype="PCM_16")
    sys.stdout.buffer.write(buf.getvalue())
    sys.stdout.flush()

