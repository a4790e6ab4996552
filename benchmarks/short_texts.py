"""Short texts ("Yes, please.", "The round ladder."): does the TTS say them, and for about as long as a person would?

    python benchmarks/short_texts.py --model default /tmp/other_model --data /work/corpus/synth/data/test \
        --reference-data /work/corpus/synth20s/data/train --work-dir /tmp/short_texts --report short_texts.md

The held-out cross-sentence list of `tts_quality.py` (`make-eval-list --mode cross`, seed 0, --max-utts) with each
target text replaced by a short phrase of the synth grammar (`make_phrases`, --phrase-seed): prompts are unseen
voices, texts are 1–6 words. The grammar makes only a few thousand phrases, so training corpora built with
`--short-fraction` contain many of them: this measures stopping and speaking short answers, not generalisation
to new words. Per model: WER/CER (Whisper tiny.en), SIM-o, and the length of the generated audio (min, 10th
percentile, median, max, share shorter than 0.5 s). Whisper is a poor judge of 1–6 synthetic words, so
`--reference-data` adds a calibration row: real recordings of as many ≤ 6-word training utterances
(corpora made with `--short-fraction`), scored the same way. Every utterance is synthesised with seed 0 and the
model's decode defaults; resumable like tts_quality.py.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from vae_intelligibility import make_meta, metric_cell, score

MAX_WORDS = 6


def short_meta(cross_meta: Path, out: Path, phrase_seed: int) -> Path:
    """Write `out`: the cross list with every text replaced by a short phrase (same utts and prompts)."""
    from latentspeech.data.corpora.synth_text import make_phrases
    from latentspeech.eval.meta import MetaEntry, read_meta, write_meta

    entries = read_meta(cross_meta)
    phrases = make_phrases(len(entries), seed=phrase_seed)
    return write_meta(out, [MetaEntry(e.utt, e.prompt_text, e.prompt_wav, p) for e, p in zip(entries, phrases)])


def reference_set(data_dir: str, n: int, work: Path) -> Path:
    """<work>/reference/<utt>.wav and <work>/reference_meta.lst: `n` recorded ≤ MAX_WORDS-word utterances."""
    from latentspeech.audio.io import load_audio, save_audio
    from latentspeech.data.kaldi import DataDir
    from latentspeech.eval.meta import MetaEntry, write_meta

    meta = work / "reference_meta.lst"
    if meta.exists():
        return meta
    data = DataDir.load(data_dir)
    short = sorted(u for u, t in data.text.items() if len(t.split()) <= MAX_WORDS)
    if not short:
        raise SystemExit(f"{data_dir} has no utterance of <= {MAX_WORDS} words (made without --short-fraction?)")
    random.Random(0).shuffle(short)
    out = work / "reference"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for utt in short[:n]:
        wav, sr = load_audio(data.wav_path(utt))
        save_audio(out / f"{utt}.wav", wav, sr)
        rows.append(MetaEntry(utt, "-", out / f"{utt}.wav", data.text[utt]))  # its own audio as the "prompt"
    return write_meta(meta, rows)


def durations(gen_dir: Path) -> list[float]:
    import soundfile as sf

    return sorted(sf.info(str(p)).duration for p in gen_dir.glob("*.wav"))


def duration_cells(d: list[float]) -> str:
    pick = lambda q: d[min(len(d) - 1, int(q * len(d)))]  # noqa: E731
    short = sum(x < 0.5 for x in d)
    return f"{d[0]:.2f} | {pick(0.1):.2f} | {pick(0.5):.2f} | {d[-1]:.2f} | {short}/{len(d)}"


def synthesize(tts, entries, out_dir: Path) -> None:
    from latentspeech.audio.io import save_audio

    done = out_dir / "done.json"
    if done.exists():
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    for e in entries:
        result = tts.synthesize(e.text, e.prompt_wav, e.prompt_text, seed=0)
        save_audio(out_dir / f"{e.utt}.wav", result.wav, result.sample_rate)
    done.write_text(json.dumps({"utts": len(entries)}))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", nargs="+", default=["default"], help="'tts' model names under pretrained/ or dirs")
    p.add_argument("--data", required=True, help="kaldi data dir of held-out speakers (the prompts)")
    p.add_argument("--reference-data", help="kaldi data dir with recorded short utterances (calibration row)")
    p.add_argument("--max-utts", type=int, default=42)
    p.add_argument("--phrase-seed", type=int, default=777)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--work-dir", required=True)
    p.add_argument("--report", help="also write the Markdown table here")
    args = p.parse_args(argv)

    import torch

    from latentspeech.api import TTS
    from latentspeech.cli import main as cli
    from latentspeech.eval.meta import read_meta

    torch.set_num_threads(args.threads)
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    meta = short_meta(make_meta(cli, args.data, work, args.max_utts), work / "short_meta.lst", args.phrase_seed)
    entries = read_meta(meta)
    rows = []
    if args.reference_data:
        ref_meta = reference_set(args.reference_data, len(entries), work)
        rows.append(("recorded short utterances (training voices; calibration)", work / "reference",
                     score(cli, ref_meta, work / "reference", args.threads)))
    for k, model in enumerate(args.model):
        gen = work / f"tts{k}_{Path(model).name}"  # resumable when models are appended
        synthesize(TTS.from_pretrained(model), entries, gen)
        rows.append((f"TTS `{model}`", gen, score(cli, meta, gen, args.threads)))
    lines = [f"{len(entries)} short texts (1–{MAX_WORDS} words, `make_phrases` seed {args.phrase_seed}) with the "
             f"cross-sentence prompts of `{args.data}` (seed 0); decode defaults, seed 0. WER/CER: Whisper tiny.en, "
             "SIM-o: resemblyzer cosine to the prompt; 95% bootstrap CIs; durations of the generated audio in s.", "",
             "| audio | WER % | CER % | SIM-o | min | p10 | median | max | < 0.5 s |", "|---|---|---|---|---|---|---|---|---|"]
    for name, gen, summary in rows:
        sim = "–" if gen.name == "reference" else metric_cell(summary, "sim_o")  # its own audio as the prompt
        lines.append(f"| {name} | {metric_cell(summary, 'wer')} | {metric_cell(summary, 'cer')} | {sim} | "
                     f"{duration_cells(durations(gen))} |")
    text = "\n".join(lines)
    print(text)
    if args.report:
        Path(args.report).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
