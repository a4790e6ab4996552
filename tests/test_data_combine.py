"""latentspeech.data.combine / `latentspeech combine-data`: the union of data dirs, phoneme dumps, latent dumps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from latentspeech.cli import main
from latentspeech.data.combine import combine_dirs, dir_layout
from latentspeech.data.datasets import read_latent_index
from latentspeech.data.dump import save_npy, write_index
from latentspeech.data.kaldi import DataDir, read_kaldi_file, validate_data_dir
from latentspeech.errors import InputError


def _data_dir(root: Path, spk: str, n: int) -> Path:
    """A data dir whose wav.scp names its audio relative to the dir, as a user's may."""
    (root / "wav").mkdir(parents=True)
    utts = [f"{spk}_{i}" for i in range(n)]
    for u in utts:
        sf.write(root / "wav" / f"{u}.wav", np.zeros(1600, np.float32), 16000)
    DataDir(wav_scp={u: f"wav/{u}.wav" for u in utts}, text={u: "hello there" for u in utts},
            utt2spk={u: spk for u in utts}, utt2dur={u: 0.1 for u in utts}, spk2gender={spk: "f"}).save(root)
    return root


def _latent_dump(root: Path, utts: list[str], spk: str, vae_yaml: str = "frame_rate: 12.5\n") -> Path:
    (root / "latents").mkdir(parents=True)
    for k, u in enumerate(utts):
        save_npy(root / "latents" / f"{u}.npy", np.full((3 + k, 4), k, np.float16))
    (root / "vae.yaml.src").write_text(vae_yaml)
    (root / "utt2spk.src").write_text("".join(f"{u} {spk}\n" for u in utts))
    assert write_index(root, utts, root / "vae.yaml.src", root / "utt2spk.src")
    return root


def test_data_dirs_combine_into_a_valid_dir_with_absolute_audio_paths(tmp_path):
    a, b = _data_dir(tmp_path / "a", "spk1", 2), _data_dir(tmp_path / "b", "spk2", 3)
    assert main(["combine-data", str(a), str(b), "--out", str(tmp_path / "ab")]) == 0
    ab = DataDir.load(tmp_path / "ab")
    assert validate_data_dir(tmp_path / "ab", strict=True) == []
    assert ab.utt_ids == ["spk1_0", "spk1_1", "spk2_0", "spk2_1", "spk2_2"] and ab.speakers == ["spk1", "spk2"]
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in ab.wav_scp.values())
    assert ab.spk2gender == {"spk1": "f", "spk2": "f"} and len(ab.utt2dur) == 5


def test_spk2gender_is_combined_only_when_every_source_has_one(tmp_path, caplog):
    a, b = _data_dir(tmp_path / "a", "spk1", 2), _data_dir(tmp_path / "b", "spk2", 3)
    (b / "spk2gender").unlink()
    assert main(["combine-data", str(a), str(b), "--out", str(tmp_path / "ab")]) == 0
    assert DataDir.load(tmp_path / "ab").spk2gender is None and not (tmp_path / "ab/spk2gender").exists()
    assert validate_data_dir(tmp_path / "ab", strict=True) == []        # a partial spk2gender would fail here
    assert "not every source has spk2gender" in caplog.text


def test_an_utterance_in_two_sources_is_an_error_that_names_both(tmp_path):
    a, b = _data_dir(tmp_path / "a", "spk1", 2), _data_dir(tmp_path / "b", "spk1", 1)
    with pytest.raises(InputError, match=r"'spk1_0' is in both .*a and .*b"):
        combine_dirs([a, b], tmp_path / "ab")
    assert main(["combine-data", str(a), str(b), "--out", str(tmp_path / "ab")]) == 1


def test_phoneme_dumps_need_one_phoneme_table(tmp_path):
    for name, utt, vocab in (("a", "u1", "v1"), ("b", "u2", "v1"), ("c", "u3", "v2")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "text").write_text(f"{utt} hɛlˈoʊ\n")
        (tmp_path / name / "vocab.yaml").write_text(f"version: {vocab}\n")
    assert combine_dirs([tmp_path / "a", tmp_path / "b"], tmp_path / "ab") == "phonemes"
    assert read_kaldi_file(tmp_path / "ab" / "text") == {"u1": "hɛlˈoʊ", "u2": "hɛlˈoʊ"}
    assert (tmp_path / "ab" / "vocab.yaml").read_text() == "version: v1\n"
    with pytest.raises(InputError, match="other phoneme tables"):
        combine_dirs([tmp_path / "a", tmp_path / "c"], tmp_path / "ac")


