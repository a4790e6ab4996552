"""Character-level phoneme vocabulary: every IPA letter, diacritic, stress mark, punctuation mark and the word
space is one token. Id 0 is `<pad>`, id 1 is `<unk>`. The table travels with each model (`to_dict`), and
`PhonemeVocab.default()` is the fixed, versioned table covering espeak-ng en-us output
(`symbols_en_us_v1.txt`, how it was derived is written in its header).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from latentspeech.errors import InputError

__all__ = ["PhonemeVocab", "text_to_ids", "end_sentence", "PAD", "UNK", "DEFAULT_VERSION"]

log = logging.getLogger(__name__)

PAD, UNK = "<pad>", "<unk>"
DEFAULT_VERSION = "en-us-espeak-1"
_DEFAULT_FILE = "symbols_en_us_v1.txt"
_SENTENCE_ENDS = ".!?…"
_CLAUSE_ENDS = ",;:—"
_CLOSERS = ' "»”)'


def end_sentence(symbols: list[str]) -> list[str]:
    """Phoneme symbols that end a sentence: unchanged when they end with . ! ? or … (closing quotes and spaces
    after it allowed); a final , ; : or — becomes '.', and otherwise '.' is appended (before closing quotes).
    The LMs learn from sentences that end so; inference (`DecodeConfig.end_sentences`) and the phoneme dumps
    both apply it."""
    k = len(symbols)
    while k and symbols[k - 1] in _CLOSERS:
        k -= 1
    if not k or symbols[k - 1] in _SENTENCE_ENDS:
        return list(symbols)
    head = symbols[: k - 1] if symbols[k - 1] in _CLAUSE_ENDS else symbols[:k]
    return [*head, ".", *symbols[k:]]


def _parse_symbol_file(text: str) -> list[str]:
    """Lines of `<pad>`, `<unk>` or `U+XXXX  NAME` (comments start with #) → symbols in id order."""
    symbols = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        first = line.split()[0]
        symbols.append(chr(int(first[2:], 16)) if first.startswith("U+") else first)
    return symbols


@dataclass
class PhonemeVocab:
    """Symbol table: `symbols[i]` is the symbol with id i; `version` names the table."""

    symbols: list[str]
    version: str = "custom"
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    _warned: set[str] = field(init=False, repr=False, compare=False, default_factory=set)

    def __post_init__(self) -> None:
        if self.symbols[:2] != [PAD, UNK]:
            raise InputError(f"phoneme vocab '{self.version}' must start with {PAD}, {UNK}; got {self.symbols[:2]}")
        if len(set(self.symbols)) != len(self.symbols):
            raise InputError(f"phoneme vocab '{self.version}' lists a symbol twice; fix its symbol list")
        bad = [s for s in self.symbols[2:] if len(s) != 1]
        if bad:
            raise InputError(f"phoneme vocab '{self.version}': symbols must be single characters, got {bad[:3]}")
        self._index = {s: i for i, s in enumerate(self.symbols)}

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def unk_id(self) -> int:
        return 1

    def __len__(self) -> int:
        return len(self.symbols)

    def __contains__(self, symbol: str) -> bool:
        return symbol in self._index

    def encode(self, phonemes: str) -> list[int]:
        """Phoneme string → ids, one per character; unknown characters → `<unk>` with one warning each."""
        ids = []
        for ch in phonemes:
            i = self._index.get(ch)
            if i is None:
                if ch not in self._warned:
                    self._warned.add(ch)
                    log.warning("phoneme %r (U+%04X) is not in vocab '%s'; encoded as %s",
                                ch, ord(ch), self.version, UNK)
                i = self.unk_id
            ids.append(i)
        return ids

    def end_sentence(self, ids: list[int]) -> list[int]:
        """`ids` with the sentence end of `end_sentence` (unchanged for a table without '.')."""
        if "." not in self._index:
            return list(ids)
        return [self._index[s] for s in end_sentence([self.symbols[i] for i in ids])]

    def decode(self, ids: list[int]) -> str:
        """Ids → phoneme string; `<pad>` is skipped, `<unk>` kept as the text "<unk>"."""
        return "".join(self.symbols[i] for i in ids if i != self.pad_id)

    def to_dict(self) -> dict:
        """{"version", "symbols"}: plain data for config.yaml / vocab.yaml / checkpoints."""
        return {"version": self.version, "symbols": list(self.symbols)}

    @classmethod
    def from_dict(cls, d: dict) -> "PhonemeVocab":
        """Inverse of `to_dict`."""
        if not isinstance(d, dict) or not isinstance(d.get("symbols"), list):
            raise InputError("phoneme vocab must be a mapping with a 'symbols' list (as written by to_dict)")
        return cls(symbols=[str(s) for s in d["symbols"]], version=str(d.get("version", "custom")))

    @classmethod
    def default(cls) -> "PhonemeVocab":
        """The built-in en-us table (version `en-us-espeak-1`, 72 symbols)."""
        text = resources.files("latentspeech.text").joinpath(_DEFAULT_FILE).read_text(encoding="utf-8")
        return cls(symbols=_parse_symbol_file(text), version=DEFAULT_VERSION)

    def save(self, path: str | os.PathLike) -> Path:
        """Write `to_dict()` as YAML (e.g. dump/phn/<set>/vocab.yaml)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PhonemeVocab":
        """Read a vocab.yaml written by `save`."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"phoneme vocab '{path}' does not exist; run `latentspeech phonemize` to write it")
        try:
            d = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as e:
            raise InputError(f"phoneme vocab '{path}' is not valid YAML ({type(e).__name__}); rewrite it") from e
        return cls.from_dict(d)


def text_to_ids(text: str, vocab: PhonemeVocab, phonemizer) -> list[int]:
    """Text → phoneme ids through `phonemizer` (a `Phonemizer`) and `vocab`.

    InputError when the text is empty or has nothing to speak (e.g. only punctuation).
    """
    from latentspeech.text.phonemize import PUNCTUATION

    if not text or not text.strip():
        raise InputError("text is empty; give a sentence to speak")
    phonemes = phonemizer([text])[0]
    if not phonemes.strip(PUNCTUATION + " "):
        shown = " ".join(text.split())
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise InputError(f"text '{shown}' has nothing to speak (only punctuation or symbols); give words")
    return vocab.encode(phonemes)
