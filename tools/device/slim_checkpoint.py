"""Newest train-lm checkpoint of EXP_DIR → OUT/lm_step_N.pt.partKK: LM weights only (EMA when present), fp16,
plus config and step — what `export-tts` and `train-lm --init-from` need, small enough to leave a GPU machine.

    python tools/device/slim_checkpoint.py EXP_DIR OUT_DIR [--piece-mb 15] [--all]
--all: every checkpoint the exp dir holds (the newest few, and the milestones of `train.keep_every`), ~2 pieces
each for a 10M LM: mind the device tool's 8 returned files. Join the pieces with
`cat lm_step_N.pt.part* > step_N.pt` (tools/device/unpack.sh FILES_AT EXP_DIR [STEP] does it).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import torch


def slim(state: dict) -> dict:
    """{'model': fp16 weights (EMA parameters over raw ones), 'ema_merged', 'config', 'step', 'epoch'}."""
    weights = {**state["model"], **state.get("ema", {})}
    model = {k: (v.half() if v.is_floating_point() else v) for k, v in weights.items()}
    return {"model": model, "ema_merged": "ema" in state, "config": state.get("config"), "step": state["step"],
            "epoch": state.get("epoch", 0)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("exp_dir")
    p.add_argument("out_dir")
    p.add_argument("--piece-mb", type=float, default=15.0)
    p.add_argument("--all", action="store_true", help="every checkpoint in the exp dir, not only the newest")
    args = p.parse_args(argv)
    ckpts = sorted((Path(args.exp_dir) / "checkpoints").glob("step_*.pt"))
    if not ckpts:
        print(f"error: no checkpoints in {args.exp_dir}/checkpoints", file=sys.stderr)
        return 1
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for ckpt in ckpts if args.all else ckpts[-1:]:
        write_pieces(ckpt, out, int(args.piece_mb * 2**20))
    return 0


def write_pieces(ckpt: Path, out: Path, piece: int) -> None:
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    buf = io.BytesIO()
    torch.save(slim(state), buf)
    data = buf.getvalue()
    for k in range(0, len(data), piece):
        (out / f"lm_step_{state['step']}.pt.part{k // piece:02d}").write_bytes(data[k:k + piece])
    print(f"{ckpt.name} → {out}/lm_step_{state['step']}.pt.part* ({len(data) / 2**20:.1f} MiB)")


if __name__ == "__main__":
    raise SystemExit(main())
