"""Kaldi-style data directories: read, write, validate, subset and split by speaker.

A data dir holds `wav.scp` (utt or recording → audio file), `text` (utt → transcript), `utt2spk`,
`spk2utt` and optionally `utt2dur` (seconds), `segments` (utt → recording start end) and `spk2gender`.
Every file is "<id> <value>" per line, sorted by id in C-locale (byte) order, ids unique.
`validate_data_dir` reports every kind of inconsistency that Kaldi's utils/validate_data_dir.sh reports.
"""

from __future__ import annotations

import logging
import math
import os
import random
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from latentspeech.errors import DataDirError

log = logging.getLogger(__name__)

__all__ = [
    "DataDir", "read_kaldi_file", "write_kaldi_file", "validate_data_dir", "check_data_dir",
    "subset_data_dir", "split_by_speakers", "utt2spk_to_spk2utt", "resolve_path",
    "absolute_path",
]

REQUIRED_FILES = ("wav.scp", "text", "utt2spk", "spk2utt")
OPTIONAL_FILES = ("utt2dur", "segments", "spk2gender")
_MAX_EXAMPLES = 3


def resolve_path(value: str | os.PathLike, base: str | os.PathLike) -> Path:
    """The file a path listed in a data dir or dump (`wav.scp`, `latents.scp`) names: an absolute path as is; a
    relative one against the dir `base` if that file exists, else against the working dir if that one exists
    (Kaldi's own rule), else against `base` (so that an error names the place it was looked for first)."""
    p = Path(value)
    if p.is_absolute():
        return p
    in_base = Path(base) / p
    return p if not in_base.exists() and p.exists() else in_base


def absolute_path(value: str, base: str | os.PathLike) -> str:
    """`value` as an absolute path if it names an existing file relative to `base` (as `resolve_path`
    resolves), so that it still names that file when written into another dir; other values are kept."""
    p = resolve_path(value, base)
    return str(p.resolve()) if not Path(value).is_absolute() and p.exists() else value


def _read_lines(path: Path) -> list[tuple[int, str, str]]:
    """(line number, id, rest of line) for every non-blank line; DataDirError if not UTF-8."""
    try:
        raw = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataDirError(f"{path}: not UTF-8 text (byte {e.start}); re-encode it as UTF-8") from None
    out = []
    for n, line in enumerate(raw.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        parts = line.strip().split(maxsplit=1)
        out.append((n, parts[0], parts[1].strip() if len(parts) > 1 else ""))
    return out


def read_kaldi_file(path: str | os.PathLike) -> dict[str, str]:
    """id → rest of line (stripped), in file order. DataDirError for a missing file or duplicate id."""
    path = Path(path)
    if not path.is_file():
        raise DataDirError(f"{path} does not exist; create it or rerun data preparation")
    out: dict[str, str] = {}
    for n, key, value in _read_lines(path):
        if key in out:
            raise DataDirError(f"{path}:{n}: duplicate id '{key}'; ids must be unique")
        out[key] = value
    return out


def _format_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, (list, tuple)):
        return " ".join(_format_value(v) for v in value)
    return str(value)


