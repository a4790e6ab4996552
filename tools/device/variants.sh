# Sourced by speed_probe.sh and train_lm_variants.sh: their shared command line
#   SCRIPT LIMIT NAME=[KEY=VALUE[,KEY=VALUE...]] ... [-- train-lm options]
# A variant's pairs become `--set KEY=VALUE`; no commas inside a value: write lists with ';' for ',', e.g.
# train.attention_backends=[flash;math]. Sets: limit, variants (array), common (array: options after --).
# variant_sets SPEC sets the array `sets` (--set KEY=VALUE ...) of one variant's spec.

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
