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
    # Engines and voices of the offline synth corpus (egs/synth/tts1/local/data.sh installs the same itself).
    apt-get update -qq
    apt-get install -y --no-install-recommends espeak-ng sox libsox-fmt-all flite festival \
        festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
    # MBROLA, SVOX pico and RHVoice are in Debian contrib/non-free: enable them for these two calls only through a
    # private apt sources dir (/etc/apt stays untouched). Failure here only means fewer corpus voices.
    nf=$(mktemp -d)
    mkdir -p "${nf}/sp" "${nf}/lists/partial"
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        sed 's/^Components: main$/Components: main contrib non-free/' /etc/apt/sources.list.d/debian.sources \
            > "${nf}/sp/nf.sources"
    elif [ -f /etc/apt/sources.list ]; then
        sed -E 's/^(deb .* main)$/\1 contrib non-free/' /etc/apt/sources.list > "${nf}/sp/nf.list"
    fi
    apto=(-o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=${nf}/sp" -o "Dir::State::Lists=${nf}/lists")
    apt-get "${apto[@]}" update -qq && apt-get "${apto[@]}" install -y --no-install-recommends \
        mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1 festvox-us1 festvox-us2 festvox-us3 festvox-en1 \
        libttspico-utils mbrola-de1 mbrola-de2 mbrola-de3 mbrola-de4 mbrola-de5 mbrola-de6 mbrola-fr1 mbrola-fr4 \
        mbrola-nl2 mbrola-sw1 mbrola-sw2 mbrola-pl1 mbrola-hu1 mbrola-af1 mbrola-gr2 mbrola-ro1 \
        rhvoice rhvoice-english festvox-rablpc16k festvox-don \
        || echo "install.sh: warning: MBROLA/pico/RHVoice (contrib/non-free) not installed; the synth corpus has fewer voices" >&2
    rm -rf "${nf}"
fi
