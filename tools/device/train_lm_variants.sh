#!/usr/bin/env bash
# On a lent GPU machine: train several LM variants at once on its one GPU, MINUTES of wall-clock time in all, each
# through train_lm.sh (own exp dir $EXP_ROOT/device_NAME, EXP_ROOT default exp; own $OUT/NAME). A ~10M-parameter
# LM leaves an H100/H200 mostly idle, so concurrent runs slow each other little. A probe of PROBE_MINUTES (default 1) measures each
# run's speed (the median of its log windows); the run then resumes with train.max_steps set so that its cosine
# schedule ends just before the deadline (at 95% of the probe's rate).
#   device run: command="bash tools/device/train_lm_variants.sh 8.5 shared= sepos=model.separate_positions=true
#               -- --set data.num_workers=4", carry=[".device"], timeout_s=600
# VARIANT is NAME=[KEY=VALUE[,KEY=VALUE...]] (each pair becomes --set KEY=VALUE; lists are written with ';' for ',',
# tools/device/variants.sh); options after -- go to every run.
# Back: $OUT/NAME/lm_step_N.pt.part* (two pieces for a 10M LM) and $OUT/train_logs.txt (nvidia-smi, each run's
# log tail): three variants fit the device tool's 8 returned files. Then, here, per variant:
#   tools/device/unpack.sh FILES_AT/NAME exp/lm_NAME
set -euo pipefail
cd "$(dirname "$0")/../.."
. tools/device/variants.sh
parse_variant_args "usage: $0 MINUTES NAME=[KEY=VALUE,...] ... [-- train-lm options]" "$@"
minutes=${limit}
out=${OUT:?OUT must name the folder whose files come back}
probe=${PROBE_MINUTES:-1}
reserve=${RESERVE_SECONDS:-60}  # start-up of the second phase + writing the slim checkpoint
t0=$(date +%s)
minutes_s=$(awk -v m="${minutes}" 'BEGIN { printf "%d", m * 60 }')
mkdir -p "${out}"
d=${DEVICE_DIR:-.device}/dump  # unpack a TGZ=1 dump once, before the runs start side by side
if [ ! -d "${d}" ] && [ -f "${d}.tgz" ]; then tar xzf "${d}.tgz" -C "$(dirname "${d}")"; fi
logs="${out}/train_logs.txt"
{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2> /dev/null || true; } > "${logs}"

run_variant() {  # NAME SETS: probe, then the rest of the time budget with a fitted schedule
    local name=$1 spec=$2 sets probe_out steps rate left max_steps
    variant_sets "${spec}"
    export EXP=${EXP_ROOT:-exp}/device_${name}
    probe_out=$(mktemp -d)
    OUT=${probe_out} bash tools/device/train_lm.sh "${probe}" "${sets[@]}" "${common[@]}" \
        --set train.max_steps=100000000 > /dev/null
    rm -rf "${probe_out}"
    steps=$(ls "${EXP}"/checkpoints/step_*.pt | sort | tail -n 1 | sed -E 's/.*step_0*([0-9]+)\.pt/\1/')
    # the median of the probe's log windows (the first, with the start-up, left out): the last window alone can run
    # while a neighbour validates or saves, and overstate the rate (a schedule that never reaches its end)
    rates=$(grep -oE "[0-9.]+ it/s" "${EXP}/call.log" | cut -d' ' -f1 || true)
    rate=$( (tail -n +2 <<< "${rates}" | grep . || echo "${rates}") | sort -g \
        | awk '{ v[NR] = $1 } END { if (NR && v[1] != "") print v[int((NR + 1) / 2)] }')
    left=$(( minutes_s - ($(date +%s) - t0) - reserve ))
    max_steps=$(awk -v s="${steps}" -v r="${rate:-0}" -v l="${left}" 'BEGIN { printf "%d", s + (l > 0 ? 0.95 * r * l : 0) }')
    echo "${name}: probe ${steps} steps at ${rate:-?} it/s; ${left} s left → train.max_steps=${max_steps}" >> "${logs}"
    OUT=${out}/${name} bash tools/device/train_lm.sh "$(awk -v l="${left}" 'BEGIN { print (l > 30 ? l : 30) / 60 }')" \
        "${sets[@]}" "${common[@]}" --set train.max_steps="${max_steps}" > /dev/null
}

rc=0
run_variants_concurrently "${logs}" || rc=1
for v in "${variants[@]}"; do
    name=${v%%=*}
    { echo "=== ${v}"; cat "${out}/${name}/train_log_tail.txt" 2> /dev/null || tail -n 100 "${EXP_ROOT:-exp}/device_${name}/train.log"; } >> "${logs}"
    rm -f "${out}/${name}/train_log_tail.txt"
done
grep -E "^(=== |[a-zA-Z0-9_-]+: probe)|valid" "${logs}" | tail -n 40
exit "${rc}"
