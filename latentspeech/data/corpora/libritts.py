"""LibriTTS (and LibriTTS-R) → kaldi data dirs with the official splits (lhotse-style preparer).

Real layout (openslr 60 / 141), 24 kHz 16-bit wav:

    LibriTTS/<subset>/<spk>/<chapter>/<spk>_<chapter>_<para>_<sent>.wav
                                      <spk>_<chapter>_<para>_<sent>.normalized.txt   (one line)
                                      <spk>_<chapter>_<para>_<sent>.original.txt
                                      <spk>_<chapter>.trans.tsv   (utt \\t original \\t normalized)
                                      <spk>_<chapter>.book.tsv

Default splits: train-clean-100 + train-clean-360 → train, dev-clean → dev, test-clean → test. The
subsets' speakers are disjoint by construction; any overlap between test/dev and train (custom subsets)
is removed from test/dev so evaluation stays zero-shot. Utterance ids are LibriTTS's own
(`1089_134686_000001_000001`), the speaker is the id's first field.

    prepare_libritts("/data/LibriTTS", "data")   # → data/{train,dev,test}/{wav.scp,text,utt2spk,spk2utt}
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from latentspeech.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["prepare_libritts", "DEFAULT_SETS", "find_root", "as_names", "clean_text", "write_data_dirs"]

DEFAULT_SETS: dict[str, tuple[str, ...]] = {
    "train": ("train-clean-100", "train-clean-360"),
    "dev": ("dev-clean",),
    "test": ("test-clean",),
}
Names = str | tuple[str, ...] | list[str]  # "a b" / "a,b" strings (CLI, shell) or sequences
_ALL_SUBSETS = ("dev-clean", "dev-other", "test-clean", "test-other", "train-clean-100", "train-clean-360",
                "train-other-500")


def find_root(corpus_dir: str | os.PathLike, names: tuple[str, ...], marker) -> Path:
    """`corpus_dir` itself or its child named one of `names`, whichever satisfies `marker(path)`."""
    base = Path(corpus_dir)
    if not base.is_dir():
        raise InputError(f"corpus dir '{corpus_dir}' does not exist; download the corpus or fix the path")
    for cand in (base, *(base / n for n in names)):
        if cand.is_dir() and marker(cand):
            return cand
    raise InputError(f"'{corpus_dir}' does not look like {names[0]} (nor holds a {'/'.join(names)} dir); "
                     "point it at the extracted corpus")


def as_names(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """'a b' / 'a,b' / ['a', 'b'] → ('a', 'b') (options arrive as strings from the shell)."""
    if isinstance(value, str):
        return tuple(v for v in re.split(r"[\s,]+", value) if v)
    return tuple(value)


def clean_text(text: str) -> str:
    """One line, single spaces."""
    return re.sub(r"\s+", " ", text).strip()


def _chapter_texts(chapter_dir: Path, text_kind: str) -> dict[str, str]:
    """utt → text from the chapter's trans.tsv (column 2 original, 3 normalized)."""
    out: dict[str, str] = {}
    col = 2 if text_kind == "normalized" else 1
    for tsv in chapter_dir.glob("*.trans.tsv"):
        for line in tsv.read_text(encoding="utf-8").splitlines():
            fields = line.split("\t")
            if len(fields) > col and fields[col].strip():
                out[fields[0]] = clean_text(fields[col])
    return out


def _scan_subset(subset_dir: Path, text_kind: str) -> tuple[dict[str, str], dict[str, str], int]:
    """One subset → (utt → wav path, utt → text, number of wavs without text)."""
    wavs: dict[str, str] = {}
    texts: dict[str, str] = {}
    missing = 0
    for spk_dir in sorted(p for p in subset_dir.iterdir() if p.is_dir()):
        for chapter_dir in sorted(p for p in spk_dir.iterdir() if p.is_dir()):
            tsv_texts = _chapter_texts(chapter_dir, text_kind)
            for wav in sorted(chapter_dir.glob("*.wav")):
                utt = wav.name[: -len(".wav")]
                text = tsv_texts.get(utt)
                if text is None:  # fall back to the per-utterance text file
                    txt = wav.with_name(f"{utt}.{text_kind}.txt")
                    text = clean_text(txt.read_text(encoding="utf-8")) if txt.is_file() else ""
                if not text:
                    missing += 1
                    continue
                wavs[utt] = str(wav.resolve())
                texts[utt] = text
    return wavs, texts, missing


