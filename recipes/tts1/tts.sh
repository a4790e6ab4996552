#!/usr/bin/env bash
# LatentSpeech tts1: every stage of a zero-shot TTS recipe, shared by all egs/<corpus>/tts1/run.sh.
# Run from egs/<corpus>/tts1 (tts.sh, utils/, cmd.sh and path.sh there are symlinks to recipes/tts1/).
#
#  stage  does                          reads → writes
#  1      data prep (local/data.sh)     corpus → data/{train,dev,test}/{wav.scp,text,utt2spk,spk2utt}
#  2      validate + durations          data/* → data/*/utt2dur (fails naming the file and first bad id);
#         [+ tempo copies]              with --tempo_factors: data/<train>_tempo<f> (perturb-tempo) and their union
#                                       with data/<train>, data/<train>_tp<factors>, the LM's training set (3, 5, 6)
#  3      phonemize                     data/*/text → dump/phn/<set>/{text,vocab.yaml}
#  4      train σ-VAE                   data/train, conf/vae.yaml → exp/vae_<tag>/ (model dir: exp/vae_<tag>/model)
#  5      dump latents (--nj shards)    exp/vae_<tag>/model → dump/latents/<vae_tag>/<LM train set>/{latents.scp,utt2num_frames}
#  6      train LM + export TTS model   dump/…, conf/lm.yaml → exp/lm_<tag>/ (model dir: exp/lm_<tag>/tts_model)
#  7      eval lists + synthesis        data/test → data/test/meta_<list>.lst → exp/lm_<tag>/decode_<dtag>/<set>_<list>/wav/
#                                       (<list> = cross|continuation [+ eval_list_args tag])
#  8      score WER + SIM               wavs → …/<set>_<list>/scores/{wer.tsv,sim.tsv,summary.json,summary.md},
#                                       exp/lm_<tag>/decode_<dtag>/RESULTS.md
# Every stage can be run alone (--stage N --stop_stage N), skips work already done (.done markers),
# and stages 4/6 resume from their newest checkpoint (--resume) when killed midway.
set -euo pipefail

log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*" >&2
}
die() {  # one line on stderr, then exit with $2 (default 1)
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) error: $1" >&2
    exit "${2:-1}"
}
SECONDS=0
run_args=$(printf '%q ' "$0" "$@")  # the exact invocation, for exp/<run>/run.sh

# General
stage=1               # first stage to run
stop_stage=8          # last stage to run
ngpu=0                # GPUs per node for training and synthesis (0 = CPU; >1 = torchrun DDP)
nnodes=1              # nodes for multi-node training (torchrun c10d rendezvous; see cmd.sh)
nj=4                  # parallel jobs for latent dumping, synthesis and scoring
tiny=false            # CI mode (run.sh picks tiny configs); here: eval lists of ${tiny_eval_utts} utterances
tiny_eval_utts=4      # test utterances per list in tiny mode
datadir=data          # kaldi data dirs
dumpdir=dump          # phonemes and latents
expdir=exp            # models, logs, decodes

# Data
local_data_opts=""    # options for local/data.sh (e.g. "--download false --corpus_dir /path")
train_set=train       # training set
valid_set=dev         # validation set
test_sets="test"      # sets to synthesise and score (space-separated)
tempo_factors=""      # LM training data augmentation: tempo-perturbed copies (pitch kept), e.g. "0.8 1.25"
tempo_every=1         # copy every N-th training utterance per factor (1 = all)

# σ-VAE
vae_config=conf/vae.yaml   # train-vae config
vae_args=""           # extra train-vae arguments, e.g. "--set train.max_steps=20"
vae_tag=""            # exp/vae_<tag>; default: config name + args
vae_model=""          # use this VAE model dir instead of training one (skips stage 4)

# LM
lm_config=conf/lm.yaml     # train-lm config
lm_args=""            # extra train-lm arguments, e.g. "--set train.max_steps=20"
lm_tag=""             # exp/lm_<tag>; default: config name + args + vae tag

