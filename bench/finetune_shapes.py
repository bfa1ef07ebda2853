"""Helpers of bench/finetune_shapes.sh (run with the bench venv: numpy, pandas, scikit-learn, scipy).

    finetune_shapes.py prep DATA WORK GE_TRAIN     # the splits both tools train on
    finetune_shapes.py compare TASK TEXTCLF_RUN TORCH_PRED TORCH_JSON COUNTS [TEXTCLF_LOG]  # one JSON line
    finetune_shapes.py section RESULTS_DIR         # the section of BENCHMARKS.md

`compare` scores both tools' test predictions the same way: point figures with
scikit-learn / scipy, and a percentile bootstrap (1000 resamples of the test rows, numpy
seed 0) that draws the same rows for both tools, so it gives each tool's 95 % interval
and the interval of the paired difference textclf − PyTorch. It also reads textclf's own
figures from its metrics.json and records whether they agree with the recomputed ones.
"""
import csv
import json
import os
import re
import sys

import numpy as np
import pandas as pd
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef, mean_squared_error

RESAMPLES = 1000
SPLIT_SEED = 13  # the train/valid split of bench/baseline_shapes.sh

# task name → (kind, headline metric, second metric, label)
TASKS = {
    "rte": ("single-label", "accuracy", "macro_f1", "RTE"),
    "stsb": ("regression", "pearson", "spearman", "STS-B"),
    "cola": ("single-label", "mcc", "accuracy", "CoLA"),
    "goemotions": ("multi-label", "macro_f1", "micro_f1", "GoEmotions"),
}


def prep(data, work, ge_train):
    """GLUE RTE, STS-B, CoLA: train.csv split 90/10 into train/valid (seeded shuffle, seed 13,
    as bench/baseline_shapes.sh), scored on the GLUE dev file. GoEmotions: GE_TRAIN rows of
    train (seeded, seed 13) to train on, dev to validate on, test to score."""
    counts = {}
    for t in ["rte", "stsb", "cola"]:
        df = pd.read_csv(f"{data}/glue/{t}/train.csv", keep_default_na=False).sample(frac=1.0, random_state=SPLIT_SEED)
        n = int(0.9 * len(df))
        df[:n].to_csv(f"{work}/{t}_train.csv", index=False)
        df[n:].to_csv(f"{work}/{t}_valid.csv", index=False)
        counts[t] = [n, len(df) - n, len(pd.read_csv(f"{data}/glue/{t}/dev.csv", keep_default_na=False))]
    tr = pd.read_csv(f"{data}/goemotions/train.csv", keep_default_na=False)
    sub = tr.sample(n=min(int(ge_train), len(tr)), random_state=SPLIT_SEED)
    seen = {l for v in sub["labels"] for l in v.split("|")}
    every = {l for v in tr["labels"] for l in v.split("|")}
    if seen != every:
        sys.exit(f"the GoEmotions training subset of {len(sub)} rows lacks labels {sorted(every - seen)}: take more rows")
    sub.to_csv(f"{work}/goemotions_train.csv", index=False)
    counts["goemotions"] = [len(sub)] + [len(pd.read_csv(f"{data}/goemotions/{s}.csv", keep_default_na=False))
                                         for s in ["dev", "test"]]
    json.dump(counts, open(f"{work}/counts.json", "w"))


# ---------------------------------------------------------------- reading predictions

def read_predictions(path, kind):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if kind == "regression":
        return np.array([float(r["gold"]) for r in rows]), np.array([float(r["predicted"]) for r in rows])
    if kind == "single-label":
        return [r["gold"] for r in rows], [r["predicted"] for r in rows]
    split = lambda s: frozenset(l for l in s.split("|") if l)
    return [split(r["gold"]) for r in rows], [split(r["predicted"]) for r in rows]


def encode(kind, t, p):
    """Both tools' gold and predictions as arrays over one label space."""
    (gt, pt), (gp, pp) = t, p
    if kind == "regression":
        return gt, pt, pp
    if kind == "single-label":
        names = sorted(set(gt) | set(pt) | set(pp))
        ids = {n: i for i, n in enumerate(names)}
        return tuple(np.array([ids[x] for x in v]) for v in (gt, pt, pp))
    names = sorted(set().union(*gt, *pt, *pp))
    ids = {n: i for i, n in enumerate(names)}

    def matrix(sets):
        m = np.zeros((len(sets), len(names)), dtype=bool)
        for r, s in enumerate(sets):
            m[r, [ids[x] for x in s]] = True
        return m
    return matrix(gt), matrix(pt), matrix(pp)


# ---------------------------------------------------------------- metrics

