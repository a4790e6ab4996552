"""Is σ-VAE resynthesis intelligible? WER (and SIM to the original) of ground truth vs VAE resynthesis.

    python benchmarks/vae_intelligibility.py --vae vae_synth_cpu --data /work/corpus/synth/data/test \
        --max-utts 105 --work-dir /tmp/vae_wer [--report out.md]

Builds a cross-sentence meta list from the data dir (held-out speakers), writes each utterance's ground truth
(resampled to the VAE rate) and its resynthesis, then scores both with `latentspeech eval` (offline Whisper
tiny.en + resemblyzer). The gap between the two WERs is what the tokenizer costs the whole TTS system.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def make_meta(cli, data: str, work: Path, max_utts: int) -> Path:
    """<work>/meta.lst: a seeded cross-sentence list of `max_utts` utterances (made once, then reused)."""
    meta = work / "meta.lst"
    if not meta.exists():
        code = cli(["-q", "make-eval-list", "--data", data, "--out", str(meta), "--mode", "cross",
                    "--max-utts", str(max_utts), "--seed", "0"])
        if code != 0:
            raise SystemExit(f"latentspeech make-eval-list failed on {data} (exit {code})")
    return meta


def score(cli, meta: Path, gen_dir: Path, threads: int) -> dict:
    """`latentspeech eval` of one folder of wavs into scores_<name> beside it (resumes); returns summary.json."""
    scores = gen_dir.parent / f"scores_{gen_dir.name}"
    if not (scores / "summary.json").exists():
        code = cli(["-q", "eval", "--meta", str(meta), "--gen-dir", str(gen_dir), "--out-dir", str(scores),
                    "--threads", str(threads)])
        if code != 0:
            raise SystemExit(f"latentspeech eval failed on {gen_dir} (exit {code})")
    return json.loads((scores / "summary.json").read_text())


def vae_fingerprint(vae) -> str:
    """sha256 (16 hex digits) of a VAE's weights as loaded: whether two work dirs' resynthesis is the same."""
    import hashlib

    import torch

    h = hashlib.sha256()
    for key, tensor in sorted(vae.state_dict().items()):
        h.update(key.encode())
        h.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def reuse_references(source: Path, work: Path, meta: Path, vae) -> list[str]:
    """Copy scored ground truth (and resynthesis, when made by the same VAE weights) from another work dir of the
    same utterances, so a new model's run does not rescore them. Returns what was copied."""
    import shutil

    from latentspeech.eval.meta import read_meta

    if not (source / "meta.lst").is_file():
        raise SystemExit(f"--references-from {source}: no meta.lst there (not a tts_quality work dir)")
    if read_meta(source / "meta.lst") != read_meta(meta):
        raise SystemExit(f"--references-from {source}: its meta.lst lists other utterances or prompts than {meta}")
    parts = ["ground_truth"]
    mark = source / "resynthesis" / VAE_MARK
    if mark.is_file() and mark.read_text().strip() == vae_fingerprint(vae):
        parts.append("resynthesis")
    copied = []
    for part in parts:
        for sub in (part, f"scores_{part}"):
            if (source / sub).is_dir() and not (work / sub).exists():
                shutil.copytree(source / sub, work / sub)
                copied.append(sub)
    return copied


VAE_MARK = ".vae_sha256"  # in resynthesis/: the fingerprint of the VAE that made it


def write_reference_audio(entries, data, vae, work: Path) -> None:
    """<work>/ground_truth/<utt>.wav (at the VAE's rate) and <work>/resynthesis/<utt>.wav (encode → decode)."""
    import torch

    from latentspeech.audio.io import load_audio, save_audio

    for sub in ("ground_truth", "resynthesis"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    if not any((work / "resynthesis").glob("*.wav")):  # made here, now: mark it with the VAE that makes it
        (work / "resynthesis" / VAE_MARK).write_text(vae_fingerprint(vae) + "\n")
    for entry in entries:
        if (work / "resynthesis" / f"{entry.utt}.wav").exists():
            continue
        wav, sr = load_audio(data.wav_path(entry.utt), sample_rate=vae.sample_rate)
        with torch.inference_mode():
            resynth = vae.decode(vae.encode(torch.from_numpy(wav)[None, None]))[0, 0, : len(wav)]
        save_audio(work / "ground_truth" / f"{entry.utt}.wav", wav, sr)
        save_audio(work / "resynthesis" / f"{entry.utt}.wav", resynth.numpy(), sr)


def metric_cell(summary: dict, key: str) -> str:
    """'mean [ci_low, ci_high]' of a metric in an eval summary.json (WER/CER in %, SIM as cosine)."""
    for section in summary.get("sections", {}).values():
        m = section.get("metrics", {}).get(key)
        if m:
            scale, fmt = (1.0, ".3f") if key.startswith("sim") else (100.0, ".1f")
            return f"{scale * m['mean']:{fmt}} [{scale * m['ci_low']:{fmt}}, {scale * m['ci_high']:{fmt}}]"
    return "–"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--vae", required=True, help="VAE model name under pretrained/ or model dir")
    p.add_argument("--data", required=True, help="kaldi data dir of held-out speakers")
    p.add_argument("--max-utts", type=int, default=105)
    p.add_argument("--work-dir", required=True, help="meta list, wavs and scores go here")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--report", help="also write the Markdown table here")
    args = p.parse_args(argv)

    import torch

    from latentspeech.cli import main as cli
    from latentspeech.data.kaldi import DataDir
    from latentspeech.eval.meta import read_meta
    from latentspeech.vae.model import SigmaVAE

    torch.set_num_threads(args.threads)
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    meta = make_meta(cli, args.data, work, args.max_utts)
    vae = SigmaVAE.from_pretrained(args.vae)
    write_reference_audio(read_meta(meta), DataDir.load(args.data), vae, work)

    rows = [(sub, score(cli, meta, work / sub, args.threads)) for sub in ("ground_truth", "resynthesis")]

    lines = [f"VAE intelligibility: `{args.vae}` on `{args.data}` ({args.max_utts} utterances, Whisper tiny.en, "
             "resemblyzer; 95% bootstrap CI)", "", "| audio | WER % | CER % | SIM-o |", "|---|---|---|---|"]
    for sub, summary in rows:
        lines.append(f"| {sub.replace('_', ' ')} | {metric_cell(summary, 'wer')} | {metric_cell(summary, 'cer')} | "
                     f"{metric_cell(summary, 'sim_o')} |")
    text = "\n".join(lines)
    print(text)
    if args.report:
        Path(args.report).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
