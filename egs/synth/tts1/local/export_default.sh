#!/usr/bin/env bash
# Export the shipped default model: σ-VAE + a trained LM exp → ../../../pretrained/default (fp16), with four
# example prompts cut from held-out test speakers (voices never seen in training; licences allow shipping
# their audio: espeak-ng, SVOX pico, CMU flite rms). MBROLA voices are not shipped (non-commercial licence).
#   local/export_default.sh --lm_exp exp/lm_cpu [--vae vae_synth_cpu] [--datadir data] [--out ../../../pretrained/default]
set -euo pipefail

lm_exp=""
vae=vae_synth_cpu
datadir=data
out=../../../pretrained/default
decode_config=conf/decode.yaml
. utils/parse_options.sh

[ -n "${lm_exp}" ] || { echo "$0: error: give --lm_exp EXP_DIR (a train-lm exp dir)" >&2; exit 1; }
test_dir=${datadir}/test
[ -f "${test_dir}/wav.scp" ] || { echo "$0: error: ${test_dir}/wav.scp is missing; run stage 1 first" >&2; exit 1; }

# name  utt id (data/test) — 3-4 s each, one per base voice, two female and two male
prompts="espeak-f4:espeak-f4-s1_t005 espeak-m5:espeak-m5-s1_t010 pico-en-gb:pico-en-GB-s1_t003 flite-rms:rms-s1_t001"
list=$(mktemp)
trap 'rm -f "${list}"' EXIT
for item in ${prompts}; do
    name=${item%%:*}; utt=${item#*:}
    wav=$(awk -v u="${utt}" '$1 == u {print $2}' "${test_dir}/wav.scp")
    text=$(awk -v u="${utt}" '$1 == u {$1 = ""; sub(/^ /, ""); print}' "${test_dir}/text")
    [ -n "${wav}" ] && [ -n "${text}" ] || { echo "$0: error: utterance ${utt} is not in ${test_dir}" >&2; exit 1; }
    echo "${name}|$(realpath "${wav}")|${text}" >> "${list}"
done
latentspeech export-tts --vae "${vae}" --lm "${lm_exp}" --out "${out}" --dtype float16 \
    --decode-config "${decode_config}" --prompts "${list}" --force
