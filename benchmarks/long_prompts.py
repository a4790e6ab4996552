"""How long may a prompt be? Meta lists whose prompts join 1, 2 or 4 other utterances of the target's speaker, and
the TTS's WER by the prompt's length in speech.

    # 1. lists: W/k1.lst, W/k2.lst, W/k4.lst (+ the joined prompt wavs; k4_blank.lst: without prompt texts)
    python benchmarks/long_prompts.py make --data /work/corpus/synth/data/test --out W --max-utts 24
    # 2. each list, seeds 0 and 1 (prompts longer than the model takes need max_prompt_seconds off, the point here)
    latentspeech tts --text-file W/k4.lst --out-dir W/g_k4_s0 --seed 0 --batch-size 8 --max-prompt-seconds 0
    latentspeech eval --meta W/k4.lst --gen-dir W/g_k4_s0 --out-dir W/sc_k4_s0
    # 3. WER by prompt length (silence-trimmed seconds of speech) over every scored list
    python benchmarks/long_prompts.py table W
    # and the longest prompts without their texts, cut at a word within max_prompt_seconds by --transcribe-prompt
    latentspeech tts --text-file W/k4_blank.lst --transcribe-prompt --out-dir W/g_k4_blank_s0 --seed 0 --batch-size 8
    latentspeech eval --meta W/k4.lst --gen-dir W/g_k4_blank_s0 --out-dir W/sc_k4_blank_s0

The target is each speaker's first utterance; the prompts are the others, in a seeded random order, joined with
0.3 s of silence, their transcripts joined with spaces.
"""

from __future__ import annotations

import argparse
import random
from collections import defaultdict
from pathlib import Path

import numpy as np

COUNTS = (1, 2, 4)
BUCKETS = ((0, 4), (4, 6), (6, 8), (8, 10), (10, 13), (13, 60))


def cmd_make(args) -> int:
    import soundfile as sf

    from latentspeech.data.kaldi import DataDir

    data = DataDir.load(args.data)
    if data.segments:
        raise SystemExit(f"{args.data} has segments; give a data dir of whole files")
    by_speaker: dict[str, list[str]] = defaultdict(list)
    for utt in data.utt_ids:
        by_speaker[data.utt2spk[utt]].append(utt)
    rng = random.Random(args.seed)
    speakers = sorted(s for s, us in by_speaker.items() if len(us) > max(COUNTS))
    rng.shuffle(speakers)
    out = Path(args.out)
    (out / "prompts").mkdir(parents=True, exist_ok=True)
    lists: dict[str, list[str]] = defaultdict(list)
    for spk in speakers[: args.max_utts]:
        target, *others = by_speaker[spk]
        rng.shuffle(others)
        for k in COUNTS:
            pieces, texts, sr = [], [], None
            for utt in others[:k]:
                wav, sr = sf.read(data.wav_path(utt), dtype="float32")
                pieces += [wav, np.zeros(int(0.3 * sr), dtype=np.float32)]
                texts.append(data.text[utt])
            path = f"prompts/{target}_k{k}.wav"
            sf.write(out / path, np.concatenate(pieces), sr)
            truth = f"{data.text[target]}|{data.wav_path(target)}"
            lists[f"k{k}"].append(f"{target}|{' '.join(texts)}|{path}|{truth}")
            lists[f"k{k}_blank"].append(f"{target}||{path}|{truth}")
    for name, lines in lists.items():
        (out / f"{name}.lst").write_text("\n".join(lines) + "\n")
    print(f"wrote {', '.join(f'{n}.lst' for n in lists)} ({len(lists['k1'])} utterances each) to {out}")
    return 0


def speech_seconds(path: Path) -> float:
    """Seconds of a prompt wav after silence trimming (what max_prompt_seconds counts)."""
    from latentspeech.audio import load_audio, trim_silence

    wav, sr = load_audio(path)
    return len(trim_silence(wav, sr)) / sr


def bucket_table(rows: list[tuple[float, float]]) -> str:
    """(prompt seconds, WER) rows → Markdown: utterance count, mean and median WER per length bucket."""
    lines = ["| prompt speech, s | n | WER % mean | median |", "|---|---|---|---|"]
    for lo, hi in BUCKETS:
        wers = [w for s, w in rows if lo <= s < hi]
        if wers:
            lines.append(f"| {lo}-{hi} | {len(wers)} | {100 * np.mean(wers):.0f} | {100 * np.median(wers):.0f} |")
    return "\n".join(lines)


def cmd_table(args) -> int:
    from latentspeech.eval.compare import read_runs
    from latentspeech.eval.meta import read_meta

    work = Path(args.work_dir)
    rows = []
    for name in [f"k{k}" for k in COUNTS] + [f"k{k}_blank" for k in COUNTS]:
        runs = sorted(work.glob(f"sc_{name}_s*"))
        if not (work / f"{name}.lst").is_file() or not runs:
            continue
        wer = read_runs(runs, "wer")  # the mean over the seeds
        print(f"{name}: {len(wer)} utterances, {len(runs)} run(s), WER {100 * np.mean(list(wer.values())):.1f} %")
        if not name.endswith("_blank"):  # (a blank list's prompts were cut by --transcribe-prompt: other lengths)
            seconds = {e.utt: speech_seconds(e.prompt_wav) for e in read_meta(work / f"{name}.lst")}
            rows += [(seconds[u], w) for u, w in wer.items()]
    print(bucket_table(rows))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make", help="write the k1/k2/k4 meta lists and their joined prompt wavs")
    m.add_argument("--data", required=True, help="kaldi data dir (wav.scp, text, utt2spk)")
    m.add_argument("--out", required=True)
    m.add_argument("--max-utts", type=int, default=24, help="target utterances (one per speaker)")
    m.add_argument("--seed", type=int, default=0)
    m.set_defaults(func=cmd_make)
    t = sub.add_parser("table", help="WER by prompt length over the scored runs sc_<list>_s<seed> in WORK_DIR")
    t.add_argument("work_dir")
    t.set_defaults(func=cmd_table)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