def test_latent_dumps_combine_into_one_index_the_lm_reads(tmp_path):
    a = _latent_dump(tmp_path / "a", ["x_0", "x_1"], "x")
    b = _latent_dump(tmp_path / "b", ["y_0"], "y")
    assert combine_dirs([a, b], tmp_path / "out" / "ab") == "latents"
    index = read_latent_index(tmp_path / "out" / "ab")
    assert {u: n for u, (_, n) in index.items()} == {"x_0": 3, "x_1": 4, "y_0": 3}
    assert np.load(index["x_1"][0]).tolist() == np.ones((4, 4)).tolist()
    assert read_kaldi_file(tmp_path / "out" / "ab" / "utt2spk") == {"x_0": "x", "x_1": "x", "y_0": "y"}
    c = _latent_dump(tmp_path / "c", ["z_0"], "z", vae_yaml="frame_rate: 25\n")
    with pytest.raises(InputError, match="different σ-VAEs"):
        combine_dirs([a, c], tmp_path / "ac")


def test_layouts_are_recognised_and_not_mixed(tmp_path):
    a = _data_dir(tmp_path / "a", "spk1", 1)
    lat = _latent_dump(tmp_path / "lat", ["x_0"], "x")
    assert dir_layout(a) == "data" and dir_layout(lat) == "latents"
    with pytest.raises(InputError, match="different layouts"):
        combine_dirs([a, lat], tmp_path / "mix")
    with pytest.raises(InputError, match="neither a data dir"):
        dir_layout(tmp_path)
    with pytest.raises(InputError, match="at least two"):
        combine_dirs([a], tmp_path / "one")
    with pytest.raises(InputError, match="one of the sources"):
        combine_dirs([a, lat], a)


def _segments_dir(root: Path, spk: str) -> Path:
    """One 1 s recording of a speaker cut into two utterances by a segments file."""
    root.mkdir(parents=True)
    sf.write(root / "rec.wav", np.linspace(-0.5, 0.5, 16000, dtype=np.float32), 16000)
    DataDir(wav_scp={f"{spk}_rec": "rec.wav"}, text={f"{spk}_a": "hello", f"{spk}_b": "there"},
            utt2spk={f"{spk}_a": spk, f"{spk}_b": spk},
            segments={f"{spk}_a": (f"{spk}_rec", 0.0, 0.4), f"{spk}_b": (f"{spk}_rec", 0.4, 1.0)}).save(root)
    return root


def test_a_segments_dir_combines_with_a_dir_of_whole_files(tmp_path):
    """Kaldi's combine_data.sh: a whole file becomes one segment of a recording named like its utterance."""
    from latentspeech.data.dump import load_utterance, read_utterance_list

    seg, whole = _segments_dir(tmp_path / "seg", "spk1"), _data_dir(tmp_path / "whole", "spk2", 2)
    combine_dirs([seg, whole], tmp_path / "ab")
    assert validate_data_dir(tmp_path / "ab", strict=True) == []
    ab = DataDir.load(tmp_path / "ab")
    assert ab.segments == {"spk1_a": ("spk1_rec", 0.0, 0.4), "spk1_b": ("spk1_rec", 0.4, 1.0),
                           "spk2_0": ("spk2_0", 0.0, 0.1), "spk2_1": ("spk2_1", 0.0, 0.1)}
    before = {it.utt: load_utterance(it, 16000) for d in (seg, whole) for it in read_utterance_list(d)}
    after = {it.utt: load_utterance(it, 16000) for it in read_utterance_list(tmp_path / "ab")}
    assert before.keys() == after.keys() and all(np.array_equal(before[u], after[u]) for u in before)
    other = _segments_dir(tmp_path / "seg2", "spk3")
    (other / "wav.scp").write_text("spk1_rec rec.wav\n")  # another recording under the same id
    (other / "segments").write_text((other / "segments").read_text().replace("spk3_rec", "spk1_rec"))
    with pytest.raises(InputError, match="recording 'spk1_rec' is in both"):
        combine_dirs([seg, other], tmp_path / "twice")
