#!/usr/bin/env bash
# Fine-tuning benchmark: textclf vs PyTorch + transformers on this machine, same run.
#  1. training step (MiniLM-L6, forward + backward + AdamW, dropout off) at 32x64 and 16x256,
#     and inference at 32x128: alternating runs, medians, ratios;
#  2. the same fine-tune (same SST-2 training subset, dev for selection, labelled test)
#     with `textclf train` and bench/torch_finetune.py: accuracy and time per epoch;
#  3. the model textclf saved, loaded in Python transformers: same predictions?
# Writes its section of BENCHMARKS.md.
#
# Env: TEXTCLF_DATA_DIR (../shared/data), TEXTCLF_MODEL (../shared/models/all-MiniLM-L6-v2),
#      TEXTCLF_TORCH_VENV (~/.cache/textclf/torch-venv; created with torch, transformers, pandas),
#      BENCH_ROUNDS (3), FINETUNE_PER_CLASS (1000), FINETUNE_EPOCHS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init
PER_CLASS=${FINETUNE_PER_CLASS:-1000}
EPOCHS=${FINETUNE_EPOCHS:-2}
PY=$(torch_python)


declare -A T
STEP_ROWS=""
for shape in "32 64" "16 256"; do
  set -- $shape; b=$1; l=$2
  tt=(); pt=(); tf=(); pf=(); tb=(); pb=()
  for r in $(seq "$ROUNDS"); do
    j=$("$BIN" bench train-step --model "$MODEL" --batch $b --len $l --steps 5 --quiet)
    tt+=("$(field "$j" step.median_ms)"); tf+=("$(field "$j" forward.median_ms)"); tb+=("$(field "$j" backward.median_ms)")
    j=$("$PY" bench/torch_step.py train-step --model "$MODEL" --batch $b --len $l --steps 5 2>/dev/null)
    pt+=("$(field "$j" step.median_ms)"); pf+=("$(field "$j" forward.median_ms)"); pb+=("$(field "$j" backward.median_ms)")
    echo "  train step ${b}x${l} round $r: textclf ${tt[-1]} ms, torch ${pt[-1]} ms" >&2
  done
  T1=$(med "${tt[@]}"); P1=$(med "${pt[@]}")
  STEP_ROWS+=$(python3 -c "print(f'| train step {$b}×{$l} | {$T1/1e3:.2f} s (fwd {$(med "${tf[@]}")/1e3:.2f} / bwd {$(med "${tb[@]}")/1e3:.2f}) | {$P1/1e3:.2f} s (fwd {$(med "${pf[@]}")/1e3:.2f} / bwd {$(med "${pb[@]}")/1e3:.2f}) | {$T1/$P1:.2f}× |')")$'\n'
done
ti=(); pi=()
for r in $(seq "$ROUNDS"); do
  j=$("$BIN" bench infer --model "$MODEL" --batch 32 --len 128 --steps 5 --quiet); ti+=("$(field "$j" seq_per_s)")
  j=$("$PY" bench/torch_step.py infer --model "$MODEL" --batch 32 --len 128 --steps 5 2>/dev/null); pi+=("$(field "$j" seq_per_s)")
  echo "  infer 32x128 round $r: textclf ${ti[-1]} seq/s, torch ${pi[-1]} seq/s" >&2
done
TI=$(med "${ti[@]}"); PI=$(med "${pi[@]}")
STEP_ROWS+=$(python3 -c "print(f'| inference 32×128 | {$TI:.1f} seq/s | {$PI:.1f} seq/s | {$PI/$TI:.2f}× (time) |')")$'\n'
# Peak RSS of a whole training-step process at 16x256 (model, optimizer state, activations).
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
TR=$(rss "$BIN" bench train-step --model "$MODEL" --batch 16 --len 256 --steps 2 --quiet)
PR=$(rss "$PY" bench/torch_step.py train-step --model "$MODEL" --batch 16 --len 256 --steps 2)
echo "  peak RSS 16x256: textclf $TR KiB, torch $PR KiB" >&2
STEP_ROWS+=$(python3 -c "print(f'| peak RSS, train step 16×256 | {$TR/1024:.0f} MiB | {$PR/1024:.0f} MiB | {$TR/$PR:.2f}× |')")

