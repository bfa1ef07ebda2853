#!/usr/bin/env bash
# Two measurements issue 17 asked for about the multinomial logistic regression, on the
# many-class sets of bench/baseline_multiclass.sh (GoEmotions single-label rows, 28
# classes; AG News, 4 classes), TF-IDF features as `baseline` builds them, train → test:
#
# 1. The C grid (1, 4, 16, 64) one C at a time with every core on each L-BFGS evaluation
#    (what `baseline` does) against as many Cs at once as there are cores, one core each.
#    Whole processes timed with /usr/bin/time (wall, peak RSS), alternating, median of
#    BENCH_RUNS (default 3).
# 2. Dual coordinate descent (crates/linear/src/solver/softmax_dual.rs) against L-BFGS on
#    the same objective: without intercepts, and with a constant feature of value 1 (an
#    intercept regularised like the other weights). One run per C.
#
#   bench/multinomial_solvers.sh    # prints the tables and rewrites their section in BENCHMARKS.md
#
# Env: TEXTCLF_DATA_DIR (default ../shared/data), BENCH_RUNS, BENCH_CS (default 1,4,16,64),
#      TEXTCLF_BENCH_VENV (default ~/.cache/textclf/bench-venv, for pandas).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
TEXTCLF_BIN=none bench_init # the driver is an example of textclf-linear, built below
RUNS=${BENCH_RUNS:-3}
CS=${BENCH_CS:-1,4,16,64}
VENV=${TEXTCLF_BENCH_VENV:-$HOME/.cache/textclf/bench-venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q scikit-learn pandas
fi
cargo build --release -q -p textclf-linear --example multinomial_solvers
DRV=${CARGO_TARGET_DIR:-target}/release/examples/multinomial_solvers
"$VENV/bin/python" bench/multiclass_data.py "$DATA" "$WORK"

GRID_ROWS=""
DUAL_LINES="$WORK/dual.jsonl"
: >"$DUAL_LINES"
for set in ge ag; do
  label=$([ $set = ge ] && echo "GoEmotions 1-label (36,308 train)" || echo "AG News (6,080 train)")
  tr="$WORK/${set}_train.csv" te="$WORK/${set}_test.csv"
  declare -A wall=() mem=()
  for i in $(seq "$RUNS"); do
    for mode in seq par; do
      /usr/bin/time -f "%e %M" -o "$WORK/time" "$DRV" grid $mode "$tr" "$te" "$CS" >"$WORK/grid-$mode.jsonl" 2>/dev/null
      read -r w m <"$WORK/time"
      wall[$mode]+="$w "; mem[$mode]+="$m "
      echo "  $set grid $mode run $i: $w s, $((m / 1024)) MiB" >&2
    done
  done
  accs=$(python3 -c "
import json
fits=[json.loads(l)['fit'] for l in open('$WORK/grid-seq.jsonl') if '\"fit\"' in l]
print(', '.join(f\"{f['test_accuracy']*100:.2f}\" for f in fits))")
  ws=$(med ${wall[seq]}) wp=$(med ${wall[par]}) ms=$(med ${mem[seq]}) mp=$(med ${mem[par]})
  GRID_ROWS+=$(python3 -c "print(f'\n| $label | $CS | {$ws:.1f} | {$wp:.1f} | {$wp/$ws:.2f} | {$ms/1024:.0f} | {$mp/1024:.0f} | {$mp/$ms:.2f} | $accs |')")
  for mode in dual dual-bias; do
    echo "  $set $mode" >&2
    "$DRV" $mode "$tr" "$te" "$CS" 2>/dev/null | sed "s/^{/{\"set\":\"$label\",/" >>"$DUAL_LINES"
  done
  cp "$WORK/grid-seq.jsonl" "$WORK/grid-$set.jsonl"
done

DUAL_ROWS=$(python3 - "$DUAL_LINES" "$WORK" <<'PY'
import json, sys
rows = []
free = {}
for set_ in ["ge", "ag"]:
    for l in open(f"{sys.argv[2]}/grid-{set_}.jsonl"):
        d = json.loads(l)
        if "fit" in d:
            free[(set_, d["fit"]["c"])] = d["fit"]["test_accuracy"]
for l in open(sys.argv[1]):
    d = json.loads(l)
    set_ = "ge" if d["set"].startswith("GoEmotions") else "ag"
    variant = "none" if d["mode"] == "dual" else "feature of value 1"
    lb, opt, own = d["lbfgs"], d["optimum"], d["dual_own_rule"]
    def ep(e):
        return f"{e['epoch']} ep, {e['secs']:.2f} s, {100*e['test_accuracy']:.2f}" if e else "not within 300 epochs"
    rows.append(
        f"| {d['set'].split(' (')[0]} | {variant} | {d['c']:g} "
        f"| {lb['iterations']} it, {lb['secs']:.2f} s, {100*lb['test_accuracy']:.2f} | {d['lbfgs_one_core_secs']:.2f} "
        f"| {ep(d['dual_to_lbfgs_objective'])} "
        f"| {opt['iterations']} it, {opt['secs']:.2f} s | {ep(d['dual_to_optimum'])} "
        f"| {own['iterations']} ep, {own['secs']:.2f} s, {100*own['test_accuracy']:.2f} "
        f"| {100*free.get((set_, d['c']), float('nan')):.2f} |")
print("\n" + "\n".join(rows))
PY
)

SECTION=$(cat <<MD
<!-- multinomial-solvers:start -->
## Multinomial LR: grid points in parallel, and a dual coordinate method (\`bench/multinomial_solvers.sh\`)

Measured $(date -u +%Y-%m-%d) on $CPU, $(nproc) cores. TF-IDF features as \`baseline\` builds them (1-2 grams,
min_df 2, sublinear), fitted on train, accuracy on test; the driver is \`crates/linear/examples/multinomial_solvers.rs\`.

**The C grid in parallel.** L-BFGS with textclf's stopping rule and intercepts, the grid one C at a time with every
core on each evaluation ("one at a time", what \`baseline\` does) or as many Cs at once as there are cores, one core
each ("side by side"). Whole processes, median of $RUNS alternating runs. Test accuracy per C is the same either way.

| data | C grid | one at a time s | side by side s | time ratio | one at a time MiB | side by side MiB | memory ratio | test acc % per C |
|---|---|---|---|---|---|---|---|---|$GRID_ROWS

**Dual coordinate descent against L-BFGS on the same objective.** The dual solver (one core; an epoch visits every
row once) against L-BFGS (every core, and timed again on one core), per C, on two objectives it can solve: no
intercept, and an intercept carried by a constant feature of value 1 and regularised like the other weights
(LIBLINEAR's \`-B 1\`). "ep": epochs, "it": L-BFGS iterations; each cell: count, seconds, test accuracy %. The dual's
times exclude the objective evaluated after each epoch for this table. "to L-BFGS's objective": the first epoch whose
objective is at or below where L-BFGS's stopping rule ended; "to the optimum": within 1e-6 of L-BFGS run to a
gradient of 1e-8; "own rule": the dual's stopping rule (no block moves by more than 1e-3 of its total in an epoch).
The last column is textclf's model, with its free intercept, at the same C (first table's run).

| data | intercept | C | L-BFGS (rule) | L-BFGS 1 core s | dual to L-BFGS's objective | L-BFGS to the optimum | dual to the optimum | dual, own rule | free intercept acc % |
|---|---|---|---|---|---|---|---|---|---|$DUAL_ROWS
<!-- multinomial-solvers:end -->
MD
)
echo "$SECTION"
update_section multinomial-solvers "$SECTION"
