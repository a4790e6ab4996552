#!/usr/bin/env python3
"""Stage 2: check a kaldi data dir and write its utt2dur (seconds, from the audio headers).

    utils/validate_data.py DATA_DIR [--force]

Fails (exit 1) with one line naming the data dir, the first problem and how many there are; writes
DATA_DIR/utt2dur when it is missing or older than wav.scp/segments (or with --force).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def durations(data_dir: Path) -> dict[str, str]:
    """utt → duration in seconds ('%.3f'), from segments when present, else from each file's header."""
    import soundfile as sf

    from latentspeech.data.dump import read_wav_list
    from latentspeech.data.kaldi import read_kaldi_file

    segments_path = data_dir / "segments"
    if segments_path.is_file():
        out = {}
        for utt, rest in read_kaldi_file(segments_path).items():
            _, start, end = rest.split()
            out[utt] = f"{float(end) - float(start):.3f}"
        return out
    out = {}
    for utt, path in read_wav_list(data_dir):  # relative paths resolve as the trainers resolve them
        if path.rstrip().endswith("|"):
            raise ValueError(f"{data_dir}/wav.scp: '{utt}' is a pipe command; LatentSpeech reads audio files only")
        try:
            info = sf.info(path)
        except Exception as e:  # soundfile raises RuntimeError/LibsndfileError/OSError by backend
            raise ValueError(f"{data_dir}/wav.scp: audio of '{utt}' is unreadable: {path} ({e})") from None
        if info.frames == 0:
            raise ValueError(f"{data_dir}/wav.scp: audio of '{utt}' is empty: {path}")
        out[utt] = f"{info.frames / info.samplerate:.3f}"
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data_dir", type=Path)
    p.add_argument("--force", action="store_true", help="rewrite utt2dur even when up to date")
    args = p.parse_args(argv)
    from latentspeech.data.kaldi import validate_data_dir, write_kaldi_file

    d: Path = args.data_dir
    if not d.is_dir():
        print(f"validate_data: error: data dir '{d}' does not exist; run stage 1 (data prep) first", file=sys.stderr)
        return 1
    problems = validate_data_dir(d)
    if problems:
        more = f" (+{len(problems) - 1} more problems)" if len(problems) > 1 else ""
        print(f"validate_data: error: {d}: {problems[0]}{more}", file=sys.stderr)
        return 1
    utt2dur = d / "utt2dur"
    sources = [d / "wav.scp", d / "segments"]
    newest = max(s.stat().st_mtime for s in sources if s.exists())
    if args.force or not utt2dur.exists() or utt2dur.stat().st_mtime < newest:
        try:
            write_kaldi_file(utt2dur, durations(d))
        except ValueError as e:
            print(f"validate_data: error: {e}", file=sys.stderr)
            return 1
    dur = [float(v) for v in (utt2dur.read_text().split()[1::2])]
    print(f"validate_data: {d}: ok, {len(dur)} utterances, {sum(dur) / 3600:.2f} h", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
