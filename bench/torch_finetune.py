"""PyTorch + transformers reference fine-tune, configured like `textclf train`:
AdamW (weight decay 0.01 on weights, none on biases/LayerNorm), linear warmup (10 %) and
decay, gradient clipping 1.0, dynamic padding (length-grouped batches with
--group-by-length), validation every epoch, best epoch by
validation loss (or accuracy, --monitor val_accuracy), then the test set. Runs on the CPU
with 2 threads by default, or on a GPU with --device cuda. Prints one JSON line.

    python bench/torch_finetune.py --model DIR --train train.csv --valid dev.csv --test test.csv \
        --epochs 2 --max-len 64 --lr 5e-5 --batch-size 32

The other shapes of problem (issue 18), as `textclf train` handles them:

* `--text-pair-col COL`: sentence pairs, encoded as `tokenizer(text, text_pair,
  truncation="longest_first")` (token type ids for the BERT family).
* `--task multi-label` (labels joined by `--label-sep`, default `|`): one logit per label,
  BCE-with-logits averaged over every row × label (problem_type
  multi_label_classification). After training, with the kept (best) weights, each
  label's decision threshold is tuned on the validation split by textclf's rule
  (crates/eval/src/thresholds.rs `tune_thresholds`, mirrored here in `best_cut`): the
  candidates are the distinct sigmoid scores of the label on the validation rows, a row
  carries the label when its score is >= the threshold, the threshold with the best F1
  wins and among equal F1 the highest; a label with no positive validation row keeps 0.5.
* `--task regression`: one output, mean squared error (problem_type regression); the
  validation loss is the MSE.
* `--task single-label`: today's behaviour.

Without `--task` the run is the single-label one and prints exactly what it printed
before. With `--task` the JSON line adds `task` and `test` (the task's metrics on the test
set: single-label accuracy, macro-F1 and MCC; multi-label micro/macro F1, subset accuracy;
regression Pearson, Spearman and MSE). `--predictions PATH` writes the test predictions in
textclf's predictions.csv layout (`id,gold,predicted,p_<label>…`; multi-label gold and
predicted joined with `|`; regression `id,gold,predicted`), so a bench script can score
both tools' predictions the same way (bootstrap intervals: bench/shapes_compare.py).
"""
import argparse
import copy
import csv
import json
import random
import time

import numpy as np
import pandas as pd
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

TASKS = ["single-label", "multi-label", "regression"]


def batches(n, bs, shuffle, rng):
    idx = list(range(n))
    if shuffle:
        rng.shuffle(idx)
    return [idx[i:i + bs] for i in range(0, n, bs)]


def grouped_batches(lengths, bs, rng):
    """Length-grouped batches the way transformers' Trainer(group_by_length=True) makes them:
    a random permutation cut into megabatches of 50 batches, each sorted by length
    (longest first) and cut into batches."""
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    mega = 50 * bs
    out = []
    for i in range(0, len(idx), mega):
        chunk = sorted(idx[i:i + mega], key=lambda j: -lengths[j])
        out += [chunk[k:k + bs] for k in range(0, len(chunk), bs)]
    return out


def batch_targets(task, targets, b, dev):
    """The targets of rows `b` as the loss takes them."""
    if task == "single-label":
        return torch.tensor([targets[i] for i in b], device=dev)
    return torch.from_numpy(targets[b]).to(dev)


def loss_of(task, logits, y, reduction="mean"):
    """Cross-entropy, BCE-with-logits over every row × label, or MSE on the one output."""
    if task == "single-label":
        return torch.nn.functional.cross_entropy(logits, y, reduction=reduction)
    if task == "multi-label":
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction=reduction)
    return torch.nn.functional.mse_loss(logits.squeeze(-1), y, reduction=reduction)


def evaluate(model, enc, targets, bs, dev, task="single-label"):
    """Validation loss (mean per row; multi-label: per row × label cell) and the logits of
    every row, in order, as a numpy array."""
    model.eval()
    loss_sum, out = 0.0, []
    n = len(targets)
    with torch.inference_mode():
        for b in batches(n, bs, False, None):
            x = {k: v[b] for k, v in enc.items()}
            keep = int(x["attention_mask"].sum(1).max())
            x = {k: v[:, :keep].to(dev) for k, v in x.items()}
            logits = model(**x).logits
            loss_sum += float(loss_of(task, logits, batch_targets(task, targets, b, dev), "sum"))
            out.append(logits.float().cpu().numpy())
    cells = n * targets.shape[1] if task == "multi-label" else n
    return loss_sum / cells, np.concatenate(out)


# ---------------------------------------------------------------- metrics (numpy only)

