# Environment for the recipe scripts (sourced by tts.sh): the toolkit's virtualenv, utils/ on PATH.
# Resolves through the egs/<corpus>/tts1/path.sh symlink to the repository root.
MAIN_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
export MAIN_ROOT
if [ -z "${VIRTUAL_ENV:-}" ] && [ -f "${MAIN_ROOT}/.venv/bin/activate" ]; then
    # shellcheck disable=SC1091
    . "${MAIN_ROOT}/.venv/bin/activate"
fi
export PATH="${MAIN_ROOT}/recipes/tts1/utils:${PATH}"
export PYTHONUNBUFFERED=1           # logs appear as they are written
export PYTHONIOENCODING=utf-8       # IPA in logs and text files
