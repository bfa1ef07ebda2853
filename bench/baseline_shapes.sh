#!/usr/bin/env bash
# Linear baselines for the other shapes of problem (issue 18) against scikit-learn in the
# same run: multi-label (GoEmotions), sentence-pair regression (STS-B: ridge, and the
# zero-training TF-IDF cosine), sentence-pair classification (RTE) and CoLA (MCC).
#
#   bench/baseline_shapes.sh     # prints the table and rewrites its section in BENCHMARKS.md
#
# textclf runs as a user runs it, `textclf baseline` (its metrics.json read back for the
# table); scikit-learn through bench/sklearn_shapes.py, which builds the same features and
# fits the C values textclf tried (its grid plus any extension), choosing C by the same rule. Both are timed as whole processes (read CSV, vectorize, the
# C search, predict), alternating textclf and scikit-learn, BENCH_RUNS times (default 3;
# GoEmotions BENCH_RUNS_GE times, default 1); times are medians.
#
# Data: GoEmotions train / dev / test as distributed (C and thresholds chosen on dev,
# scored on test). GLUE STS-B, RTE, CoLA: the train file split 90/10 (seeded shuffle,
# seed 13) into train / valid for choosing C; scored on the GLUE dev file.
#
# Env: TEXTCLF_DATA_DIR (default ../shared/data), BENCH_RUNS (default 3),
#      BENCH_RUNS_GE (runs of the GoEmotions comparison, default 1: scikit-learn takes minutes),
#      TEXTCLF_BENCH_VENV (default ~/.cache/textclf/bench-venv, with scikit-learn, pandas, scipy).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DATA=${TEXTCLF_DATA_DIR:-../shared/data}
RUNS=${BENCH_RUNS:-3}
RUNS_GE=${BENCH_RUNS_GE:-1}  # GoEmotions with scikit-learn takes minutes
VENV=${TEXTCLF_BENCH_VENV:-$HOME/.cache/textclf/bench-venv}
PY="$VENV/bin/python"
[ -x "$PY" ] || { echo "no python in $VENV: create it with scikit-learn, pandas and scipy" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
SKVER=$("$PY" -c 'import sklearn; print(sklearn.__version__)')
if [ -n "${TEXTCLF_BIN:-}" ]; then BIN=$TEXTCLF_BIN; else
  cargo build --release -q -p textclf-cli
  BIN=${CARGO_TARGET_DIR:-target}/release/textclf
fi

"$PY" - "$DATA" "$WORK" <<'PY'
import sys, pandas as pd
data, out = sys.argv[1], sys.argv[2]
for t in ["stsb", "rte", "cola"]:
    df = pd.read_csv(f"{data}/glue/{t}/train.csv", keep_default_na=False).sample(frac=1.0, random_state=13)
    n = int(0.9 * len(df))
    df[:n].to_csv(f"{out}/{t}_train.csv", index=False)
    df[n:].to_csv(f"{out}/{t}_valid.csv", index=False)
PY

timed() { # OUT CMD…: runs CMD with stdout to OUT, prints the wall seconds
  local out=$1; shift
  /usr/bin/time -f "%e" -o "$WORK/time" "$@" >"$out" 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
  cat "$WORK/time"
}

# tc_args TASK FILES… [MODEL]: sets TCA to the `textclf baseline` arguments of a task (the
# task names of bench/sklearn_shapes.py, plus svr), writing the run into $WORK/tc.
tc_args() {
  local task=$1; shift
  local common=(--no-save-model --overwrite --quiet --out "$WORK/tc")
  case $task in
    multilabel) TCA=(--train "$1" --valid "$2" --test "$3" --task multi-label --text-col text
                     --label-col labels --label-sep '|' --model "${5:-lr}") ;;
    ridge|svr) TCA=(--train "$1" --valid "$2" --test "$3" --task regression
                    --model "$([ "$task" = ridge ] && echo lr || echo svm)") ;;
    cosine) TCA=(--train "$1" --test "$2" --task regression --model cosine) ;;
    pair-lr|single-lr) TCA=(--train "$1" --valid "$2" --test "$3" --task single-label --model lr) ;;
  esac
  TCA=(baseline "${TCA[@]}" "${common[@]}")
}

