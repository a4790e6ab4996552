#!/usr/bin/env bash
# Offline synthetic multi-speaker English corpus (espeak-ng/flite/festival voices + seeded pitch shifts;
# test = held-out speakers with unseen base voices), 16 kHz. Corpus facts only: tts.sh does the work.
#   ./run.sh --tiny true     every stage 1-8 on a tiny corpus with tiny models (CI / smoke test; the models
#                            are untrained, WER ~100%: it checks the plumbing). Measured 2026-11-25 on a 2-core
#                            AMD EPYC VM shared with other jobs (load ~5), OMP_NUM_THREADS=1: 99 s in all =
#                            stage 1 9 s (20 train / 4 dev / 40 test utts) · 2 <1 s · 3 2 s · 4 6 s · 5 6 s ·
#                            6 10 s · 7 24 s (2 lists x 4 utts, ≤ 6 s each) · 8 42 s (Whisper tiny.en + resemblyzer).
#                            Output: exp/lm_lm_tiny_vae_tiny/decode_decode_max-seconds_6_steps_4/RESULTS.md
#   ./run.sh                 the shipped CPU models (conf/vae.yaml, conf/lm.yaml) on the full corpus
#   ./run.sh --stage 6 --stop_stage 6 --lm_args "--set train.max_steps=20"   one stage, one override
#   ./run.sh --tempo_factors "0.8 1.25" --tempo_every 6   the LM also learns from tempo-perturbed copies of a
#                            sixth of the train set (stage 2 makes them; README "Recipes")
set -euo pipefail

. ./db.sh

# Peek at --tiny to pick the configs; tts.sh parses every option (--tiny included) itself,
# and the user's own options come last, so they still win.
tiny=false
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
        --tiny) tiny=${args[i + 1]:-} ;;
        --tiny=*) tiny=${args[i]#--tiny=} ;;
    esac
done

if [ "${tiny}" = true ]; then
    vae_config=conf/vae_tiny.yaml
    lm_config=conf/lm_tiny.yaml
    local_data_opts="--hours 0.02 --corpus_dir ${SYNTH}_tiny --install_deps false --nj 2"
    decode_args="--max-seconds 6 --steps 4"   # an untrained LM rarely stops: cap each utterance
    nj=2
else
    vae_config=conf/vae.yaml
    lm_config=conf/lm.yaml
    local_data_opts="--corpus_dir ${SYNTH}"
    decode_args=""
    nj=4
fi

./tts.sh \
    --local_data_opts "${local_data_opts}" \
    --train_set train \
    --valid_set dev \
    --test_sets "test" \
    --vae_config "${vae_config}" \
    --lm_config "${lm_config}" \
    --decode_config conf/decode.yaml \
    --decode_args "${decode_args}" \
    --nj "${nj}" \
    "$@"
