#!/usr/bin/env bash
# LJSpeech 1.1 (24 h, one female speaker, 22.05 kHz): single-speaker TTS; test prompts are held-out
# clips of the same voice (speaker-seen, not zero-shot). Corpus facts only: tts.sh does the work.
#   ./run.sh                                            CPU-sized configs
#   ./run.sh --vae_config conf/vae_paper.yaml --lm_config conf/lm_paper.yaml --ngpu 4   GPU configs
#   ./run.sh --local_data_opts "--download false --corpus_dir /data/LJSpeech-1.1"      corpus on disk
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
