#!/usr/bin/env bash
# GPU checks and figures for `textclf --features cuda` beside PyTorch on the same GPU.
#
#   bench/gpu.sh check   # step and inference timing (alternating with PyTorch), a short
#                        # fine-tune on the GPU vs the CPU, and the GPU-trained model loaded
#                        # in Python transformers
#   bench/gpu.sh sst2    # full SST-2 fine-tune with textclf, then the same with PyTorch
#
# Env: TEXTCLF_BIN (target/release/textclf, built with --features cuda), TEXTCLF_DATA_DIR
#      (../shared/data), TEXTCLF_MODEL (../shared/models/all-MiniLM-L6-v2), PYTHON (python3
#      with torch + transformers + pandas), OUT (results folder, default runs/gpu),
#      RUNS (run folders, default $OUT; keep them outside $OUT where that is emptied between
#      calls, so that an interrupted SST-2 run resumes), SST2_EPOCHS (3), SST2_LR (5e-5),
#      SST2_RUNS ("textclf torch").
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
*) echo "unknown mode $MODE (check|sst2)" >&2; exit 2 ;;
esac
