#!/usr/bin/env bash
# Behaviour check for refactors: runs the README's IMDB baseline and the README's 2-epoch
# MiniLM fine-tune on 2,000 SST-2 sentences (seed 42) with two textclf binaries, and
# compares their metrics.json with every timing field left out, plus predictions.csv,
# valid_predictions.csv and epochs.csv (timing columns left out).
#
#   bench/same_metrics.sh BEFORE_BIN AFTER_BIN [--record]
#
# Build BEFORE_BIN from the commit before the change, e.g.
#   git worktree add /tmp/before <rev> && (cd /tmp/before && cargo build -p textclf-cli)
# --record writes the result into BENCHMARKS.md (section `same-metrics`).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BEFORE=$1; AFTER=$2; RECORD=${3:-}
DATA=${TEXTCLF_DATA_DIR:-../shared/data}
MODEL=${TEXTCLF_MODEL:-../shared/models/all-MiniLM-L6-v2}
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
for tag in before after; do
  bin=$BEFORE; [ $tag = after ] && bin=$AFTER
  "$bin" baseline --train "$DATA/imdb/train.csv" --test "$DATA/imdb/test.csv" --model nbsvm \
    --out "$WORK/$tag-imdb" --quiet
  "$bin" train --model "$MODEL" --train "$DATA/sst2/train.csv" --valid "$DATA/sst2/dev.csv" \
    --test "$DATA/sst2/test.csv" --per-class 1000 --epochs 2 --max-len 64 --lr 5e-5 --seed 42 \
    --out "$WORK/$tag-sst2" --quiet
done
# A difference makes metrics_diff.py exit non-zero: print what differs before failing
# (under `set -e` a failing command substitution would end the script silently).
STATUS=0
RESULT=$(python3 bench/metrics_diff.py "$WORK/before-imdb" "$WORK/after-imdb" "$WORK/before-sst2" "$WORK/after-sst2") || STATUS=$?
echo "$RESULT"
if [ "$RECORD" = --record ]; then
  update_section same-metrics "<!-- same-metrics:start -->
## Same figures before and after a refactor (\`bench/same_metrics.sh\`)

$RESULT
<!-- same-metrics:end -->"
fi
exit "$STATUS"
