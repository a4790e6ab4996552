#!/usr/bin/env bash
# Copy what LM training needs into .device/dump, the folder that travels to a lent GPU machine (device tool,
# `carry: [".device"]`; git ignores it): phoneme dumps (text, vocab.yaml) and fp16 latent dumps (latents/,
# latents.scp, utt2num_frames, utt2spk, vae.yaml) of the train and dev sets. ~20 MB for the 6 h synth corpus.
#   tools/device/pack_dump.sh PHN_ROOT LATENT_ROOT      # e.g. dump/phn dump/latents/vae_synth_causal
#   MAX_HOURS=18 tools/device/pack_dump.sh ...          # an evenly spread ~18 h of train/ (size limit: 20 h ≈ 64 MB)
#   TGZ=1 tools/device/pack_dump.sh ...                  # one .device/dump.tgz instead of the folder: the device tool
#       counts each small file's disk blocks (18.5k latent files: 91 MB on disk, 60 MB of data, 47 MB as .tgz);
#       train_lm.sh / train_lm_variants.sh unpack it there, unpack.sh reads it here
# Both roots hold train/ and dev/ (run.sh stages 3 and 5, or `latentspeech phonemize` + `dump-latents`; or
# `latentspeech combine-data` unions of them, e.g. a corpus plus tempo-augmented copies: the files are gathered).
#   TRAIN_SET=train_tp0.8_1.25_every6 VALID_SET=dev tools/device/pack_dump.sh ...   other set names under the
#       roots (e.g. run.sh --tempo_factors' union); they travel as train/ and dev/
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PHN_ROOT LATENT_ROOT (each with train/ and dev/, or \$TRAIN_SET/ and \$VALID_SET/)" >&2; exit 2; }
phn=$1 lat=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
dest=${DEVICE_DIR:-${root}/.device}/dump     # DEVICE_DIR: another folder than .device (tests)
declare -A source_set=([train]=${TRAIN_SET:-train} [dev]=${VALID_SET:-dev})  # packed name -> set under the roots
for s in train dev; do
    [ -s "${phn}/${source_set[$s]}/text" ] || { echo "$0: error: ${phn}/${source_set[$s]}/text is missing (run latentspeech phonemize)" >&2; exit 1; }
    [ -s "${lat}/${source_set[$s]}/latents.scp" ] || { echo "$0: error: ${lat}/${source_set[$s]}/latents.scp is missing (run latentspeech dump-latents)" >&2; exit 1; }
done
copy_latents() {  # SRC DST: the dump's files, and the .npy files its latents.scp names gathered in DST/latents with
    # relative paths (a dump-latents dump's scp is relative, `latentspeech combine-data`'s absolute: both travel)
    local src=$1 dst=$2
    mkdir -p "${dst}/latents"
    find "${src}" -maxdepth 1 -type f -exec cp -t "${dst}/" {} +
    awk -v d="${src}" '{ p = $2; if (p !~ /^\//) p = d "/" p; printf "%s%c", p, 0 }' "${src}/latents.scp" \
        | xargs -0 -r cp -t "${dst}/latents/"
    awk '{ n = split($2, a, "/"); print $1, "latents/" a[n] }' "${src}/latents.scp" > "${dst}/latents.scp"
}

rm -rf "${dest}" "${dest}.tgz"
mkdir -p "${dest}/phn" "${dest}/latents"
for s in train dev; do
    cp -r "${phn}/${source_set[$s]}" "${dest}/phn/${s}"
    rm -rf "${dest}/phn/${s}/log" "${dest}/phn/${s}/.done"
    copy_latents "${lat}/${source_set[$s]}" "${dest}/latents/${s}"
done
if [ -n "${MAX_HOURS:-}" ]; then  # the device tool carries ≤ 64 MiB: keep an evenly spread share of train/
    t=${dest}/latents/train
    rate=$(awk '/^frame_rate:/ {print $2}' "${t}/vae.yaml")
    frac=$(awk -v h="${MAX_HOURS}" -v r="${rate}" '{n += $2} END {f = h * 3600 * r / n; print (f < 1 ? f : 1)}' \
        "${t}/utt2num_frames")
    awk -v f="${frac}" 'int(NR * f) != int((NR - 1) * f) {print $1}' "${t}/utt2num_frames" > "${t}/keep"
    for m in latents.scp utt2num_frames utt2spk; do
        [ ! -f "${t}/${m}" ] || { awk 'NR == FNR {k[$1]; next} $1 in k' "${t}/keep" "${t}/${m}" > "${t}/${m}.tmp" \
            && mv "${t}/${m}.tmp" "${t}/${m}"; }
    done
    awk '{print $2}' "${t}/latents.scp" | sed 's|.*/||' | sort > "${t}/keep"
    (cd "${t}/latents" && ls | sort | comm -23 - "${t}/keep" | xargs -r rm -f)
    rm -f "${t}/keep"
    echo "kept $(wc -l < "${t}/latents.scp") train utterances (~${MAX_HOURS} h)"
fi
if [ "${TGZ:-0}" = 1 ]; then
    tar czf "${dest}.tgz" -C "$(dirname "${dest}")" dump && rm -rf "${dest}"
    echo "packed $(du -sh --apparent-size "${dest}.tgz" | cut -f1) into ${dest}.tgz"
else
    rm -f "${dest}.tgz"
    echo "packed $(du -sh "${dest}" | cut -f1) into ${dest}"
fi
