#!/usr/bin/env bash
# LibriTTS (585 h, 2,456 speakers, 24 kHz read audiobooks): zero-shot TTS on test-clean's unseen speakers.
# Corpus facts only: tts.sh does the work (./run.sh --help lists every option).
#   ./run.sh                                  CPU-sized configs (conf/vae.yaml, conf/lm.yaml)
#   ./run.sh --vae_config conf/vae_paper.yaml --lm_config conf/lm_paper.yaml --ngpu 8   paper scale (GPUs)
#   ./run.sh --local_data_opts "--download false --corpus_dir /data/corpora"           corpus already on disk
# Evaluation: LibriTTS test-clean targets of 4-10 s (the length filter VALL-E and LatentLM apply to LibriSpeech
# test-clean), continuation (3 s prompt cut from the same utterance) and cross-sentence (another utterance of
# the same unseen speaker) lists. CPU users: add --local_data_opts "--train_subsets train-clean-100".
set -euo pipefail

./tts.sh \
    --local_data_opts "" \
    --train_set train \
    --valid_set dev \
    --test_sets "test" \
    --vae_config conf/vae.yaml \
    --lm_config conf/lm.yaml \
    --decode_config conf/decode.yaml \
    --eval_list_args "--min-seconds 4 --max-seconds 10" \
    "$@"
