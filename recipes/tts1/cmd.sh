# How recipe jobs run; sourced by tts.sh. Every *_cmd has Kaldi's run.pl interface:
#   ${train_cmd} [--gpu G] [--mem M] [--max-jobs-run K] [JOB=1:N] exp/x/log/name.JOB.log COMMAND ... JOB ...
# and writes COMMAND's output to the log (the log tail is printed if a job fails).

# --- Local machine (default): utils/run.py runs the jobs here, in parallel up to --nj.
export train_cmd="utils/run.py"    # stage 4/6 training
export cuda_cmd="utils/run.py"     # (GPU jobs; tts.sh adds --gpu ${ngpu}, ignored locally)
export decode_cmd="utils/run.py"   # stages 3, 5, 7, 8

# --- Slurm cluster: swap in utils/slurm.py (same interface; submits a job array with sbatch --wait).
#     Partition/account/time go into these options; --gpu G becomes --gres=gpu:G.
# export train_cmd="utils/slurm.py --mem 32G --time 72:00:00"
# export cuda_cmd="utils/slurm.py --mem 64G --time 72:00:00 --partition gpu"
# export decode_cmd="utils/slurm.py --mem 8G --time 4:00:00"

# --- Several GPUs: `tts.sh --ngpu N` launches training through torchrun, one process per GPU:
#       python -m torch.distributed.run --standalone --nproc_per_node N -m latentspeech train-lm ...
#     (DDP over NCCL; CPU processes use gloo). Batch size in the configs is PER PROCESS.
# --- Several nodes: `tts.sh --ngpu 8 --nnodes 4` switches torchrun to a c10d rendezvous at
#     ${MASTER_ADDR}:${MASTER_PORT}. Start the same stage on every node (same code, same exp dir on a
#     shared file system), e.g. with Slurm:
#       export cuda_cmd="utils/slurm.py --nodes 4 --gpu 8 --partition gpu"   # srun starts one launcher per node
#       MASTER_ADDR=$(scontrol show hostnames | head -1) ./run.sh --stage 6 --stop_stage 6 --ngpu 8 --nnodes 4
#     or by hand on each node: MASTER_ADDR=node0 MASTER_PORT=29500 ./run.sh --stage 6 --stop_stage 6 --ngpu 8 --nnodes 4
export torchrun_rdzv_opts="--rdzv-backend c10d --rdzv-endpoint ${MASTER_ADDR:-localhost}:${MASTER_PORT:-29500} --rdzv-id ${RDZV_ID:-latentspeech}"
