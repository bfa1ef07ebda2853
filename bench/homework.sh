#!/usr/bin/env bash
# The seed homework's three problems with MiniLM on a small IMDB sample, on CPU, from the
# sweep files in examples/homework/: problem 1 (max_len x lr, 6 runs), problem 2 (data
# fraction, 4 runs) and problem 3 (MiniLM 6 layers vs 3 layers vs TF-IDF baselines).
# Problem 1 also runs a second time as 3 concurrent shard processes and the two results
# tables are compared; problem 3 runs as 3 shard processes. Reports and advice land in examples/homework/results/<problem>/.
#
#   bench/homework.sh            # all of it (about an hour on 2 cores)
#   bench/homework.sh p3         # one problem
#   bench/homework.sh section    # only rewrite the BENCHMARKS.md section from the results
#
# Data and model default to ../shared; set TEXTCLF_DATA_DIR / TEXTCLF_MODELS_DIR to move them.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RES=examples/homework/results
only=${1:-all}
if [ "$only" != section ]; then
  cargo build --release -q -p textclf-cli
fi
BIN=$PWD/target/release/textclf

run() { # problem name
  local p=$1 cfg
  cfg=$(ls examples/homework/"$p"-*.toml)
  local start=$SECONDS
  (cd examples/homework && "$BIN" sweep "$(basename "$cfg")" --out "results/$p")
  echo "$p: $((SECONDS - start)) s" >&2
  "$BIN" report "$RES/$p"
  "$BIN" advise "$RES/$p" -q
}

if [ "$only" = all ] || [ "$only" = p1 ]; then
  run p1
  # The same sweep again as 3 concurrent shard processes on one folder, to compare tables.
  rm -rf /tmp/textclf-p1-sharded
  start=$SECONDS
  for i in 0 1 2; do
    (cd examples/homework && "$BIN" sweep p1-maxlen-lr.toml --out /tmp/textclf-p1-sharded --shard "$i/3" -q) &
  done
  wait
  echo "p1 (3 shards): $((SECONDS - start)) s" >&2
  "$BIN" report /tmp/textclf-p1-sharded -q
fi
[ "$only" = all ] || [ "$only" = p2 ] && run p2
if [ "$only" = all ] || [ "$only" = p3 ]; then
  # Problem 3 itself runs as three shard processes.
  for i in 0 1 2; do
    (cd examples/homework && "$BIN" sweep p3-models.toml --out results/p3 --shard "$i/3" -q) &
  done
  wait
  "$BIN" report "$RES/p3"
  "$BIN" advise "$RES/p3" -q
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
       "MiniLM-L6 on 400 training / 160 validation / 240 test IMDB reviews (a stratified sample of",
       "imdb/train.csv, the same split for every run), 3 epochs, 2 CPU cores. Times were taken",
       "while other jobs shared the machine, so read them relative to each other.",
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
p3 = os.path.join(res, "p3", "results.csv")
if os.path.exists(p3):
    r3 = [r for r in rows(os.path.join(res, "p3")) if r.get("test_accuracy")]
    bt = max((r for r in r3 if r["family"] == "transformer"), key=lambda r: float(r["test_accuracy"]), default=None)
    bl = max((r for r in r3 if r["family"] == "linear"), key=lambda r: float(r["test_accuracy"]), default=None)
    if bt and bl:
        verb = "beats" if float(bt["test_accuracy"]) > float(bl["test_accuracy"]) else "does not reach"
        out.append(f"On this little data the best transformer (`{bt['id']}`, test {pct(bt['test_accuracy'])} %) "
                   f"{verb} the best TF-IDF baseline (`{bl['id']}`, test {pct(bl['test_accuracy'])} %); "
                   "`advice.md` compares them with the paired test.")
        out.append("")
sharded = "/tmp/textclf-p1-sharded"
if os.path.exists(os.path.join(sharded, "results.csv")) and os.path.exists(os.path.join(res, "p1", "results.csv")):
    keys = ["id", "status", "val_acc_at_min_val_loss", "test_accuracy", "test_macro_f1", "best_epoch"]
    a = [{k: r.get(k) for k in keys} for r in rows(os.path.join(res, "p1"))]
    b = [{k: r.get(k) for k in keys} for r in rows(sharded)]
    shards = sorted(json.load(open(os.path.join(sharded, "runs", r["id"], "run.json")))["shard"] for r in b)
    out.append(f"**Sharded problem 1** (3 concurrent `--shard i/3` processes on one folder): {len(b)} runs, "
               f"each done once (shards {', '.join(shards)}); statuses, validation and test figures "
               f"{'identical to' if a == b else 'DIFFERENT from'} the unsharded run.")
    out.append("")
out.append("<!-- homework:end -->")
print("\n".join(out))
PY
update_section homework "$(cat /tmp/textclf-homework-section.md)"
