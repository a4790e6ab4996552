#!/usr/bin/env python3
"""Stage 7: copy an eval meta list into a decode dir and split it for parallel synthesis.

    utils/split_meta.py META DECODE_DIR NJ

Writes DECODE_DIR/meta.lst (a copy) and DECODE_DIR/split/meta.{1..k}.lst,
k = min(NJ, entries), through latentspeech.eval.meta, so wav paths are rewritten relative to the new lists.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("meta", type=Path)
    p.add_argument("decode_dir", type=Path)
    p.add_argument("nj", type=int)
    args = p.parse_args(argv)
    from latentspeech.errors import InputError
    from latentspeech.eval.meta import read_meta, write_meta

    try:
        entries = read_meta(args.meta)
    except InputError as e:
        print(f"split_meta: error: {e}", file=sys.stderr)
        return 1
    write_meta(args.decode_dir / "meta.lst", entries)
    split = args.decode_dir / "split"
    shutil.rmtree(split, ignore_errors=True)
    k = max(1, min(args.nj, len(entries)))
    for i in range(k):
        write_meta(split / f"meta.{i + 1}.lst", entries[i::k])
    return 0


if __name__ == "__main__":
    sys.exit(main())
