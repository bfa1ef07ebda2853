#!/usr/bin/env bash
# Linear baselines with many classes, against scikit-learn in the same run: the 28-class
# single-label GoEmotions set, AG News (4 classes) and IMDB (binary), LR / SVM / NBSVM.
#
#   bench/baseline_multiclass.sh     # prints the table and rewrites its section in BENCHMARKS.md
#
# For every data set and model, textclf `baseline` runs first (C chosen on validation data
# from its default grid, extended when the best C is at an edge); scikit-learn then fits
# the same C values textclf tried, at the same features, and chooses C the same way.
# Both are timed as whole processes (read, vectorize, the C search, predict test) with
# /usr/bin/time: wall time and peak RSS. One run each (BENCH_RUNS=N for the median of N).
#
# Data (written once to a temporary folder, the same files for both tools):
#   GoEmotions: the rows of train/dev/test that carry exactly one label (28 classes);
#   AG News: the 7,600-row pool split 80/10/10, stratified, seed 13;
#   IMDB: the official 25k/25k split, C fixed as in bench/baseline.sh (LR 16, NBSVM 0.01;
#   scikit-learn's LR is liblinear there, the IMDB reference), no validation file.
#
# Env: TEXTCLF_DATA_DIR (default ../shared/data), BENCH_RUNS (default 1),
#      TEXTCLF_BENCH_VENV (default ~/.cache/textclf/bench-venv; created with scikit-learn),
#      BENCH_SETS (default "goemotions agnews imdb").
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init
RUNS=${BENCH_RUNS:-1}
SETS=${BENCH_SETS:-goemotions agnews imdb}
VENV=${TEXTCLF_BENCH_VENV:-$HOME/.cache/textclf/bench-venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "creating the reference venv in $VENV (scikit-learn, pandas)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q scikit-learn pandas
fi
PY="$VENV/bin/python"
SKVER=$("$PY" -c 'import sklearn; print(sklearn.__version__)')

# The data files both tools read.
"$PY" bench/multiclass_data.py "$DATA" "$WORK"

timed() { /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }; cat "$WORK/time"; }

ROWS=""
run_set() { # name label trainfile validfile testfile model [textclf flags...]
  local name=$1 label=$2 tr=$3 va=$4 te=$5 model=$6; shift 6
  local out="$WORK/run-$name-$model" tw=() tm=() sw=() sm=()
  local vflag=() ; [ -n "$va" ] && vflag=(--valid "$va")
  for i in $(seq "$RUNS"); do
    rm -rf "$out"  # textclf refuses to write over a finished run
    read -r w m < <(timed "$BIN" baseline --train "$tr" "${vflag[@]}" --test "$te" --model "$model" "$@" --out "$out" --quiet)
    tw+=("$w"); tm+=("$m")
    local grid
    grid=$(python3 -c "import json; f=json.load(open('$out/metrics.json'))['model']['fit']; print(','.join(repr(p['c']) for p in f['c_search']) or f['chosen_c'])")
    local skflags=(--c-grid "$grid"); [ -z "$va" ] && skflags=(--C "$grid" --binary-liblinear)
    read -r w m < <(timed "$PY" bench/sklearn_baseline.py --train "$tr" "${vflag[@]}" --test "$te" --model "$model" "${skflags[@]}")
    cp "$WORK/out" "$out/sklearn.json"
    sw+=("$w"); sm+=("$m")
    echo "  $name $model run $i: textclf ${tw[-1]} s, sklearn $w s" >&2
  done
  ROWS+=$(python3 - "$out" "$label" "$model" "$(med "${tw[@]}")" "$(med "${tm[@]}")" "$(med "${sw[@]}")" "$(med "${sm[@]}")" <<'PY'
import json, sys
out, label, model, tw, tm, sw, sm = sys.argv[1], sys.argv[2], sys.argv[3], *map(float, sys.argv[4:])
m = json.load(open(f"{out}/metrics.json")); s = json.load(open(f"{out}/sklearn.json"))
fit = m["model"]["fit"]
c = fit["chosen_c"]
# scikit-learn's test accuracy at textclf's C, and at its own choice.
at_c = next((p["test"] for p in s["c_search"] if abs(p["c"] - c) <= 1e-9 * c), s["accuracy"])
ext = fit.get("c_grid_extension")
grid = ", ".join(f"{p['c']:g}" for p in fit["c_search"]) or f"{c:g}"
if ext:
    grid += f" (+{', '.join(f'{x:g}' for x in ext['added'])} {ext['direction']}{'; bound' if ext['stopped_by_bound'] else ''})"
cal = fit.get("calibration") or {}
calib = f"{cal['method']} {cal['log_loss']:.3f} / {cal['ece']:.3f}" if cal else "–"
print(f"\n| {label} | {model} | {grid} | {c:g} / {s['C']:g} | {100*m['accuracy']:.2f} | {100*at_c:.2f} / {100*s['accuracy']:.2f} "
      f"| {tw:.1f} | {sw:.1f} | **{sw/tw:.1f}×** | {tm/1024:.0f} | {sm/1024:.0f} | {tm/sm:.2f} | {calib} | {s['convergence_warnings']} |")
PY
)
}

