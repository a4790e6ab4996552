"""Text → IPA phoneme strings through phonemizer's espeak-ng backend, with stress marks and punctuation kept.

The espeak-ng library comes from the `espeakng-loader` wheel when installed (so `pip install` alone is
enough), else from the system (`apt-get install espeak-ng`, or PHONEMIZER_ESPEAK_LIBRARY). Both share one
soname, so a process uses one of them only. Output format, e.g. for "Hello world, this is
a test.": `həlˈoʊ wˈɜːld, ðɪs ɪz ɐ tˈɛst.` — words separated by one space, punctuation attached as written.

Punctuation is handled here rather than by phonemizer's `preserve_punctuation` (which misaligns lines
when a batch holds empty or punctuation-only texts): each text is split at punctuation runs, the word runs
of the whole batch go to espeak-ng in one call (one line each), and the pieces are joined back.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ProcessPoolExecutor

from latentspeech.errors import LatentSpeechError
from latentspeech.text.normalize import normalize_text

__all__ = ["Phonemizer", "PUNCTUATION", "espeak_library"]

log = logging.getLogger(__name__)

PUNCTUATION = ';:,.!?¡¿—…"«»“”()'  # kept in phoneme strings; normalize_text emits only ;:,.!?"
_PUNCT_RUN = re.compile(r"(\s*[" + re.escape(PUNCTUATION) + r"][\s" + re.escape(PUNCTUATION) + r"]*)")


def espeak_library() -> tuple[str | None, str | None]:
    """(library path, data path) of the bundled espeak-ng from `espeakng-loader`; (None, None) if absent."""
    try:
        import espeakng_loader
    except ImportError:
        return None, None
    return espeakng_loader.get_library_path(), espeakng_loader.get_data_path()


def _make_backend(language: str, library: str | None, data_path: str | None, logger: logging.Logger):
    """(EspeakBackend on `library` (None → system espeak-ng), its version "1.52.0").

    phonemizer keeps the library path on a class; it is set only while the backend is built, then restored.
    """
    from phonemizer.backend import EspeakBackend
    from phonemizer.backend.espeak.wrapper import EspeakWrapper

    saved = EspeakWrapper._ESPEAK_LIBRARY, EspeakWrapper._ESPEAK_DATA_PATH
    try:
        if library is not None:
            EspeakWrapper.set_library(library)
            EspeakWrapper.set_data_path(data_path)
        backend = EspeakBackend(language, preserve_punctuation=False, with_stress=True,
                                language_switch="remove-flags", words_mismatch="ignore", logger=logger)
        return backend, ".".join(map(str, backend.version()))  # version() reads the class-level path
    except RuntimeError as e:
        hint = "pip install espeakng-loader (or apt-get install espeak-ng)"
        raise LatentSpeechError(f"espeak-ng is not usable for language '{language}' ({e}); {hint}") from e
    finally:
        EspeakWrapper._ESPEAK_LIBRARY, EspeakWrapper._ESPEAK_DATA_PATH = saved


def _quiet_logger() -> logging.Logger:
    """phonemizer logs a per-batch 'words count mismatch' warning that is expected here; keep only its errors."""
    logger = logging.Logger(f"{__name__}.espeak", level=logging.ERROR)
    logger.parent = log
    return logger


def _espeak_lines(backend, lines: list[str]) -> list[str]:
    """Punctuation-free lines → phoneme strings, one espeak-ng call per line."""
    from phonemizer.separator import Separator

    return backend.phonemize(lines, separator=Separator(phone="", word=" ", syllable=""), strip=True)


def _phonemize_texts(backend, texts: list[str], normalize: bool) -> list[str]:
    """Split each text at punctuation runs, phonemize all distinct word runs in one batch, join back."""
    pieces = [_PUNCT_RUN.split(normalize_text(t) if normalize else t) for t in texts]
    words = list(dict.fromkeys(" ".join(p.split()) for ps in pieces for p in ps[::2] if p.strip()))
    phonemes = dict(zip(words, _espeak_lines(backend, words))) if words else {}
    out = []
    for ps in pieces:  # even items are word runs, odd items punctuation runs (re.split with a group)
        joined = "".join(phonemes.get(" ".join(p.split()), "") if i % 2 == 0 else re.sub(r"\s+", " ", p)
                         for i, p in enumerate(ps))
        out.append(re.sub(r" +", " ", joined).strip())
    return out


def _worker(language: str, library: str | None, data_path: str | None, normalize: bool,
            texts: list[str]) -> list[str]:
    """One process of an njobs > 1 batch: its own espeak-ng backend."""
    backend, _ = _make_backend(language, library, data_path, _quiet_logger())
    return _phonemize_texts(backend, texts, normalize)


class Phonemizer:
    """Batch text → IPA phonemes (espeak-ng), cached per instance.

    `normalize` applies `normalize_text` first (numbers, abbreviations). `njobs` > 1 phonemizes big batches
    in that many processes. `cache_size` bounds the number of cached texts (oldest dropped first).
    """

    def __init__(self, language: str = "en-us", normalize: bool = True, njobs: int = 1,
                 cache_size: int = 200_000):
        self.language = language
        self.normalize = normalize
        self.njobs = max(1, int(njobs))
        self.cache_size = cache_size
        self._library, self._data_path = espeak_library()
        self._backend, self.espeak_version = _make_backend(language, self._library, self._data_path,
                                                           _quiet_logger())
        self._cache: dict[str, str] = {}
        log.debug("phonemizer: espeak-ng %s from %s", self.espeak_version, self._library or "the system")

    def __getstate__(self) -> dict:
        """Picklable (DataLoader workers, spawn): the ctypes backend is rebuilt on the other side."""
        return {k: v for k, v in self.__dict__.items() if k != "_backend"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._backend, _ = _make_backend(self.language, self._library, self._data_path, _quiet_logger())

    @property
    def library(self) -> str:
        """"espeakng-loader" (bundled library) or "system"."""
        return "espeakng-loader" if self._library else "system"

    def __call__(self, texts: list[str]) -> list[str]:
        """Phoneme strings, one per text ("" for a text with nothing to say)."""
        if isinstance(texts, str):
            raise TypeError("Phonemizer takes a list of strings; wrap a single text as [text]")
        known = {t: self._cache[t] for t in texts if t in self._cache}  # before remembering evicts any
        todo = list(dict.fromkeys(t for t in texts if t not in known))
        known.update(zip(todo, self._phonemize(todo)) if todo else ())
        for text in todo:
            self._remember(text, known[text])
        return [known[t] for t in texts]

    def _remember(self, text: str, phonemes: str) -> None:
        if self.cache_size <= 0:  # caching off
            return
        if len(self._cache) >= self.cache_size:
            self._cache.pop(next(iter(self._cache)))
        self._cache[text] = phonemes

    def _phonemize(self, texts: list[str]) -> list[str]:
        """Uncached path; with njobs > 1 big batches are split over that many processes (normalisation too)."""
        if self.njobs == 1 or len(texts) < 500 * self.njobs:
            return _phonemize_texts(self._backend, texts, self.normalize)
        size = -(-len(texts) // self.njobs)
        chunks = [texts[i:i + size] for i in range(0, len(texts), size)]
        n = len(chunks)
        with ProcessPoolExecutor(max_workers=n) as pool:
            results = pool.map(_worker, [self.language] * n, [self._library] * n, [self._data_path] * n,
                               [self.normalize] * n, chunks)
            return [line for chunk in results for line in chunk]
