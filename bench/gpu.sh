#!/usr/bin/env bash
# GPU checks and figures for `textclf --features cuda` beside PyTorch on the same GPU.
#
#   bench/gpu.sh check   # step and inference timing (alternating with PyTorch), a short
#                        # fine-tune on the GPU vs the CPU, and the GPU-trained model loaded
#                        # in Python transformers
#   bench/gpu.sh sst2    # full SST-2 fine-tune with textclf, then the same with PyTorch
#   bench/gpu.sh sweep   # starts SWEEP (bench/sst2_sweep.toml) as SHARDS (8) shards at once on the GPU,
#                        # detached (setsid), so they outlive one device call
#   bench/gpu.sh sweep-wait  # follows them for up to WAIT_S (540) seconds, printing each run's
#                        # validations; once all are done, writes the sweep report
#   bench/gpu.sh ckpt    # --grad-checkpoint on the GPU: the same short fine-tune with and
#                        # without it must give the same curve
#
# Env: TEXTCLF_BIN (target/release/textclf, built with --features cuda), TEXTCLF_DATA_DIR
#      (../shared/data), TEXTCLF_MODEL (../shared/models/all-MiniLM-L6-v2), PYTHON (python3
#      with torch + transformers + pandas), OUT (results folder, default runs/gpu),
#      RUNS (run folders, default $OUT; keep them outside $OUT where that is emptied between
#      calls, so that an interrupted SST-2 run resumes), SST2_EPOCHS (3), SST2_LR (5e-5),
#      SST2_RUNS ("textclf torch"), SWEEP (the sweep file for sweep/sweep-wait).
# Writes JSON lines to $OUT/*.jsonl and logs beside them; prints a summary table.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:?usage: bench/gpu.sh check|sst2}
BIN=${TEXTCLF_BIN:-target/release/textclf}
DATA=${TEXTCLF_DATA_DIR:-../shared/data}
MODEL=${TEXTCLF_MODEL:-../shared/models/all-MiniLM-L6-v2}
PY=${PYTHON:-python3}
OUT=${OUT:-runs/gpu}
RUNS=${RUNS:-$OUT}
SWEEP=${SWEEP:-bench/sst2_sweep.toml}
SW=$RUNS/$(basename "$SWEEP" .toml) # the sweep's folder, named after its file
mkdir -p "$OUT" "$RUNS"
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1

case "$MODE" in
check)
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
  for shape in "32 64" "16 256"; do
    set -- $shape
    for r in 1 2 3; do
      "$BIN" bench train-step --device cuda --model "$MODEL" --batch "$1" --len "$2" --steps 20 --warmup 3 --quiet \
        | tee -a "$OUT/step_textclf.jsonl"
      "$PY" bench/torch_step.py train-step --device cuda --threads 4 --model "$MODEL" --batch "$1" --len "$2" \
        --steps 20 --warmup 3 2>/dev/null | tee -a "$OUT/step_torch.jsonl"
    done
  done
  for r in 1 2 3; do
    "$BIN" bench infer --device cuda --model "$MODEL" --batch 32 --len 128 --steps 20 --warmup 3 --quiet \
      | tee -a "$OUT/infer_textclf.jsonl"
    "$PY" bench/torch_step.py infer --device cuda --threads 4 --model "$MODEL" --batch 32 --len 128 \
      --steps 20 --warmup 3 2>/dev/null | tee -a "$OUT/infer_torch.jsonl"
  done
  # The same short fine-tune on the GPU and on the CPU: the curves must agree closely
  # (different summation orders, so not bit for bit).
  head -n 2001 "$DATA/sst2/train.csv" >"$RUNS/train2k.csv"
  for dev in cuda cpu; do
    "$BIN" train --device "$dev" --model "$MODEL" --train "$RUNS/train2k.csv" --valid "$DATA/sst2/dev.csv" \
      --test "$DATA/sst2/test.csv" --epochs 2 --max-len 64 --lr 5e-5 --batch-size 32 --seed 7 --patience 0 \
      --out "$RUNS/short-$dev" --quiet
  done
  python3 - "$RUNS" <<'PY' | tee "$OUT/short.jsonl"
import json, sys
for dev in ["cuda", "cpu"]:
    m = json.load(open(f"{sys.argv[1]}/short-{dev}/metrics.json"))
    print(json.dumps({"device": dev, "epochs": [{k: e[k] for k in ("train_loss", "val_loss", "val_accuracy")}
                                                for e in m["epochs"]], "test_accuracy": m["accuracy"]}))
PY
  "$PY" bench/check_hf_load.py --run "$RUNS/short-cuda" --data "$DATA/sst2/test.csv" | tee "$OUT/hf_load.json"
  ;;