def write_data_dirs(sets: dict[str, dict[str, tuple[str, str, str]]], data_dir: str | os.PathLike) -> dict[str, Path]:
    """{set: {utt: (wav_path, text, speaker)}} → `<data_dir>/<set>/` kaldi dirs, each validated in
    `<set>.tmp` before it replaces an older one (a failed run leaves no half-written dir).
    Shared by the real-corpus preparers (libritts, ljspeech, vctk)."""
    import shutil

    from latentspeech.data.kaldi import DataDir, check_data_dir

    out: dict[str, Path] = {}
    for name, utts in sets.items():
        if not utts:
            raise InputError(f"set '{name}' would be empty; check the corpus dir and the split options")
        tmp = Path(data_dir) / f"{name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        data = DataDir(wav_scp={u: w for u, (w, _, _) in utts.items()}, text={u: t for u, (_, t, _) in utts.items()},
                       utt2spk={u: s for u, (_, _, s) in utts.items()})
        data.save(tmp)
        check_data_dir(tmp)
        if (Path(data_dir) / name).exists():
            shutil.rmtree(Path(data_dir) / name)
        os.replace(tmp, Path(data_dir) / name)
        log.info("wrote %s: %d utterances, %d speakers", Path(data_dir) / name, len(utts), len(data.speakers))
        out[name] = Path(data_dir) / name
    return out


def prepare_libritts(corpus_dir: str | os.PathLike, data_dir: str | os.PathLike,
                     train_subsets: Names = DEFAULT_SETS["train"], dev_subsets: Names = DEFAULT_SETS["dev"],
                     test_subsets: Names = DEFAULT_SETS["test"], text_kind: str = "normalized") -> dict[str, Path]:
    """LibriTTS subsets → `<data_dir>/{train,dev,test}`; returns {set name: data dir}.

    `corpus_dir`: the extracted `LibriTTS` (or `LibriTTS_R`) dir, or its parent. `*_subsets`: LibriTTS
    subsets per set (an empty dev/test skips that set). `text_kind`: 'normalized' (numbers spelled out) or
    'original'. Wavs without text are skipped with one warning per subset. Idempotent: re-running rewrites
    the same dirs.
    """
    if text_kind not in ("normalized", "original"):
        raise InputError(f"text_kind must be 'normalized' or 'original', got '{text_kind}'")
    sets = {"train": as_names(train_subsets), "dev": as_names(dev_subsets), "test": as_names(test_subsets)}
    sets = {k: v for k, v in sets.items() if v or k == "train"}
    unknown = [s for v in sets.values() for s in v if s not in _ALL_SUBSETS]
    if unknown:
        raise InputError(f"unknown LibriTTS subset(s) {', '.join(unknown)}; valid: {', '.join(_ALL_SUBSETS)}")
    if not sets["train"]:
        raise InputError("train_subsets is empty; name at least one LibriTTS subset for training")
    root = find_root(corpus_dir, ("LibriTTS", "LibriTTS_R"),
                     lambda p: any((p / s).is_dir() for s in _ALL_SUBSETS))
    wanted = [s for subsets in sets.values() for s in subsets]
    missing = [s for s in wanted if not (root / s).is_dir()]
    if missing:
        have = [s for s in _ALL_SUBSETS if (root / s).is_dir()]
        raise InputError(f"{root} lacks subset(s) {', '.join(missing)} (found: {', '.join(have) or 'none'}); "
                         "download them or choose subsets with --train_subsets/--dev_subsets/--test_subsets")
    collected: dict[str, dict[str, tuple[str, str, str]]] = {}
    for name, subsets in sets.items():
        utts: dict[str, tuple[str, str, str]] = {}
        for subset in subsets:
            wavs, texts, n_missing = _scan_subset(root / subset, text_kind)
            if n_missing:
                log.warning("%s: skipped %d wavs without %s text", subset, n_missing, text_kind)
            for utt, wav in wavs.items():
                utts[utt] = (wav, texts[utt], utt.split("_", 1)[0])
        collected[name] = utts
    # Zero-shot evaluation: held-out sets must not share speakers with training.
    train_spk = {spk for _, _, spk in collected.get("train", {}).values()}
    for name in collected:
        if name == "train":
            continue
        overlap = {spk for _, _, spk in collected[name].values()} & train_spk
        if overlap:
            log.warning("%s: dropped %d speakers also in train (%s...) so evaluation stays zero-shot",
                        name, len(overlap), ", ".join(sorted(overlap)[:5]))
            collected[name] = {u: v for u, v in collected[name].items() if v[2] not in overlap}
    return write_data_dirs(collected, data_dir)