# tc_json TASK: the figures of the last run ($WORK/tc/metrics.json) under the keys the
# table reads.
tc_json() {
  python3 - "$WORK/tc/metrics.json" "$1" <<'PY'
import json, sys
m, task = json.load(open(sys.argv[1])), sys.argv[2]
fit = m["model"].get("fit") or {}
out = {}
if fit.get("chosen_c") is not None:
    out["c"] = fit["chosen_c"]
    out["c_search"] = [{"c": p["c"]} for p in fit.get("c_search", [])]
if task == "multilabel":
    out.update(micro_f1=m["micro"]["f1"], macro_f1=m["macro"]["f1"])
elif task in ("ridge", "svr", "cosine"):
    out["pearson"] = m["pearson"]
else:
    out.update(accuracy=m["accuracy"], mcc=m["mcc"])
    out["majority"] = max(c["support"] for c in m["per_class"]) / m["n"]
print(json.dumps(out))
PY
}

ROWS=""
# run NAME LABEL METRIC TASK FILES… : textclf then scikit-learn, RUNS times.
run() {
  local name=$1 label=$2 metric=$3 task=$4; shift 4
  local tw=() sw=() runs=$RUNS
  [ "$task" = multilabel ] && runs=$RUNS_GE
  for i in $(seq "$runs"); do
    tc_args "$task" "$@"
    tw+=("$(timed "$WORK/$name.t.log" "$BIN" "${TCA[@]}")")
    tc_json "$task" > "$WORK/$name.t.json"
    local grid=""
    grid=$(python3 -c "import json; d=json.load(open('$WORK/$name.t.json')); print(','.join(repr(p['c']) for p in d.get('c_search', [])))")
    local skfiles=("$@")
    [ "$task" = multilabel ] && skfiles=("$1" "$2" "$3" "$4")
    sw+=("$(C_GRID="$grid" timed "$WORK/$name.s.json" "$PY" bench/sklearn_shapes.py "$task" "${skfiles[@]}")")
    echo "  $name run $i: textclf ${tw[-1]} s, scikit-learn ${sw[-1]} s" >&2
  done
  ROWS+=$(python3 - "$WORK/$name" "$label" "$metric" "$(med "${tw[@]}")" "$(med "${sw[@]}")" <<'PY'
import json, sys
base, label, metric, tw, sw = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
t, s = json.load(open(base + ".t.json")), json.load(open(base + ".s.json"))
keys = metric.split(",")
fmt = lambda d: " / ".join(f"{d[k]:.3f}" for k in keys)
c = f"{t['c']:g} / {s['c']:g}" if "c" in t else "–"
extra = ""
if "fixed_c4_t03" in s:
    extra = f"; scikit-learn at C 4, threshold 0.3: {fmt(s['fixed_c4_t03'])}"
if "majority" in t:
    extra = f"; majority class {t['majority']:.3f}"
if "liblinear" in s:
    ll = s["liblinear"]
    extra += f"; scikit-learn liblinear (textclf's two-class objective): {fmt(ll)} at C {ll['c']:g}"
print(f"\n| {label} | {metric.replace(',', ' / ')} | **{fmt(t)}** | {fmt(s)} | {c} | {tw:.2f} | {sw:.2f} | **{sw/tw:.1f}×** | {extra.lstrip('; ') or '–'} |")
PY
)
}

# textclf-only rows (no scikit-learn twin here): NAME LABEL METRIC TASK FILES…
ONLY=""
only() {
  local name=$1 label=$2 metric=$3 task=$4; shift 4
  local tw=()
  for i in $(seq "$RUNS"); do
    tc_args "$task" "$@"
    tw+=("$(timed "$WORK/$name.t.log" "$BIN" "${TCA[@]}")")
  done
  tc_json "$task" > "$WORK/$name.t.json"
  ONLY+=$(python3 - "$WORK/$name.t.json" "$label" "$metric" "$(med "${tw[@]}")" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
keys = sys.argv[3].split(",")
print(f"\n| {sys.argv[2]} | {sys.argv[3].replace(',', ' / ')} | {' / '.join(f'{t[k]:.3f}' for k in keys)} | {t['c']:g} | {float(sys.argv[4]):.2f} |")
PY
)
}

GE="$DATA/goemotions"
echo "== GoEmotions, multi-label" >&2
run ge-lr "GoEmotions test (43,410 / 5,426 / 5,427), OvR LR, per-label thresholds" "micro_f1,macro_f1" \
  multilabel "$GE/train.csv" "$GE/dev.csv" "$GE/test.csv" "$GE/labels.txt" lr