def point(kind, gold, pred):
    """Figures with scikit-learn / scipy (macro-F1 of multi-label over every label column
    of the label space, zero_division=0)."""
    if kind == "single-label":
        return {"accuracy": accuracy_score(gold, pred), "macro_f1": f1_score(gold, pred, average="macro", zero_division=0),
                "mcc": matthews_corrcoef(gold, pred)}
    if kind == "multi-label":
        return {"micro_f1": f1_score(gold, pred, average="micro", zero_division=0),
                "macro_f1": f1_score(gold, pred, average="macro", zero_division=0),
                "subset_accuracy": accuracy_score(gold, pred)}
    return {"pearson": float(pearsonr(pred, gold)[0]), "spearman": float(spearmanr(pred, gold)[0]),
            "mse": mean_squared_error(gold, pred)}


def fast(kind, metric, gold, pred):
    """One figure, numpy only (for the resamples)."""
    if kind == "regression":
        if metric == "spearman":
            return float(spearmanr(pred, gold)[0])
        x, y = pred - pred.mean(), gold - gold.mean()
        return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))
    if kind == "multi-label":
        tp, fp, fn = (gold & pred).sum(0), (~gold & pred).sum(0), (gold & ~pred).sum(0)
        if metric == "micro_f1":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        d = 2 * tp + fp + fn
        return float(np.mean(np.where(d > 0, 2 * tp / np.maximum(d, 1), 0.0)))
    if metric == "accuracy":
        return float((gold == pred).mean())
    k = int(max(gold.max(), pred.max())) + 1
    cm = np.bincount(gold * k + pred, minlength=k * k).reshape(k, k).astype(np.float64)
    if metric == "mcc":
        t, p, n, c = cm.sum(1), cm.sum(0), cm.sum(), np.trace(cm)
        den = (n * n - p @ p) * (n * n - t @ t)
        return 0.0 if den == 0 else float((c * n - t @ p) / np.sqrt(den))
    tp, fp, fn = np.diag(cm), cm.sum(0) - np.diag(cm), cm.sum(1) - np.diag(cm)
    present = (cm.sum(0) + cm.sum(1)) > 0
    d = 2 * tp + fp + fn
    return float(np.mean(np.where(d > 0, 2 * tp / np.maximum(d, 1), 0.0)[present]))


def interval(v):
    v = np.asarray([x for x in v if np.isfinite(x)])
    return [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))]


def textclf_own(kind, m, log=None):
    """textclf's own test figures from its metrics.json (whatever of them it records); the
    MCC, which textclf prints with its report but does not write there, from its output."""
    out = {}
    if kind == "single-label":
        out["accuracy"], out["macro_f1"] = m.get("accuracy"), m.get("macro_f1")
        mcc = m.get("mcc")
        out["mcc"] = mcc.get("mcc") if isinstance(mcc, dict) else mcc
        ci = m.get("ci", {})
        out["ci"] = {k: ci.get(k) for k in ["accuracy", "macro_f1"]}
        if isinstance(mcc, dict):
            out["ci"]["mcc"] = mcc.get("ci")
        if out["mcc"] is None and log:
            found = re.search(r"^\s*MCC\s+(-?[0-9.]+)\s+\(.*CI (-?[0-9.]+) to (-?[0-9.]+)\)", open(log).read(), re.M)
            if found:
                out["mcc"] = float(found.group(1))
                out["ci"]["mcc"] = [float(found.group(2)), float(found.group(3))]
                out["mcc_from"] = "printed report"
    elif kind == "multi-label":
        out["micro_f1"] = (m.get("micro") or {}).get("f1")
        out["macro_f1"] = (m.get("macro") or {}).get("f1")
        out["ci"] = m.get("ci")
    else:
        out.update({k: m.get(k) for k in ["pearson", "spearman", "mse"]})
        out["ci"] = m.get("ci")
    return out


def seconds_per_epoch(m):
    eps = m.get("epochs") or []
    return sum(e["train_seconds"] for e in eps) / len(eps) if eps else None


