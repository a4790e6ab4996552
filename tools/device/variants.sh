# Sourced by speed_probe.sh, train_lm_variants.sh and train_vae_variants.sh: their shared command line
#   SCRIPT LIMIT NAME=[KEY=VALUE[,KEY=VALUE...]] ... [-- train-lm or train-vae options]
# A variant's pairs become `--set KEY=VALUE`; no commas inside a value: write lists with ';' for ',', e.g.
# train.attention_backends=[flash;math]. Sets: limit, variants (array), common (array: options after --).
# variant_sets SPEC sets the array `sets` (--set KEY=VALUE ...) of one variant's spec.
# run_variants_concurrently LOGS runs the caller's run_variant NAME SPEC for all variants at once.

parse_variant_args() {  # parse_variant_args USAGE "$@"
    local usage=$1
    shift
    [ $# -ge 2 ] || { echo "${usage}" >&2; exit 2; }
    limit=$1
    shift
    variants=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do variants+=("$1"); shift; done
    [ $# -eq 0 ] || shift
    common=("$@")
    local v
    for v in "${variants[@]}"; do
        [[ "${v}" =~ ^[A-Za-z0-9_-]+= ]] || { echo "$0: error: variant '${v}' is not NAME=[KEY=VALUE,...]" >&2; exit 2; }
    done
}

variant_sets() {  # variant_sets SPEC
    local kv p
    sets=()
    IFS=',' read -r -a kv <<< "$1"
    for p in "${kv[@]}"; do [ -z "${p}" ] || sets+=(--set "${p//;/,}"); done
}

run_variants_concurrently() {  # run_variants_concurrently LOGS: the caller's run_variant NAME SPEC for every variant
    local logs=$1 v k rc=0       # at once, in the background; a failure is noted in LOGS; returns 1 if any failed
    local pids=()
    for v in "${variants[@]}"; do
        run_variant "${v%%=*}" "${v#*=}" &
        pids+=($!)
    done
    for k in "${!pids[@]}"; do
        wait "${pids[$k]}" || { rc=1; echo "variant ${variants[$k]} failed" >> "${logs}"; }
    done
    return "${rc}"
}
