#!/usr/bin/env bash
# ModernBERT on a real length mix at max-len 1,024 (issue 19): one epoch of fine-tuning a
# random-init ModernBERT-base (bench/modern_configs.py) on IMDB reviews, dropout as
# configured (0), lr 5e-5, batch 8, with textclf train (unpadded layers, bucketed batches,
# its defaults) and bench/torch_finetune.py --group-by-length (PyTorch + transformers, sdpa
# attention, batches grouped as Trainer(group_by_length=True) groups them: transformers
# 5's ModernBERT unpads only inside flash-attention, which has no CPU kernel, so on this
# CPU grouping by length is PyTorch's own way of not computing padding).
# ModernBERT's BPE tokenizer.json is not available offline: both sides tokenize with
# all-MiniLM-L6-v2's WordPiece tokenizer (English token counts of the same order).
# Reports the median training seconds per epoch, real (non-padding) tokens/s and peak
# resident memory over ROUNDS alternating rounds. Writes the "modern-mix" section of
# BENCHMARKS.md.
# Env: TEXTCLF_DATA_DIR (../shared/data), TEXTCLF_TORCH_VENV, BENCH_ROUNDS (2),
#      MIX_REVIEWS (32 per class), MODERN_MODELS (a folder holding bench/modern_configs.py's
#      models, built there when missing; default: a temporary one), BENCH_THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init 2
THREADS=${BENCH_THREADS:-2}
export RAYON_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
PY=$(torch_python)
N=${MIX_REVIEWS:-32}
MODELS=${MODERN_MODELS:-$WORK/models}
[ -f "$MODELS/modernbert-base/model.safetensors" ] || "$PY" bench/modern_configs.py "$MODELS" >&2
M=$WORK/modernbert-base
mkdir -p "$M"
ln -s "$(realpath "$MODELS/modernbert-base/model.safetensors")" "$M/model.safetensors"
cp "$MODELS/modernbert-base/config.json" "$M/"
for f in tokenizer.json tokenizer_config.json vocab.txt special_tokens_map.json; do
  [ -f "$MODEL/$f" ] && cp "$MODEL/$f" "$M/"
done
sst2_subset "$DATA/imdb/train.csv" "$WORK/train.csv" "$N"
sst2_subset "$DATA/imdb/test.csv" "$WORK/eval.csv" 8
declare -A SEC TOK MEM
one() {
  local tool=$1 r
  local common=(--model "$M" --train "$WORK/train.csv" --valid "$WORK/eval.csv"
    --test "$WORK/eval.csv" --epochs 1 --max-len 1024 --lr 5e-5 --batch-size 8)
  if [ "$tool" = textclf ]; then
    rm -rf "$WORK/run"
    /usr/bin/time -f '%M' -o "$WORK/rss" "$BIN" train "${common[@]}" --patience 0 --no-save-model --out "$WORK/run" --quiet
    r=$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["epochs"][-1]; print(e["train_seconds"], e["tokens_per_s"])' "$WORK/run/metrics.json")
  else
    r=$(/usr/bin/time -f '%M' -o "$WORK/rss" "$PY" bench/torch_finetune.py "${common[@]}" --group-by-length --threads "$THREADS" 2>/dev/null \
      | python3 -c 'import json,sys; e=json.loads(sys.stdin.read().strip().splitlines()[-1])["epochs"][-1]; print(e["train_seconds"], e["tokens_per_s"])')
  fi
  SEC[$tool]+="${r% *} "; TOK[$tool]+="${r#* } "
  MEM[$tool]+="$(python3 -c "print(round(int(open('$WORK/rss').read().split()[-1]) / 1024))") "
  echo "  $tool: ${r% *} s, ${r#* } tokens/s, ${MEM[$tool]##* }MiB" >&2
}
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
for r in $(seq "$ROUNDS"); do
  echo "round $r/$ROUNDS" >&2
  one textclf; one torch
done
LOAD_END=$(cut -d' ' -f1 /proc/loadavg)
ts=$(med ${SEC[textclf]}); ps=$(med ${SEC[torch]})
tt=$(med ${TOK[textclf]}); pt=$(med ${TOK[torch]})
tm=$(med ${MEM[textclf]}); pm=$(med ${MEM[torch]})
ROW=$(python3 -c "print(f'| IMDB, {2*$N} reviews, max-len 1,024, batch 8 | {$ts:.1f} s, {$tt:.0f} tok/s ({$tm:.0f} MiB) | {$ps:.1f} s, {$pt:.0f} tok/s ({$pm:.0f} MiB) | {$tt/$pt:.2f}× |')")
TV=$("$PY" -c 'import torch, transformers; print(f"torch {torch.__version__}, transformers {transformers.__version__}")')
SECTION=$(cat <<MD
<!-- modern-mix:start -->
## ModernBERT on a real length mix at 1,024 tokens (\`bench/modern_mix.sh\`)
Measured $(date -u +%Y-%m-%d) on $CPU, $THREADS threads each; $TV; median of $ROUNDS alternating
rounds; load average (1 min) at the start and the end: $LOAD_START, $LOAD_END. One epoch of
fine-tuning a random-init ModernBERT-base (bench/modern_configs.py), lr 5e-5. textclf runs its
unpadded layers with bucketed batches; PyTorch + transformers (sdpa attention) groups batches by
length as \`Trainer(group_by_length=True)\` does: transformers' ModernBERT unpads only inside
flash-attention, which has no CPU kernel. Both tokenize with all-MiniLM-L6-v2's WordPiece
tokenizer (ModernBERT's tokenizer.json is not available offline). Tokens/s counts real tokens;
peak resident memory of the whole process in parentheses.

| data | textclf, train time per epoch | PyTorch + transformers | tokens/s, textclf / PyTorch |
|---|---|---|---|
$ROW
<!-- modern-mix:end -->
MD
)
echo "$SECTION"
update_section modern-mix "$SECTION"
