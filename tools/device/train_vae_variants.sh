#!/usr/bin/env bash
# On a lent GPU machine: fine-tune the σ-VAE's decoder in several variants at once on its one GPU, MINUTES of
# wall-clock time each (train.max_minutes). Data: the audio pool of tools/device/stage_vae_audio.sh, which this
# script first adds its own call's .device/vae to (tools/device/pack_vae_audio.py: FLAC audio, the VAE to start
# from, wheels for soundfile and encodec, which the device image lacks). The encoder stays frozen
# (train.freeze_encoder), so latent dumps and LMs made with the VAE stay valid.
#   device run: command="bash tools/device/train_vae_variants.sh 8 gan=loss.gan_start_step=0
#               mel=loss.gan_start_step=1000000000 -- --set data.batch_size=32", carry=[".device/vae"], timeout_s=600
# VARIANT is NAME=[KEY=VALUE[,KEY=VALUE...]] as in train_lm_variants.sh (tools/device/variants.sh); a later
# --set wins, so `-- --set train.freeze_encoder=false` trains the encoder too (and makes new latents).
# Back: $OUT/NAME.safetensors (the decoder, fp16, newest checkpoint), $OUT/NAME_half.safetensors (the checkpoint
# nearest half-way, when there is one; only for the variants HALF names, default all: the device tool returns
# ≤ 64 MiB, five 12 MB decoders) and $OUT/train_logs.txt. Then, here, per decoder:
#   python tools/device/vae_decoder.py swap vae_synth_causal FILES_AT/NAME.safetensors exp/vae_NAME
# Environment: CONFIG (egs/synth/tts1/conf/vae.yaml), PYTHON (python3), EXP_ROOT (exp), POOL (EXP_ROOT/vae_pool),
# DEVICE_DIR (.device).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tools/device/variants.sh
parse_variant_args "usage: $0 MINUTES NAME=[KEY=VALUE,...] ... [-- train-vae options]" "$@"
minutes=${limit}
out=${OUT:?OUT must name the folder whose files come back}
py=${PYTHON:-python3}
pool=${POOL:-${EXP_ROOT:-exp}/vae_pool}
export POOL=${pool}
bash tools/device/stage_vae_audio.sh
[ -s "${pool}/audio/train/wav.scp" ] && [ -d "${pool}/init" ] || {
    echo "$0: error: no audio or init VAE in ${pool}; run tools/device/pack_vae_audio.py --vae ... and carry .device/vae" >&2; exit 1; }
mkdir -p "${out}"
if compgen -G "${pool}/whl/*.whl" > /dev/null; then
    "${py}" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/vae_site "${pool}"/whl/*.whl
    export PYTHONPATH=/tmp/vae_site${PYTHONPATH:+:${PYTHONPATH}}
fi
export PYTHONPATH=.:${PYTHONPATH:-}
logs="${out}/train_logs.txt"
{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2> /dev/null || true; } > "${logs}"

run_variant() {  # NAME SPEC
    local name=$1 exp=${EXP_ROOT:-exp}/vae_device_$1 resume=""
    variant_sets "$2"
    mkdir -p "${exp}"
    if compgen -G "${exp}/checkpoints/step_*.pt" > /dev/null; then resume=--resume; fi
    "${py}" -m latentspeech train-vae --config "${CONFIG:-egs/synth/tts1/conf/vae.yaml}" --data "${pool}/audio/train" \
        --valid-data "${pool}/audio/dev" --exp-dir "${exp}" --init-from "${pool}/init" ${resume} \
        --set train.freeze_encoder=true --set data.preload=true --set train.max_minutes="${minutes}" \
        "${sets[@]}" "${common[@]}" > "${exp}/call.log" 2>&1
}

rc=0
run_variants_concurrently "${logs}" || rc=1
for v in "${variants[@]}"; do
    name=${v%%=*}
    exp=${EXP_ROOT:-exp}/vae_device_${name}
    { echo "=== ${v}"; grep -vE "^\s*$" "${exp}/call.log" | tail -n 60; } >> "${logs}" 2>&1 || true
    if compgen -G "${exp}/checkpoints/step_*.pt" > /dev/null; then
        "${py}" tools/device/vae_decoder.py extract "${exp}" "${out}/${name}.safetensors" >> "${logs}" 2>&1 || rc=1
        steps=$(ls "${exp}"/checkpoints/step_*.pt | sed -E 's/.*step_0*([0-9]+)\.pt/\1/' | sort -n)
        last=$(echo "${steps}" | tail -n 1)
        half=$(echo "${steps}" | awk -v h="$((last / 2))" '{d = $1 - h; d = d < 0 ? -d : d} NR == 1 || d < best {best = d; s = $1} END {print s}')
        if [ "${half}" != "${last}" ] && [[ " ${HALF:-${name}} " == *" ${name} "* ]]; then
            "${py}" tools/device/vae_decoder.py extract "${exp}" "${out}/${name}_half.safetensors" --step "${half}" >> "${logs}" 2>&1 || rc=1
        fi
    fi
done
grep -E "^=== |valid|max_minutes|Error|error" "${logs}" | tail -n 60
for v in "${variants[@]}"; do grep -E "it/s$" "${EXP_ROOT:-exp}/vae_device_${v%%=*}/call.log" | tail -n 1; done
exit "${rc}"