def f1_of(tp, fp, fn):
    d = 2 * tp + fp + fn
    return 0.0 if d == 0 else 2 * tp / d


def single_label_metrics(gold, pred):
    """Accuracy; macro-F1 over the classes in gold or predictions (scikit-learn's f1_score
    on class ids, zero_division=0); MCC as scikit-learn's matthews_corrcoef."""
    gold, pred = np.asarray(gold), np.asarray(pred)
    classes = np.union1d(gold, pred)
    f1s = [f1_of(int(((gold == c) & (pred == c)).sum()), int(((gold != c) & (pred == c)).sum()),
                 int(((gold == c) & (pred != c)).sum())) for c in classes]
    k = int(max(gold.max(), pred.max())) + 1
    cm = np.zeros((k, k), dtype=np.float64)
    np.add.at(cm, (gold, pred), 1)
    t, p, n, c = cm.sum(1), cm.sum(0), cm.sum(), np.trace(cm)
    cov_tp, cov_pp, cov_tt = c * n - t @ p, n * n - p @ p, n * n - t @ t
    mcc = 0.0 if cov_pp * cov_tt == 0 else cov_tp / np.sqrt(cov_tt * cov_pp)
    return {"accuracy": float((gold == pred).mean()), "macro_f1": float(np.mean(f1s)), "mcc": float(mcc)}


def multi_label_metrics(gold, pred):
    """Micro-F1, macro-F1 over every label column (zero_division=0, as scikit-learn on
    indicator matrices), subset accuracy."""
    gold, pred = gold.astype(bool), pred.astype(bool)
    tp = (gold & pred).sum(0)
    fp = (~gold & pred).sum(0)
    fn = (gold & ~pred).sum(0)
    return {"micro_f1": f1_of(int(tp.sum()), int(fp.sum()), int(fn.sum())),
            "macro_f1": float(np.mean([f1_of(int(a), int(b), int(c)) for a, b, c in zip(tp, fp, fn)])),
            "subset_accuracy": float((gold == pred).all(1).mean())}


def average_ranks(a):
    """Ranks from 1, tied values sharing their average rank (scipy's rankdata)."""
    order = np.argsort(a, kind="mergesort")
    s = a[order]
    starts = np.r_[0, np.nonzero(s[1:] != s[:-1])[0] + 1]
    ends = np.r_[starts[1:], len(s)]
    ranks = np.empty(len(a))
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def pearson(x, y):
    x, y = x - x.mean(), y - y.mean()
    d = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / d) if d > 0 else float("nan")


