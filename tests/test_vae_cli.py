"""σ-VAE command line, in-process via `latentspeech.cli.main`: encode/decode/resynth/dump-latents and their errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from latentspeech.cli import main
from latentspeech.errors import InputError

from helpers_vae import make_data_dir, make_model_dir, speechy_wav


@pytest.fixture
def vae_dir(tmp_path):
    torch.set_num_threads(1)
    return make_model_dir(tmp_path / "vae")


@pytest.fixture
def in_wav(tmp_path):
    path = tmp_path / "in.wav"
    sf.write(path, speechy_wav(1.0), 16_000)
    return path


def test_encode_then_decode_writes_latents_and_a_wav_of_the_frame_length(tmp_path, vae_dir, in_wav):
    npy, out = tmp_path / "x.npy", tmp_path / "out.wav"
    assert main(["encode", str(in_wav), "-o", str(npy), "--vae", str(vae_dir)]) == 0
    z = np.load(npy)
    assert z.shape == (25, 8)  # ceil(16000 / 640) frames x latent_dim
    assert main(["decode", str(npy), "-o", str(out), "--vae", str(vae_dir)]) == 0
    info = sf.info(out)
    assert info.samplerate == 16_000 and info.frames == 25 * 640
    assert main(["resynth", str(in_wav), "-o", str(tmp_path / "re.wav"), "--vae", str(vae_dir)]) == 0
    assert sf.info(tmp_path / "re.wav").frames == 16_000
    assert main(["encode", str(in_wav), "-o", str(tmp_path / "z"), "--vae", str(vae_dir)]) == 0  # the name as given
    assert np.array_equal(np.load(tmp_path / "z"), z) and not (tmp_path / "z.npy").exists()


def test_existing_output_needs_force(tmp_path, vae_dir, in_wav, capsys):
    npy = tmp_path / "x.npy"
    npy.write_bytes(b"old")
    assert main(["encode", str(in_wav), "-o", str(npy), "--vae", str(vae_dir)]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["encode", str(in_wav), "-o", str(npy), "--vae", str(vae_dir), "--force"]) == 0


def _one_error_line(capsys, command: str) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("latentspeech")]
    assert len(err) == 1 and err[0].startswith(f"latentspeech {command}: error: "), err
    return err[0]


def test_clip_shorter_than_one_frame_gives_one_line_and_exit_1(tmp_path, vae_dir, capsys):
    short = tmp_path / "short.wav"
    sf.write(short, speechy_wav(0.02), 16_000)
    assert main(["encode", str(short), "-o", str(tmp_path / "x.npy"), "--vae", str(vae_dir)]) == 1
    assert "need at least" in _one_error_line(capsys, "encode")


def test_non_finite_samples_give_one_line_and_exit_1(tmp_path, vae_dir, capsys):
    bad = tmp_path / "nan.wav"
    wav = speechy_wav(0.5)
    wav[100] = np.nan
    sf.write(bad, wav, 16_000, subtype="FLOAT")
    assert main(["encode", str(bad), "-o", str(tmp_path / "x.npy"), "--vae", str(vae_dir)]) == 1
    assert "NaN" in _one_error_line(capsys, "encode")


def test_wrong_or_corrupt_checkpoint_gives_one_line_and_exit_1(tmp_path, vae_dir, in_wav, capsys):
    lm = tmp_path / "lm"
    lm.mkdir()
    (lm / "config.yaml").write_text(yaml.safe_dump({"kind": "tts", "format_version": "1", "model": {}}))
    assert main(["encode", str(in_wav), "-o", str(tmp_path / "x.npy"), "--vae", str(lm)]) == 1
    assert "a vae model is needed" in _one_error_line(capsys, "encode")
    (vae_dir / "model.safetensors").write_bytes(b"\x00" * 10)
    assert main(["resynth", str(in_wav), "-o", str(tmp_path / "y.wav"), "--vae", str(vae_dir)]) == 1
    assert "unreadable" in _one_error_line(capsys, "resynth")


@pytest.mark.parametrize("causal", [False, True])
def test_dumped_latents_equal_each_utterance_encoded_alone(tmp_path, causal):
    """Batches zero-pad the shorter utterances: only a causal encoder may share a batch (its frames never see
    the padding); a non-causal one encodes each utterance alone."""
    from latentspeech.vae.model import SigmaVAE

    vae_dir = make_model_dir(tmp_path / "vae", causal=causal)
    data = make_data_dir(tmp_path / "data", n=4)
    out = tmp_path / "dump"
    assert main(["dump-latents", "--data", str(data), "--vae", str(vae_dir), "--out", str(out)]) == 0
    vae = SigmaVAE.from_pretrained(str(vae_dir))
    lengths = set()
    for utt in ("utt0", "utt1", "utt2", "utt3"):
        wav, _ = sf.read(data / "wav" / f"{utt}.wav", dtype="float32")
        lengths.add(len(wav))
        with torch.no_grad():
            ref = vae.encode(torch.from_numpy(wav).view(1, 1, -1), normalize=True)[0].numpy()
        np.testing.assert_array_equal(np.load(out / "latents" / f"{utt}.npy"), ref.astype(np.float16))
    assert len(lengths) == 4  # the utterances really differ in length


def test_dump_latents_reads_the_utterances_of_a_segments_file(tmp_path, vae_dir):
    from latentspeech.vae.model import SigmaVAE

    data = tmp_path / "data"
    data.mkdir()
    sf.write(data / "rec.wav", speechy_wav(2.0, seed=5), 16_000)
    rec, _ = sf.read(data / "rec.wav", dtype="float32")  # as stored (16-bit)
    (data / "wav.scp").write_text("rec rec.wav\n")  # relative to the data dir
    (data / "segments").write_text("a rec 0.00 0.80\nb rec 0.80 1.96\n")
    (data / "utt2spk").write_text("a s\nb s\n")
    out = tmp_path / "dump"
    assert main(["dump-latents", "--data", str(data), "--vae", str(vae_dir), "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "latents").glob("*.npy")) == ["a.npy", "b.npy"]
    vae = SigmaVAE.from_pretrained(str(vae_dir))
    for utt, (start, end) in (("a", (0, 12_800)), ("b", (12_800, 31_360))):
        with torch.no_grad():
            ref = vae.encode(torch.from_numpy(rec[start:end]).view(1, 1, -1), normalize=True)[0].numpy()
        np.testing.assert_array_equal(np.load(out / "latents" / f"{utt}.npy"), ref.astype(np.float16))
    (data / "segments").write_text("a rec 0.00 0.80\nc tape 0.0 1.0\n")
    assert main(["dump-latents", "--data", str(data), "--vae", str(vae_dir), "--out", str(tmp_path / "d2")]) == 1


def test_a_dump_resumes_only_with_the_vae_that_began_it(tmp_path, vae_dir, capsys):
    data = make_data_dir(tmp_path / "data", n=2)
    out = tmp_path / "dump"
    base = ["dump-latents", "--data", str(data), "--out", str(out)]
    assert main(base + ["--vae", str(vae_dir), "--shard", "1/2"]) == 0
    other = make_model_dir(tmp_path / "other", seed=1)
    assert main(base + ["--vae", str(other), "--shard", "2/2"]) == 1  # would mix two latent spaces
    assert "holds latents of another VAE" in _one_error_line(capsys, "dump-latents")
    assert not (out / "latents" / "utt1.npy").exists()
    assert main(base + ["--vae", str(other), "--force"]) == 0 and (out / "latents.scp").is_file()
    assert main(base + ["--vae", str(other)]) == 0  # the same VAE resumes (nothing left to do)


def test_a_dump_resumes_and_combines_across_a_decoder_retrained_on_a_frozen_encoder(tmp_path, vae_dir):
    """train.freeze_encoder_step exports mid-run so dumps can start; the final export changes the decoder only."""
    from latentspeech.data.combine import combine_dirs
    from latentspeech.data.dump import encoder_digest
    from latentspeech.vae.model import SigmaVAE

    data = make_data_dir(tmp_path / "data", n=2)
    final = tmp_path / "final"
    vae = SigmaVAE.from_pretrained(str(vae_dir))
    with torch.no_grad():
        for p in vae.decoder.parameters():
            p.mul_(0.5)
    vae.save_pretrained(str(final))
    assert encoder_digest(final) == encoder_digest(vae_dir)
    out = tmp_path / "dump"
    base = ["dump-latents", "--data", str(data), "--out", str(out)]
    assert main(base + ["--vae", str(vae_dir), "--shard", "1/2"]) == 0
    assert main(base + ["--vae", str(final), "--shard", "2/2"]) == 0 and (out / "latents.scp").is_file()
    data_b = make_data_dir(tmp_path / "data_b", n=1)
    (data_b / "wav.scp").write_text((data_b / "wav.scp").read_text().replace("utt0 ", "b0 "))
    (data_b / "utt2spk").write_text("b0 spk0\n")
    assert main(["dump-latents", "--data", str(data_b), "--out", str(tmp_path / "db"), "--vae", str(final)]) == 0
    assert combine_dirs([out, tmp_path / "db"], tmp_path / "both") == "latents"


def test_dump_latents_names_an_utterance_shorter_than_a_frame(tmp_path, vae_dir, capsys):
    data = make_data_dir(tmp_path / "data", n=2)
    sf.write(data / "wav" / "utt1.wav", np.zeros(300, dtype=np.float32), 16_000)
    assert main(["dump-latents", "--data", str(data), "--vae", str(vae_dir), "--out", str(tmp_path / "d")]) == 1
    assert "utterance 'utt1'" in _one_error_line(capsys, "dump-latents") and not (tmp_path / "d/latents/utt0.npy").exists()


def test_dump_latents_in_shards_writes_normalised_float16_latents_and_index(tmp_path, vae_dir):
    from latentspeech.vae.model import SigmaVAE

    data = make_data_dir(tmp_path / "data", n=3)
    out = tmp_path / "dump" / "train"
    base = ["dump-latents", "--data", str(data), "--vae", str(vae_dir), "--out", str(out)]
    assert main(base + ["--shard", "1/2"]) == 0
    assert not (out / "latents.scp").exists()  # incomplete: no index yet
    assert main(base + ["--shard", "2/2"]) == 0
    scp = dict(line.split() for line in (out / "latents.scp").read_text().splitlines())
    n2f = dict(line.split() for line in (out / "utt2num_frames").read_text().splitlines())
    assert sorted(scp) == ["utt0", "utt1", "utt2"] and (out / "utt2spk").is_file()
    assert yaml.safe_load((out / "vae.yaml").read_text())["frame_rate"] == 25.0
    vae = SigmaVAE.from_pretrained(str(vae_dir))
    wav, _ = sf.read(data / "wav" / "utt1.wav", dtype="float32")
    z = np.load(out / scp["utt1"])
    assert z.dtype == np.float16 and z.shape == (int(n2f["utt1"]), 8) == (-(-len(wav) // 640), 8)
    with torch.no_grad():
        ref = vae.encode(torch.from_numpy(wav).view(1, 1, -1), normalize=True)[0].numpy()
    np.testing.assert_allclose(z.astype(np.float32), ref, atol=2e-2, rtol=1e-2)
    mtime = (out / scp["utt1"]).stat().st_mtime_ns
    assert main(base) == 0  # resumable: nothing re-encoded
    assert (out / scp["utt1"]).stat().st_mtime_ns == mtime


def test_bad_segments_give_one_line_errors_that_name_the_utterance(tmp_path, vae_dir, capsys, caplog):
    from latentspeech.data.dump import load_utterance, read_utterance_list
    from latentspeech.data.kaldi import validate_data_dir

    data = tmp_path / "data"
    data.mkdir()
    rec = speechy_wav(2.0, seed=5)
    rec[20_000] = np.nan
    sf.write(data / "rec.wav", rec, 16_000, subtype="FLOAT")
    (data / "wav.scp").write_text("rec rec.wav\n")
    (data / "utt2spk").write_text("a s\nb s\n")
    (data / "segments").write_text("a rec 0.00 0.80\nb rec 0.80 2.20\n")  # b: past the end by 0.2 s, with a NaN
    a, b = read_utterance_list(data)
    assert len(load_utterance(a, 16_000)) == 12_800
    with pytest.raises(InputError, match=r"segment 0.8-2.2 s of '.*rec.wav' \(utterance 'b'\) contains NaN"):
        load_utterance(b, 16_000)
    assert "ends 0.20 s after its recording: cut at its end" in caplog.text
    with pytest.raises(InputError, match=r"\(utterance 'b'\) ends 0.80 s after its recording \(2.00 s\)"):
        load_utterance(b._replace(span=(0.8, 2.8)), 16_000)
    (data / "segments").write_text("a rec 0.00 0.80\nb rec 0.80 2.60\n")
    assert any("segments: 1 segments end more than 0.5 s after their recording" in p for p in validate_data_dir(data))
    for bad in ("a rec 0.00\n", "a rec 1.0 0.5\n", "a rec zero 0.5\n"):
        (data / "segments").write_text(bad + "b rec 0.80 1.90\n")
        assert main(["dump-latents", "--data", str(data), "--vae", str(vae_dir), "--out", str(tmp_path / "d")]) == 1
        err = capsys.readouterr().err
        assert f"'a {bad.split(' ', 1)[1].strip()}' is not '<utt> <recording> <start> <end>'" in err
        assert "Traceback" not in err


def test_short_utterances_of_a_causal_seanet_vae_are_encoded_alone(tmp_path):
    """encodec's causal convs reflect-pad inputs shorter than their padding: batch padding would leak in."""
    from latentspeech.data.dump import dump_latents
    from latentspeech.vae.model import SigmaVAE

    from helpers_vae import make_model_dir

    vae_dir = make_model_dir(tmp_path / "vae", backbone="seanet", causal=True, ratios=(8, 5, 4, 4), n_filters=4, lstm=0)
    vae = SigmaVAE.from_pretrained(str(vae_dir))
    data = tmp_path / "data"
    (data / "wav").mkdir(parents=True)
    short, long = speechy_wav(0.1, seed=1), speechy_wav(1.5, seed=2)
    sf.write(data / "wav" / "s.wav", short, 16_000, subtype="FLOAT")
    sf.write(data / "wav" / "t.wav", long, 16_000, subtype="FLOAT")
    (data / "wav.scp").write_text(f"s {data}/wav/s.wav\nt {data}/wav/t.wav\n")
    out = dump_latents(data, vae_dir, tmp_path / "dump")
    with torch.no_grad():
        alone = vae.encode(torch.from_numpy(short).view(1, 1, -1), normalize=True)[0].numpy()
    np.testing.assert_array_equal(np.load(out / "latents" / "s.npy"), alone.astype(np.float16))
