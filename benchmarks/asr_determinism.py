"""Does the evaluator give the same audio the same text? Whisper transcribes a list's audio twice, the second time
in reverse order, and the transcripts are compared.

    python benchmarks/asr_determinism.py --meta W/meta.lst --gen-dir W/ground_truth            # seeded (default)
    python benchmarks/asr_determinism.py --meta W/meta.lst --gen-dir W/ground_truth --unseeded  # as before session 22
    python benchmarks/asr_determinism.py --meta W/meta.lst --gen-dir W/ground_truth --no-fallback  # temperature 0 only

`--gen-dir` holds <utt>.wav for the list's utterances (a `latentspeech tts --text-file` out dir, or the ground truth
a benchmark work dir keeps). Reports the identical transcripts and each pass's mean WER against the list's texts.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--meta", required=True, help="seed-tts-eval list: the texts")
    ap.add_argument("--gen-dir", required=True, help="<utt>.wav for the list's utterances")
    ap.add_argument("--unseeded", action="store_true", help="Whisper's fallback sampling unseeded (seed=None)")
    ap.add_argument("--no-fallback", action="store_true",
                    help="beam search only, no temperature fallback (deterministic, but tiny.en loops on hard audio)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    from latentspeech.audio import load_audio
    from latentspeech.eval.asr import WhisperASR
    from latentspeech.eval.meta import gen_wav_path, read_meta
    from latentspeech.eval.score import wer_scores

    entries = read_meta(args.meta)
    audio = {e.utt: load_audio(gen_wav_path(Path(args.gen_dir), e.utt)) for e in entries}
    passes = []
    for order in (1, -1):
        options = {"temperature": 0.0} if args.no_fallback else {}
        asr = WhisperASR(cpu_threads=args.threads, seed=None if args.unseeded else 0, **options)
        t0 = time.perf_counter()
        texts = {utt: asr.transcribe(*audio[utt]) for utt in list(audio)[::order]}
        wer = np.mean([wer_scores(e.text, texts[e.utt])["wer"] for e in entries])
        passes.append(texts)
        print(f"pass {len(passes)} ({'reversed' if order < 0 else 'list'} order): mean WER {100 * wer:.2f} %, "
              f"{time.perf_counter() - t0:.0f} s")
    same = sum(passes[0][u] == passes[1][u] for u in audio)
    how = "no fallback" if args.no_fallback else "unseeded" if args.unseeded else "seeded"
    print(f"identical transcripts: {same} of {len(audio)} ({how})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