def regression_metrics(gold, pred):
    gold, pred = np.asarray(gold, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    return {"pearson": pearson(pred, gold), "spearman": pearson(average_ranks(pred), average_ranks(gold)),
            "mse": float(((pred - gold) ** 2).mean())}


def sigmoid(z):
    return (1.0 / (1.0 + np.exp(-z.astype(np.float32)))).astype(np.float32)


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def val_figures(task, logits, targets):
    """What a validation reports besides its loss: single-label accuracy; multi-label subset
    accuracy and micro/macro F1 with every label at 0.5 (textclf's validation figures);
    regression Pearson."""
    if task == "single-label":
        return {"val_accuracy": float((logits.argmax(1) == np.asarray(targets)).mean())}
    if task == "multi-label":
        m = multi_label_metrics(targets > 0.5, logits >= 0)
        return {"val_accuracy": m["subset_accuracy"], "val_micro_f1": m["micro_f1"], "val_macro_f1": m["macro_f1"]}
    return {"val_pearson": pearson(logits[:, 0].astype(np.float64), targets.astype(np.float64))}


def best_cut(scores, gold):
    """textclf's threshold rule (crates/eval/src/thresholds.rs `best_cut`): the distinct
    scores are the candidates, a score >= the threshold predicts the label, F1 =
    2·tp / (positives + tp + fp); the best F1 wins, the highest threshold among equals.
    None when no row is positive."""
    positives = int(gold.sum())
    if positives == 0:
        return None
    order = np.argsort(-scores, kind="stable")
    s, g = scores[order], gold[order]
    tp, fp = np.cumsum(g), np.cumsum(~g)
    ends = np.r_[np.nonzero(s[1:] != s[:-1])[0], len(s) - 1]  # last row of each group of equal scores
    f1 = 2.0 * tp[ends] / (positives + tp[ends] + fp[ends])
    i = int(np.argmax(f1))  # the first maximum, scanning down from the highest score
    return float(s[ends[i]]), float(f1[i])


def tune_thresholds(scores, gold, names, fallback=0.5):
    out = []
    for c, name in enumerate(names):
        cut = best_cut(scores[:, c], gold[:, c])
        t, f1 = cut if cut else (fallback, 0.0)
        out.append({"label": name, "threshold": t, "f1": f1, "tuned": cut is not None})
    return out


def write_predictions(path, task, names, gold, pred, scores):
    """Test predictions in textclf's predictions.csv layout (row ids are 0-based row numbers)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if task == "regression":
            w.writerow(["id", "gold", "predicted"])
            for i, (g, p) in enumerate(zip(gold, pred)):
                w.writerow([i, f"{g:.6f}", f"{p:.6f}"])
            return
        w.writerow(["id", "gold", "predicted"] + [f"p_{n}" for n in names])
        join = lambda row: "|".join(n for n, on in zip(names, row) if on)
        for i in range(len(gold)):
            g, p = (names[gold[i]], names[pred[i]]) if task == "single-label" else (join(gold[i]), join(pred[i]))
            w.writerow([i, g, p] + [f"{v:.6f}" for v in scores[i]])


# ---------------------------------------------------------------- data

def label_space(task, frames, col, sep):
    """Class names (single-label: train's, ordered as before), label names (multi-label:
    the sorted union of train's label sets), or None (regression)."""
    train = frames["train"][col].astype(str)
    if task == "single-label":
        return sorted(train.unique(), key=lambda x: (len(x), x))
    if task == "regression":
        return None
    names = sorted({l for v in train for l in v.split(sep) if l})
    for s in ["valid", "test"]:
        unseen = {l for v in frames[s][col].astype(str) for l in v.split(sep) if l} - set(names)
        if unseen:
            raise SystemExit(f"{s}: labels {sorted(unseen)} never occur in train; the model has no output for them")
    return names


def targets_of(task, frame, col, names, sep):
    if task == "single-label":
        lid = {n: i for i, n in enumerate(names)}
        return [lid[str(v)] for v in frame[col]]
    if task == "regression":
        return frame[col].astype(np.float32).to_numpy()
    lid = {n: i for i, n in enumerate(names)}
    y = np.zeros((len(frame), len(names)), dtype=np.float32)
    for r, v in enumerate(frame[col].astype(str)):
        for l in v.split(sep):
            if l:
                y[r, lid[l]] = 1.0
    return y


def main():
    ap = argparse.ArgumentParser()
    for f in ["model", "train", "valid", "test"]:
        ap.add_argument(f"--{f}", required=True)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--monitor", choices=["val_loss", "val_accuracy"], default="val_loss")
    ap.add_argument("--eval-every", type=int, default=0,
                    help="also validate every N optimizer steps (like textclf's --eval-every); the best "
                         "validation by --monitor, at any step, gives the weights scored on test")
    ap.add_argument("--group-by-length", action="store_true",
                    help="length-grouped batches (transformers' group_by_length) instead of plain shuffled ones")
    ap.add_argument("--task", choices=TASKS,
                    help="the problem's shape; without it, single-label with the output of before")
    ap.add_argument("--text-col", default="text")
    ap.add_argument("--text-pair-col", help="second text of sentence pairs (truncation longest_first)")
    ap.add_argument("--label-col", default="label")
    ap.add_argument("--label-sep", default="|", help="separator of a multi-label row's labels")
    ap.add_argument("--predictions", help="write the test predictions here (textclf's predictions.csv layout)")
    a = ap.parse_args()
    task = a.task or "single-label"
    if task == "regression" and a.monitor == "val_accuracy":
        ap.error("regression has no accuracy to monitor: use --monitor val_loss (MSE)")
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    t_start = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(a.model)
    data = {s: pd.read_csv(getattr(a, s), keep_default_na=False) for s in ["train", "valid", "test"]}
    names = label_space(task, data, a.label_col, a.label_sep)

    def encode(d):
        first = list(d[a.text_col].astype(str))
        if a.text_pair_col is None:
            return tok(first, truncation=True, max_length=a.max_len, padding="max_length", return_tensors="pt")
        return tok(first, list(d[a.text_pair_col].astype(str)), truncation="longest_first", max_length=a.max_len,
                   padding="max_length", return_tensors="pt")

    enc = {s: encode(d) for s, d in data.items()}
    lab = {s: targets_of(task, d, a.label_col, names, a.label_sep) for s, d in data.items()}
    extra = {}
    if a.task is not None and task != "single-label":
        extra["problem_type"] = "multi_label_classification" if task == "multi-label" else "regression"
    model = AutoModelForSequenceClassification.from_pretrained(
        a.model, num_labels=1 if task == "regression" else len(names), attn_implementation="sdpa", **extra).to(dev)
    decay = [p for n, p in model.named_parameters() if not ("bias" in n or "LayerNorm" in n)]
    nodecay = [p for n, p in model.named_parameters() if "bias" in n or "LayerNorm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": nodecay, "weight_decay": 0.0}], lr=a.lr)
    n = len(lab["train"])
    steps = (n + a.batch_size - 1) // a.batch_size * a.epochs
    sched = get_linear_schedule_with_warmup(opt, int(0.1 * steps + 0.999), steps)
    history, best_state = [], None
    # Every validation (mid-epoch with --eval-every, and at each epoch's end) competes for the
    # kept weights; ties keep the earlier one, as textclf does.
    points, best_point = [], None

    def validate(step):
        nonlocal best_point, best_state
        vl, logits = evaluate(model, enc["valid"], lab["valid"], 64, dev, task)
        figs = val_figures(task, logits, lab["valid"])
        points.append({"step": step, "val_loss": vl, **figs})
        if best_point is None or (figs["val_accuracy"] > best_point["val_accuracy"] if a.monitor == "val_accuracy"
                                  else vl < best_point["val_loss"]):
            best_point, best_state = points[-1], copy.deepcopy(model.state_dict())
        return vl, figs

    step = 0
    train_lengths = [int(v) for v in enc["train"]["attention_mask"].sum(1)]
    for epoch in range(a.epochs):
        model.train()
        t0 = time.perf_counter()
        tokens = 0
        order = (grouped_batches(train_lengths, a.batch_size, rng) if a.group_by_length
                 else batches(n, a.batch_size, True, rng))
        for b in order:
            tokens += sum(train_lengths[i] for i in b)
            x = {k: v[b] for k, v in enc["train"].items()}
            keep = int(x["attention_mask"].sum(1).max())
            x = {k: v[:, :keep].to(dev) for k, v in x.items()}
            y = batch_targets(task, lab["train"], b, dev)
            loss = loss_of(task, model(**x).logits, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            if a.eval_every and step % a.eval_every == 0 and step % len(order) != 0:
                validate(step)
                model.train()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        secs = time.perf_counter() - t0
        vl, figs = validate(step)
        history.append({"epoch": epoch + 1, "val_loss": vl, **figs, "train_seconds": secs,
                        "tokens_per_s": tokens / secs})
    model.load_state_dict(best_state)
    best = (best_point["step"] - 1) // len(order)  # the epoch the kept weights come from
    _, test_logits = evaluate(model, enc["test"], lab["test"], 64, dev, task)
    thresholds = None
    if task == "single-label":
        gold, pred, scores = lab["test"], test_logits.argmax(1), softmax(test_logits.astype(np.float64))
        test = single_label_metrics(gold, pred)
    elif task == "multi-label":
        # Thresholds tuned on validation with the weights the run ends with (the best), as textclf.
        _, val_logits = evaluate(model, enc["valid"], lab["valid"], 64, dev, task)
        thresholds = tune_thresholds(sigmoid(val_logits), lab["valid"] > 0.5, names)
        scores = sigmoid(test_logits)
        gold, pred = lab["test"] > 0.5, scores >= np.array([t["threshold"] for t in thresholds], dtype=np.float32)
        test = multi_label_metrics(gold, pred)
        val_pred = sigmoid(val_logits) >= np.array([t["threshold"] for t in thresholds], dtype=np.float32)
        val_tuned = multi_label_metrics(lab["valid"] > 0.5, val_pred)["micro_f1"]
    else:
        gold, pred, scores = lab["test"], test_logits[:, 0], None
        test = regression_metrics(gold, pred)
    if a.predictions:
        write_predictions(a.predictions, task, names, gold, pred, scores)
    out = {"framework": f"torch {torch.__version__}", "epochs": history, "best_epoch": best + 1,
           "best_step": best_point["step"], "validations": len(points)}
    if task == "single-label":
        out.update({"val_accuracy": best_point["val_accuracy"],
                    "test_accuracy": test["accuracy"] if a.task else single_label_accuracy(gold, pred)})
    else:
        out.update({k: v for k, v in best_point.items() if k != "step"})
    if a.task:
        out.update({"task": task, "test": test})
        if thresholds is not None:
            out.update({"val_micro_f1_tuned": val_tuned, "thresholds": thresholds})
    out.update({"seconds_per_epoch": sum(h["train_seconds"] for h in history) / len(history),
                "total_seconds": time.perf_counter() - t_start})
    print(json.dumps(out))


def single_label_accuracy(gold, pred):
    """Share of rows whose argmax is the gold class (the figure printed before --task)."""
    return sum(int(p == g) for p, g in zip(pred, gold)) / len(gold)


if __name__ == "__main__":
    main()