echo "== STS-B" >&2
run stsb-ridge "STS-B dev (5,174 / 575 / 1,500), ridge on pair features" pearson ridge "$WORK/stsb_train.csv" "$WORK/stsb_valid.csv" "$DATA/glue/stsb/dev.csv"
run stsb-cos "STS-B dev, TF-IDF cosine (no training)" pearson cosine "$WORK/stsb_train.csv" "$DATA/glue/stsb/dev.csv"
echo "== RTE" >&2
run rte "RTE dev (2,241 / 249 / 277), LR on pair features" accuracy pair-lr "$WORK/rte_train.csv" "$WORK/rte_valid.csv" "$DATA/glue/rte/dev.csv"
echo "== CoLA" >&2
run cola "CoLA dev (7,695 / 856 / 1,043), LR" "mcc,accuracy" single-lr "$WORK/cola_train.csv" "$WORK/cola_valid.csv" "$DATA/glue/cola/dev.csv"
echo "== textclf only" >&2
only ge-svm "GoEmotions test, OvR SVM (Platt), per-label thresholds" "micro_f1,macro_f1" multilabel "$GE/train.csv" "$GE/dev.csv" "$GE/test.csv" "$GE/labels.txt" svm
only ge-nbsvm "GoEmotions test, OvR NBSVM (Platt), per-label thresholds" "micro_f1,macro_f1" multilabel "$GE/train.csv" "$GE/dev.csv" "$GE/test.csv" "$GE/labels.txt" nbsvm
only stsb-svr "STS-B dev, L2-loss SVR on pair features" pearson svr "$WORK/stsb_train.csv" "$WORK/stsb_valid.csv" "$DATA/glue/stsb/dev.csv"

SECTION=$(cat <<MD
<!-- baseline-shapes:start -->
## Linear baselines for pairs, multi-label and regression (\`bench/baseline_shapes.sh\`)

Measured $(date -u +%Y-%m-%d) on $CPU, $(nproc) cores (shared with other jobs: times are noisy); scikit-learn $SKVER
in the same run, alternating, median of $RUNS run(s) each ($RUNS_GE for the GoEmotions comparison). Both tools run as whole processes (read CSV, vectorize, the
C search, predict; textclf also writes its run folder: metrics with bootstrap intervals and predictions); textclf as
\`textclf baseline\` (the command lines are below), scikit-learn through \`bench/sklearn_shapes.py\`. Same features on both sides: TF-IDF of word 1-2
grams, min_df 2, sublinear tf, punctuation tokens; for pairs, TF-IDF of each side in its own vocabulary, the product
of the two sides' L2-normalised rows in a shared vocabulary, cosine and Jaccard (textclf's \`pairs\` module).
scikit-learn fits the C values textclf tried and chooses C by the same rule: multi-label, micro-F1 on dev with
per-label thresholds that maximise each label's F1 on dev (scikit-learn: OneVsRestClassifier(LogisticRegression),
lbfgs); ridge, validation MSE (scikit-learn: Ridge(alpha = 1/C)); RTE and CoLA, validation accuracy
(LogisticRegression, lbfgs). GLUE sets: C chosen on a 10 % split of train (seed 13), scored on GLUE dev.
"C" is textclf's / scikit-learn's choice. For two classes textclf's LR minimises LIBLINEAR's objective (the
intercept is a unit feature, regularised with the weights), while lbfgs leaves the intercept unregularised, so the
RTE and CoLA rows also give scikit-learn with \`solver="liblinear"\`, the same objective, in the note.

| data (train / valid / scored) and model | metric | textclf | scikit-learn | C | textclf s | sklearn s | speed-up | note |
|---|---|---|---|---|---|---|---|---|$ROWS

textclf only (same data):

| data and model | metric | textclf | C | textclf s |
|---|---|---|---|---|$ONLY

The textclf commands (\`stsb_train.csv\` etc. are the 90 % splits above, the other 10 % is \`*_valid.csv\`):
\`\`\`sh
textclf baseline --train ../shared/data/goemotions/train.csv --valid ../shared/data/goemotions/dev.csv --test ../shared/data/goemotions/test.csv --task multi-label --text-col text --label-col labels --label-sep '|' --model lr --out runs/ge-lr
textclf baseline --train stsb_train.csv --valid stsb_valid.csv --test ../shared/data/glue/stsb/dev.csv --task regression --model lr --out runs/stsb-ridge
textclf baseline --train stsb_train.csv --test ../shared/data/glue/stsb/dev.csv --task regression --model cosine --out runs/stsb-cosine
textclf baseline --train rte_train.csv --valid rte_valid.csv --test ../shared/data/glue/rte/dev.csv --task single-label --model lr --out runs/rte-lr
textclf baseline --train cola_train.csv --valid cola_valid.csv --test ../shared/data/glue/cola/dev.csv --task single-label --model lr --out runs/cola-lr
\`\`\`
<!-- baseline-shapes:end -->
MD
)
echo "$SECTION"
update_section baseline-shapes "$SECTION"
