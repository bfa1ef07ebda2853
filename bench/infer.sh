#!/usr/bin/env bash
# Inference: textclf (f32 and --int8) against PyTorch + transformers (f32 and
# quantize_dynamic int8) on MiniLM-L6, alternating rounds, medians: throughput at 32×128
# and batch-1 latency at 64 tokens; then the accuracy --int8 costs on SST-2 dev and test
# for a model fine-tuned here (or TEXTCLF_INT8_MODEL). Writes the "inference" section of
# BENCHMARKS.md.
# Env: TEXTCLF_DATA_DIR, TEXTCLF_MODEL, TEXTCLF_TORCH_VENV (as bench/finetune.sh),
#      BENCH_ROUNDS (3), TEXTCLF_INT8_MODEL (a `textclf train` <run>/model; default: train
#      one on 1,000 SST-2 sentences per class, 2 epochs).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init
PY=$(torch_python)
ROWS=""
for shape in "32 128 5" "1 64 30"; do
  set -- $shape; b=$1; l=$2; steps=$3
  declare -a tf=() ti=() pf=() pi=()
  for r in $(seq "$ROUNDS"); do
    tf+=("$(field "$("$BIN" bench infer --model "$MODEL" --batch $b --len $l --steps $steps --quiet)" batch_time.median_ms)")
    pf+=("$(field "$("$PY" bench/torch_step.py infer --model "$MODEL" --batch $b --len $l --steps $steps 2>/dev/null)" batch_time.median_ms)")
    ti+=("$(field "$("$BIN" bench infer --model "$MODEL" --batch $b --len $l --steps $steps --int8 --quiet)" batch_time.median_ms)")
    pi+=("$(field "$("$PY" bench/torch_step.py infer --model "$MODEL" --batch $b --len $l --steps $steps --int8 2>/dev/null)" batch_time.median_ms)")
    echo "  infer ${b}x${l} round $r: textclf ${tf[-1]} / int8 ${ti[-1]} ms, torch ${pf[-1]} / int8 ${pi[-1]} ms" >&2
  done
  ROWS+=$(python3 - "$b" "$l" "$(med "${tf[@]}")" "$(med "${ti[@]}")" "$(med "${pf[@]}")" "$(med "${pi[@]}")" <<'PY'
import sys
b, l = int(sys.argv[1]), int(sys.argv[2])
tf, ti, pf, pi = map(float, sys.argv[3:7])
what = f"throughput {b}×{l}" if b > 1 else f"latency, batch 1 × {l}"
fmt = (lambda ms: f"{b / ms * 1e3:.1f} seq/s") if b > 1 else (lambda ms: f"{ms:.1f} ms")
print(f"| {what}, f32 | {fmt(tf)} | {fmt(pf)} | {pf / tf:.2f}× |")
print(f"| {what}, int8 | {fmt(ti)} | {fmt(pi)} | {pi / ti:.2f}× |")
print(f"| {what}, textclf int8 vs PyTorch f32 | {fmt(ti)} | {fmt(pf)} | {pf / ti:.2f}× |")
PY
)$'\n'
done
# Accuracy of --int8 against f32, same saved model.
if [ -n "${TEXTCLF_INT8_MODEL:-}" ]; then
  QM=$TEXTCLF_INT8_MODEL
  ORIGIN="the model in TEXTCLF_INT8_MODEL"
else
  sst2_subset "$DATA/sst2/train.csv" "$WORK/train.csv" 1000
  echo "  fine-tuning the model to quantize" >&2
  "$BIN" train --model "$MODEL" --train "$WORK/train.csv" --valid "$DATA/sst2/dev.csv" --test "$DATA/sst2/test.csv" --epochs 2 \
    --max-len 64 --lr 5e-5 --batch-size 32 --patience 0 --out "$WORK/run" --quiet
  QM=$WORK/run/model
  ORIGIN="MiniLM-L6 fine-tuned here on 1,000 SST-2 sentences per class (2 epochs)"
fi
ACC=""
for split in dev test; do
  for q in "" --int8; do
    "$BIN" eval --model "$QM" --data "$DATA/sst2/$split.csv" --out "$WORK/eval-$split$q" $q --quiet
  done
  ACC+=$(python3 - "$split" "$WORK/eval-$split/metrics.json" "$WORK/eval-$split--int8/metrics.json" <<'PY'
import json, sys
f, q = (json.load(open(p)) for p in sys.argv[2:4])
ft, qt = f["timing"].get("predict_test", float("nan")), q["timing"].get("predict_test", float("nan"))
print(f"| SST-2 {sys.argv[1]} | {100*f['accuracy']:.2f} | {100*q['accuracy']:.2f} | {100*(q['accuracy']-f['accuracy']):+.2f} | {ft:.1f} s / {qt:.1f} s |")
PY
)$'\n'
done
TV=$("$PY" -c 'import torch, transformers; print(f"torch {torch.__version__}, transformers {transformers.__version__}")')
SECTION=$(cat <<MD
<!-- inference:start -->
## Inference: f32 and int8 (\`bench/infer.sh\`)
Measured $(date -u +%Y-%m-%d) on $CPU, $(nproc) cores; reference $TV in the same run
(int8: \`torch.ao.quantization.quantize_dynamic\` on every \`nn.Linear\`). MiniLM-L6, synthetic
batches, median of $ROUNDS alternating rounds. Ratio > 1: textclf faster.
| what | textclf | PyTorch | PyTorch time / textclf time |
|---|---|---|---|
$ROWS
### What \`--int8\` costs in accuracy ($ORIGIN)
| data | f32 accuracy % | int8 accuracy % | change (points) | predict time f32 / int8 |
|---|---|---|---|---|
$ACC
<!-- inference:end -->
MD
)
echo "$SECTION"
update_section inference "$SECTION"