# Same training subset for both tools.
sst2_subset "$DATA/sst2/train.csv" "$WORK/train.csv" "$PER_CLASS"
FT="--epochs $EPOCHS --max-len 64 --lr 5e-5 --batch-size 32"
echo "  fine-tuning with textclf" >&2
t0=$(date +%s.%N)
"$BIN" train --model "$MODEL" --train "$WORK/train.csv" --valid "$DATA/sst2/dev.csv" --test "$DATA/sst2/test.csv" $FT --patience 0 --out "$WORK/run" --quiet
t1=$(date +%s.%N)
echo "  fine-tuning with PyTorch" >&2
PT=$("$PY" bench/torch_finetune.py --model "$MODEL" --train "$WORK/train.csv" --valid "$DATA/sst2/dev.csv" --test "$DATA/sst2/test.csv" $FT 2>/dev/null)
HF=$("$PY" bench/check_hf_load.py --run "$WORK/run" --data "$DATA/sst2/test.csv" 2>/dev/null || true)
FT_ROWS=$(python3 - "$WORK/run/metrics.json" "$PT" "$t0" "$t1" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); p = json.loads(sys.argv[2])
best = m["best"]; eps = m["epochs"]
t_ep = sum(e["train_seconds"] for e in eps) / len(eps)
print(f"| textclf | {100*best['val_accuracy']:.2f} (epoch {m['best_epoch']}) | {100*m['accuracy']:.2f} | {t_ep:.0f} s | {float(sys.argv[4])-float(sys.argv[3]):.0f} s |")
print(f"| PyTorch + transformers | {100*p['val_accuracy']:.2f} (epoch {p['best_epoch']}) | {100*p['test_accuracy']:.2f} | {p['seconds_per_epoch']:.0f} s | {p['total_seconds']:.0f} s |")
PY
)
FULL_MIN=$(python3 -c "import json; m=json.load(open('$WORK/run/metrics.json')); e=m['epochs']; sps=sum(r['samples_per_s'] for r in e)/len(e); print(round(67349/sps/60))")
TV=$("$PY" -c 'import torch, transformers; print(f"torch {torch.__version__}, transformers {transformers.__version__}")')
SECTION=$(cat <<MD
<!-- finetune:start -->
## Fine-tuning (\`bench/finetune.sh\`)

Measured $(date -u +%Y-%m-%d) on $CPU, $(nproc) cores, fp32, CPU; reference $TV in the same run.

### Speed: MiniLM-L6 (../shared/models/all-MiniLM-L6-v2), dropout off, median of $ROUNDS alternating rounds of 5 steps
| what | textclf | PyTorch | textclf / PyTorch |
|---|---|---|---|
$STEP_ROWS

### Same fine-tune, same data: SST-2, $PER_CLASS training sentences per class, $EPOCHS epochs, max-len 64, lr 5e-5, batch 32
Selection on dev (872), report on the labelled test set (1,821). The subset keeps fine-tuning CPU-feasible here;
at the measured textclf throughput the full 67,349-sentence training split would take ≈ $FULL_MIN min per epoch.

| tool | dev accuracy % (best epoch) | test accuracy % | train time per epoch | total wall |
|---|---|---|---|---|
$FT_ROWS

Model saved by textclf, loaded with \`AutoModelForSequenceClassification.from_pretrained\` + \`AutoTokenizer\`
(bench/check_hf_load.py): \`$HF\`
<!-- finetune:end -->
MD
)
echo "$SECTION"
update_section finetune "$SECTION"
