#!/usr/bin/env bash
# Every CLI command that runs without Ray, as a user types it, on a machine with a GPU
# (device auto: CUDA).  Prints one line per command: its exit status, seconds and the last
# line it printed.  Usage: bash benchmarks/gpu_cli_smoke.sh TEACHER.pt OUTDIR
# (TEACHER: a lenet5_bn checkpoint trained on mnist5k).  The GPU machines lent to this
# project have no network and no Ray (its wheel exceeds what can be carried there), so
# invert, search, run, sweep and submit are not in it.
set -u
T=$1; O=$2; mkdir -p "$O"
NN="${PYTHON:-python3} -m deploy.cli.main"   # word-split on purpose
step() {
  local name=$1; shift
  local t0=$SECONDS
  timeout 240 "$@" > "$O/$name.log" 2> "$O/$name.err"
  local rc=$? log="$O/$name.log"
  [ "$rc" = 0 ] || log="$O/$name.err"   # a failure's message is on stderr
  printf '| %s | %s | %ss | %s |\n' "$name" "$rc" "$((SECONDS - t0))" \
    "$(tr '\r' '\n' < "$log" | grep -v '^\s*$' | tail -1 | cut -c1-150)"
}
echo "| command | exit | time | last line |"
echo "|---|---|---|---|"
step train $NN train --dataset digits --model convnet_digits --epochs 3 --out "$O/d.pt"
step eval $NN eval --model "$O/d.pt" --json
step grow-prune $NN grow-prune --dataset digits --model convnet_digits --epochs 3 \
  --prune-steps 2 --retrain-epochs 1 --out "$O/gp.pt" --json
step prune $NN prune --model "$T" --ratio 0.5 --num-images 256 --out "$O/pr.pt" --json
step distill $NN distill --teacher "$T" --student lenet5_bn_half --data-free --rounds 2 \
  --images-per-round 64 --out "$O/st.pt" --json
step train-old $NN train --dataset "digits[0,1,2,3,4]" --model convnet_digits --epochs 3 \
  --out "$O/d5.pt"
step continual $NN continual --model "$O/d5.pt" --new-dataset digits --new-classes 5,6 \
  --num-images 64 --epochs 1 --out "$O/cl.pt" --json
step incremental $NN incremental --model "$O/gp.pt" --old digits --new digits \
  --old-fraction 0.5 --max-epochs 2 --out "$O/inc.pt" --json
step scann $NN scann --dataset breast_cancer --json
step export $NN export --model "$O/d.pt" --out "$O/d.onnx"
step hwsim $NN hwsim eval --model "$O/d.pt" --json
