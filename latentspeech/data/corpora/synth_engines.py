"""Local text-to-speech engines for the synthetic corpus: the base-voice table, which voices this machine
can run, and one call that renders texts to wav files (engine-native sample rate).

A *base voice* is one identity (one recorded or designed voice) whatever engine renders it: MBROLA us1
through festival or through espeak-ng is the same base voice, as are festival's and flite's slt. Each base
voice lists its (engine, engine voice) candidates best first; the first one installed is used.
Engines: espeak-ng (formant variants; MBROLA voices via `mb-*`), flite, festival (batched: one process per
call, its start-up is ~0.2-0.9 s), SVOX pico (`pico2wave`) and RHVoice (`RHVoice-test`, Debian non-free).

`VOICES` are the 42 base voices every corpus made so far was planned from (all installed ones by default).
`EXTRA_VOICES` (added 2026-11-27: RHVoice's CMU ARCTIC bdl and clb and Russian-accented evgeniy-eng and
lyubov, festival's British rab and don diphones) are opt-in (`available_voices(extra=True)`, `prepare-synth
--extra-voices` or by name), so installing their packages does not change the plan of an existing corpus.
RHVoice's alan and slt are not listed: a speaker encoder scores them 0.81 / 0.90 similar to flite's awb / slt
(the same people), while the six extra voices score ≤ 0.78 against every voice here.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from latentspeech.errors import LatentSpeechError

log = logging.getLogger(__name__)

__all__ = ["BaseVoice", "VOICES", "EXTRA_VOICES", "DEFAULT_TEST_VOICES", "available_voices", "render"]


@dataclass(frozen=True)
class BaseVoice:
    """One voice identity: `family` is natural | mbrola (accented MBROLA) | espeak (formant synthesis)."""

    name: str
    family: str
    gender: str
    engines: tuple[tuple[str, str], ...]


def _mbrola(code: str, gender: str) -> BaseVoice:
    """An accented MBROLA voice reading English through espeak-ng's `mb-<code>-en` mapping."""
    return BaseVoice(f"mbrola-{code}", "mbrola", gender, (("espeak", f"mb-{code}-en"),))


def _espeak(variant: str, gender: str, accent: str = "en-us") -> BaseVoice:
    return BaseVoice(f"espeak-{variant}", "espeak", gender, (("espeak", f"{accent}+{variant}"),))


VOICES: tuple[BaseVoice, ...] = (
    # natural-sounding (diphone / HTS / clustergen / pico) voices; Whisper tiny.en WER 9-30 %
    BaseVoice("slt", "natural", "f", (("festival", "cmu_us_slt_arctic_hts"), ("flite", "slt"))),
    BaseVoice("awb", "natural", "m", (("flite", "awb"),)),
    BaseVoice("rms", "natural", "m", (("flite", "rms"),)),
    BaseVoice("kal", "natural", "m", (("flite", "kal16"), ("festival", "kal_diphone"))),
    BaseVoice("ked", "natural", "m", (("festival", "ked_diphone"),)),
    BaseVoice("mbrola-us1", "natural", "f", (("festival", "us1_mbrola"), ("espeak", "mb-us1"))),
    BaseVoice("mbrola-us2", "natural", "m", (("festival", "us2_mbrola"), ("espeak", "mb-us2"))),
    BaseVoice("mbrola-us3", "natural", "m", (("festival", "us3_mbrola"), ("espeak", "mb-us3"))),
    BaseVoice("mbrola-en1", "natural", "m", (("festival", "en1_mbrola"), ("espeak", "mb-en1"))),
    BaseVoice("pico-en-US", "natural", "f", (("pico", "en-US"),)),
    BaseVoice("pico-en-GB", "natural", "f", (("pico", "en-GB"),)),
    # accented English from non-English MBROLA voices (Debian non-free mbrola-*); WER 30-80 %
    *(_mbrola(c, g) for c, g in (("de1", "f"), ("de2", "m"), ("de3", "f"), ("de4", "m"), ("de5", "f"),
                                 ("de6", "m"), ("fr1", "m"), ("fr4", "f"), ("nl2", "m"), ("sw1", "m"),
                                 ("sw2", "f"), ("pl1", "f"), ("hu1", "f"), ("af1", "m"), ("gr2", "m"),
                                 ("ro1", "m"))),
    # espeak-ng formant variants: robotic, one engine, but distinct pitch/formant/voice-quality settings
    *(_espeak(v, "m", a) for v, a in (("m1", "en-us"), ("m2", "en-us"), ("m3", "en"), ("m4", "en-us"),
                                      ("m5", "en-us"), ("m6", "en-gb-x-rp"), ("m7", "en-gb-scotland"),
                                      ("klatt", "en-us"), ("klatt2", "en"), ("klatt4", "en-us"))),
    *(_espeak(v, "f", a) for v, a in (("f1", "en-us"), ("f2", "en"), ("f3", "en-us"), ("f4", "en-us"),
                                      ("f5", "en-gb-x-rp"))),
)

