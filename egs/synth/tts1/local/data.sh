#!/usr/bin/env bash
# Stage 1 of egs/synth/tts1: synthesise the offline multi-speaker English corpus into ${corpus_dir} and write
# ${datadir}/{train,dev,test} (test = speakers of held-out base voices, dev = a few utterances per training
# speaker). Run from egs/synth/tts1.
#
# System packages: installs them itself with apt when a binary is missing (as root, or via sudo): espeak-ng,
# sox, flite, festival + voices from Debian main; MBROLA voices, SVOX pico and RHVoice (+ festival rab/don) from Debian contrib/non-free
# through a private apt sources dir (/etc/apt is not modified). --install_deps false skips this; the corpus
# then uses whatever voices are installed (`latentspeech prepare-synth --list-voices`).
#
# Measured (shared, loaded 2-core x86 VM, --nj 1 under nice 10): --hours 6 → train 5.96 h / 6215 utts /
# 105 speakers, dev 0.20 h / 210 utts, test 0.43 h / 420 utts / 21 held-out speakers (42 base voices, 7 held
# out), 741 MB, 8.5 min. Re-running resumes: finished wavs are kept; --hours 0.02 (CI) takes ~10 s.
set -euo pipefail

log() {
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}) $*" >&2
}

corpus_dir=downloads/synth   # where the wavs, speakers.tsv and utts.tsv go
datadir=data                 # kaldi data dirs: ${datadir}/{train,dev,test}
hours=10                     # hours of training audio (dev and test come on top)
nj=$(nproc)                  # parallel synthesis threads
seed=0                       # speaker parameters and sentence choice
install_deps=true            # apt-install missing engines and voices (needs root or sudo)
extra_voices=false           # also the opt-in voices added 2026-11-27 (RHVoice bdl/clb/evgeniy-eng/lyubov, festival rab/don)

help_message="Usage: $0 [options]
Synthesise the offline multi-speaker corpus and write ${datadir}/{train,dev,test}.
Installs espeak-ng, sox, flite, festival, MBROLA, pico and RHVoice voices with apt when missing (root or sudo).
Options:
  --corpus_dir    # audio output dir (default=${corpus_dir})
  --datadir       # data dirs root (default=${datadir})
  --hours         # hours of training audio (default=${hours})
  --nj            # parallel synthesis threads (default=${nj})
  --seed          # speaker parameters and texts (default=${seed})
  --install_deps  # apt-install missing engines (default=${install_deps})
  --extra_voices  # also the 6 opt-in voices added 2026-11-27 (default=${extra_voices})"

. utils/parse_options.sh

if [ $# -ne 0 ]; then
    printf '%s\n' "${help_message}" >&2
    exit 2
fi

install_system_packages() {
    local missing=() sudo=""
    for bin in espeak-ng sox flite festival pico2wave mbrola RHVoice-test; do
        command -v "${bin}" > /dev/null || missing+=("${bin}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo > /dev/null && sudo -n true 2> /dev/null; then
            sudo=sudo
        else
            log "warning: missing ${missing[*]} and not root (no password-less sudo): continuing with the installed" \
                "voices; install them with: sudo tools/install.sh --system"
            return 0
        fi
    fi
    log "installing ${missing[*]} and voices with apt"
    ${sudo} apt-get update -qq
    ${sudo} apt-get install -y -qq --no-install-recommends espeak-ng sox libsox-fmt-all flite festival \
        festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts > /dev/null
    # MBROLA, pico and RHVoice live in Debian contrib/non-free: a private sources dir enables them for this call only.
    local nf apto
    nf=$(mktemp -d)
    mkdir -p "${nf}/sp" "${nf}/lists/partial"
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        sed 's/^Components: main$/Components: main contrib non-free/' /etc/apt/sources.list.d/debian.sources \
            > "${nf}/sp/nf.sources"
    elif [ -f /etc/apt/sources.list ]; then
        sed -E 's/^(deb .* main)$/\1 contrib non-free/' /etc/apt/sources.list > "${nf}/sp/nf.list"
    fi
    apto=(-o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=${nf}/sp" -o "Dir::State::Lists=${nf}/lists")
    if ${sudo} apt-get "${apto[@]}" update -qq && ${sudo} apt-get "${apto[@]}" install -y -qq --no-install-recommends \
        mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1 festvox-us1 festvox-us2 festvox-us3 festvox-en1 \
        libttspico-utils mbrola-de1 mbrola-de2 mbrola-de3 mbrola-de4 mbrola-de5 mbrola-de6 mbrola-fr1 mbrola-fr4 \
        mbrola-nl2 mbrola-sw1 mbrola-sw2 mbrola-pl1 mbrola-hu1 mbrola-af1 mbrola-gr2 mbrola-ro1 \
        rhvoice rhvoice-english festvox-rablpc16k festvox-don > /dev/null; then
        log "installed MBROLA, pico and RHVoice voices"
    else
        log "warning: MBROLA/pico/RHVoice (Debian contrib/non-free) could not be installed; continuing with fewer voices"
    fi
    rm -rf "${nf}"
}

if [ "${install_deps}" = true ]; then
    install_system_packages
fi

log "synthesising ${hours} h into ${corpus_dir} (nj=${nj}) -> ${datadir}/{train,dev,test}"
latentspeech prepare-synth --corpus-dir "${corpus_dir}" --data-dir "${datadir}" --hours "${hours}" \
    --nj "${nj}" --seed "${seed}" $([ "${extra_voices}" = true ] && echo --extra-voices)
latentspeech validate-data "${datadir}/train" "${datadir}/dev" "${datadir}/test"
log "done"
