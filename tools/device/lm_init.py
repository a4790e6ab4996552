"""A "tts" model dir → OUT_DIR with only what `train-lm --init-from` reads: config.yaml and the LM's weights
(`lm.*`, fp16). The shipped default (40 MB) beside a dump would pass the device tool's 64 MiB; its LM alone is
21 MB. Here, before a device call that fine-tunes the default:

    python tools/device/lm_init.py default .device/init_default
    # device run, carry [".device"]: ... train_lm.sh MINUTES --init-from .device/init_default ...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", help="a tts model dir, or a name under pretrained/ (e.g. default)")
    p.add_argument("out_dir")
    args = p.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    import torch

    from latentspeech.api import TTSModelConfig
    from latentspeech.checkpoint import WEIGHTS_NAME, CheckpointError, load_model_dir, save_model_dir
    from latentspeech.pretrained import resolve_model

    try:
        model_dir = resolve_model(args.model)
        config, state, doc = load_model_dir(model_dir, TTSModelConfig, "tts")
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    lm = {k: v for k, v in state.items() if k.startswith("lm.")}
    # the config document as it was (vocab, decode defaults...), less the whole model's checksum
    extra = {k: v for k, v in doc.items() if k not in ("kind", "format_version", "model", "weights_sha256")}
    out = save_model_dir(args.out_dir, "tts", config, lm, extra=extra, dtype=torch.float16)
    size = (out / WEIGHTS_NAME).stat().st_size / 2**20
    print(f"{model_dir} → {out}: {len(lm)} LM tensors, {sum(v.numel() for v in lm.values()) / 1e6:.2f}M parameters, "
          f"{size:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
