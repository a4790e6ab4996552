#!/usr/bin/env bash
# Install LatentSpeech with everything the tests and the offline evaluators need, into the active
# Python environment (make one first: python3 -m venv .venv && . .venv/bin/activate).
#   tools/install.sh          # toolkit + train + eval + test extras
#   tools/install.sh --system # also apt packages for building the offline synth corpus (needs root)
# Why a script and not one pip line: resemblyzer 0.1.4 (the offline speaker-similarity model) depends
# on `webrtcvad`, which must compile and fails with new setuptools; `webrtcvad-wheels` provides the same
# module prebuilt, so resemblyzer is installed with --no-deps after it.
set -euo pipefail
cd "$(dirname "$0")/.."
pip install --upgrade pip
# torch 2.14.1 + torchaudio 2.11.0 import together (torchaudio 2.11 does not pin torch).
pip install "torch==2.14.1" "torchaudio==2.11.0"
pip install -e ".[test]"
pip install "webrtcvad-wheels>=2.0.11"
pip install --no-deps "resemblyzer==0.1.4"
if [ "${1:-}" = "--system" ]; then
    apt-get update -qq
    apt-get install -y --no-install-recommends espeak-ng sox libsox-fmt-all flite festival \
        festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
fi
