#!/usr/bin/env bash
# Linear-baseline benchmark: accuracy of textclf's baselines on IMDB, SST-2 and AG News,
# and the whole IMDB pipeline (read, vectorize, fit, predict, report) timed against the
# equivalent scikit-learn pipeline in the same run, alternating, medians of N runs.
#
#   bench/baseline.sh            # prints the figures and rewrites the section in BENCHMARKS.md
#
# Env: TEXTCLF_DATA_DIR (default ../shared/data), BENCH_RUNS (default 3),
#      TEXTCLF_BENCH_VENV (default ~/.cache/textclf/bench-venv; created with scikit-learn).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init
RUNS=${BENCH_RUNS:-3}
VENV=${TEXTCLF_BENCH_VENV:-$HOME/.cache/textclf/bench-venv}

if [ ! -x "$VENV/bin/python" ]; then
  echo "creating the reference venv in $VENV (scikit-learn, pandas)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q scikit-learn pandas
fi
PY="$VENV/bin/python"
SKVER=$("$PY" -c 'import sklearn; print(sklearn.__version__)')

# timed CMD... -> appends "wall_s peak_kib" to stdout
timed() { /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }; cat "$WORK/time"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "== IMDB pipeline timing, $RUNS alternating runs each" >&2
declare -A WALL RSS
for model in lr nbsvm; do
  c=16; [ $model = nbsvm ] && c=0.01
  for i in $(seq "$RUNS"); do
    read -r w m < <(timed "$BIN" baseline --train "$DATA/imdb/train.csv" --test "$DATA/imdb/test.csv" \
      --model $model --C $c --bootstrap 1000 --out "$WORK/imdb-$model" --quiet)
    WALL[textclf-$model]+="$w "; RSS[textclf-$model]+="$m "; tw_last=$w
    tacc=$(python3 -c "import json;print(json.load(open('$WORK/imdb-$model/metrics.json'))['accuracy'])")
    read -r w m < <(timed "$PY" bench/sklearn_baseline.py --train "$DATA/imdb/train.csv" --test "$DATA/imdb/test.csv" --model $model --C $c --binary-liblinear)
    WALL[sklearn-$model]+="$w "; RSS[sklearn-$model]+="$m "
    sacc=$(python3 -c "import json;print(json.loads(open('$WORK/out').read())['accuracy'])")
    echo "  run $i $model: textclf $tw_last s (acc $tacc)  sklearn $w s (acc $sacc)" >&2
  done
  eval "TACC_$model=$tacc; SACC_$model=$sacc"
done

row() { # model
  local tw sw tr sr
  tw=$(echo ${WALL[textclf-$1]} | tr ' ' '\n' | median); sw=$(echo ${WALL[sklearn-$1]} | tr ' ' '\n' | median)
  tr=$(echo ${RSS[textclf-$1]} | tr ' ' '\n' | median); sr=$(echo ${RSS[sklearn-$1]} | tr ' ' '\n' | median)
  local ta sa; eval "ta=\$TACC_$1; sa=\$SACC_$1"
  python3 -c "print(f'| {\"$1\"} | {100*$ta:.2f} | {100*$sa:.2f} | {$tw:.2f} | {$sw:.2f} | **{$sw/$tw:.1f}×** | {$tr/1024:.0f} | {$sr/1024:.0f} |')"
}

echo "== accuracy with C chosen on validation data" >&2
acc_row() { # name model args...
  local name=$1 model=$2; shift 2
  local out="$WORK/acc-$name-$model"
  local t0=$(date +%s.%N)
  "$BIN" baseline --model "$model" "$@" --out "$out" --quiet
  local t1=$(date +%s.%N)
  python3 - "$out/metrics.json" "$name" "$model" "$t0" "$t1" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); name, model = sys.argv[2], sys.argv[3]
v = m.get("valid") or {}
va = f"{100*v['accuracy']:.2f}" if v else "–"
lo, hi = m["ci"]["accuracy"]
fit = m["model"]["fit"]
print(f"| {name} | {model} | {fit['chosen_c']:g} | {va} | {100*m['accuracy']:.2f} ({100*lo:.1f}–{100*hi:.1f}) | {100*m['macro_f1']:.2f} | {fit['num_features']:,} | {float(sys.argv[5])-float(sys.argv[4]):.1f} |")
PY
}
ACC=$(
  for model in lr svm nbsvm; do
    acc_row "IMDB (25k/25k; C on 10 % holdout of train)" $model --train "$DATA/imdb/train.csv" --test "$DATA/imdb/test.csv"
  done
  acc_row "IMDB, NBSVM with uni+bi+trigrams (--ngram 1-3)" nbsvm --ngram 1-3 --train "$DATA/imdb/train.csv" --test "$DATA/imdb/test.csv"
  for model in lr svm nbsvm; do
    acc_row "SST-2 (valid = dev, test = labelled test)" $model --train "$DATA/sst2/train.csv" --valid "$DATA/sst2/dev.csv" --test "$DATA/sst2/test.csv"
  done
  for model in lr svm nbsvm; do
    acc_row "AG News (7.6k pool, stratified 80/10/10)" $model --data "$DATA/ag_news/test.csv"
  done
)

SECTION=$(cat <<MD
<!-- baseline:start -->
## Linear baselines (\`bench/baseline.sh\`)

Measured $(date -u +%Y-%m-%d) on $CPU, $(nproc) cores; scikit-learn $SKVER in the same run.

### Whole IMDB pipeline vs scikit-learn (read both CSVs, vectorize, fit, predict, report)
Fixed C (LR 16, NBSVM 0.01, as in ../shared/reference), median of $RUNS alternating runs.
textclf's time includes writing metrics.json (with 1000 bootstrap resamples), predictions.csv and the model.

| model | textclf acc % | sklearn acc % | textclf s | sklearn s | speed-up | textclf peak MiB | sklearn peak MiB |
|---|---|---|---|---|---|---|---|
$(row lr)
$(row nbsvm)

### Accuracy (C chosen on validation data from the default grid)
| data | model | C | valid acc % | test acc % (95 % CI) | test macro-F1 % | features | wall s |
|---|---|---|---|---|---|---|---|
$ACC

Reference (../shared/reference/README.md, scikit-learn on this machine): IMDB LR 90.68, SVM 90.64, NBSVM 91.69;
SST-2 dev/test LR 82.45/83.03, SVM 82.91/82.65, NBSVM 82.57/84.40; AG News (80/20 split) LR 87.57, SVM 87.89, NBSVM 89.47.
<!-- baseline:end -->
MD
)
echo "$SECTION"
update_section baseline "$SECTION"
