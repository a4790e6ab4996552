#!/usr/bin/env bash
# On a lent GPU machine: train (or resume) the LM on .device/dump for MINUTES of wall-clock time, then write a
# slim fp16 copy of the newest checkpoint into $OUT in pieces under the device tool's 16 MiB file limit.
# Needs only torch, numpy, pyyaml, safetensors and tqdm (the device image has them): nothing is installed.
#   device run: command="bash tools/device/train_lm.sh 7 --set train.max_steps=20000", carry=[".device"]
# The exp dir stays on the warm machine between calls (git ignores exp/), so a second call resumes. Back here:
#   tools/device/unpack.sh FILES_AT exp/lm_gpu && latentspeech export-tts --vae vae_synth_causal --lm exp/lm_gpu ...
# Environment: CONFIG (default egs/synth/tts1/conf/lm.yaml), DEVICE (cuda), PYTHON (python3), EXP (exp/lm_device:
# outside the carried .device, which each call replaces), DEVICE_DIR (.device), OUT (required; the device tool sets it),
# SLIM_ALL (non-empty: return every checkpoint the exp dir keeps, e.g. with --set train.keep_every=2500 --set
# train.keep_last=1 the milestones and the last, to judge several steps by WER; ~2 files each for a 10M LM, and the
# device tool returns 8).
# Several variants at once on one GPU: tools/device/train_lm_variants.sh.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 MINUTES [train-lm options, e.g. --set train.max_steps=20000]" >&2; exit 2; }
cd "$(dirname "$0")/../.."
minutes=$1; shift
config=${CONFIG:-egs/synth/tts1/conf/lm.yaml}
exp=${EXP:-exp/lm_device}
out=${OUT:?OUT must name the folder whose files come back}
d=${DEVICE_DIR:-.device}/dump
if [ ! -d "${d}" ] && [ -f "${d}.tgz" ]; then tar xzf "${d}.tgz" -C "$(dirname "${d}")"; fi  # TGZ=1 pack_dump.sh
[ -s "${d}/latents/train/latents.scp" ] || { echo "$0: error: ${d} is missing; run tools/device/pack_dump.sh and carry .device" >&2; exit 1; }
resume=""
if compgen -G "${exp}/checkpoints/step_*.pt" > /dev/null; then resume=--resume; fi
mkdir -p "${exp}" "${out}"
spk=""  # the latent dump's utt2spk (dump-latents copies it) enables cross-utterance prompts
if [ -s "${d}/latents/train/utt2spk" ]; then spk="--data-dir ${d}/latents/train"; fi
set +e
PYTHONPATH=".${PYTHONPATH:+:${PYTHONPATH}}" "${PYTHON:-python3}" -m latentspeech train-lm --config "${config}" --data "${d}/phn/train" --latents "${d}/latents/train" \
    ${spk} --valid-data "${d}/phn/dev" --valid-latents "${d}/latents/dev" \
    --exp-dir "${exp}" --device "${DEVICE:-cuda}" ${resume} --set train.max_minutes="${minutes}" "$@" \
    > "${exp}/call.log" 2>&1
rc=$?
set -e
cat "${exp}/call.log" >> "${exp}/train.log"
grep -E "INFO|WARNING|ERROR|error" "${exp}/call.log" | grep -v "^  " | tail -n 30
tail -n 300 "${exp}/train.log" > "${out}/train_log_tail.txt"
if [ -f "${exp}/profile.txt" ]; then cp "${exp}/profile.txt" "${out}/"; fi  # --set train.profile_steps=N
[ "${rc}" = 0 ] || { echo "$0: train-lm failed (exit ${rc}); see ${out}/train_log_tail.txt" >&2; exit "${rc}"; }
PYTHONPATH=".${PYTHONPATH:+:${PYTHONPATH}}" "${PYTHON:-python3}" tools/device/slim_checkpoint.py "${exp}" "${out}" \
    ${SLIM_ALL:+--all}
