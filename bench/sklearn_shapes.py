"""scikit-learn reference for `bench/baseline_shapes.sh`: the same task as
`crates/linear/examples/shapes_bench.rs`, at the same features and C values, one JSON line.

Features follow textclf's defaults (as `bench/sklearn_baseline.py`): TF-IDF of word 1-2
grams, min_df 2, sublinear tf, smoothed idf, L2, lower-cased, punctuation tokens. Pair
features as textclf's `pairs` module documents them: TF-IDF of sentence1 (its own
vocabulary), TF-IDF of sentence2 (its own), the elementwise product of the two sides'
rows in a shared vocabulary fitted on both sides, and two dense columns (cosine,
Jaccard of the shared-vocabulary n-gram sets).

Tasks (C values from --c-grid, the ones textclf tried; the best on the validation file wins,
ties to the smaller C):
  multilabel  OneVsRestClassifier(LogisticRegression(C)) (lbfgs, scikit-learn's defaults);
              per-label thresholds maximising each label's F1 on dev (textclf's rule), C by
              micro-F1 with those thresholds; also the fixed setting C 4, threshold 0.3.
  ridge       Ridge(alpha = 1/C) on pair features, C by validation MSE.
  cosine      cosine of the two sides' TF-IDF rows, IDF fitted on train's sentences.
  pair-lr     LogisticRegression(C) on pair features, C by validation accuracy.
  single-lr   LogisticRegression(C) on TF-IDF, C by validation accuracy; MCC reported.

For the two binary tasks (pair-lr, single-lr) the JSON also holds `liblinear`: the same
search with solver="liblinear", which minimises textclf's two-class objective (the
intercept is a unit feature whose weight is regularised with the others, scikit-learn's
intercept_scaling=1), where lbfgs leaves the intercept unregularised.
"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import pearsonr
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import f1_score, matthews_corrcoef
from sklearn.multiclass import OneVsRestClassifier

sys.path.insert(0, os.path.dirname(__file__))
from sklearn_baseline import TAG, TOKENS  # noqa: E402


def vec(min_df=2):
    return TfidfVectorizer(ngram_range=(1, 2), min_df=min_df, sublinear_tf=True, token_pattern=TOKENS)


def clean(col):
    return [TAG.sub(" ", s) for s in col.astype(str)]


def read(path):
    return pd.read_csv(path, keep_default_na=False)


class PairFeatures:
    def fit_transform(self, a, b):
        self.va, self.vb, self.vs = vec(), vec(), vec()
        xa, xb = self.va.fit_transform(a), self.vb.fit_transform(b)
        self.vs.fit(a + b)
        return self._join(xa, xb, a, b)

    def transform(self, a, b):
        return self._join(self.va.transform(a), self.vb.transform(b), a, b)

    def _join(self, xa, xb, a, b):
        sa, sb = self.vs.transform(a), self.vs.transform(b)
        prod = sa.multiply(sb).tocsr()
        cos = np.asarray(prod.sum(axis=1)).ravel()
        ba, bb = (sa > 0).astype(np.float64), (sb > 0).astype(np.float64)
        inter = np.asarray(ba.multiply(bb).sum(axis=1)).ravel()
        union = np.asarray(ba.sum(axis=1)).ravel() + np.asarray(bb.sum(axis=1)).ravel() - inter
        jac = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        return sparse.hstack([xa, xb, prod, sparse.csr_matrix(np.c_[cos, jac])]).tocsr()


def tune_threshold(p, y):
    """textclf's rule: the cut between distinct probabilities with the best F1, the
    midpoint as threshold, ties to the threshold nearest 0.5; no positives keeps 0.5."""
    pos = int(y.sum())
    if pos == 0:
        return 0.5
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    best_t, best_f = min((ps[0] + 1) / 2, 1.0), 0.0
    tp, k, n = 0, 0, len(ps)
    while k < n:
        v = ps[k]
        while k < n and ps[k] == v:
            tp += int(ys[k])
            k += 1
        f = 0.0 if tp == 0 else 2 * tp / (k + pos)
        t = (v + ps[k]) / 2 if k < n else v / 2
        if f > best_f + 1e-12 or (abs(f - best_f) <= 1e-12 and abs(t - 0.5) < abs(best_t - 0.5)):
            best_t, best_f = t, f
    return best_t


def best(points, key):
    """The best point by key (higher wins), ties to the smaller C."""
    return max(sorted(points, key=lambda p: p["c"]), key=lambda p: (key(p), -p["c"]))


def lr_search(grid, Xtr, ytr, Xva, yva, Xdev, ydev, solver):
    """LogisticRegression(C, solver) at each C; C by validation accuracy (ties to the
    smaller C); the chosen model's accuracy and MCC on the scored file."""
    points, models = [], {}
    for c in sorted(grid):
        m = LogisticRegression(C=c, solver=solver).fit(Xtr, ytr)
        points.append({"c": c, "score": float(np.mean(m.predict(Xva) == yva))})
        models[c] = m
    b = best(points, lambda p: p["score"])
    p = models[b["c"]].predict(Xdev)
    return {"c": b["c"], "mcc": float(matthews_corrcoef(ydev, p)),
            "accuracy": float(np.mean(p == ydev)), "c_search": points}


