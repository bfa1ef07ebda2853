#!/usr/bin/env bash
# Fine-tuning on the other shapes of problem (issue 18): MiniLM-L6 fine-tuned with
# `textclf train` and with the PyTorch + transformers twin (bench/torch_finetune.py) at the
# same settings and seed, on GLUE RTE (sentence pairs), STS-B (pair regression), CoLA
# (single sentences, MCC) and GoEmotions (multi-label, a training subset). Both tools'
# test predictions are scored the same way by bench/finetune_shapes.py (scikit-learn /
# scipy, paired bootstrap intervals); seconds per epoch are each tool's training time.
#
#   bench/finetune_shapes.sh                  # all four tasks
#   bench/finetune_shapes.sh rte cola         # some of them (rte, stsb, cola, goemotions)
#
# Each task's result is kept in bench/results/finetune_shapes/<task>.json, and the section
# of BENCHMARKS.md is rebuilt from every result there, so tasks can be run one at a time.
# The tools alternate which goes first: textclf on RTE and CoLA, PyTorch on STS-B and
# GoEmotions.
#
# Env: TEXTCLF_DATA_DIR (../shared/data), TEXTCLF_MODEL (../shared/models/all-MiniLM-L6-v2),
#      TEXTCLF_TORCH_VENV (~/.cache/textclf/torch-venv), TEXTCLF_BENCH_VENV
#      (~/.cache/textclf/bench-venv: numpy, pandas, scikit-learn, scipy),
#      FT_GE_TRAIN (GoEmotions training rows, 8000), FT_EPOCHS (3), FT_LR (5e-5), FT_SEED (42),
#      FT_TORCH_THREADS (the twin's threads, default all cores), FT_RESULTS (where the results
#      go, default bench/results/finetune_shapes; set, the table is printed and BENCHMARKS.md
#      left alone: for runs at other seeds).
#      When the two cannot run in one go: FT_SIDES=torch FT_TORCH_DIR=DIR runs only the twin and
#      keeps its outputs in DIR; FT_SIDES=textclf FT_TORCH_DIR=DIR later runs textclf and scores
#      it against them (refused unless the settings match). Such rows are marked in the table:
#      their times are not from one run.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
TASKS=("$@")
[ ${#TASKS[@]} -gt 0 ] || TASKS=(rte stsb cola goemotions)
for t in "${TASKS[@]}"; do
  case $t in rte|stsb|cola|goemotions) ;; *) echo "unknown task $t: rte, stsb, cola or goemotions" >&2; exit 2 ;; esac
done
BPY=${TEXTCLF_BENCH_VENV:-$HOME/.cache/textclf/bench-venv}/bin/python
[ -x "$BPY" ] || { echo "no python in ${BPY%/bin/python}: create it with numpy, pandas, scikit-learn and scipy" >&2; exit 1; }
bench_init
PY=$(torch_python)
GE_TRAIN=${FT_GE_TRAIN:-8000}
EPOCHS=${FT_EPOCHS:-3}
LR=${FT_LR:-5e-5}
SEED=${FT_SEED:-42}
RES=${FT_RESULTS:-bench/results/finetune_shapes}
mkdir -p "$RES"
SIDES=${FT_SIDES:-both}
case $SIDES in both|torch|textclf) ;; *) echo "FT_SIDES is both, torch or textclf, not $SIDES" >&2; exit 2 ;; esac
TDIR=${FT_TORCH_DIR:-$WORK}
mkdir -p "$TDIR"
TORCH_THREADS=${FT_TORCH_THREADS:-$(nproc)}
"$BPY" bench/finetune_shapes.py prep "$DATA" "$WORK" "$GE_TRAIN"
REF=$("$PY" -c 'import torch, transformers; print(f"torch {torch.__version__}, transformers {transformers.__version__}")')

# timed LOG CMD…: runs CMD (stdout and stderr to LOG), prints its wall seconds; on failure
# shows the log's end and stops.
timed() {
  local log=$1; shift
  local t0; t0=$(date +%s.%N)
  "$@" >"$log" 2>&1 || { echo "failed: $*" >&2; tail -30 "$log" >&2; exit 1; }
  python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)"
}

