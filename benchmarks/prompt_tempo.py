"""Prompts time-stretched to a chosen pace: does the prompt's tempo steer how well the LM reads?

    python benchmarks/prompt_tempo.py --model default --meta W/meta.lst --out-dir P --target 0.5 --match '^rms'
    latentspeech tts --model default --text-file P/meta.lst --out-dir G --steps 10 --cfg-scale 2.5 --seed 0
    latentspeech eval --meta P/meta.lst --gen-dir G --out-dir S        # WER; the texts are the same
    latentspeech eval-sim --meta P/original.lst --gen-dir G --out-dir S_orig   # SIM-o to the unstretched prompts

The pace of a prompt is its latent frames per phoneme token (as the model sees it: silence-trimmed audio over its
transcript's phoneme ids). Each prompt of the entries whose utterance id matches `--match` is stretched with sox
`tempo -s` (WSOLA: pitch kept; `--stretcher wsola`: the library's `time_stretch`, what the decode option
`prompt_max_pace` uses) by pace / target (> 1 = faster), clipped to [1/2, 2]; with `--only-slower`,
only prompts slower than the target are changed. P/meta.lst names the stretched prompts (`P/prompts/<utt>.wav`),
P/original.lst the same entries with the original ones, and P/pace.tsv each prompt's pace and factor.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import subprocess
from pathlib import Path

MAX_FACTOR = 2.0


def tempo_factor(pace: float, target: float, only_slower: bool = False) -> float:
    """sox tempo factor that moves a prompt of `pace` frames per phoneme to `target` (> 1 = faster), in [1/2, 2]."""
    factor = pace / target
    if only_slower:
        factor = max(1.0, factor)
    return min(max(factor, 1 / MAX_FACTOR), MAX_FACTOR)


def prompt_pace(tts, wav_path: Path, prompt_text: str) -> float:
    """Latent frames per phoneme token of a prompt, as `TTS.prepare` sees it (`TTS.prompt_pace`, the pace that the
    decode option `prompt_max_pace` caps; session 16's probe counted whole frames, up to one frame fewer)."""
    wav = tts.load_prompt(wav_path, max_seconds=0)  # a measurement: any length
    [ids] = tts._phoneme_ids([prompt_text])
    return tts.prompt_pace(wav, len(ids))


def stretch_file(src: Path, dst: Path, factor: float, stretcher: str) -> None:
    """Write `src` `factor` times faster to `dst`: sox `tempo -s`, or the library's WSOLA (`tempo_copy`, as
    `latentspeech perturb-tempo` makes training copies)."""
    if stretcher == "sox":
        subprocess.run(["sox", str(src), str(dst), "tempo", "-s", f"{factor:.4f}"], check=True)
        return
    from latentspeech.data.perturb import tempo_copy

    tempo_copy(src, dst, factor)


def main(argv: list[str] | None = None) -> int:
    import re

    from latentspeech import TTS
    from latentspeech.eval.meta import read_meta, write_meta

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="default", help="TTS model name or dir (its VAE and phonemizer measure pace)")
    ap.add_argument("--meta", required=True, help="meta list utt|prompt_text|prompt_wav|text[|gt_wav]")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--target", type=float, required=True, help="prompt pace to reach, latent frames per phoneme")
    ap.add_argument("--match", default="", help="regex on utterance ids: only these entries (default: all)")
    ap.add_argument("--only-slower", action="store_true", help="stretch only prompts slower than --target")
    ap.add_argument("--stretcher", choices=("sox", "wsola"), default="sox",
                    help="sox tempo -s (default), or the library's WSOLA that prompt_max_pace uses")
    args = ap.parse_args(argv)
    if args.stretcher == "sox" and shutil.which("sox") is None:
        raise SystemExit("prompt_tempo.py needs the sox binary (apt install sox)")
    if args.target <= 0:
        raise SystemExit(f"--target must be > 0, got {args.target}")

    tts = TTS.from_pretrained(args.model)
    out = Path(args.out_dir)
    (out / "prompts").mkdir(parents=True, exist_ok=True)
    entries = [e for e in read_meta(args.meta) if re.search(args.match, e.utt)]
    if not entries:
        raise SystemExit(f"no entry of {args.meta} matches --match {args.match!r}")
    stretched, rows = [], ["utt\tpace\tfactor"]
    for e in entries:
        pace = prompt_pace(tts, e.prompt_wav, e.prompt_text)
        factor = tempo_factor(pace, args.target, args.only_slower)
        dst = out / "prompts" / f"{e.utt}.wav"
        stretch_file(Path(e.prompt_wav), dst, factor, args.stretcher)
        stretched.append(dataclasses.replace(e, prompt_wav=dst))
        rows.append(f"{e.utt}\t{pace:.4f}\t{factor:.4f}")
    write_meta(out / "meta.lst", stretched)
    write_meta(out / "original.lst", entries)
    (out / "pace.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    paces = sorted(float(r.split("\t")[1]) for r in rows[1:])
    print(f"{len(entries)} prompts, pace median {paces[len(paces) // 2]:.3f} "
          f"(min {paces[0]:.3f}, max {paces[-1]:.3f}) → target {args.target:g}; wrote {out}/meta.lst")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
