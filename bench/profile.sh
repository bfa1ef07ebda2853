#!/usr/bin/env bash
# Where a textclf step spends its time: `textclf bench train-step --profile` at 32×64 and
# `bench infer --profile` at 32×128 (f32 and int8) on MiniLM-L6. Writes the "profile"
# section of BENCHMARKS.md. Env: TEXTCLF_MODEL (../shared/models/all-MiniLM-L6-v2).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init
table() {
  python3 - "$1" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
tot = d.get("step", d.get("batch_time"))["median_ms"]
print(f"Median {tot:.0f} ms per {'step' if 'step' in d else 'batch'}"
      + (f" (forward {d['forward']['median_ms']:.0f}, backward {d['backward']['median_ms']:.0f}, optimizer {d['optimizer']['median_ms']:.0f})" if "step" in d else "") + ".\n")
print("| phase | op | ms per step | calls per step | share of phase |")
print("|---|---|---|---|---|")
for r in d["profile"]:
    if r["ms_per_step"] >= 0.5:
        print(f"| {r['phase']} | {r['op']} | {r['ms_per_step']:.1f} | {r['calls_per_step'] or ''} | {100*r['share_of_phase']:.1f} % |")
PY
}
T=$("$BIN" bench train-step --model "$MODEL" --batch 32 --len 64 --steps 5 --profile --quiet)
I=$("$BIN" bench infer --model "$MODEL" --batch 32 --len 128 --steps 5 --profile --quiet)
Q=$("$BIN" bench infer --model "$MODEL" --batch 32 --len 128 --steps 5 --profile --int8 --quiet)
SECTION=$(cat <<MD
<!-- profile:start -->
## Where the time goes (\`bench/profile.sh\`)
Measured $(date -u +%Y-%m-%d) on $CPU, $(nproc) cores: \`textclf bench … --profile\`, MiniLM-L6, means over 5 steps.
Self time per op kind (a span inside another is counted once); \`autograd\` is candle's
backward bookkeeping and its built-in ops' gradients (residual adds, embedding sums,
reshapes); \`other\` is what no span covers. Rows under 0.5 ms are left out.

### Training step, 32×64, dropout off
$(table "$T")

### Inference, 32×128, f32
$(table "$I")

### Inference, 32×128, \`--int8\`
$(table "$Q")
<!-- profile:end -->
MD
)
echo "$SECTION"
update_section profile "$SECTION"
