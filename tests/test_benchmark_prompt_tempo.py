"""benchmarks/prompt_tempo.py: prompts time-stretched to a target pace, with the original list kept for SIM-o."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
import soundfile as sf

from latentspeech.eval.meta import MetaEntry, read_meta, write_meta

BENCH = Path(__file__).parents[1] / "benchmarks"
PROMPTS = Path(__file__).parents[1] / "pretrained" / "default" / "prompts"


def _load():
    spec = importlib.util.spec_from_file_location("prompt_tempo", BENCH / "prompt_tempo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


prompt_tempo = _load()


def test_tempo_factor_moves_the_pace_to_the_target_within_limits():
    assert prompt_tempo.tempo_factor(0.75, 0.5) == pytest.approx(1.5)       # slow prompt → faster
    assert prompt_tempo.tempo_factor(0.4, 0.5) == pytest.approx(0.8)        # fast prompt → slower
    assert prompt_tempo.tempo_factor(0.4, 0.5, only_slower=True) == 1.0     # ... unless only slower ones move
    assert prompt_tempo.tempo_factor(2.0, 0.5) == 2.0 and prompt_tempo.tempo_factor(0.1, 0.5) == 0.5


@pytest.mark.system
@pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed (tools/install.sh --system)")
def test_stretched_prompts_reach_the_target_pace(tmp_path):
    names = ["flite-rms", "espeak-m5"]
    entries = [MetaEntry(f"{n}_u0", (PROMPTS / f"{n}.txt").read_text().strip(), PROMPTS / f"{n}.wav",
                         "Where did Julia repair the brown sack?") for n in names]
    meta = write_meta(tmp_path / "meta.lst", entries)
    out = tmp_path / "p"
    assert prompt_tempo.main(["--meta", str(meta), "--out-dir", str(out), "--target", "0.5", "--match", "rms"]) == 0
    [stretched], [original] = read_meta(out / "meta.lst"), read_meta(out / "original.lst")
    assert stretched.utt == original.utt == "flite-rms_u0" and original.prompt_wav == entries[0].prompt_wav
    assert stretched.prompt_wav == (out / "prompts" / "flite-rms_u0.wav").resolve()
    [row] = [line.split("\t") for line in (out / "pace.tsv").read_text().splitlines()[1:]]
    pace, factor = float(row[1]), float(row[2])
    assert pace > 0.5 and factor == pytest.approx(pace / 0.5, rel=1e-3)
    before, after = sf.info(str(entries[0].prompt_wav)).duration, sf.info(str(stretched.prompt_wav)).duration
    assert after == pytest.approx(before / factor, rel=0.03)
    from latentspeech import TTS

    assert prompt_tempo.prompt_pace(TTS.from_pretrained("default"), stretched.prompt_wav,
                                    stretched.prompt_text) == pytest.approx(0.5, rel=0.1)


def test_wsola_stretcher_is_the_librarys_time_stretch(tmp_path):
    src = PROMPTS / "flite-rms.wav"
    prompt_tempo.stretch_file(src, tmp_path / "fast.wav", 1.3, "wsola")
    wav, sr = sf.read(str(src), dtype="float32")
    out, out_sr = sf.read(str(tmp_path / "fast.wav"), dtype="float32")
    from latentspeech.audio.dsp import time_stretch

    assert out_sr == sr and len(out) == round(len(wav) / 1.3)
    assert out == pytest.approx(time_stretch(wav, 1.3, sr), abs=1e-4)  # written as 16-bit PCM
