#!/usr/bin/env bash
# Memory of a fine-tuning step at 512 tokens: peak RSS of `textclf bench train-step` and of
# bench/torch_step.py (PyTorch + transformers) at 8×512 on MiniLM-L6, each with and without
# activation checkpointing (`--grad-checkpoint`; transformers' gradient_checkpointing_enable),
# and the step time of each. Activation memory is estimated as the peak at 8×512 minus the
# peak of the same process at 8×16 (same model, gradients and optimizer state). Rounds
# alternate the four configurations; figures are medians. Writes the "memory" section of
# BENCHMARKS.md. Env: TEXTCLF_MODEL (../shared/models/all-MiniLM-L6-v2), BENCH_ROUNDS (3).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init
PY=$(torch_python)
# run NAME ARGS…: one process; appends its peak RSS (KiB) and median step (ms) to RSS[NAME], MS[NAME].
declare -A RSS MS
run() {
  local name=$1; shift
  local log; log=$(mktemp)
  local out; out=$(/usr/bin/time -f '%M' -o "$log" "$@")
  RSS[$name]+="$(tail -1 "$log") "; MS[$name]+="$(field "$(echo "$out" | tail -1)" step.median_ms) "
  rm -f "$log"
}
# (arrays, not functions: /usr/bin/time runs a program)
TC=("$BIN" bench train-step --model "$MODEL" --quiet)
PT=("$PY" bench/torch_step.py train-step --model "$MODEL")
for r in $(seq "$ROUNDS"); do
  echo "round $r/$ROUNDS" >&2
  run textclf "${TC[@]}" --batch 8 --len 512 --steps 3
  run torch "${PT[@]}" --batch 8 --len 512 --steps 3
  run textclf-ckpt "${TC[@]}" --batch 8 --len 512 --steps 3 --grad-checkpoint
  run torch-ckpt "${PT[@]}" --batch 8 --len 512 --steps 3 --grad-checkpoint
done
for c in textclf torch textclf-ckpt torch-ckpt; do
  extra=(); [[ $c == *ckpt ]] && extra=(--grad-checkpoint)
  case $c in
    textclf*) run "$c-base" "${TC[@]}" --batch 8 --len 16 --steps 1 "${extra[@]}" ;;
    *) run "$c-base" "${PT[@]}" --batch 8 --len 16 --steps 1 "${extra[@]}" ;;
  esac
done
# Medians per configuration: peak RSS at 8×512 (P), at 8×16 (B), step ms (T).
declare -A P B T
ROWS=""
for c in textclf torch textclf-ckpt torch-ckpt; do
  P[$c]=$(med ${RSS[$c]}); B[$c]=$(med ${RSS[$c-base]}); T[$c]=$(med ${MS[$c]})
  ROWS+=$(python3 -c "print(f'| $c | {${P[$c]}/1024:.0f} MiB | {${B[$c]}/1024:.0f} MiB | {(${P[$c]}-${B[$c]})/1024:.0f} MiB | {${T[$c]}/1000:.2f} s |')")$'\n'
done
RATIOS=$(python3 - <<PY
pt, pp, bt, bp = ${P[textclf]}, ${P[torch]}, ${B[textclf]}, ${B[torch]}
ct, cp, cbt, cbp = ${P[textclf-ckpt]}, ${P[torch-ckpt]}, ${B[textclf-ckpt]}, ${B[torch-ckpt]}
tt, tp, ct_s, cp_s = ${T[textclf]}, ${T[torch]}, ${T[textclf-ckpt]}, ${T[torch-ckpt]}
print(f"- Peak RSS, textclf / PyTorch: {pt/pp:.2f}× plain, {ct/cp:.2f}× with checkpointing.")
print(f"- Activation memory, textclf / PyTorch: {(pt-bt)/(pp-bp):.2f}× plain, {(ct-cbt)/(cp-cbp):.2f}× with checkpointing.")
print(f"- Checkpointing cuts textclf's activation memory to {(ct-cbt)/(pt-bt):.2f}× for {ct_s/tt:.2f}× the step time (PyTorch: {(cp-cbp)/(pp-bp):.2f}× for {cp_s/tp:.2f}×).")
print(f"- Step time, textclf / PyTorch: {tt/tp:.2f}× plain, {ct_s/cp_s:.2f}× with checkpointing.")
PY
)
SECTION=$(cat <<MD
<!-- memory:start -->
## Memory at 512 tokens, with and without \`--grad-checkpoint\` (\`bench/memory.sh\`)
Measured $(date -u +%Y-%m-%d) on $CPU, $(nproc) cores, $ROUNDS alternating rounds: MiniLM-L6, batch 8×512,
dropout off, 3 timed steps after 1 warm-up per process; PyTorch $("$PY" -c 'import torch; print(torch.__version__)')
with eager attention. "Activation memory" is the peak at 8×512 minus the peak of the same
configuration at 8×16 (same weights, gradients and AdamW state; for PyTorch it also
removes the Python and libtorch footprint).

| configuration | peak RSS 8×512 | peak RSS 8×16 | activation memory | step |
|---|---|---|---|---|
$ROWS
$RATIOS
<!-- memory:end -->
MD
)
echo "$SECTION"
update_section memory "$SECTION"