def compare(task, run, torch_pred, torch_json, counts, log=None):
    kind, head, second, _ = TASKS[task]
    tc = read_predictions(f"{run}/predictions.csv", kind)
    pc = read_predictions(torch_pred, kind)
    if kind == "regression":
        same = len(tc[0]) == len(pc[0]) and np.allclose(tc[0], pc[0], atol=1e-5)
    else:
        same = tc[0] == pc[0]
    if not same:
        sys.exit(f"{task}: the two predictions files do not hold the same test rows (gold) in the same order")
    gold, pt, pp = encode(kind, tc, pc)
    n = len(gold)
    rng = np.random.default_rng(0)
    draws = {m: {"textclf": [], "torch": [], "diff": []} for m in (head, second)}
    for _ in range(RESAMPLES):
        idx = rng.integers(0, n, n)
        g = gold[idx]
        for m in (head, second):
            a, b = fast(kind, m, g, pt[idx]), fast(kind, m, g, pp[idx])
            draws[m]["textclf"].append(a)
            draws[m]["torch"].append(b)
            draws[m]["diff"].append(a - b)
    ft, fp_ = point(kind, gold, pt), point(kind, gold, pp)
    for m in (head, second):  # the resampling code agrees with scikit-learn / scipy on the whole set
        assert abs(fast(kind, m, gold, pt) - ft[m]) < 1e-9 and abs(fast(kind, m, gold, pp) - fp_[m]) < 1e-9, m
    mt = json.load(open(f"{run}/metrics.json"))
    tj = json.load(open(torch_json))
    own = textclf_own(kind, mt, log)
    # True / False, or None where textclf did not record the figure
    agree = {m: None if own.get(m) is None else bool(abs(own[m] - ft[m]) < 1e-4) for m in (head, second)}
    ci4 = lambda v: "[" + ", ".join(f"{x:.4f}" for x in interval(v)) + "]"
    print(f"  {task}: {head} textclf {ft[head]:.4f} {ci4(draws[head]['textclf'])}, PyTorch {fp_[head]:.4f} "
          f"{ci4(draws[head]['torch'])}, textclf - PyTorch {ft[head] - fp_[head]:+.4f} {ci4(draws[head]['diff'])}; "
          f"s/epoch {seconds_per_epoch(mt):.1f} vs {tj['seconds_per_epoch']:.1f}; textclf's own figures agree: {agree}",
          file=sys.stderr)
    print(json.dumps({
        "task": task, "kind": kind, "n_test": n, "counts": json.load(open(counts))[task],
        **json.loads(os.environ.get("FT_META", "{}")), "headline": head, "second": second, "resamples": RESAMPLES,
        "textclf": {**ft, "ci": {m: interval(draws[m]["textclf"]) for m in (head, second)},
                    "seconds_per_epoch": seconds_per_epoch(mt), "best_epoch": mt.get("best_epoch"),
                    "own": own, "own_agrees": agree},
        "torch": {**fp_, "ci": {m: interval(draws[m]["torch"]) for m in (head, second)},
                  "seconds_per_epoch": tj["seconds_per_epoch"], "best_epoch": tj["best_epoch"],
                  "framework": tj["framework"]},
        "diff": {m: {"value": ft[m] - fp_[m], "ci": interval(draws[m]["diff"])} for m in (head, second)},
    }))


# ---------------------------------------------------------------- the section

ANCHORS = [
    "RTE accuracy: BERT-base 66.4 % on the GLUE test set (Devlin et al. 2019, Table 1); 65.70 % on dev with "
    "transformers' run_glue (bert-base-cased, lr 2e-5, 3 epochs; transformers examples/pytorch/text-classification "
    "README); the issue's range for dev, 66–70 %.",
    "STS-B: BERT-base Spearman 0.858 on the GLUE test set (Devlin et al. 2019); Pearson/Spearman 0.8864/0.8848 on "
    "dev with run_glue (same README); the issue's range for dev Pearson, 0.88–0.89.",
    "CoLA MCC: BERT-base 0.521 on the GLUE test set (Devlin et al. 2019); 0.5653 on dev with run_glue (same "
    "README); the issue's range, 0.52–0.59.",
    "GoEmotions macro-F1: BERT-base 0.46 on the test set, 28 labels (Demszky et al., ACL 2020, Table 4).",
]


def agrees(own):
    bad = [k.replace("_", "-") for k, v in own.items() if v is False]
    missing = [k.replace("_", "-") for k, v in own.items() if v is None]
    text = "**no**: " + ", ".join(bad) if bad else "yes"
    return text + (f" ({', '.join(missing)} not recorded)" if missing else "")


