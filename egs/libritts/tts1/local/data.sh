#!/usr/bin/env bash
# LibriTTS → data/{train,dev,test}: download missing subsets from openslr (resource 60; LibriTTS-R is
# resource 141 with the same layout), then `latentspeech prepare libritts` (official splits:
# train-clean-100 + train-clean-360 → train, dev-clean → dev, test-clean → test; speakers disjoint).
# Download: train-clean-100 6.3 GB, train-clean-360 23 GB, dev-clean 1.2 GB, test-clean 1.2 GB.
set -euo pipefail
log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*" >&2
}
. ./db.sh

download=true                                # fetch subsets that are missing (needs network)
corpus_dir=${LIBRITTS}                       # holds LibriTTS/ (or is it); downloads go here
datadir=data                                 # output: <datadir>/{train,dev,test}
train_subsets="train-clean-100 train-clean-360"  # → train
dev_subsets="dev-clean"                      # → dev
test_subsets="test-clean"                    # → test (zero-shot: speakers unseen in train)
text_kind=normalized                         # normalized | original transcripts
url=https://www.openslr.org/resources/60     # mirrors: https://us.openslr.org/resources/60, https://openslr.elda.org/resources/60

help_message=$(cat <<EOS
Usage: $0 [options]
  --download       # download missing subsets (default="${download}")
  --corpus_dir     # dir holding LibriTTS/ (default="${corpus_dir}", from db.sh)
  --datadir        # output data dirs (default="${datadir}")
  --train_subsets  # space- or comma-separated; commas inside run.sh --local_data_opts (default="${train_subsets}")
  --dev_subsets    # (default="${dev_subsets}")
  --test_subsets   # (default="${test_subsets}")
  --text_kind      # normalized | original (default="${text_kind}")
  --url            # openslr base URL (default="${url}")
EOS
)
. utils/parse_options.sh
if [ $# -ne 0 ]; then
    echo "$0: error: unexpected argument '$1' (see --help)" >&2
    exit 2
fi

if [ "${download}" = true ]; then
    for subset in ${train_subsets} ${dev_subsets} ${test_subsets}; do
        if [ -d "${corpus_dir}/LibriTTS/${subset}" ] || [ -d "${corpus_dir}/${subset}" ]; then
            continue
        fi
        log "downloading LibriTTS ${subset} into ${corpus_dir}"
        utils/download_and_untar.sh "${url}/${subset}.tar.gz" "${corpus_dir}" "LibriTTS/${subset}"
    done
elif [ ! -d "${corpus_dir}" ]; then
    echo "$0: error: corpus dir '${corpus_dir}' does not exist; pass --corpus_dir PATH (the dir holding LibriTTS/) or --download true" >&2
    exit 1
fi

log "preparing ${datadir}/{train,dev,test} from ${corpus_dir}"
latentspeech prepare libritts "${corpus_dir}" "${datadir}" \
    --opt "train_subsets=${train_subsets}" --opt "dev_subsets=${dev_subsets}" \
    --opt "test_subsets=${test_subsets}" --opt "text_kind=${text_kind}"
log "done: $(wc -l < "${datadir}/train/wav.scp") train, $(wc -l < "${datadir}/dev/wav.scp") dev, $(wc -l < "${datadir}/test/wav.scp") test utterances"
