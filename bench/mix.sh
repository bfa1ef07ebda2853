#!/usr/bin/env bash
# Training throughput on real length mixes, with length-grouped batches on both sides: one
# epoch of MiniLM-L6 fine-tuning (dropout on, as in real training) with `textclf train`
# (bucketed batches, its default) and bench/torch_finetune.py --group-by-length (PyTorch +
# transformers, batches grouped the way Trainer(group_by_length=True) does), on
#   SST-2: 1,000 training sentences per class, max-len 64, batch 32;
#   IMDB:  320 training reviews per class, max-len 256, batch 16.
# Reports the median training seconds per epoch and real (non-padding) tokens/s over
# ROUNDS alternating rounds, and the ratio. Writes the "mix" section of BENCHMARKS.md.
# Env: TEXTCLF_MODEL, TEXTCLF_DATA_DIR (../shared/data), BENCH_ROUNDS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init 2
PY=$(torch_python)
sst2_subset "$DATA/sst2/train.csv" "$WORK/sst2-train.csv" 1000
sst2_subset "$DATA/imdb/train.csv" "$WORK/imdb-train.csv" 320
for d in sst2 imdb; do
  src=$DATA/sst2/dev.csv; [ $d = imdb ] && src=$DATA/imdb/test.csv
  sst2_subset "$src" "$WORK/$d-eval.csv" 64
done
declare -A SEC TOK
# one TOOL SET MAXLEN BATCH: one epoch; appends seconds and tokens/s.
one() {
  local tool=$1 set=$2 len=$3 bs=$4
  local common=(--model "$MODEL" --train "$WORK/$set-train.csv" --valid "$WORK/$set-eval.csv"
    --test "$WORK/$set-eval.csv" --epochs 1 --max-len "$len" --lr 5e-5 --batch-size "$bs")
  local r
  if [ "$tool" = textclf ]; then
    rm -rf "$WORK/run"
    "$BIN" train "${common[@]}" --patience 0 --no-save-model --out "$WORK/run" --quiet
    r=$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["epochs"][-1]; print(e["train_seconds"], e["tokens_per_s"])' "$WORK/run/metrics.json")
  else
    r=$("$PY" bench/torch_finetune.py "${common[@]}" --group-by-length 2>/dev/null \
      | python3 -c 'import json,sys; e=json.loads(sys.stdin.read().strip().splitlines()[-1])["epochs"][-1]; print(e["train_seconds"], e["tokens_per_s"])')
  fi
  SEC[$tool-$set]+="${r% *} "; TOK[$tool-$set]+="${r#* } "
  echo "  $tool $set: ${r% *} s, ${r#* } tokens/s" >&2
}
for r in $(seq "$ROUNDS"); do
  echo "round $r/$ROUNDS" >&2
  one textclf sst2 64 32; one torch sst2 64 32
  one textclf imdb 256 16; one torch imdb 256 16
done
ROWS=""
for set in sst2 imdb; do
  ts=$(med ${SEC[textclf-$set]}); ps=$(med ${SEC[torch-$set]})
  tt=$(med ${TOK[textclf-$set]}); pt=$(med ${TOK[torch-$set]})
  label="SST-2, 2,000 sentences, max-len 64, batch 32"
  [ $set = imdb ] && label="IMDB, 640 reviews, max-len 256, batch 16"
  ROWS+=$(python3 -c "print(f'| $label | {$ts:.1f} s, {$tt:.0f} tok/s | {$ps:.1f} s, {$pt:.0f} tok/s | {$ts/$ps:.2f}× |')")$'\n'
done
TV=$("$PY" -c 'import torch, transformers; print(f"torch {torch.__version__}, transformers {transformers.__version__}")')
SECTION=$(cat <<MD
<!-- mix:start -->
## Training on real length mixes (\`bench/mix.sh\`)
Measured $(date -u +%Y-%m-%d) on $CPU, $(nproc) cores; $TV; median of $ROUNDS alternating rounds.
One epoch of MiniLM-L6 fine-tuning, dropout on, lr 5e-5, with length-grouped batches on both
sides (textclf's default bucketing; PyTorch with \`--group-by-length\`, batches grouped as
\`Trainer(group_by_length=True)\` groups them). Tokens/s counts real tokens, not padding.

| data | textclf, train time per epoch | PyTorch + transformers | textclf / PyTorch (time) |
|---|---|---|---|
$ROWS
<!-- mix:end -->
MD
)
echo "$SECTION"
update_section mix "$SECTION"
