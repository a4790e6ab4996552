#!/usr/bin/env bash
# Copy what LM training needs into .device/dump, the folder that travels to a lent GPU machine (device tool,
# `carry: [".device"]`; git ignores it): phoneme dumps (text, vocab.yaml) and fp16 latent dumps (latents/,
# latents.scp, utt2num_frames, utt2spk, vae.yaml) of the train and dev sets. ~20 MB for the 6 h synth corpus.
#   tools/device/pack_dump.sh PHN_ROOT LATENT_ROOT      # e.g. dump/phn dump/latents/vae_synth_cpu
# Both roots hold train/ and dev/ (run.sh stages 3 and 5, or `latentspeech phonemize` + `dump-latents`).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PHN_ROOT LATENT_ROOT (each with train/ and dev/)" >&2; exit 2; }
phn=$1 lat=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
dest=${DEVICE_DIR:-${root}/.device}/dump     # DEVICE_DIR: another folder than .device (tests)
for s in train dev; do
    [ -s "${phn}/${s}/text" ] || { echo "$0: error: ${phn}/${s}/text is missing (run latentspeech phonemize)" >&2; exit 1; }
    [ -s "${lat}/${s}/latents.scp" ] || { echo "$0: error: ${lat}/${s}/latents.scp is missing (run latentspeech dump-latents)" >&2; exit 1; }
done
rm -rf "${dest}"
mkdir -p "${dest}/phn" "${dest}/latents"
for s in train dev; do
    cp -r "${phn}/${s}" "${dest}/phn/"
    cp -r "${lat}/${s}" "${dest}/latents/"
    rm -rf "${dest}/latents/${s}/log" "${dest}/phn/${s}/log"
done
echo "packed $(du -sh "${dest}" | cut -f1) into ${dest}"
