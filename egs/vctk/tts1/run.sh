#!/usr/bin/env bash
# VCTK (44 h, ~108 transcribed speakers, 48 kHz read speech, British accents): zero-shot TTS on 11
# held-out speakers. Corpus facts only: tts.sh does the work (./run.sh --help lists every option).
#   ./run.sh                                            CPU-sized configs
#   ./run.sh --vae_config conf/vae_paper.yaml --lm_config conf/lm_paper.yaml --ngpu 4   GPU configs
#   ./run.sh --local_data_opts "--download false --corpus_dir /data/VCTK-Corpus-0.92"  corpus on disk
set -euo pipefail

./tts.sh \
    --local_data_opts "" \
    --train_set train \
    --valid_set dev \
    --test_sets "test" \
    --vae_config conf/vae.yaml \
    --lm_config conf/lm.yaml \
    --decode_config conf/decode.yaml \
    "$@"
