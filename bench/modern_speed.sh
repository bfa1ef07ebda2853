#!/usr/bin/env bash
# Speed of the modern families (issue 19): textclf vs PyTorch + transformers on this CPU, in
# the same run. Random-init base models built offline from their configs
# (bench/modern_configs.py: ModernBERT-base with mean pooling, DeBERTa-v3-base,
# ELECTRA-base); a training step at 16x128 (forward, backward, AdamW, dropout off) and
# inference at 32x128, alternating textclf and PyTorch rounds, medians, and the peak
# resident memory of each process. Writes the modern-families section of BENCHMARKS.md.
#
# Env: TEXTCLF_TORCH_VENV (~/.cache/textclf/torch-venv), BENCH_ROUNDS (3),
#      MODERN_FAMILIES ("modernbert-base deberta-v3-base electra-base"), BENCH_THREADS (2),
#      BENCH_STEPS (3 timed steps per process, after 1 untimed), MODERN_MODELS (a folder to
#      keep the generated models in between runs; default: a temporary one).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-2}
STEPS=${BENCH_STEPS:-3}
FAMILIES=${MODERN_FAMILIES:-"modernbert-base deberta-v3-base electra-base"}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
export TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=$THREADS
cargo build --release -q -p textclf-cli
BIN=${CARGO_TARGET_DIR:-target}/release/textclf
PY=$(torch_python)
MODELS=${MODERN_MODELS:-$WORK/models}
for fam in $FAMILIES; do
  [ -f "$MODELS/$fam/model.safetensors" ] || { "$PY" bench/modern_configs.py "$MODELS" >&2; break; }
done

# peak CMD…: runs CMD, prints its stdout, and writes its peak RSS in MiB to $WORK/peak.
peak() {
  /usr/bin/time -f '%M' -o "$WORK/rss" "$@"
  python3 -c "print(round(int(open('$WORK/rss').read().split()[-1]) / 1024))" > "$WORK/peak"
}

LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
ROWS=""
for fam in $FAMILIES; do
  M="$MODELS/$fam"
  tt=(); pt=(); tm=(); pm=()
  for r in $(seq "$ROUNDS"); do
    j=$(peak "$BIN" bench train-step --model "$M" --batch 16 --len 128 --steps "$STEPS" --quiet); tm+=("$(cat "$WORK/peak")")
    tt+=("$(field "$j" step.median_ms)")
    j=$(peak "$PY" bench/torch_step.py train-step --model "$M" --batch 16 --len 128 --steps "$STEPS" --threads "$THREADS" 2>/dev/null); pm+=("$(cat "$WORK/peak")")
    pt+=("$(field "$j" step.median_ms)")
    echo "  $fam train step 16x128 round $r: textclf ${tt[-1]} ms, torch ${pt[-1]} ms" >&2
  done
  ti=(); pi=(); im=(); qm=()
  for r in $(seq "$ROUNDS"); do
    j=$(peak "$BIN" bench infer --model "$M" --batch 32 --len 128 --steps "$STEPS" --quiet); im+=("$(cat "$WORK/peak")")
    ti+=("$(field "$j" seq_per_s)")
    j=$(peak "$PY" bench/torch_step.py infer --model "$M" --batch 32 --len 128 --steps "$STEPS" --threads "$THREADS" 2>/dev/null); qm+=("$(cat "$WORK/peak")")
    pi+=("$(field "$j" seq_per_s)")
    echo "  $fam infer 32x128 round $r: textclf ${ti[-1]} seq/s, torch ${pi[-1]} seq/s" >&2
  done
  T=$(med "${tt[@]}"); P=$(med "${pt[@]}"); TI=$(med "${ti[@]}"); PI=$(med "${pi[@]}")
  ROWS+=$(python3 -c "print(f'| {\"$fam\"} | {$T/1e3:.2f} s ({$(med "${tm[@]}"):.0f} MiB) | {$P/1e3:.2f} s ({$(med "${pm[@]}"):.0f} MiB) | {$T/$P:.2f}× | {$TI:.1f} seq/s ({$(med "${im[@]}"):.0f} MiB) | {$PI:.1f} seq/s ({$(med "${qm[@]}"):.0f} MiB) | {$TI/$PI:.2f}× |')")$'\n'
done
LOAD_END=$(cut -d' ' -f1 /proc/loadavg)
SECTION="<!-- modern-families:start -->
## Modern families: ModernBERT, DeBERTa-v3, ELECTRA (bench/modern_speed.sh)

Random-init base models built offline from their configs (bench/modern_configs.py), CPU:
$CPU, $THREADS threads each, $ROUNDS alternating rounds (median), PyTorch $("$PY" -c 'import torch; print(torch.__version__)') with eager
attention. Train step = forward + backward + AdamW at 16×128 (dropout off); inference at
32×128. Peak resident memory of the whole process in parentheses. Ratios: train-step time
textclf / PyTorch (issue target ≤ 0.8×), inference throughput textclf / PyTorch (target ≥ 1.3×).
Load average (1 min) at the start and the end: $LOAD_START, $LOAD_END.

| model | textclf step | PyTorch step | time ratio | textclf infer | PyTorch infer | throughput ratio |
|---|---|---|---|---|---|---|
${ROWS}<!-- modern-families:end -->"
echo "$SECTION"
update_section modern-families "$SECTION"