for set in $SETS; do
  case $set in
    goemotions)
      echo "== GoEmotions, single-label rows (28 classes)" >&2
      for model in lr svm nbsvm; do
        run_set ge "GoEmotions 1-label (36,308 / 4,548 / 4,590)" "$WORK/ge_train.csv" "$WORK/ge_dev.csv" "$WORK/ge_test.csv" $model
      done ;;
    agnews)
      echo "== AG News 80/10/10" >&2
      for model in lr svm nbsvm; do
        run_set ag "AG News (6,080 / 760 / 760)" "$WORK/ag_train.csv" "$WORK/ag_dev.csv" "$WORK/ag_test.csv" $model
      done ;;
    imdb)
      echo "== IMDB 25k/25k, fixed C" >&2
      run_set imdb "IMDB (25k / – / 25k), fixed C" "$DATA/imdb/train.csv" "" "$DATA/imdb/test.csv" lr --C 16
      run_set imdb "IMDB (25k / – / 25k), fixed C" "$DATA/imdb/train.csv" "" "$DATA/imdb/test.csv" nbsvm --C 0.01 ;;
  esac
done

SECTION=$(cat <<MD
<!-- baseline-multiclass:start -->
## Linear baselines with many classes (\`bench/baseline_multiclass.sh\`)

Measured $(date -u +%Y-%m-%d) on $CPU, $(nproc) cores; scikit-learn $SKVER in the same run, median of $RUNS run(s).
Both tools run as whole processes (read, vectorize, the C search on validation data, predict test; textclf also
writes metrics.json with 1000 bootstrap resamples, predictions.csv and the model). scikit-learn fits the C values
textclf tried (its default grid plus any extension), at the same features (TF-IDF 1-2 grams, min_df 2, sublinear,
punctuation tokens; binary counts for NBSVM), LR at its defaults (lbfgs, tol 1e-4, max_iter 100), SVM = LinearSVC,
NBSVM one-vs-rest with the same β = 0.25. IMDB: fixed C, no search; scikit-learn's LR is liblinear there.
"C" is textclf's / scikit-learn's choice; "sklearn acc" is scikit-learn's test accuracy at textclf's C / at its own C.
Calibration: method, then log loss / ECE of the probabilities on the validation file. "warn": scikit-learn's
convergence warnings.

| data (train / valid / test) | model | C tried (extension) | C | textclf acc % | sklearn acc % | textclf s | sklearn s | speed-up | textclf MiB | sklearn MiB | memory ratio | textclf calibration | warn |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|$ROWS
<!-- baseline-multiclass:end -->
MD
)
echo "$SECTION"
update_section baseline-multiclass "$SECTION"
