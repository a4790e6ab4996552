#!/usr/bin/env bash
# On a lent GPU machine: how fast does LM training run under each variant, ALONE (one after another, a fresh exp
# dir each, SECONDS of wall-clock time each)? Prints and writes $OUT/speed.txt: NAME, steps made, median it/s over
# the second half of the run's logged rates (start-up and cache warm-up left out). Weights are not returned.
#   device run: command="bash tools/device/speed_probe.sh 45 old=train.attention_backends=[cudnn;flash;efficient;math]
#               new= padded=data.pad_multiple=16 -- --set data.max_batch_seconds=400 --set data.num_workers=4",
#               carry=[".device"]
# VARIANT is NAME=[KEY=VALUE[,KEY=VALUE...]] as in train_lm_variants.sh (tools/device/variants.sh: lists are
# written with ';' for ','); options after -- go to every run.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tools/device/variants.sh
parse_variant_args "usage: $0 SECONDS NAME=[KEY=VALUE,...] ... [-- train-lm options]" "$@"
seconds=${limit}
out=${OUT:?OUT must name the folder whose files come back}
mkdir -p "${out}"
root=$(mktemp -d)
trap 'rm -rf "${root}"' EXIT
report="${out}/speed.txt"
printf "%-16s %8s %10s   %s\n" variant steps "it/s" settings | tee "${report}"
for v in "${variants[@]}"; do
    name=${v%%=*} spec=${v#*=}
    variant_sets "${spec}"
    EXP="${root}/${name}" OUT="${root}/${name}_out" bash tools/device/train_lm.sh \
        "$(awk -v s="${seconds}" 'BEGIN { print s / 60 }')" "${sets[@]}" "${common[@]}" \
        --set train.max_steps=100000000 --set train.log_every=10 --set train.valid_every=100000000 \
        --set train.save_every=100000000 > /dev/null || { echo "${name}: train-lm failed" | tee -a "${report}"; continue; }
    steps=$(grep -oE "finished at step [0-9]+|max_minutes=[0-9.e+-]+ reached at step [0-9]+" "${root}/${name}/call.log" \
        | grep -oE "[0-9]+$" | tail -n 1)
    rate=$(grep -oE "[0-9.]+ it/s" "${root}/${name}/call.log" | cut -d' ' -f1 | "${PYTHON:-python3}" -c \
        "import statistics, sys; r = [float(x) for x in sys.stdin]; print(statistics.median(r[len(r) // 2:]) if r else '?')")
    printf "%-16s %8s %10s   %s\n" "${name}" "${steps:-?}" "${rate}" "${spec:-defaults}" | tee -a "${report}"
done