run_task() {
  local task=$1 first=$2 train valid test len
  local -a cols
  case $task in
    rte)  train=$WORK/rte_train.csv;  valid=$WORK/rte_valid.csv;  test=$DATA/glue/rte/dev.csv;  len=128
          cols=(--task single-label --text-col sentence1 --text-pair-col sentence2 --label-col label) ;;
    stsb) train=$WORK/stsb_train.csv; valid=$WORK/stsb_valid.csv; test=$DATA/glue/stsb/dev.csv; len=128
          cols=(--task regression --text-col sentence1 --text-pair-col sentence2 --label-col score) ;;
    cola) train=$WORK/cola_train.csv; valid=$WORK/cola_valid.csv; test=$DATA/glue/cola/dev.csv; len=64
          cols=(--task single-label --text-col sentence --label-col label) ;;
    goemotions) train=$WORK/goemotions_train.csv; valid=$DATA/goemotions/dev.csv; test=$DATA/goemotions/test.csv; len=64
          cols=(--task multi-label --text-col text --label-col labels --label-sep '|') ;;
  esac
  local -a common=(--model "$MODEL" --train "$train" --valid "$valid" --test "$test" "${cols[@]}"
    --max-len "$len" --lr "$LR" --batch-size 32 --epochs "$EPOCHS" --seed "$SEED")
  # --patience EPOCHS: early stopping that cannot stop early but puts the best epoch's weights back
  # (with --patience 0 textclf scores the last epoch; the twin scores the best one).
  local -a tcmd=("$BIN" train "${common[@]}" --patience "$EPOCHS" --no-save-model --out "$WORK/$task-run")
  local -a pcmd=("$PY" bench/torch_finetune.py "${common[@]}" --group-by-length --threads "$TORCH_THREADS"
    --predictions "$TDIR/$task-torch.csv")
  # The twin's command without the temporary folder: what a reused run must match.
  local twin="${common[*]}"
  twin=${twin//$WORK\//}
  local tw pw same_run=true
  if [ "$SIDES" = textclf ]; then
    [ -f "$TDIR/$task-torch.json" ] && [ "$(cat "$TDIR/$task-torch.cmd" 2>/dev/null)" = "$twin" ] || {
      echo "$task: no PyTorch run with these settings in $TDIR (FT_SIDES=torch makes one)" >&2; exit 1; }
    first=textclf; same_run=false; pw=$(cat "$TDIR/$task-torch.wall")
  fi
  [ "$SIDES" = torch ] && first=torch
  for side in $first; do
    case $side in
      textclf) echo "  $task: textclf" >&2; tw=$(timed "$WORK/$task-textclf.log" "${tcmd[@]}") ;;
      torch)   echo "  $task: PyTorch" >&2
               pw=$(timed "$TDIR/$task-torch.log" bash -c '"$@" >"'"$TDIR/$task-torch.json"'"' _ "${pcmd[@]}")
               echo "$twin" >"$TDIR/$task-torch.cmd"; echo "$pw" >"$TDIR/$task-torch.wall" ;;
    esac
  done
  if [ "$SIDES" = torch ]; then
    echo "  $task: PyTorch ${pw} s (kept in $TDIR)" >&2
    return
  fi
  echo "  $task: textclf ${tw} s, PyTorch ${pw} s (whole processes)" >&2
  local shown="textclf train ${common[*]} --patience $EPOCHS --no-save-model --out runs/$task"
  shown=${shown//$WORK\//}
  shown=${shown//--label-sep |/--label-sep \'|\'}
  FT_META=$(python3 - "$(date -u +%Y-%m-%d)" "$CPU" "$(nproc)" "$REF" "$EPOCHS" "$LR" "$SEED" "$GE_TRAIN" "$tw" "$pw" "$shown" \
    "$same_run" "$TORCH_THREADS" <<'PY'
import json, sys
a = sys.argv[1:]
print(json.dumps({"measured": a[0], "cpu": a[1], "cores": int(a[2]), "reference": a[3],
                  "settings": f"{a[4]} epochs, lr {a[5]}, batch 32, seed {a[6]}, max-len 128 for pairs and 64 for single texts",
                  "ge_train": int(a[7]), "textclf_wall_s": float(a[8]), "torch_wall_s": float(a[9]),
                  "textclf_command": a[10], "torch_same_run": a[11] == "true", "torch_threads": int(a[12])}))
PY
) "$BPY" bench/finetune_shapes.py compare "$task" "$WORK/$task-run" "$TDIR/$task-torch.csv" "$TDIR/$task-torch.json" \
    "$WORK/counts.json" "$WORK/$task-textclf.log" > "$RES/$task.json"
}

for t in "${TASKS[@]}"; do
  case $t in
    rte|cola) run_task "$t" "textclf torch" ;;
    *)        run_task "$t" "torch textclf" ;;
  esac
done

[ "$SIDES" = torch ] && exit 0
SECTION=$("$BPY" bench/finetune_shapes.py section "$RES")
echo "$SECTION"
# Results kept elsewhere (another seed, FT_RESULTS) are printed, not put in BENCHMARKS.md.
[ -n "${FT_RESULTS:-}" ] || update_section finetune-shapes "$SECTION"
