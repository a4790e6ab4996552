#!/usr/bin/env bash
# Command-line options → shell variables, for LatentSpeech recipe scripts (our own; same contract as
# Kaldi's utils/parse_options.sh). Source it after setting every option's default:
#
#   stage=1          # first stage to run
#   vae_args=""      # extra train-vae arguments
#   help_message="Usage: $0 [options]"
#   . utils/parse_options.sh
#
# Rules:
#   --foo-bar x and --foo-bar=x set foo_bar=x; only variables that already exist are options.
#   An option whose default is true/false is a boolean: its value must be true or false.
#   --help / -h prints $help_message and exits 0.
#   Unknown option, missing value or a non-boolean value for a boolean → one line on stderr, exit 2.
#   Parsing stops at the first argument not starting with -- (or after a lone --); the rest stays in "$@".

_po_prog=$(basename "$0")

while [ $# -gt 0 ]; do
    case "$1" in
        --help|-h)
            printf '%s\n' "${help_message:-Usage: ${_po_prog} [options]}"
            exit 0
            ;;
        --)
            shift
            break
            ;;
        --*=*)
            _po_name=${1%%=*}
            _po_value=${1#*=}
            shift
            ;;
        --?*)
            _po_name=$1
            if [ $# -lt 2 ]; then
                echo "${_po_prog}: error: option ${_po_name} needs a value (see --help)" >&2
                exit 2
            fi
            _po_value=$2
            shift 2
            ;;
        *)
            break
            ;;
    esac
    _po_var=${_po_name#--}
    _po_var=${_po_var//-/_}
    # A valid option is an existing, non-exported shell variable with a plain identifier name
    # (exported ones are the environment: PATH, HOME, ... are never options).
    _po_flags=""
    if [[ ${_po_var} =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] && [ -n "${!_po_var+set}" ]; then
        _po_flags=$(declare -p "${_po_var}" 2>/dev/null)
        _po_flags=${_po_flags#declare -}
        _po_flags=${_po_flags%% *}
    else
        _po_flags=unknown
    fi
    if [ "${_po_flags}" = unknown ] || [[ ${_po_flags} == *x* ]] || [[ ${_po_flags} == *[aA]* ]] \
        || [[ ${_po_var} == _po_* ]] || [ "${_po_var}" = help_message ]; then
        echo "${_po_prog}: error: unknown option ${_po_name} (see --help)" >&2
        exit 2
    fi
    _po_old=${!_po_var}
    if [ "${_po_old}" = true ] || [ "${_po_old}" = false ]; then
        if [ "${_po_value}" != true ] && [ "${_po_value}" != false ]; then
            echo "${_po_prog}: error: option ${_po_name} is a boolean: expected true or false, got '${_po_value}'" >&2
            exit 2
        fi
    fi
    printf -v "${_po_var}" '%s' "${_po_value}"
done
unset _po_name _po_value _po_var _po_old _po_flags
true
