#!/usr/bin/env bash
# The GEMM choice: the `gemm` crate (what textclf's layers run) against OpenBLAS (NumPy's
# bundled build) and MKL (PyTorch's) on the shapes of a MiniLM step (2,048 tokens),
# 2 threads each, alternating rounds, medians of GFLOP/s. Writes the "gemm" section of
# BENCHMARKS.md. Env: TEXTCLF_TORCH_VENV (as bench/finetune.sh), BENCH_ROUNDS (3).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init
PY=$(torch_python)
ROWS=""
# m n k transpose_a label
while read -r m n k t label; do
  flag=""; [ "$t" = 1 ] && flag="--transpose-a"
  ours=(); ob=(); mk=()
  for r in $(seq "$ROUNDS"); do
    j=$("$BIN" bench gemm --m "$m" --n "$n" --k "$k" $flag)
    ours+=("$(field "$j" gflops)")
    out=$("$PY" bench/gemm_ref.py --m "$m" --n "$n" --k "$k" $flag)
    ob+=("$(field "$(echo "$out" | sed -n 1p)" gflops)")
    mk+=("$(field "$(echo "$out" | sed -n 2p)" gflops)")
  done
  ROWS+=$(python3 - "$label" "$m" "$n" "$k" "${ours[*]}" "${ob[*]}" "${mk[*]}" <<'PY'
import statistics, sys
label, m, n, k = sys.argv[1:5]
o, b, k2 = (statistics.median(map(float, s.split())) for s in sys.argv[5:8])
print(f"| {label.replace('_', ' ')} | {m}×{n}×{k} | {o:.0f} | {b:.0f} | {k2:.0f} | {o/b:.2f}× / {o/k2:.2f}× |")
PY
)$'\n'
  echo "  $label done" >&2
done <<'SHAPES'
2048 384 384 0 attention_projection
2048 1536 384 0 feed-forward_in
2048 384 1536 0 feed-forward_out
1536 384 2048 1 weight_gradient_(Aᵀ)
32 1536 384 0 one_short_batch_(32_tokens)
SHAPES
VERS=$("$PY" -c 'import numpy, torch; print(f"NumPy {numpy.__version__} with its OpenBLAS, torch {torch.__version__} with MKL")')
SECTION=$(cat <<MD
<!-- gemm:start -->
## GEMM: the \`gemm\` crate vs OpenBLAS and MKL (\`bench/gemm.sh\`)
Measured $(date -u +%Y-%m-%d) on $CPU, 2 threads each, f32, $VERS; median GFLOP/s of $ROUNDS alternating rounds.
C = A·Bᵀ with B in the weight layout [n, k]. Shape m×n×k.
| GEMM | shape | gemm crate | OpenBLAS | MKL | gemm / OpenBLAS, / MKL |
|---|---|---|---|---|---|
$ROWS
<!-- gemm:end -->
MD
)
echo "$SECTION"
update_section gemm "$SECTION"
