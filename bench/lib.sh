# Shared helpers of the bench scripts (sourced).

# update_section NAME TEXT: replaces <!-- NAME:start --> … <!-- NAME:end --> in
# BENCHMARKS.md with TEXT (which carries the markers), or appends it.
update_section() {
  [ -f BENCHMARKS.md ] || printf '# Benchmarks\n\nEvery figure here is produced by a script in `bench/`; rerun it to refresh its section.\n\n' > BENCHMARKS.md
  python3 - "$1" "$2" <<'PY'
import re, sys
name, sec = sys.argv[1], sys.argv[2]
s = open("BENCHMARKS.md").read()
pat = re.compile(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", re.S)
s = pat.sub(lambda _: sec, s) if pat.search(s) else s.rstrip() + "\n\n" + sec + "\n"
open("BENCHMARKS.md", "w").write(s)
PY
  echo "updated the $1 section of BENCHMARKS.md" >&2
}

# bench_init [ROUNDS]: what every bench script starts with. Sets DATA ($TEXTCLF_DATA_DIR,
# default ../shared/data), MODEL ($TEXTCLF_MODEL, default ../shared/models/all-MiniLM-L6-v2),
# ROUNDS ($BENCH_ROUNDS, default $1 or 3), WORK (a temporary folder removed on exit), CPU
# (the processor's name) and BIN (a release build of textclf, built here, in $CARGO_TARGET_DIR
# when set; or the binary $TEXTCLF_BIN names, with no build).
bench_init() {
  DATA=${TEXTCLF_DATA_DIR:-../shared/data}
  MODEL=${TEXTCLF_MODEL:-../shared/models/all-MiniLM-L6-v2}
  ROUNDS=${BENCH_ROUNDS:-${1:-3}}
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
  export TOKENIZERS_PARALLELISM=false
  if [ -n "${TEXTCLF_BIN:-}" ]; then
    BIN=$TEXTCLF_BIN
  else
    cargo build --release -q -p textclf-cli
    BIN=${CARGO_TARGET_DIR:-target}/release/textclf
  fi
}

# torch_python: makes sure the PyTorch reference venv ($TEXTCLF_TORCH_VENV, default
# ~/.cache/textclf/torch-venv) exists with torch, transformers, pandas, safetensors and
# numpy, and prints its python.
torch_python() {
  local venv=${TEXTCLF_TORCH_VENV:-$HOME/.cache/textclf/torch-venv}
  if [ ! -x "$venv/bin/python" ]; then
    echo "creating the PyTorch reference venv in $venv (~5 GB)" >&2
    python3 -m venv "$venv"
  fi
  "$venv/bin/python" -c 'import torch, transformers, pandas, safetensors, numpy' 2>/dev/null \
    || "$venv/bin/pip" install -q torch transformers pandas safetensors numpy >&2
  echo "$venv/bin/python"
}

# med X…: the median of the numbers.
med() { python3 -c 'import sys,statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

# field JSON a.b.c: one field of a JSON object.
field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1])
for k in sys.argv[2].split("."): d=d[k]
print(d)' "$1" "$2"; }

# sst2_subset SRC DST N: at most N sentences per class of SRC (seeded shuffle, seed 42)
# written to DST as text,label: the training subset bench/finetune.sh and bench/infer.sh share.
sst2_subset() {
  python3 - "$1" "$2" "$3" <<'PY'
import csv, random, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
random.Random(42).shuffle(rows)
keep, count = [], {}
for r in rows:
    if count.get(r["label"], 0) < int(sys.argv[3]):
        count[r["label"]] = count.get(r["label"], 0) + 1
        keep.append(r)
w = csv.DictWriter(open(sys.argv[2], "w", newline="", encoding="utf-8"), fieldnames=["text", "label"])
w.writeheader(); w.writerows({"text": r["text"], "label": r["label"]} for r in keep)
PY
}
