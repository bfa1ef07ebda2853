#!/usr/bin/env bash
# The seed homework's three problems with MiniLM on a small IMDB sample, on CPU, from the
# sweep files in examples/homework/: problem 1 (max_len x lr, 6 runs), problem 2 (data
# fraction, 4 runs) and problem 3 (MiniLM 6 layers vs 3 layers vs TF-IDF baselines).
# Problem 3 runs as 3 concurrent shard processes and once unsharded, and the two results
# tables are compared. Reports and advice land in examples/homework/results/<problem>/.
#
#   bench/homework.sh            # all of it (about an hour on 2 cores)
#   bench/homework.sh p3         # one problem
#
# Data and model default to ../shared; set TEXTCLF_DATA_DIR / TEXTCLF_MODELS_DIR to move them.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
cargo build --release -q -p textclf-cli
BIN=$PWD/target/release/textclf
RES=examples/homework/results
only=${1:-all}

run() { # problem name
  local p=$1 cfg
  cfg=$(ls examples/homework/"$p"-*.toml)
  local start=$SECONDS
  (cd examples/homework && "$BIN" sweep "$(basename "$cfg")" --out "results/$p")
  echo "$p: $((SECONDS - start)) s" >&2
  "$BIN" report "$RES/$p"
  "$BIN" advise "$RES/$p" -q
}

[ "$only" = all ] || [ "$only" = p1 ] && run p1
[ "$only" = all ] || [ "$only" = p2 ] && run p2
if [ "$only" = all ] || [ "$only" = p3 ]; then
  # Sharded: three processes on one sweep folder.
  start=$SECONDS
  for i in 0 1 2; do
    (cd examples/homework && "$BIN" sweep p3-models.toml --out results/p3 --shard "$i/3" -q) &
  done
  wait
  echo "p3 (3 shards): $((SECONDS - start)) s" >&2
  "$BIN" report "$RES/p3"
  "$BIN" advise "$RES/p3" -q
  # Unsharded, into a scratch folder, to compare the tables.
  rm -rf /tmp/textclf-p3-whole
  (cd examples/homework && "$BIN" sweep p3-models.toml --out /tmp/textclf-p3-whole -q)
  "$BIN" report /tmp/textclf-p3-whole -q
fi

python3 - "$RES" <<'PY' > /tmp/textclf-homework-section.md
import csv, json, os, sys
res = sys.argv[1]
def rows(p):
    with open(os.path.join(p, "results.csv")) as f:
        return list(csv.DictReader(f))
def pct(x):
    return f"{100*float(x):.2f}" if x not in ("", None) else "–"
out = ["<!-- homework:start -->",
       "## The homework's three problems on CPU (`bench/homework.sh`)", "",
       "MiniLM-L6 on 300 training / 120 validation / 180 test IMDB reviews (a stratified sample of",
       "imdb/train.csv, the same split for every run), 2 epochs, 2 CPU cores. Times were taken",
       "while other sweeps and builds shared the machine, so read them relative to each other.",
       "Reports: `examples/homework/results/<problem>/report.html`, advice: `advice.md`.", ""]
for p, title in [("p1", "Problem 1: max_len x learning rate"),
                 ("p2", "Problem 2: training-data fraction"),
                 ("p3", "Problem 3: model size (3 shard processes)")]:
    d = os.path.join(res, p)
    if not os.path.exists(os.path.join(d, "results.csv")):
        continue
    out += [f"### {title}", "",
            "| run | val acc @ min val loss | test acc (95 % CI) | s/epoch | total s |",
            "|---|---|---|---|---|"]
    for r in rows(d):
        best = " **(best)**" if r.get("selected") == "true" else ""
        ci = f" ({pct(r.get('test_accuracy_ci_low'))}–{pct(r.get('test_accuracy_ci_high'))})" if r.get("test_accuracy_ci_low") else ""
        spe = f"{float(r['seconds_per_epoch']):.0f}" if r.get("seconds_per_epoch") else "–"
        tot = f"{float(r['total_seconds']):.0f}" if r.get("total_seconds") else "–"
        out.append(f"| {r['id']}{best} | {pct(r.get('val_acc_at_min_val_loss'))} | {pct(r.get('test_accuracy'))}{ci} | {spe} | {tot} |")
    out.append("")
whole = "/tmp/textclf-p3-whole/results.csv"
if os.path.exists(whole) and os.path.exists(os.path.join(res, "p3", "results.csv")):
    keys = ["id", "status", "val_acc_at_min_val_loss", "test_accuracy", "test_macro_f1"]
    a = [{k: r.get(k) for k in keys} for r in rows(os.path.join(res, "p3"))]
    b = [{k: r.get(k) for k in keys} for r in rows("/tmp/textclf-p3-whole")]
    shards = sorted(json.load(open(os.path.join(res, "p3", "runs", r["id"], "run.json")))["shard"] for r in a)
    out.append(f"Sharded vs unsharded problem 3: {len(a)} runs, shards {', '.join(shards)}; "
               f"accuracies and statuses {'identical' if a == b else 'DIFFERENT'} to the unsharded run.")
    out.append("")
out.append("<!-- homework:end -->")
print("\n".join(out))
PY
update_section homework "$(cat /tmp/textclf-homework-section.md)"
