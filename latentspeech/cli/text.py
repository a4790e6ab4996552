"""Sub-commands for the text stage: `latentspeech phonemize` (one sentence, or a data dir's `text` → phoneme dump)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

_CHUNK = 2000  # texts per phonemizer call and process in --data mode (progress granularity)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's sub-commands to `sub`."""
    p = sub.add_parser(
        "phonemize", help="text → IPA phonemes (espeak-ng): one --text, or DATA_DIR/text → OUT_DIR/{text,vocab.yaml}",
        description="Normalise and phonemize English text. With --data, writes OUT_DIR/text (kaldi-style "
                    "'utt phoneme-string', sorted) and OUT_DIR/vocab.yaml (the phoneme table models are trained with).")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="a sentence to phonemize; phonemes go to stdout")
    src.add_argument("--data", metavar="DATA_DIR", help="kaldi data dir with a 'text' file (utt text)")
    p.add_argument("--out", metavar="OUT_DIR", help="output dir for --data (e.g. dump/phn/train); overwritten")
    p.add_argument("--language", default="en-us", help="espeak-ng language (default: en-us)")
    p.add_argument("--njobs", type=int, default=1, help="phonemizer processes (default: 1)")
    p.add_argument("--vocab", metavar="YAML", help="phoneme table to check against and write (default: built-in)")
    p.add_argument("--ids", action="store_true", help="with --text: also print the phoneme ids")
    p.set_defaults(func=cmd_phonemize, _parser=p)


def cmd_phonemize(args: argparse.Namespace) -> int:
    from latentspeech.text import Phonemizer, PhonemeVocab, text_to_ids

    if args.data and not args.out:
        args._parser.error("--data needs --out OUT_DIR")
    if args.njobs < 1:
        args._parser.error("--njobs must be >= 1")
    vocab = PhonemeVocab.load(args.vocab) if args.vocab else PhonemeVocab.default()
    phonemizer = Phonemizer(language=args.language, njobs=args.njobs)
    if args.text is not None:
        ids = text_to_ids(args.text, vocab, phonemizer)
        print(phonemizer([args.text])[0])
        if args.ids:
            print(" ".join(map(str, ids)))
        return 0
    return _phonemize_data_dir(Path(args.data), Path(args.out), phonemizer, vocab, args.quiet)


def _phonemize_data_dir(data_dir: Path, out_dir: Path, phonemizer, vocab, quiet: bool) -> int:
    """DATA_DIR/text → OUT_DIR/text + OUT_DIR/vocab.yaml; utterances with nothing to say are skipped (one warning)."""
    from tqdm import tqdm

    from latentspeech.text.phonemize import PUNCTUATION
    from latentspeech.text.vocab import end_sentence

    texts = _read_text(data_dir)
    utts = list(texts)
    start, phonemes = time.perf_counter(), {}
    with tqdm(total=len(utts), desc="phonemize", unit="utt", disable=quiet or not sys.stderr.isatty()) as bar:
        step = _CHUNK * phonemizer.njobs
        for i in range(0, len(utts), step):
            chunk = utts[i:i + step]
            phonemes.update(zip(chunk, phonemizer([texts[u] for u in chunk])))
            bar.update(len(chunk))
    seconds = time.perf_counter() - start
    skipped = [u for u, p in phonemes.items() if not p.strip(PUNCTUATION + " ")]
    if skipped:
        log.warning("%d utterance(s) have nothing to speak and are left out of %s/text (first: %s)",
                    len(skipped), out_dir, ", ".join(skipped[:3]))
    skipped_set = set(skipped)
    kept = {u: "".join(end_sentence(list(p))) for u, p in phonemes.items() if u not in skipped_set}
    ended = sum(kept[u] != phonemes[u] for u in kept)
    if ended:  # as at inference (DecodeConfig.end_sentences): the LM learns sentences that end with a mark
        log.info("%d transcript(s) without a final . ! ? end with '.' in %s/text", ended, out_dir)
    n_unk = sum(vocab.encode(p).count(vocab.unk_id) for p in kept.values())  # warns once per unknown symbol
    if n_unk:
        log.warning("%d phoneme(s) are not in vocab '%s' and will be <unk> in training", n_unk, vocab.version)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_text(out_dir / "text", kept)
    vocab.save(out_dir / "vocab.yaml")
    log.info("wrote %s/text (%d utterances, %d skipped) and vocab.yaml (%s, %d symbols); %.0f sentences/s",
             out_dir, len(kept), len(skipped), vocab.version, len(vocab), len(utts) / max(seconds, 1e-9))
    return 0


def _read_text(data_dir: Path) -> dict[str, str]:
    """DATA_DIR/text as utt → text (file order)."""
    from latentspeech.errors import DataDirError

    path = data_dir / "text"
    if not path.is_file():
        raise DataDirError(f"'{path}' does not exist; DATA_DIR must be a kaldi data dir (run data prep first)")
    try:
        from latentspeech.data.kaldi import read_kaldi_file
    except ImportError:  # data/kaldi.py is being written in parallel; the format is one line per utterance
        read_kaldi_file = None
    if read_kaldi_file is not None:
        return read_kaldi_file(path)
    texts: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        utt, _, text = line.strip().partition(" ")
        if utt in texts:
            raise DataDirError(f"{path}:{n}: utterance id '{utt}' appears twice; remove the duplicate line")
        texts[utt] = text.strip()
    return texts


def _write_text(path: Path, mapping: dict[str, str]) -> None:
    """Kaldi-style 'utt value' lines sorted by utt, written atomically."""
    from latentspeech.data.kaldi import write_kaldi_file

    write_kaldi_file(path, mapping)
