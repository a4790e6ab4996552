#!/usr/bin/env bash
# VCTK → data/{train,dev,test}: download 0.92 (Edinburgh DataShare, 11 GB zip) when missing, then
# `latentspeech prepare vctk`. Handles the 0.92 layout (wav48_silence_trimmed/<spk>/<utt>_mic{1,2}.flac)
# and the older 0.80 one (wav48/<spk>/<utt>.wav); txt/<spk>/<utt>.txt in both. Test = YourTTS's 11 VCTK
# test speakers, dev = 4 more unseen speakers, train = the other ~94 transcribed speakers.
set -euo pipefail
log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*" >&2
}
. ./db.sh

download=true                   # fetch VCTK 0.92 if missing (needs network)
corpus_dir=${VCTK}              # holds VCTK-Corpus-0.92/ (or VCTK-Corpus/), or is one of them
datadir=data                    # output: <datadir>/{train,dev,test}
mic=mic1                        # 0.92 only: mic1 (omni, DPA 4035) | mic2 (small diaphragm, Sennheiser MKH 800)
test_speakers="p225 p234 p238 p245 p248 p261 p294 p302 p326 p335 p347"   # unseen in training
dev_speakers="p226 p228 p274 p299"                                        # unseen in training
url=https://datashare.ed.ac.uk/bitstream/handle/10283/3443/VCTK-Corpus-0.92.zip

help_message=$(cat <<EOS
Usage: $0 [options]
  --download       # download VCTK 0.92 if missing (default="${download}")
  --corpus_dir     # dir holding VCTK-Corpus-0.92/ (default="${corpus_dir}", from db.sh)
  --datadir        # output data dirs (default="${datadir}")
  --mic            # mic1 | mic2, 0.92 only (default="${mic}")
  --test_speakers  # space- or comma-separated; commas inside run.sh --local_data_opts (default="${test_speakers}")
  --dev_speakers   # space- or comma-separated (default="${dev_speakers}")
  --url            # archive URL (default="${url}")
EOS
)
. utils/parse_options.sh
if [ $# -ne 0 ]; then
    echo "$0: error: unexpected argument '$1' (see --help)" >&2
    exit 2
fi

has_corpus() {
    local d
    for d in "${corpus_dir}" "${corpus_dir}/VCTK-Corpus-0.92" "${corpus_dir}/VCTK-Corpus"; do
        [ -d "${d}/txt" ] && return 0
    done
    return 1
}
if [ "${download}" = true ]; then
    if ! has_corpus; then
        log "downloading VCTK 0.92 into ${corpus_dir}/VCTK-Corpus-0.92"
        # The zip holds wav48_silence_trimmed/, txt/, speaker-info.txt at its top level.
        utils/download_and_untar.sh "${url}" "${corpus_dir}/VCTK-Corpus-0.92" txt
    fi
elif [ ! -d "${corpus_dir}" ]; then
    echo "$0: error: corpus dir '${corpus_dir}' does not exist; pass --corpus_dir PATH (the dir holding VCTK-Corpus-0.92/) or --download true" >&2
    exit 1
fi

log "preparing ${datadir}/{train,dev,test} from ${corpus_dir}"
latentspeech prepare vctk "${corpus_dir}" "${datadir}" \
    --opt "mic=${mic}" --opt "test_speakers=${test_speakers}" --opt "dev_speakers=${dev_speakers}"
log "done: $(wc -l < "${datadir}/train/wav.scp") train, $(wc -l < "${datadir}/dev/wav.scp") dev, $(wc -l < "${datadir}/test/wav.scp") test utterances"