# Opt-in voices (see the module docstring); Whisper tiny.en reads RHVoice's four without error on two test
# sentences, festival's rab and don (10 kHz) with 1-3 errors each.
EXTRA_VOICES: tuple[BaseVoice, ...] = (
    BaseVoice("bdl", "natural", "m", (("rhvoice", "bdl"),)),
    BaseVoice("clb", "natural", "f", (("rhvoice", "clb"),)),
    BaseVoice("evgeniy-eng", "natural", "m", (("rhvoice", "evgeniy-eng"),)),
    BaseVoice("lyubov", "natural", "f", (("rhvoice", "lyubov"),)),
    BaseVoice("rab", "natural", "m", (("festival", "rab_diphone"),)),
    BaseVoice("don", "natural", "m", (("festival", "don_diphone"),)),
)

RHVOICE_VOICE_DIRS = (Path("/usr/share/RHVoice/voices"), Path("/usr/local/share/RHVoice/voices"))

# Held out of training (zero-shot test speakers): natural male + female, accented, espeak.
DEFAULT_TEST_VOICES = ("rms", "pico-en-GB", "mbrola-us3", "mbrola-de3", "mbrola-fr1", "espeak-f4", "espeak-m5")


def _run(cmd: list[str], what: str, stdin: str | None = None, timeout: float = 600) -> str:
    try:
        res = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LatentSpeechError(f"{what} failed to run ({e}); check the engine installation") from None
    if res.returncode != 0:
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no message"]
        raise LatentSpeechError(f"{what} exited with {res.returncode}: {tail[0]}")
    return res.stdout


def _mbrola_db(code: str) -> bool:
    base = Path("/usr/share/mbrola")
    return shutil.which("mbrola") is not None and ((base / code / code).is_file() or (base / code).is_file())


def _installed_engine_voices() -> dict[str, set[str] | None]:
    """engine → its installed voices (None = any voice name may work: espeak checks per voice)."""
    out: dict[str, set[str] | None] = {}
    if shutil.which("espeak-ng"):
        out["espeak"] = None
    if shutil.which("flite"):
        listing = _run(["flite", "-lv"], "flite -lv")
        out["flite"] = set(listing.split(":", 1)[-1].split())
    if shutil.which("festival"):
        listing = _run(["festival", "-b", "(begin (print (voice.list)))"], "festival voice.list", timeout=60)
        out["festival"] = set(re.findall(r"[\w-]+", listing))
    if shutil.which("pico2wave"):
        out["pico"] = {"en-US", "en-GB"}
    if shutil.which("RHVoice-test"):
        out["rhvoice"] = {p.name for d in RHVOICE_VOICE_DIRS if d.is_dir() for p in d.iterdir() if p.is_dir()}
    return out


def _engine_voice_ok(engine: str, voice: str, installed: dict[str, set[str] | None]) -> bool:
    if engine not in installed:
        return False
    if engine == "espeak":
        m = re.match(r"mb-(\w\w\d)", voice)
        return _mbrola_db(m.group(1)) if m else True
    if engine == "festival" and voice.endswith("_mbrola") and not _mbrola_db(voice.split("_")[0]):
        return False
    return voice in installed[engine]


def available_voices(extra: bool = False) -> dict[str, tuple[BaseVoice, str, str]]:
    """base voice name → (voice, engine, engine voice) for every base voice this machine can render, of `VOICES`
    (and of `EXTRA_VOICES` with `extra`)."""
    installed = _installed_engine_voices()
    out = {}
    for v in VOICES + (EXTRA_VOICES if extra else ()):
        for engine, ev in v.engines:
            if _engine_voice_ok(engine, ev, installed):
                out[v.name] = (v, engine, ev)
                break
    if shutil.which("sox") is None:
        raise LatentSpeechError("sox is not installed; run `egs/synth/tts1/local/data.sh` (installs it with apt) "
                                "or `apt-get install sox`")
    return out


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(engine: str, voice: str, texts: list[str], out_paths: list[Path]) -> None:
    """Render each text to the wav at the same index (engine-native rate); LatentSpeechError on failure."""
    if engine == "festival":
        # one process for the whole batch: festival's start-up dominates a short sentence
        lines = [f"(voice_{voice})"] + [
            f"(utt.save.wave (utt.synth (Utterance Text {_scheme_string(t)})) {_scheme_string(str(p))} 'riff)"
            for t, p in zip(texts, out_paths)]
        script = out_paths[0].with_name("batch.scm")
        script.write_text("\n".join(lines) + "\n", encoding="utf-8")
        _run(["festival", "-b", str(script)], f"festival voice {voice}", timeout=60 + 10 * len(texts))
    else:
        for text, path in zip(texts, out_paths):
            if engine == "espeak":
                _run(["espeak-ng", "-v", voice, "-w", str(path), "--stdin"], f"espeak-ng -v {voice}", stdin=text)
            elif engine == "flite":
                _run(["flite", "-voice", voice, "-t", text, "-o", str(path)], f"flite -voice {voice}")
            elif engine == "pico":
                _run(["pico2wave", "-l", voice, "-w", str(path), text], f"pico2wave -l {voice}")
            elif engine == "rhvoice":
                _run(["RHVoice-test", "-p", voice, "-o", str(path)], f"RHVoice-test -p {voice}", stdin=text)
            else:
                raise LatentSpeechError(f"unknown engine '{engine}'")
    missing = [p for p in out_paths if not p.is_file() or p.stat().st_size <= 44]
    if missing:
        raise LatentSpeechError(f"{engine} voice {voice} wrote no audio for {len(missing)} of {len(texts)} texts "
                                f"(first: {missing[0].name})")