def main():
    task, args = sys.argv[1], sys.argv[2:]
    grid = [float(c) for c in os.environ.get("C_GRID", "").split(",") if c]
    if task != "cosine" and not grid:
        sys.exit("set C_GRID to the C values to fit (comma-separated)")
    t0 = time.perf_counter()
    out = {}
    if task == "multilabel":
        names = [l.strip() for l in open(args[3]) if l.strip()]
        idx = {n: i for i, n in enumerate(names)}
        dfs = [read(p) for p in args[:3]]

        def onehot(df):
            y = np.zeros((len(df), len(names)), dtype=np.int64)
            for i, s in enumerate(df["labels"].astype(str)):
                for l in s.split("|"):
                    y[i, idx[l]] = 1
            return y

        (xtr, xva, xte), (ytr, yva, yte) = [clean(d["text"]) for d in dfs], [onehot(d) for d in dfs]
        v = vec()
        Xtr = v.fit_transform(xtr)
        Xva, Xte = v.transform(xva), v.transform(xte)
        points, models = [], {}
        for c in sorted(grid):
            tc = time.perf_counter()
            m = OneVsRestClassifier(LogisticRegression(C=c)).fit(Xtr, ytr)
            pva = m.predict_proba(Xva)
            th = np.array([tune_threshold(pva[:, j], yva[:, j]) for j in range(len(names))])
            micro = f1_score(yva, (pva >= th).astype(int), average="micro", zero_division=0)
            points.append({"c": c, "micro_f1": micro, "fit_s": time.perf_counter() - tc})
            models[c] = (m, th)
        b = best(points, lambda p: p["micro_f1"])
        m, th = models[b["c"]]
        pte = m.predict_proba(Xte)
        pred = (pte >= th).astype(int)
        out = {"micro_f1": f1_score(yte, pred, average="micro", zero_division=0),
               "macro_f1": f1_score(yte, pred, average="macro", zero_division=0), "c": b["c"]}
        if 4.0 in models:
            fixed = (models[4.0][0].predict_proba(Xte) >= 0.3).astype(int)
            out["fixed_c4_t03"] = {"micro_f1": f1_score(yte, fixed, average="micro", zero_division=0),
                                   "macro_f1": f1_score(yte, fixed, average="macro", zero_division=0)}
        out["c_search"] = points
    elif task in ("ridge", "pair-lr"):
        dfs = [read(p) for p in args[:3]]
        sides = [(clean(d["sentence1"]), clean(d["sentence2"])) for d in dfs]
        f = PairFeatures()
        Xtr = f.fit_transform(*sides[0])
        Xva, Xdev = f.transform(*sides[1]), f.transform(*sides[2])
        col = "score" if task == "ridge" else "label"
        ytr, yva, ydev = [d[col].to_numpy() for d in dfs]
        if task == "ridge":
            points, models = [], {}
            for c in sorted(grid):
                m = Ridge(alpha=1.0 / c).fit(Xtr, ytr)
                points.append({"c": c, "score": -float(np.mean((m.predict(Xva) - yva) ** 2))})
                models[c] = m
            b = best(points, lambda p: p["score"])
            out = {"c": b["c"], "c_search": points,
                   "pearson": float(pearsonr(models[b["c"]].predict(Xdev), ydev)[0])}
        else:
            out = lr_search(grid, Xtr, ytr, Xva, yva, Xdev, ydev, "lbfgs")
            out["liblinear"] = lr_search(grid, Xtr, ytr, Xva, yva, Xdev, ydev, "liblinear")
    elif task == "cosine":
        tr, dev = read(args[0]), read(args[1])
        v = vec()
        v.fit(clean(tr["sentence1"]) + clean(tr["sentence2"]))
        a, b = v.transform(clean(dev["sentence1"])), v.transform(clean(dev["sentence2"]))
        cos = np.asarray(a.multiply(b).sum(axis=1)).ravel()
        out = {"pearson": float(pearsonr(cos, dev["score"].to_numpy())[0])}
    elif task == "single-lr":
        dfs = [read(p) for p in args[:3]]
        v = vec()
        Xtr = v.fit_transform(clean(dfs[0]["sentence"]))
        Xva, Xdev = v.transform(clean(dfs[1]["sentence"])), v.transform(clean(dfs[2]["sentence"]))
        ytr, yva, ydev = [d["label"].to_numpy() for d in dfs]
        out = lr_search(grid, Xtr, ytr, Xva, yva, Xdev, ydev, "lbfgs")
        out["liblinear"] = lr_search(grid, Xtr, ytr, Xva, yva, Xdev, ydev, "liblinear")
    out["total_s"] = time.perf_counter() - t0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
