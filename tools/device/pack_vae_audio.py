"""Copy what σ-VAE training on a lent GPU machine needs into .device/vae (the device tool carries ≤ 64 MiB):
a share of a training data dir's audio as 16-bit FLAC (up to --max-mb), a few validation utterances, and, when
asked, the VAE to start from and the wheels the device image lacks (soundfile + cffi + pycparser, encodec;
`pip download` / `pip wheel` them into --wheels first: docs/experiments.md, *The σ-VAE decoder on a GPU*).

    python tools/device/pack_vae_audio.py --data /work/corpus/synth20s/data/train \
        --valid-data /work/corpus/synth/data/dev --vae vae_synth_causal --wheels /tmp/whl --max-mb 40
    python tools/device/pack_vae_audio.py ... --parts 8 --part 1 --max-mb 60    # the next share, audio only
Writes OUT/audio.tar (train/ and dev/ data dirs: wav.scp with relative paths, flac/), OUT/init/ and OUT/whl/.
The FLAC files go into one tar because the device tool counts each small file's disk blocks. 40 MB of FLAC holds
~40 min of the synth corpus, too little for a decoder (it overfits within ~1000 steps of 32 crops): carry more
in several calls to one warm machine, each with its own --part (of --parts, every share spread over all
speakers); tools/device/stage_vae_audio.sh gathers them there.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tarfile
from collections import defaultdict
from pathlib import Path

import numpy as np


def pick_round_robin(items: list[tuple[str, str]], utt2spk: dict[str, str], seed: int) -> list[tuple[str, str]]:
    """All items, reordered so that speakers take turns (each speaker's own order shuffled with `seed`); every n-th
    item of this order (a --part of --parts n) takes turns over the speakers too."""
    rng = np.random.default_rng(seed)
    by_spk: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for u, p in items:
        by_spk[utt2spk.get(u, u)].append((u, p))
    queues = [[lst[i] for i in rng.permutation(len(lst))] for _, lst in sorted(by_spk.items())]
    out = []
    for k in range(max(len(q) for q in queues)):
        out += [q[k] for q in queues if k < len(q)]
    return out


def write_flac_dir(items: list[tuple[str, str]], dest: Path, sample_rate: int, max_bytes: float) -> tuple[int, float]:
    """Write items as dest/flac/UTT.flac + dest/wav.scp until max_bytes; → (utterances, seconds)."""
    import soundfile as sf

    from latentspeech.audio.io import load_audio

    (dest / "flac").mkdir(parents=True, exist_ok=True)
    lines, total, seconds = [], 0, 0.0
    for utt, path in items:
        wav, _ = load_audio(path, sample_rate)
        target = dest / "flac" / f"{utt}.flac"
        sf.write(target, wav, sample_rate, format="FLAC", subtype="PCM_16")
        size = target.stat().st_size
        if total + size > max_bytes:
            target.unlink()
            break
        total += size
        seconds += len(wav) / sample_rate
        lines.append(f"{utt} flac/{utt}.flac")
    (dest / "wav.scp").write_text("\n".join(lines) + "\n")
    return len(lines), seconds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="training data dir (wav.scp, utt2spk)")
    p.add_argument("--valid-data", required=True, help="validation data dir (its first --valid-utts utterances)")
    p.add_argument("--vae", default=None, help="VAE model name under pretrained/ or model dir to start from (carried "
                   "once: later shares of audio need not repeat it)")
    p.add_argument("--sample-rate", type=int, default=16000, help="audio rate when no --vae is given")
    p.add_argument("--parts", type=int, default=1, help="split the training audio into this many shares ...")
    p.add_argument("--part", type=int, default=0, help="... and pack share K (0-based)")
    p.add_argument("--out", default=".device/vae")
    p.add_argument("--max-mb", type=float, default=38.0, help="FLAC megabytes of training audio (1e6 bytes)")
    p.add_argument("--valid-utts", type=int, default=8)
    p.add_argument("--wheels", default=None, help="folder of .whl files to carry (installed there by pip)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    from latentspeech.data.dump import read_wav_list
    from latentspeech.data.kaldi import read_kaldi_file
    from latentspeech.errors import LatentSpeechError
    from latentspeech.pretrained import resolve_model
    from latentspeech.vae.model import SigmaVAE

    if not 0 <= args.part < args.parts:
        print(f"error: --part {args.part} is not in 0..{args.parts - 1}", file=sys.stderr)
        return 1
    try:
        vae_dir = Path(resolve_model(args.vae)) if args.vae else None
        sr = SigmaVAE.from_pretrained(str(vae_dir)).sample_rate if vae_dir else args.sample_rate
        train = read_wav_list(args.data)
        spk_file = Path(args.data) / "utt2spk"
        utt2spk = read_kaldi_file(spk_file) if spk_file.is_file() else {}
        valid = read_wav_list(args.valid_data)[: args.valid_utts]
    except LatentSpeechError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    audio = out / "audio"
    share = pick_round_robin(train, utt2spk, args.seed)[args.part:: args.parts]
    n, sec = write_flac_dir(share, audio / "train", sr, args.max_mb * 1e6)
    nv, _ = write_flac_dir(valid, audio / "dev", sr, float("inf"))
    with tarfile.open(out / "audio.tar", "w") as tar:
        tar.add(audio, arcname="audio")
    shutil.rmtree(audio)
    if vae_dir is not None:
        shutil.copytree(vae_dir, out / "init")
    if args.wheels:
        (out / "whl").mkdir()
        for w in sorted(Path(args.wheels).glob("*.whl")):
            shutil.copy(w, out / "whl")
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"{out}: {n} of share {args.part}/{args.parts}'s {len(share)} training utterances ({sec / 60:.1f} min of "
          f"audio), {nv} validation; {size / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