# Synthesis and scoring
decode_config=conf/decode.yaml  # decoding config (steps, cfg_scale, ...)
decode_args=""        # extra `latentspeech tts` arguments, e.g. "--steps 4 --seed 1"
decode_tag=""         # decode_<tag>; default: decode config name + args
inference_batch_size=1  # utterances per LM batch in synthesis (16: ~2.3x the throughput on a CPU, the same audio)
eval_modes="cross continuation"  # eval lists: cross-sentence and/or continuation prompts
prompt_seconds=3      # continuation prompt length (seconds)
eval_list_args=""     # extra make-eval-list arguments, e.g. "--min-seconds 4 --max-seconds 10 --max-utts 500"
eval_args=""          # extra `latentspeech eval` arguments (e.g. "--asr-backend whisper")

help_message=$(cat <<EOF
Usage: $0 [options]   (run from egs/<corpus>/tts1; options map to the variables below)
  e.g. $0 --stage 4 --stop_stage 6 --vae_args "--set train.max_steps=20" --ngpu 2

General:
  --stage           # first stage to run (default="${stage}")
  --stop_stage      # last stage to run (default="${stop_stage}")
  --ngpu            # GPUs per node; 0 = CPU, >1 = torchrun DDP (default="${ngpu}")
  --nnodes          # nodes for multi-node training, see cmd.sh (default="${nnodes}")
  --nj              # parallel jobs for dumping, synthesis, scoring (default="${nj}")
  --tiny            # CI mode: tiny test lists; run.sh also picks tiny configs (default="${tiny}")
  --tiny_eval_utts  # test utterances per list in tiny mode (default="${tiny_eval_utts}")
  --datadir         # kaldi data dirs (default="${datadir}")
  --dumpdir         # phonemes and latents (default="${dumpdir}")
  --expdir          # models, logs, decodes (default="${expdir}")
Data:
  --local_data_opts # options for local/data.sh (default="${local_data_opts}")
  --train_set       # training set (default="${train_set}")
  --valid_set       # validation set (default="${valid_set}")
  --test_sets       # sets to synthesise and score (default="${test_sets}")
  --tempo_factors   # tempo-perturbed copies of the train set for the LM, e.g. "0.8 1.25" (default="${tempo_factors}")
  --tempo_every     # copy every N-th train utterance per tempo factor (default="${tempo_every}")
σ-VAE:
  --vae_config      # train-vae config (default="${vae_config}")
  --vae_args        # extra train-vae arguments (default="${vae_args}")
  --vae_tag         # exp/vae_<tag> (default="${vae_tag}" = config name + args)
  --vae_model       # existing VAE model dir; skips stage 4 (default="${vae_model}")
LM:
  --lm_config       # train-lm config (default="${lm_config}")
  --lm_args         # extra train-lm arguments (default="${lm_args}")
  --lm_tag          # exp/lm_<tag> (default="${lm_tag}" = config name + args)
Synthesis and scoring:
  --decode_config   # decoding config (default="${decode_config}")
  --decode_args     # extra 'latentspeech tts' arguments (default="${decode_args}")
  --decode_tag      # decode_<tag> (default="${decode_tag}" = config name + args)
  --inference_batch_size # utterances per LM batch in synthesis; the same audio (default="${inference_batch_size}")
  --eval_modes      # eval lists to build (default="${eval_modes}")
  --prompt_seconds  # continuation prompt seconds (default="${prompt_seconds}")
  --eval_list_args  # extra 'latentspeech make-eval-list' arguments (default="${eval_list_args}")
  --eval_args       # extra 'latentspeech eval' arguments (default="${eval_args}")
EOF
)