sst2)
  EPOCHS=${SST2_EPOCHS:-3}
  FT="--epochs $EPOCHS --max-len 64 --lr ${SST2_LR:-5e-5} --batch-size 32"
  for tool in ${SST2_RUNS:-textclf torch}; do
    t0=$(date +%s.%N)
    if [ "$tool" = textclf ]; then
      "$BIN" train --device cuda --model "$MODEL" --train "$DATA/sst2/train.csv" --valid "$DATA/sst2/dev.csv" \
        --test "$DATA/sst2/test.csv" $FT --monitor val-accuracy --patience "$EPOCHS" \
        --checkpoint-every 500 --out "$RUNS/sst2-textclf" --quiet --resume
      t1=$(date +%s.%N)
      python3 - "$RUNS/sst2-textclf/metrics.json" "$t0" "$t1" <<'PY' | tee -a "$OUT/sst2.jsonl"
import json, sys
m = json.load(open(sys.argv[1]))
print(json.dumps({"tool": "textclf", "epochs": [{k: e[k] for k in ("train_loss", "val_loss", "val_accuracy", "train_seconds")}
                                               for e in m["epochs"]],
                  "best_epoch": m["best_epoch"], "val_accuracy": m["best"]["val_accuracy"],
                  "test_accuracy": m["accuracy"], "wall_seconds": float(sys.argv[3]) - float(sys.argv[2])}))
PY
    else
      "$PY" bench/torch_finetune.py --device cuda --threads 4 --monitor val_accuracy --model "$MODEL" \
        --train "$DATA/sst2/train.csv" --valid "$DATA/sst2/dev.csv" --test "$DATA/sst2/test.csv" $FT \
        | tee -a "$OUT/sst2.jsonl"
    fi
  done
  ;;
sweep)
  SHARDS=${SHARDS:-8}
  for i in $(seq 0 $((SHARDS - 1))); do
    TEXTCLF_DEVICE=cuda TEXTCLF_DATA_DIR="$DATA" TEXTCLF_MODEL="$MODEL" RAYON_NUM_THREADS=2 \
      setsid "$BIN" sweep "$SWEEP" --out "$SW" --shard "$i/$SHARDS" \
      >"$RUNS/shard$i.log" 2>&1 </dev/null &
    sleep 2 # the first shard writes the sweep's data folder
  done
  echo "started $SHARDS shards in $SW"
  ;;
sweep-wait)
  deadline=$(($(date +%s) + ${WAIT_S:-540}))
  progress() {
    python3 - "$SW" <<'PY'
import glob, os, re, sys
for d in sorted(glob.glob(f"{sys.argv[1]}/runs/*")):
    accs = [(int(m.group(1)), float(m.group(2)))
            for m in re.finditer(r"step (\d+): .*?\| val loss [\d.]+ acc ([\d.]+)",
                                 open(f"{d}/log.txt", errors="replace").read())] if os.path.exists(f"{d}/log.txt") else []
    best = max(accs, key=lambda a: a[1]) if accs else (0, 0.0)
    print(f"{os.path.basename(d):42s} validations {len(accs):3d}  last step {accs[-1][0] if accs else 0:5d}"
          f"  best {100 * best[1]:.2f} % at step {best[0]}")
PY
  }
  while pgrep -f "sweep $SWEEP" >/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
    date +%T; progress
    left=$((deadline - $(date +%s)))
    sleep $((left < 60 ? (left > 0 ? left : 0) : 60)) # never past the deadline
  done
  progress | tee "$OUT/sweep_progress.txt"
  cp "$RUNS"/shard*.log "$OUT/" 2>/dev/null || true
  if ! pgrep -f "sweep $SWEEP" >/dev/null; then
    "$BIN" report "$SW" | tail -n 20
    for f in results.csv report.md; do cp "$SW/$f" "$OUT/sweep_$f" 2>/dev/null || true; done
  else
    echo "shards still running"
  fi
  ;;
ckpt)
  head -n 2001 "$DATA/sst2/train.csv" >"$RUNS/train2k.csv"
  for gc in plain grad-checkpoint; do
    flag=""; [ "$gc" = plain ] || flag=--grad-checkpoint
    "$BIN" train --device cuda --model "$MODEL" --train "$RUNS/train2k.csv" --valid "$DATA/sst2/dev.csv" \
      --test "$DATA/sst2/test.csv" --epochs 1 --max-len 64 --lr 5e-5 --batch-size 32 --seed 7 --patience 0 \
      $flag --no-save-model --out "$RUNS/ckpt-$gc" --quiet
  done
  python3 - "$RUNS" <<'PY' | tee "$OUT/ckpt.jsonl"
import json, sys
for gc in ["plain", "grad-checkpoint"]:
    m = json.load(open(f"{sys.argv[1]}/ckpt-{gc}/metrics.json"))
    print(json.dumps({"device": "cuda", "run": gc, "epochs": [{k: e[k] for k in ("train_loss", "val_loss", "val_accuracy")}
                                                              for e in m["epochs"]], "test_accuracy": m["accuracy"]}))
PY
  for gc in "" --grad-checkpoint; do
    "$BIN" bench train-step --device cuda --model "$MODEL" --batch 8 --len 512 --steps 10 --warmup 2 --quiet $gc \
      | tee -a "$OUT/ckpt_step.jsonl"
  done
  ;;
*) echo "unknown mode $MODE (check|sst2|sweep|sweep-wait|ckpt)" >&2; exit 2 ;;
esac