def section(results):
    rs = []
    for task in TASKS:
        try:
            rs.append(json.load(open(f"{results}/{task}.json")))
        except FileNotFoundError:
            pass
    if not rs:
        sys.exit(f"no results in {results}: run bench/finetune_shapes.sh first")
    rows, apart = [], []
    for r in rs:
        kind, head, second, label = TASKS[r["task"]]
        fmt = lambda m: (lambda x: f"{x:.3f}") if (kind == "regression" or m == "mcc") else (lambda x: f"{100 * x:.2f}")
        f, g = fmt(head), fmt(second)
        ci = lambda c, fm: f"{fm(c[0])}–{fm(c[1])}"
        d = r["diff"][head]
        noise = "yes" if d["ci"][0] <= 0 <= d["ci"][1] else "**no**"
        st, sp = r["textclf"]["seconds_per_epoch"], r["torch"]["seconds_per_epoch"]
        mark = "" if r.get("torch_same_run", True) else " †"
        if mark:
            apart.append(f"{label}: PyTorch run separately, {r['torch_threads']} thread(s)")
        own = r["textclf"]["own_agrees"]
        c = r["counts"]
        name = {"accuracy": "accuracy %", "macro_f1": "macro-F1 %", "micro_f1": "micro-F1 %", "mcc": "MCC",
                "pearson": "Pearson", "spearman": "Spearman"}
        rows.append(
            f"| {label} ({c[0]:,} / {c[1]:,} / {c[2]:,}) | {name[head]} | **{f(r['textclf'][head])}** "
            f"({ci(r['textclf']['ci'][head], f)}) | {f(r['torch'][head])} ({ci(r['torch']['ci'][head], f)}) | "
            f"{f(d['value'])} ({ci(d['ci'], f)}) | {noise} | "
            f"{name[second]}: {g(r['textclf'][second])} / {g(r['torch'][second])} | "
            f"{r['textclf']['best_epoch']} / {r['torch']['best_epoch']} | {st:.0f} | {sp:.0f}{mark} | **{st / sp:.2f}×**{mark} | "
            f"{agrees(own)} |")
    m = rs[0]
    dates = sorted({r["measured"] for r in rs})
    cmds = "\n".join(r["textclf_command"] for r in rs)
    return f"""<!-- finetune-shapes:start -->
## Fine-tuning pairs, multi-label and regression: textclf vs PyTorch (`bench/finetune_shapes.sh`)

Measured {' and '.join(dates)} on {m['cpu']}, {m['cores']} cores (shared with other jobs while it ran: times are
noisy), fp32, CPU; reference {m['reference']} in the same run, the two tools alternating which goes first per task.
Model ../shared/models/all-MiniLM-L6-v2 (MiniLM-L6, 22 M parameters: far smaller than the BERT-base of the anchors
below, so lower figures are expected). Same settings on both sides: {m['settings']}; AdamW (weight decay 0.01, none
on biases/LayerNorm), 10 % linear warmup then linear decay, gradient clipping 1.0, dynamic padding with length-grouped
batches (textclf's default bucketing; PyTorch with `--group-by-length`), validation each epoch and the weights of
the epoch with the lowest validation loss scored (cross-entropy; BCE over every row × label; MSE; textclf with
`--patience <epochs>`: early stopping that cannot stop early but puts the best epoch's weights back, where
`--patience 0` would score the last epoch). PyTorch: `bench/torch_finetune.py`
(`AutoModelForSequenceClassification`, problem_type set for multi-label and regression, pairs encoded by the
tokenizer with `truncation="longest_first"`). Multi-label thresholds: per label, tuned on validation with the kept
weights by textclf's rule on both sides (`tune_thresholds`: the threshold among the distinct validation scores with
the best F1, the highest among equals; 0.5 for a label without a positive validation row), then applied to test.

Data (train / valid / scored): GLUE RTE, STS-B, CoLA: `train.csv` split 90/10 (seeded shuffle, seed 13, the split
of `bench/baseline_shapes.sh`) into train and valid; scored on the GLUE dev file, as GLUE results are reported.
GoEmotions: {m['ge_train']:,} rows of train (seeded sample, seed 13; an epoch of all 43,410 would take ≈ 5× longer
on 2 cores), validation on dev, scored on test. Same files for both tools.

Both tools' `predictions.csv` are scored by `bench/finetune_shapes.py` with scikit-learn/scipy. Intervals: percentile
bootstrap, {m['resamples']} resamples of the test rows (numpy seed 0), the same rows drawn for both tools; "textclf −
PyTorch" is the paired interval of the difference, and "within noise" says whether it holds 0. The last column says
whether the figures textclf wrote in its own `metrics.json` equal these recomputed ones (|Δ| < 1e-4).

| task (train / valid / scored) | metric | textclf (95 % CI) | PyTorch (95 % CI) | textclf − PyTorch (paired 95 % CI) | within noise | second metric, textclf / PyTorch | best epoch, textclf / PyTorch | textclf s/epoch | PyTorch s/epoch | time ratio | textclf's metrics.json agrees |
|---|---|---|---|---|---|---|---|---|---|---|---|
""" + "\n".join(rows) + ("" if not apart else "\n\n† Not one run: " + "; ".join(apart) +
                           " (FT_SIDES), so that time and its ratio are not a like-for-like comparison.") + """

Published anchors (BERT-base, 110 M parameters):
""" + "\n".join(f"- {a}" for a in ANCHORS) + f"""

The textclf commands (files as above; the PyTorch twin takes the same flags):
```sh
{cmds}
```
<!-- finetune-shapes:end -->"""


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "prep":
        prep(*sys.argv[2:5])
    elif cmd == "compare":
        compare(*sys.argv[2:8])
    elif cmd == "section":
        print(section(sys.argv[2]))
    else:
        sys.exit(f"unknown command {cmd}: prep, compare or section")
