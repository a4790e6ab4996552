#!/usr/bin/env bash
# LJSpeech 1.1 → data/{train,dev,test}: download (keithito.com, 2.6 GB) when missing, then
# `latentspeech prepare ljspeech`. Split (ESPnet's): the last 500 clips by id → 250 dev + 250 test,
# the other 12,600 → train. One speaker: evaluation prompts are other clips of the same voice.
set -euo pipefail
log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*" >&2
}
. ./db.sh

download=true                   # fetch the corpus if missing (needs network)
corpus_dir=${LJSPEECH}          # holds LJSpeech-1.1/ (or is it); the download goes here
datadir=data                    # output: <datadir>/{train,dev,test}
n_dev=250                       # dev clips (taken from the end, before test)
n_test=250                      # test clips (the last ones)
text_kind=normalized            # normalized | raw (metadata.csv column 3 / 2)
url=https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2

help_message=$(cat <<EOS
Usage: $0 [options]
  --download    # download the corpus if missing (default="${download}")
  --corpus_dir  # dir holding LJSpeech-1.1/ (default="${corpus_dir}", from db.sh)
  --datadir     # output data dirs (default="${datadir}")
  --n_dev       # dev clips (default="${n_dev}")
  --n_test      # test clips (default="${n_test}")
  --text_kind   # normalized | raw (default="${text_kind}")
  --url         # archive URL (default="${url}")
EOS
)
. utils/parse_options.sh
if [ $# -ne 0 ]; then
    echo "$0: error: unexpected argument '$1' (see --help)" >&2
    exit 2
fi

if [ "${download}" = true ]; then
    if [ ! -f "${corpus_dir}/LJSpeech-1.1/metadata.csv" ] && [ ! -f "${corpus_dir}/metadata.csv" ]; then
        log "downloading LJSpeech into ${corpus_dir}"
        utils/download_and_untar.sh "${url}" "${corpus_dir}" LJSpeech-1.1/metadata.csv
    fi
elif [ ! -d "${corpus_dir}" ]; then
    echo "$0: error: corpus dir '${corpus_dir}' does not exist; pass --corpus_dir PATH (the dir holding LJSpeech-1.1/) or --download true" >&2
    exit 1
fi

log "preparing ${datadir}/{train,dev,test} from ${corpus_dir}"
latentspeech prepare ljspeech "${corpus_dir}" "${datadir}" \
    --opt "n_dev=${n_dev}" --opt "n_test=${n_test}" --opt "text_kind=${text_kind}"
log "done: $(wc -l < "${datadir}/train/wav.scp") train, $(wc -l < "${datadir}/dev/wav.scp") dev, $(wc -l < "${datadir}/test/wav.scp") test utterances"