def write_kaldi_file(path: str | os.PathLike, mapping: Mapping[str, object]) -> Path:
    """Write "id value" lines sorted by id (C-locale order), atomically. Lists are space-joined.

    The temp file is unique per call, so concurrent writers of the same file (the last two shards of a
    dump both writing its index) each rename a whole file into place instead of racing on one temp name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with open(fd, "w", encoding="utf-8", newline="\n") as f:
            for key in sorted(mapping, key=_c_key):
                if not key or any(c.isspace() for c in key):
                    raise DataDirError(f"{path}: id {key!r} is empty or contains whitespace")
                value = _format_value(mapping[key])
                f.write(f"{key} {value}\n" if value else f"{key}\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _c_key(s: str) -> bytes:
    """C-locale sort key (`LC_ALL=C sort`): raw UTF-8 bytes."""
    return s.encode("utf-8")


def utt2spk_to_spk2utt(utt2spk: Mapping[str, str]) -> dict[str, list[str]]:
    """speaker → sorted utterance ids."""
    out: dict[str, list[str]] = {}
    for utt in sorted(utt2spk, key=_c_key):
        out.setdefault(utt2spk[utt], []).append(utt)
    return dict(sorted(out.items(), key=lambda kv: _c_key(kv[0])))


@dataclass
class DataDir:
    """In-memory data dir. `spk2utt` is derived from `utt2spk` (one source of truth)."""

    wav_scp: dict[str, str]
    text: dict[str, str]
    utt2spk: dict[str, str]
    utt2dur: dict[str, float] | None = None
    segments: dict[str, tuple[str, float, float]] | None = None
    spk2gender: dict[str, str] | None = None
    path: Path | None = field(default=None, compare=False)

    @property
    def spk2utt(self) -> dict[str, list[str]]:
        return utt2spk_to_spk2utt(self.utt2spk)

    @property
    def utt_ids(self) -> list[str]:
        """Utterance ids in C-locale order."""
        return sorted(self.utt2spk, key=_c_key)

    @property
    def speakers(self) -> list[str]:
        return list(self.spk2utt)

    def wav_path(self, utt: str) -> str:
        """Audio file of `utt` (its recording's file when `segments` exists); a relative path resolves as
        `resolve_path` says when the data dir was loaded from disk."""
        rec = self.segments[utt][0] if self.segments else utt
        value = self.wav_scp[rec]
        return str(resolve_path(value, self.path)) if self.path is not None else value

    @classmethod
    def load(cls, path: str | os.PathLike) -> "DataDir":
        """Read a data dir (no validation: use `check_data_dir` first for a clear error)."""
        path = Path(path)
        if not path.is_dir():
            raise DataDirError(f"data dir '{path}' does not exist; run data preparation first")
        for name in ("wav.scp", "text", "utt2spk"):
            if not (path / name).is_file():
                raise DataDirError(f"{path}/{name} is missing; rerun data preparation")
        utt2dur = segments = spk2gender = None
        try:
            if (path / "utt2dur").is_file():
                utt2dur = {k: float(v) for k, v in read_kaldi_file(path / "utt2dur").items()}
            if (path / "segments").is_file():
                segments = {}
                for k, v in read_kaldi_file(path / "segments").items():
                    rec, start, end = v.split()
                    segments[k] = (rec, float(start), float(end))
        except ValueError:
            raise DataDirError(f"{path}: malformed utt2dur or segments; run `latentspeech validate-data {path}`") from None
        if (path / "spk2gender").is_file():
            spk2gender = read_kaldi_file(path / "spk2gender")
        return cls(wav_scp=read_kaldi_file(path / "wav.scp"), text=read_kaldi_file(path / "text"),
                   utt2spk=read_kaldi_file(path / "utt2spk"), utt2dur=utt2dur, segments=segments,
                   spk2gender=spk2gender, path=path)

    def save(self, path: str | os.PathLike) -> Path:
        """Write every file (sorted, atomic); optional files only when set. Stale optional files are removed."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        write_kaldi_file(path / "wav.scp", self.wav_scp)
        write_kaldi_file(path / "text", self.text)
        write_kaldi_file(path / "utt2spk", self.utt2spk)
        write_kaldi_file(path / "spk2utt", self.spk2utt)
        optional = {"utt2dur": self.utt2dur, "segments": self.segments, "spk2gender": self.spk2gender}
        for name, mapping in optional.items():
            if mapping is not None:
                write_kaldi_file(path / name, mapping)
            elif (path / name).exists():
                (path / name).unlink()
        self.path = path
        return path

    def subset(self, utt_ids: Iterable[str]) -> "DataDir":
        """A new DataDir with only `utt_ids` (recordings kept only when still referenced; relative audio paths
        made absolute, so that the subset can be written to another dir)."""
        keep = set(utt_ids)
        missing = keep - self.utt2spk.keys()
        if missing:
            raise DataDirError(f"{len(missing)} requested utterances are not in the data dir, e.g. "
                               f"'{sorted(missing)[0]}'")

        def pick(m: Mapping | None) -> dict | None:
            return None if m is None else {k: v for k, v in m.items() if k in keep}

        segments = pick(self.segments)
        if segments is not None:
            recs = {rec for rec, _, _ in segments.values()}
            wav_scp = {k: v for k, v in self.wav_scp.items() if k in recs}
        else:
            wav_scp = pick(self.wav_scp)
        if self.path is not None:
            wav_scp = {k: absolute_path(v, self.path) for k, v in wav_scp.items()}
        utt2spk = pick(self.utt2spk)
        spks = set(utt2spk.values())
        spk2gender = None if self.spk2gender is None else {k: v for k, v in self.spk2gender.items() if k in spks}
        return DataDir(wav_scp=wav_scp, text=pick(self.text), utt2spk=utt2spk, utt2dur=pick(self.utt2dur),
                       segments=segments, spk2gender=spk2gender)


# ----------------------------------------------------------------------------------------------------------
# Validation


def _examples(items: Sequence[str], quote: bool = True) -> str:
    shown = ", ".join(f"'{i}'" if quote else str(i) for i in items[:_MAX_EXAMPLES])
    return shown + (", ..." if len(items) > _MAX_EXAMPLES else "")


def _check_file_format(path: Path, problems: list[str], allow_empty_value: bool = False) -> dict[str, str]:
    """Sorted/unique/value checks of one file; returns id → value (first occurrence)."""
    name = path.name
    try:
        lines = _read_lines(path)
    except DataDirError as e:
        problems.append(str(e))
        return {}
    if b"\r" in path.read_bytes():
        problems.append(f"{name}: has Windows (CRLF) line endings; convert with dos2unix")
    if not lines:
        problems.append(f"{name}: is empty")
        return {}
    out: dict[str, str] = {}
    dups, unsorted, empty = [], [], []
    prev = None
    for n, key, value in lines:
        if key in out:
            dups.append(f"'{key}' (line {n})")
        else:
            out[key] = value
        if prev is not None and _c_key(key) < _c_key(prev):
            unsorted.append(f"'{key}' after '{prev}' (line {n})")
        prev = key
        if not value and not allow_empty_value:
            empty.append(key)
    if dups:
        problems.append(f"{name}: {len(dups)} duplicate ids: {_examples(dups, quote=False)}")
    if unsorted:
        problems.append(f"{name}: not sorted in C-locale order (LC_ALL=C sort): {_examples(unsorted, quote=False)}; "
                        f"sort it with `LC_ALL=C sort -k1,1 -u`")
    if empty:
        what = "empty transcript" if name == "text" else "no value"
        problems.append(f"{name}: {len(empty)} lines with {what}: {_examples(empty)}")
    return out


def _compare_ids(a_name: str, a: Iterable[str], b_name: str, b: Iterable[str], problems: list[str],
                 what: str = "utterances") -> None:
    a, b = set(a), set(b)
    only_a = sorted(a - b, key=_c_key)
    only_b = sorted(b - a, key=_c_key)
    if only_a:
        problems.append(f"{len(only_a)} {what} in {a_name} are missing from {b_name}: {_examples(only_a)}")
    if only_b:
        problems.append(f"{len(only_b)} {what} in {b_name} are missing from {a_name}: {_examples(only_b)}")


def _validate_utt2dur(utt2dur: Mapping[str, str], problems: list[str]) -> None:
    bad = []
    for utt, value in utt2dur.items():
        if not value:
            continue  # reported as a line with no value
        try:
            dur = float(value)
            ok = math.isfinite(dur) and dur > 0 and len(value.split()) == 1
        except ValueError:
            ok = False
        if not ok:
            bad.append(f"'{utt}' = '{value}'")
    if bad:
        problems.append(f"utt2dur: {len(bad)} durations are not positive finite seconds: {_examples(bad, quote=False)}; "
                        f"delete utt2dur to recompute it")


def _validate_segments(segments: Mapping[str, str], wav_scp: Mapping[str, str], base: Path, problems: list[str],
                       warnings: list[str]) -> None:
    import soundfile as sf

    bad, unknown, past_end, lengths = [], [], [], {}
    for utt, value in segments.items():
        parts = value.split()
        try:
            ok = len(parts) == 3 and 0 <= float(parts[1]) < float(parts[2])
        except ValueError:
            ok = False
        if not ok:
            bad.append(f"'{utt}' = '{value}'")
        elif parts[0] not in wav_scp:
            unknown.append(f"'{utt}' → '{parts[0]}'")
        else:
            if parts[0] not in lengths:
                try:
                    lengths[parts[0]] = sf.info(str(resolve_path(wav_scp[parts[0]], base))).duration
                except Exception:  # noqa: BLE001 — a missing or unreadable file is reported by the path check
                    lengths[parts[0]] = math.inf
            if float(parts[2]) > lengths[parts[0]] + 0.5:  # Kaldi's extract-segments --max-overshoot
                past_end.append(f"'{utt}' ends at {float(parts[2]):g} s, '{parts[0]}' at {lengths[parts[0]]:.2f} s")
    if past_end:
        problems.append(f"segments: {len(past_end)} segments end more than 0.5 s after their recording: "
                        f"{_examples(past_end, quote=False)}")
    if bad:
        problems.append(f"segments: {len(bad)} lines are not '<utt> <recording> <start> <end>' with "
                        f"0 <= start < end: {_examples(bad, quote=False)}")
    if unknown:
        problems.append(f"segments: {len(unknown)} segments name recordings missing from wav.scp: {_examples(unknown, quote=False)}")
    unused = sorted(set(wav_scp) - {v.split()[0] for v in segments.values() if v.split()}, key=_c_key)
    if unused:
        warnings.append(f"wav.scp: {len(unused)} recordings are used by no segment: {_examples(unused)}")


def _validate_audio_paths(wav_scp: Mapping[str, str], base: Path, problems: list[str]) -> None:
    pipes, missing = [], []
    for key, value in wav_scp.items():
        if value.endswith("|"):
            pipes.append(key)
            continue
        if not resolve_path(value, base).is_file():
            missing.append(f"'{key}' → '{value}'")
    if pipes:
        problems.append(f"wav.scp: {len(pipes)} entries are pipe commands, LatentSpeech reads audio files only: "
                        f"{_examples(pipes)}; write the audio to files")
    if missing:
        problems.append(f"wav.scp: {len(missing)} audio files do not exist: {_examples(missing, quote=False)}")


def validate_data_dir(path: str | os.PathLike, strict: bool = False) -> list[str]:
    """Every problem of the data dir at `path` (empty list: valid), as one-line messages.

    Warnings (speaker id not a prefix of its utterance ids, unused recordings) are logged; with
    `strict=True` they are returned as problems too, prefixed "warning: ".
    """
    path = Path(path)
    if not path.is_dir():
        return [f"data dir '{path}' does not exist"]
    problems: list[str] = []
    files: dict[str, dict[str, str]] = {}
    for name in REQUIRED_FILES:
        if not (path / name).is_file():
            problems.append(f"{name}: missing; every data dir needs {', '.join(REQUIRED_FILES)}")
        else:
            files[name] = _check_file_format(path / name, problems)
    for name in OPTIONAL_FILES:
        if (path / name).is_file():
            files[name] = _check_file_format(path / name, problems)
    utt2spk = files.get("utt2spk")
    warnings: list[str] = []

    if "text" in files and utt2spk is not None:
        _compare_ids("utt2spk", utt2spk, "text", files["text"], problems)
    if "segments" in files:
        if utt2spk is not None:
            _compare_ids("utt2spk", utt2spk, "segments", files["segments"], problems)
        if "wav.scp" in files:
            _validate_segments(files["segments"], files["wav.scp"], path, problems, warnings)
    elif "wav.scp" in files and utt2spk is not None:
        _compare_ids("utt2spk", utt2spk, "wav.scp", files["wav.scp"], problems)
    if "wav.scp" in files:
        _validate_audio_paths(files["wav.scp"], path, problems)
    if "utt2dur" in files:
        if utt2spk is not None:
            _compare_ids("utt2spk", utt2spk, "utt2dur", files["utt2dur"], problems)
        _validate_utt2dur(files["utt2dur"], problems)

    if utt2spk is not None and "spk2utt" in files:
        expected = {s: " ".join(u) for s, u in utt2spk_to_spk2utt(utt2spk).items()}
        found = {s: " ".join(sorted(v.split(), key=_c_key)) for s, v in files["spk2utt"].items()}
        differ = sorted((s for s in expected.keys() | found.keys() if expected.get(s) != found.get(s)), key=_c_key)
        if differ:
            problems.append(f"spk2utt: does not match utt2spk for {len(differ)} speakers: {_examples(differ)}; "
                            f"regenerate it from utt2spk")
        unsorted_lists = [s for s, v in files["spk2utt"].items() if v.split() != sorted(v.split(), key=_c_key)]
        if unsorted_lists:
            problems.append(f"spk2utt: utterance lists not sorted for {len(unsorted_lists)} speakers: "
                            f"{_examples(unsorted_lists)}")
        not_prefix = sorted({u for u, s in utt2spk.items() if s and not u.startswith(s)}, key=_c_key)
        if not_prefix:
            warnings.append(f"utt2spk: {len(not_prefix)} utterance ids do not start with their speaker id: "
                            f"{_examples(not_prefix)} (Kaldi tools expect speaker-id prefixes)")
        by_speaker = sorted(utt2spk, key=lambda u: (_c_key(utt2spk[u]), _c_key(u)))
        if not not_prefix and by_speaker != sorted(utt2spk, key=_c_key):
            first = next(u for u, v in zip(sorted(utt2spk, key=_c_key), by_speaker) if u != v)
            warnings.append(f"utt2spk: the utterance order differs from the speaker order (first at '{first}'; "
                            "Kaldi's validate_data_dir.sh rejects this: a speaker id that is a prefix of another, "
                            "like '19' and '198', needs a separator that sorts before digits, e.g. '19-...')")
    if "spk2gender" in files and utt2spk is not None:
        _compare_ids("utt2spk", set(utt2spk.values()), "spk2gender", files["spk2gender"], problems, "speakers")
        bad = [s for s, g in files["spk2gender"].items() if g not in ("m", "f")]
        if bad:
            problems.append(f"spk2gender: {len(bad)} genders are not 'm' or 'f': {_examples(bad)}")
    for w in warnings:
        log.warning("%s: %s", path, w)
    return problems + ([f"warning: {w}" for w in warnings] if strict else [])


def check_data_dir(path: str | os.PathLike, strict: bool = False) -> None:
    """Raise DataDirError naming the first problem and how many there are; return if valid."""
    problems = validate_data_dir(path, strict=strict)
    if problems:
        more = f" (+{len(problems) - 1} more; run `latentspeech validate-data {path}`)" if len(problems) > 1 else ""
        raise DataDirError(f"{path}: {problems[0]}{more}")


# ----------------------------------------------------------------------------------------------------------
# Subsets and speaker splits


def subset_data_dir(src: str | os.PathLike | DataDir, dst: str | os.PathLike, utt_ids: Iterable[str] | None = None,
                    speakers: Iterable[str] | None = None) -> DataDir:
    """Write the utterances of `src` that are in `utt_ids` and spoken by `speakers` (None = no filter) to `dst`."""
    data = src if isinstance(src, DataDir) else DataDir.load(src)
    keep = set(data.utt2spk) if utt_ids is None else set(utt_ids)
    if speakers is not None:
        speakers = set(speakers)
        unknown = speakers - set(data.utt2spk.values())
        if unknown:
            raise DataDirError(f"{len(unknown)} speakers are not in the data dir, e.g. '{sorted(unknown)[0]}'")
        keep = {u for u in keep if data.utt2spk.get(u) in speakers}
    if not keep:
        raise DataDirError(f"subset of '{data.path}' would be empty; check the utterance/speaker lists")
    sub = data.subset(keep)
    sub.save(dst)
    return sub


def split_by_speakers(src: str | os.PathLike | DataDir, train_dir: str | os.PathLike, test_dir: str | os.PathLike,
                      test_speakers: Iterable[str] | None = None, num_test_speakers: int | None = None,
                      seed: int = 0) -> tuple[DataDir, DataDir]:
    """Split `src` into disjoint speaker sets (held-out zero-shot test speakers) → (train, test).

    Give `test_speakers` explicitly or `num_test_speakers` to draw them with `seed`.
    """
    data = src if isinstance(src, DataDir) else DataDir.load(src)
    all_spks = data.speakers
    if (test_speakers is None) == (num_test_speakers is None):
        raise DataDirError("give exactly one of test_speakers or num_test_speakers")
    if test_speakers is None:
        if not 0 < num_test_speakers < len(all_spks):
            raise DataDirError(f"num_test_speakers={num_test_speakers} must be in 1..{len(all_spks) - 1} "
                               f"({len(all_spks)} speakers)")
        test_speakers = random.Random(seed).sample(all_spks, num_test_speakers)
    test = set(test_speakers)
    train_spks = [s for s in all_spks if s not in test]
    if not train_spks:
        raise DataDirError("every speaker is a test speaker; leave some for training")
    return (subset_data_dir(data, train_dir, speakers=train_spks),
            subset_data_dir(data, test_dir, speakers=test))

