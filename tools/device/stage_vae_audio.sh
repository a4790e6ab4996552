#!/usr/bin/env bash
# On a lent GPU machine: add the audio carried in .device/vae (tools/device/pack_vae_audio.py) to a pool that
# stays on the machine while it is warm (POOL, default exp/vae_pool; git ignores exp/), with the init VAE and the
# wheels when the call carries them. Several calls in a row, each carrying another --part, gather more audio than
# one call's 64 MiB; train_vae_variants.sh stages its own call's audio first and trains on the whole pool.
#   device run: command="bash tools/device/stage_vae_audio.sh", carry=[".device/vae"]       (~40-60 min of audio)
# Prints the pool's size; a machine that was given back in between starts with an empty pool.
set -euo pipefail
cd "$(dirname "$0")/../.."
d=${DEVICE_DIR:-.device}/vae
pool=${POOL:-${EXP_ROOT:-exp}/vae_pool}
mkdir -p "${pool}"
if [ -f "${d}/audio.tar" ]; then
    tmp=$(mktemp -d)
    tar xf "${d}/audio.tar" -C "${tmp}"
    for s in train dev; do
        mkdir -p "${pool}/audio/${s}/flac"
        if [ -d "${tmp}/audio/${s}/flac" ]; then
            find "${tmp}/audio/${s}/flac" -name '*.flac' -exec mv -f -t "${pool}/audio/${s}/flac" {} +
        fi
        touch "${pool}/audio/${s}/wav.scp"
        if [ -f "${tmp}/audio/${s}/wav.scp" ]; then  # later shares win; one line per utterance
            cat "${tmp}/audio/${s}/wav.scp" "${pool}/audio/${s}/wav.scp" | awk 'NF && !seen[$1]++' | sort > "${pool}/wav.scp.tmp"
            mv "${pool}/wav.scp.tmp" "${pool}/audio/${s}/wav.scp"
        fi
    done
    rm -rf "${tmp}"
fi
if [ -d "${d}/init" ]; then rm -rf "${pool}/init"; cp -r "${d}/init" "${pool}/init"; fi
if compgen -G "${d}/whl/*.whl" > /dev/null; then mkdir -p "${pool}/whl"; cp "${d}"/whl/*.whl "${pool}/whl/"; fi
n=$(wc -l < "${pool}/audio/train/wav.scp" 2> /dev/null || echo 0)
mb=$(du -sm "${pool}/audio/train" 2> /dev/null | cut -f1 || echo 0)
echo "pool ${pool}: ${n} training utterances, ${mb} MB of FLAC; init: $([ -d "${pool}/init" ] && echo yes || echo missing)"
