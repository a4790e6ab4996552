"""A σ-VAE decoder's weights on their own: out of a train-vae checkpoint, and into a VAE or TTS model dir.

Decoder-only training (`train.freeze_encoder`) leaves the encoder, its latent statistics and so every latent dump
and LM bit-identical; only the decoder's 6M parameters change, so only they need to leave a GPU machine
(fp16: ~12 MB, under the device tool's 16 MiB file limit).

    python tools/device/vae_decoder.py extract EXP_DIR OUT.safetensors [--step N]   # newest checkpoint, or step N
    python tools/device/vae_decoder.py swap MODEL_DIR DECODER.safetensors OUT_DIR  # VAE or TTS model dir
`swap` refuses a decoder of another shape (strict load), keeps MODEL_DIR's storage dtype and its prompts/, and writes
no model card (the source's would describe the old decoder).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import torch


def extract(exp_dir: str, out: str, step: int | None = None) -> int:
    """Write the decoder weights (fp16) of a train-vae checkpoint; → its step."""
    from safetensors.torch import save_file

    from latentspeech.checkpoint import load_checkpoint
    from latentspeech.training import Checkpointer

    ckpt = Checkpointer(exp_dir)
    state = ckpt.load_latest() if step is None else load_checkpoint(ckpt.path_for(step))
    if state is None:
        raise SystemExit(f"error: {exp_dir} has no checkpoints/step_*.pt")
    dec = {k[len("decoder."):]: v.half().contiguous() if v.is_floating_point() else v.contiguous()
           for k, v in state["model"].items() if k.startswith("decoder.")}
    save_file(dec, out, metadata={"step": str(state["step"]), "source": str(exp_dir)})
    return int(state["step"])


def swap(model_dir: str, decoder: str, out_dir: str) -> Path:
    """Copy MODEL_DIR (kind vae or tts) to OUT_DIR with the VAE decoder's weights replaced."""
    from safetensors.torch import load_file

    from latentspeech.checkpoint import read_model_kind, stored_dtype
    from latentspeech.pretrained import resolve_model

    src = Path(resolve_model(model_dir))
    kind = read_model_kind(src)
    weights = load_file(decoder)
    if kind == "vae":
        from latentspeech.vae.model import SigmaVAE

        model = SigmaVAE.from_pretrained(str(src))
        _load_decoder(model.decoder, weights, decoder, src)
        stored = stored_dtype(src)
        model.save_pretrained(out_dir, dtype=getattr(torch, stored) if stored else None)
    elif kind == "tts":
        from latentspeech.api import TTS

        tts = TTS.from_pretrained(str(src))
        _load_decoder(tts.vae.decoder, weights, decoder, src)
        tts.save_pretrained(out_dir, dtype=stored_dtype(src))
        if (src / "prompts").is_dir():
            shutil.copytree(src / "prompts", Path(out_dir) / "prompts", dirs_exist_ok=True)
    else:
        raise SystemExit(f"error: {src} is a '{kind}' model dir; swap takes a vae or tts model dir")
    return Path(out_dir)


def _load_decoder(module: torch.nn.Module, weights: dict, decoder: str, src: Path) -> None:
    from latentspeech.checkpoint import load_state_dict_strict
    from latentspeech.errors import CheckpointError

    try:
        load_state_dict_strict(module, weights, decoder)  # casts the fp16 weights to the module's dtype
    except CheckpointError as e:
        raise SystemExit(f"error: {e} (swap needs a decoder of {src}'s shape)") from None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("extract", help="train-vae checkpoint → decoder .safetensors (fp16)")
    e.add_argument("exp_dir")
    e.add_argument("out")
    e.add_argument("--step", type=int, default=None)
    s = sub.add_parser("swap", help="VAE or TTS model dir + decoder .safetensors → new model dir")
    s.add_argument("model_dir")
    s.add_argument("decoder")
    s.add_argument("out_dir")
    args = p.parse_args(argv)
    if args.cmd == "extract":
        step = extract(args.exp_dir, args.out, args.step)
        print(f"{args.out}: decoder of step {step}")
    else:
        print(f"wrote {swap(args.model_dir, args.decoder, args.out_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
