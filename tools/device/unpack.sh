#!/usr/bin/env bash
# Here, after tools/device/train_lm.sh ran on a GPU machine: join the returned pieces into an exp dir that
# `latentspeech export-tts --lm EXP_DIR` reads (checkpoints/step_N.pt + the dump's vocab.yaml and vae.yaml).
#   tools/device/unpack.sh FILES_AT EXP_DIR          # the newest step returned
#   tools/device/unpack.sh FILES_AT EXP_DIR STEP     # that step (train_lm.sh with SLIM_ALL=1 returns several)
set -euo pipefail
[ $# -eq 2 ] || [ $# -eq 3 ] || { echo "usage: $0 FILES_AT EXP_DIR [STEP]" >&2; exit 2; }
src=$1 exp=$2 want=${3:-*}
root=$(cd "$(dirname "$0")/../.." && pwd)
first=$( (ls "${src}"/lm_step_${want}.pt.part00 2> /dev/null || true) | sort -V | tail -n 1)
[ -n "${first}" ] || { echo "$0: error: no lm_step_${want}.pt.part00 in ${src}" >&2; exit 1; }
base=$(basename "${first}" .part00)          # lm_step_N.pt
step=${base#lm_step_}; step=${step%.pt}
mkdir -p "${exp}/checkpoints"
cat "${src}/${base}".part* > "${exp}/checkpoints/$(printf 'step_%08d.pt' "${step}")"
d=${DEVICE_DIR:-${root}/.device}/dump     # the dump that was carried (its phoneme table and VAE facts)
if [ -d "${d}" ]; then
    cp "${d}/phn/train/vocab.yaml" "${exp}/vocab.yaml"
    cp "${d}/latents/train/vae.yaml" "${exp}/vae.yaml"
else                                       # packed with TGZ=1
    tar xzf "${d}.tgz" -O dump/phn/train/vocab.yaml > "${exp}/vocab.yaml"
    tar xzf "${d}.tgz" -O dump/latents/train/vae.yaml > "${exp}/vae.yaml"
fi
[ ! -f "${src}/train_log_tail.txt" ] || cp "${src}/train_log_tail.txt" "${exp}/"
echo "wrote ${exp}/checkpoints/$(printf 'step_%08d.pt' "${step}")"
