#!/usr/bin/env bash
# Download an archive (unless already there) and extract it (unless already extracted).
#   utils/download_and_untar.sh URL DEST_DIR [EXPECTED_PATH]
# DEST_DIR/.<archive>.complete marks a finished extraction; EXPECTED_PATH (relative to DEST_DIR) is
# checked afterwards. Needs network (wget or curl); exits 1 with one line on any failure.
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 URL DEST_DIR [EXPECTED_PATH]" >&2
    exit 2
fi
url=$1
dest=$2
expected=${3:-}
archive=$(basename "${url%%\?*}")
mkdir -p "${dest}"
if [ -f "${dest}/.${archive}.complete" ]; then
    echo "$0: ${archive} already extracted in ${dest}" >&2
    exit 0
fi
if [ ! -s "${dest}/${archive}" ]; then
    echo "$0: downloading ${url} -> ${dest}/${archive}" >&2
    if command -v wget > /dev/null; then
        wget --continue --tries 3 -O "${dest}/${archive}.part" "${url}" \
            || { echo "$0: error: could not download ${url} (no network? download it by hand into ${dest})" >&2; exit 1; }
    elif command -v curl > /dev/null; then
        curl -fL --retry 3 -C - -o "${dest}/${archive}.part" "${url}" \
            || { echo "$0: error: could not download ${url} (no network? download it by hand into ${dest})" >&2; exit 1; }
    else
        echo "$0: error: neither wget nor curl is installed; download ${url} into ${dest} by hand" >&2
        exit 1
    fi
    mv "${dest}/${archive}.part" "${dest}/${archive}"
fi
echo "$0: extracting ${dest}/${archive}" >&2
case "${archive}" in
    *.zip) unzip -q -o "${dest}/${archive}" -d "${dest}" ;;
    *.tar.gz|*.tgz|*.tar.bz2|*.tar) tar -xf "${dest}/${archive}" -C "${dest}" ;;
    *) echo "$0: error: unknown archive type: ${archive}" >&2; exit 1 ;;
esac || { echo "$0: error: extracting ${dest}/${archive} failed (truncated download? delete it and retry)" >&2; exit 1; }
if [ -n "${expected}" ] && [ ! -e "${dest}/${expected}" ]; then
    echo "$0: error: ${archive} did not contain ${expected}" >&2
    exit 1
fi
touch "${dest}/.${archive}.complete"