. utils/parse_options.sh
if [ $# -ne 0 ]; then
    echo "$(basename "$0"): error: unexpected argument '$1' (options are --name value; see --help)" >&2
    exit 2
fi

. ./path.sh
. ./cmd.sh

# ---- check options before any work
is_int() { [[ $1 =~ ^[0-9]+$ ]]; }
for _v in stage stop_stage ngpu nnodes nj tiny_eval_utts tempo_every inference_batch_size; do
    is_int "${!_v}" || { echo "$(basename "$0"): error: --${_v} must be a non-negative integer, got '${!_v}'" >&2; exit 2; }
done
if [ "${stage}" -gt 8 ]; then
    echo "$(basename "$0"): error: --stage ${stage} is past the last stage (8)" >&2
    exit 2
fi
if [ "${stage}" -lt 1 ] || [ "${stop_stage}" -lt "${stage}" ]; then
    echo "$(basename "$0"): error: bad stage range --stage ${stage} --stop_stage ${stop_stage} (need 1 <= stage <= stop_stage; stages are 1-8)" >&2
    exit 2
fi
[ "${nj}" -ge 1 ] || { echo "$(basename "$0"): error: --nj must be >= 1" >&2; exit 2; }
[ "${nnodes}" -ge 1 ] || { echo "$(basename "$0"): error: --nnodes must be >= 1" >&2; exit 2; }
[ "${tempo_every}" -ge 1 ] || { echo "$(basename "$0"): error: --tempo_every must be >= 1" >&2; exit 2; }
[ "${inference_batch_size}" -ge 1 ] || { echo "$(basename "$0"): error: --inference_batch_size must be >= 1" >&2; exit 2; }
for _f in ${tempo_factors}; do
    if ! [[ ${_f} =~ ^[0-9]*\.?[0-9]+$ ]] || [ "$(awk -v f="${_f}" 'BEGIN { print (f > 0 && f != 1) }')" != 1 ]; then
        echo "$(basename "$0"): error: --tempo_factors: '${_f}' is not a positive number other than 1 (e.g. \"0.8 1.25\")" >&2
        exit 2
    fi
done
command -v latentspeech > /dev/null || die "'latentspeech' is not on PATH; activate the toolkit's virtualenv (see README)"

log "${run_args}"
in_range() { [ "${stage}" -le "$1" ] && [ "${stop_stage}" -ge "$1" ]; }

# Tags name experiments after their config and extra arguments (ESPnet style).
args_tag() { echo "$1" | sed -e 's/--set//g' -e 's/--//g' -e 's/[ =\/|"'"'"']\+/_/g' -e 's/^_//' -e 's/_$//'; }
conf_name() { local b; b=$(basename "$1"); echo "${b%.*}"; }
if [ -z "${vae_tag}" ]; then
    if [ -n "${vae_model}" ]; then vae_tag=$(basename "$(dirname "$(readlink -f "${vae_model}")")")_$(basename "${vae_model}")
    else vae_tag=$(conf_name "${vae_config}"); [ -z "${vae_args}" ] || vae_tag+="_$(args_tag "${vae_args}")"; fi
fi
# The LM's training set: the train set, or its union with tempo-perturbed copies (--tempo_factors).
lm_train_set=${train_set}
if [ -n "${tempo_factors// /}" ]; then
    lm_train_set=${train_set}_tp$(echo ${tempo_factors} | tr ' ' '_')
    [ "${tempo_every}" -eq 1 ] || lm_train_set+="_every${tempo_every}"
fi
if [ -z "${lm_tag}" ]; then
    lm_tag=$(conf_name "${lm_config}"); [ -z "${lm_args}" ] || lm_tag+="_$(args_tag "${lm_args}")"
    [ "${lm_train_set}" = "${train_set}" ] || lm_tag+="_${lm_train_set#"${train_set}"_}"
    lm_tag+="_${vae_tag}"
fi
if [ -z "${decode_tag}" ]; then
    decode_tag=$(conf_name "${decode_config}"); [ -z "${decode_args}" ] || decode_tag+="_$(args_tag "${decode_args}")"
fi
vae_exp=${expdir}/vae_${vae_tag}
[ -n "${vae_model}" ] || vae_model=${vae_exp}/model
lm_exp=${expdir}/lm_${lm_tag}
tts_model=${lm_exp}/tts_model
decode_dir=${lm_exp}/decode_${decode_tag}
latent_dir=${dumpdir}/latents/${vae_tag}

# Training launcher: one process, or torchrun with one process per GPU (and per node).
if [ "${ngpu}" -gt 1 ] || [ "${nnodes}" -gt 1 ]; then
    nproc=$(( ngpu > 0 ? ngpu : 1 ))
    if [ "${nnodes}" -gt 1 ]; then
        launcher="python -m torch.distributed.run --nnodes ${nnodes} --nproc_per_node ${nproc} ${torchrun_rdzv_opts} -m latentspeech"
    else
        launcher="python -m torch.distributed.run --standalone --nproc_per_node ${nproc} -m latentspeech"
    fi
else
    launcher="latentspeech"
fi
if [ "${ngpu}" -gt 0 ]; then device=cuda; else device=cpu; fi

# Run one stage's job(s) through ${cmd}; on failure print which stage and exit (run.py already printed the log tail).
run_jobs() {  # run_jobs <what> <cmd and args...>
    local what=$1; shift
    if ! "$@"; then
        die "${what} failed (see the log tail above)"
    fi
}

# Training stages leave <exp>/run.sh, which re-runs exactly that stage with the same options.
write_resume_script() {  # write_resume_script <exp dir> <stage>
    mkdir -p "$1"
    cat > "$1/run.sh" <<EOS
#!/usr/bin/env bash
# Re-run (and resume) stage $2 of this experiment; written by tts.sh on $(date '+%Y-%m-%dT%H:%M:%S').
cd $(printf '%q' "$(pwd)")
${run_args} --stage $2 --stop_stage $2 "\$@"
EOS
    chmod +x "$1/run.sh"
}

has_checkpoint() { compgen -G "$1/checkpoints/step_*.pt" > /dev/null; }
# up_to_date <marker> <input>...: the marker exists and is newer than every input that exists.
up_to_date() {
    local marker=$1 f; shift
    [ -f "${marker}" ] || return 1
    for f in "$@"; do [ ! -e "${f}" ] || [ "${marker}" -nt "${f}" ] || return 1; done
}

all_sets="${train_set} ${valid_set} ${test_sets}"
# Eval lists: ${datadir}/<set>/meta_<mode>[_<eval_list_args tag>].lst; tiny mode keeps ${tiny_eval_utts} per list.
[ "${tiny}" = false ] || eval_list_args+=" --max-utts ${tiny_eval_utts}"
list_suffix=""
[ -z "${eval_list_args// /}" ] || list_suffix="_$(args_tag "${eval_list_args}")"

if in_range 1; then
    log "Stage 1: data prep: local/data.sh --datadir ${datadir} ${local_data_opts} -> ${datadir}/{${all_sets// /,}}"
    marker=${datadir}/.stage1.done
    if [ -f "${marker}" ] && [ "$(cat "${marker}")" = "${local_data_opts}" ]; then
        log "Stage 1: already done (${marker}); delete it to redo"
    else
        [ -x local/data.sh ] || die "local/data.sh is missing or not executable in $(pwd)"
        # shellcheck disable=SC2086
        local/data.sh --datadir "${datadir}" ${local_data_opts} \
            || die "local/data.sh --datadir ${datadir} ${local_data_opts} failed (its messages are above)"
        mkdir -p "${datadir}"
        printf '%s' "${local_data_opts}" > "${marker}"
    fi
fi

if in_range 2; then
    log "Stage 2: validate data dirs and write utt2dur: ${datadir}/{${all_sets// /,}}"
    for dset in ${all_sets}; do
        python utils/validate_data.py "${datadir}/${dset}" || die "${datadir}/${dset} is not a valid data dir (see above)"
    done
    if [ "${lm_train_set}" != "${train_set}" ]; then
        log "Stage 2: tempo copies x {${tempo_factors// /,}} of every ${tempo_every}-th utterance: ${datadir}/${train_set} -> ${datadir}/${lm_train_set}"
        parts=("${datadir}/${train_set}")
        for f in ${tempo_factors}; do
            out=${datadir}/${train_set}_tempo${f}
            [ "${tempo_every}" -eq 1 ] || out+="_every${tempo_every}"
            parts+=("${out}")
            if up_to_date "${out}/.done" "${datadir}/${train_set}/wav.scp"; then log "Stage 2: ${out} already done"; continue; fi
            mkdir -p "${datadir}/log"
            run_jobs "perturb-tempo ${f}" ${decode_cmd} "${datadir}/log/perturb_tempo_${out##*/}.log" \
                latentspeech perturb-tempo "${datadir}/${train_set}" --out "${out}" --factor "${f}" \
                --every "${tempo_every}" --nj "${nj}"
            touch "${out}/.done"
        done
        union=${datadir}/${lm_train_set}
        # rewritten only when a part changed: a newer wav.scp would make stages 3 and 5 redo the whole union
        if up_to_date "${union}/.done" "${parts[@]/%//wav.scp}"; then
            log "Stage 2: ${union} already done"
        else
            run_jobs "combine-data ${lm_train_set}" ${decode_cmd} "${datadir}/log/combine_${lm_train_set}.log" \
                latentspeech combine-data --out "${union}" "${parts[@]}"
            python utils/validate_data.py "${union}" || die "${union} is not a valid data dir (see above)"
            touch "${union}/.done"
        fi
    fi
fi

if in_range 3; then
    log "Stage 3: phonemize: ${datadir}/*/text -> ${dumpdir}/phn/<set>/{text,vocab.yaml}"
    for dset in $(echo ${all_sets} ${lm_train_set} | tr ' ' '\n' | awk '!seen[$0]++'); do
        out=${dumpdir}/phn/${dset}
        if up_to_date "${out}/.done" "${datadir}/${dset}/text"; then log "Stage 3: ${out} already done"; continue; fi
        run_jobs "phonemize ${dset}" ${decode_cmd} "${out}/log/phonemize.log" \
            latentspeech phonemize --data "${datadir}/${dset}" --out "${out}" --njobs "${nj}"
        touch "${out}/.done"
    done
fi

if in_range 4; then
    if [ "${vae_model}" != "${vae_exp}/model" ]; then
        log "Stage 4: skipped: using the given --vae_model ${vae_model}"
    elif [ -f "${vae_exp}/.done" ]; then
        log "Stage 4: ${vae_exp} already trained (${vae_exp}/.done)"
    else
        resume=""
        if has_checkpoint "${vae_exp}"; then resume="--resume"; log "Stage 4: resuming from the newest checkpoint in ${vae_exp}/checkpoints"; fi
        log "Stage 4: train σ-VAE: ${datadir}/${train_set}, ${vae_config} -> ${vae_exp} (log: ${vae_exp}/log/train.log)"
        write_resume_script "${vae_exp}" 4
        # shellcheck disable=SC2086
        run_jobs "train-vae" ${cuda_cmd} --gpu "${ngpu}" "${vae_exp}/log/train.log" \
            ${launcher} train-vae --config "${vae_config}" --data "${datadir}/${train_set}" \
            --valid-data "${datadir}/${valid_set}" --exp-dir "${vae_exp}" --set train.device="${device}" \
            ${resume} ${vae_args}
        [ -f "${vae_model}/config.yaml" ] || die "train-vae finished but wrote no model dir ${vae_model}"
        touch "${vae_exp}/.done"
    fi
fi

if in_range 5; then
    log "Stage 5: dump latents (${nj} shards): ${vae_model} -> ${latent_dir}/${lm_train_set}"
    for dset in ${lm_train_set}; do
        out=${latent_dir}/${dset}
        if up_to_date "${out}/.done" "${datadir}/${dset}/wav.scp" "${vae_model}/model.safetensors"; then
            log "Stage 5: ${out} already done"; continue
        fi
        mkdir -p "${out}/log"
        # An outdated finished dump (newer data or VAE) is redone from scratch; an unfinished one resumes.
        force=""; [ ! -f "${out}/.done" ] || { force="--force"; rm -f "${out}/.done" "${out}/latents.scp"; }
        # Every shard writes into ${out}; the shard that completes the set writes latents.scp/utt2num_frames.
        run_jobs "dump-latents ${dset}" ${decode_cmd} JOB=1:"${nj}" "${out}/log/dump.JOB.log" \
            latentspeech dump-latents --data "${datadir}/${dset}" --vae "${vae_model}" --out "${out}" \
            --shard JOB/"${nj}" ${force}
        [ -s "${out}/latents.scp" ] || die "dump-latents finished but ${out}/latents.scp is missing (see ${out}/log/dump.*.log)"
        touch "${out}/.done"
    done
fi

if in_range 6; then
    if [ -f "${lm_exp}/.done" ]; then
        log "Stage 6: ${lm_exp} already trained (${lm_exp}/.done)"
    else
        resume=""
        if has_checkpoint "${lm_exp}"; then resume="--resume"; log "Stage 6: resuming from the newest checkpoint in ${lm_exp}/checkpoints"; fi
        log "Stage 6: train LM: ${dumpdir}/phn/${lm_train_set}, ${latent_dir}/${lm_train_set}, ${lm_config} -> ${lm_exp} (log: ${lm_exp}/log/train.log)"
        write_resume_script "${lm_exp}" 6
        # shellcheck disable=SC2086
        run_jobs "train-lm" ${cuda_cmd} --gpu "${ngpu}" "${lm_exp}/log/train.log" \
            ${launcher} train-lm --config "${lm_config}" \
            --data "${dumpdir}/phn/${lm_train_set}" --latents "${latent_dir}/${lm_train_set}" --data-dir "${datadir}/${lm_train_set}" \
            --exp-dir "${lm_exp}" --device "${device}" ${resume} ${lm_args}
        log "Stage 6: export TTS model: ${vae_model} + ${lm_exp} -> ${tts_model}"
        run_jobs "export-tts" ${decode_cmd} "${lm_exp}/log/export.log" \
            latentspeech export-tts --vae "${vae_model}" --lm "${lm_exp}" --decode-config "${decode_config}" \
            --out "${tts_model}" --force
        touch "${lm_exp}/.done"
    fi
fi

if in_range 7; then
    log "Stage 7: eval lists (${eval_modes}) + synthesis: ${tts_model} -> ${decode_dir}/<set>_<list>/wav"
    for dset in ${test_sets}; do
        for mode in ${eval_modes}; do
            meta=${datadir}/${dset}/meta_${mode}${list_suffix}.lst
            ddir=${decode_dir}/${dset}_${mode}${list_suffix}
            if up_to_date "${ddir}/.done" "${tts_model}/model.safetensors" "${meta}"; then
                log "Stage 7: ${ddir} already done"; continue
            fi
            # a model or list newer than the finished synthesis: every utterance is made again
            tts_force=""; [ ! -f "${ddir}/.done" ] || { tts_force="--force"; rm -f "${ddir}/.done"; }
            mkdir -p "${ddir}/log"
            if [ ! -s "${meta}" ]; then
                # shellcheck disable=SC2086
                run_jobs "make-eval-list ${dset} ${mode}" ${decode_cmd} "${ddir}/log/make_eval_list.log" \
                    latentspeech make-eval-list --data "${datadir}/${dset}" --out "${meta}" --mode "${mode}" \
                    --prompt-seconds "${prompt_seconds}" ${eval_list_args}
            fi
            python utils/split_meta.py "${meta}" "${ddir}" "${nj}" || die "cannot split ${meta}"
            n=$(find "${ddir}/split" -name 'meta.*.lst' | wc -l)
            # shellcheck disable=SC2086
            run_jobs "synthesis ${dset} ${mode}" ${decode_cmd} JOB=1:"${n}" "${ddir}/log/tts.JOB.log" \
                latentspeech tts --model "${tts_model}" --text-file "${ddir}/split/meta.JOB.lst" \
                --out-dir "${ddir}/wav" --decode-config "${decode_config}" --device "${device}" \
                --batch-size "${inference_batch_size}" ${tts_force} ${decode_args}
            touch "${ddir}/.done"
        done
    done
fi

if in_range 8; then
    log "Stage 8: score WER + SIM: ${decode_dir}/<set>_<list>/wav -> scores/, ${decode_dir}/RESULTS.md"
    for dset in ${test_sets}; do
        for mode in ${eval_modes}; do
            ddir=${decode_dir}/${dset}_${mode}${list_suffix}
            [ -f "${ddir}/meta.lst" ] || die "${ddir}/meta.lst is missing: run stage 7 first"
            # synthesis redone since: rescored (latentspeech eval rescores the utterances whose audio is newer)
            if up_to_date "${ddir}/scores/.done" "${ddir}/.done"; then
                log "Stage 8: ${ddir}/scores already done"; continue
            fi
            # shellcheck disable=SC2086
            run_jobs "eval ${dset} ${mode}" ${decode_cmd} "${ddir}/log/eval.log" \
                latentspeech eval --meta "${ddir}/meta.lst" --gen-dir "${ddir}/wav" --out-dir "${ddir}/scores" ${eval_args}
            touch "${ddir}/scores/.done"
        done
    done
    python utils/make_results.py --out "${decode_dir}/RESULTS.md" --decode-dir "${decode_dir}" \
        --vae-config "${vae_config}" --lm-config "${lm_config}" --decode-config "${decode_config}" \
        --vae-model "${vae_model}" --tts-model "${tts_model}" --invocation "${run_args}" \
        || die "writing ${decode_dir}/RESULTS.md failed"
    log "Stage 8: results in ${decode_dir}/RESULTS.md"
    cat "${decode_dir}/RESULTS.md" >&2
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
