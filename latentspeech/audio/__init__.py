"""Audio front end: file I/O with clear errors (`io`) and waveform utilities (`dsp`)."""

from latentspeech.audio.dsp import (is_silent, loudness, loudness_normalize, pad_or_crop, peak_normalize,
                                    random_crop, rms_db, time_stretch, trim_silence)
from latentspeech.audio.io import load_audio, resample, save_audio, to_mono

__all__ = ["load_audio", "save_audio", "resample", "to_mono", "loudness", "loudness_normalize",
           "peak_normalize", "trim_silence", "is_silent", "rms_db", "random_crop", "pad_or_crop", "time_stretch"]
