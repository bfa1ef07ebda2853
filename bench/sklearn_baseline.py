"""scikit-learn reference pipeline for `bench/baseline.sh` and `bench/baseline_multiclass.sh`.

Reads the train (and valid) and test CSVs, vectorizes, fits, predicts and prints one JSON
line with the accuracy and the time of each phase.

Features follow textclf's defaults: TF-IDF (1-2 grams, min_df 2, sublinear tf, smoothed
idf, L2) for LR and SVM, binarised uni+bigram counts for NBSVM, lower-cased, with
punctuation tokens and HTML tags replaced by spaces. Models:
  lr     LogisticRegression at scikit-learn's defaults (lbfgs, tol 1e-4, max_iter 100;
         multinomial with more than two classes); with --binary-liblinear, the liblinear
         solver (the IMDB reference of ../shared/reference).
  svm    LinearSVC (squared hinge, one-vs-rest).
  nbsvm  NBSVM (Wang & Manning 2012): per class, LinearSVC on the counts scaled by the
         naive-Bayes log-count ratios (alpha 1), interpolated with beta 0.25 towards the
         mean |w|; the label is the class with the highest score.
With --valid and --c-grid, every C is fitted on train and scored on valid; the best
(ties: the smaller C) predicts test. The test accuracy of every C is printed too.
"""
import argparse
import json
import re
import time
import warnings

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

# textclf's --keep-html off: a comment or declaration (<!...>), or a tag of a known HTML
# element (<p>, </P>, <br/>, <a href=...>) closing within 200 bytes; <user@host> and
# <stdio.h> stay text (crates/linear/src/analyzer.rs, HTML_ELEMENTS).
HTML_ELEMENTS = (
    "a abbr address article aside b big blockquote body br button caption center cite code col dd del "
    "details div dl dt em figcaption figure font footer form h1 h2 h3 h4 h5 h6 head header hr html i "
    "iframe img input ins kbd label li link main mark meta nav nobr ol p pre q s samp script section "
    "small span strike strong style sub summary sup table tbody td tfoot th thead title tr tt u ul var wbr"
).split()
TAG = re.compile(
    r"<(?:![^<>]{0,198}|/?(?:%s)(?:[\s/][^<>]{0,190})?)>"
    % "|".join(sorted(HTML_ELEMENTS, key=len, reverse=True)),
    re.IGNORECASE,
)
# textclf's tokens: runs of word characters joined by inner apostrophes ("don't"), and every
# other non-space character alone. (Not `\w[\w']*`: that keeps trailing apostrophes,
# "dogs'", which textclf splits into "dogs" and "'".)
TOKENS = r"(?u)\w+(?:'\w+)*|[^\w\s]"


def read(path):
    df = pd.read_csv(path, keep_default_na=False)
    return [TAG.sub(" ", s) for s in df["text"].astype(str)], df["label"].astype(str).to_numpy()


class NBSVM:
    def __init__(self, C, beta=0.25, alpha=1.0):
        self.C, self.beta, self.alpha = C, beta, alpha

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        targets = self.classes_[1:] if len(self.classes_) == 2 else self.classes_
        self.r, self.w, self.b = [], [], []
        for t in targets:
            pos = y == t
            p = np.asarray(X[pos].sum(axis=0)).ravel() + self.alpha
            q = np.asarray(X[~pos].sum(axis=0)).ravel() + self.alpha
            r = np.log((p / p.sum()) / (q / q.sum()))
            svm = LinearSVC(C=self.C, loss="squared_hinge", max_iter=10000)
            svm.fit(X @ sparse.diags(r), pos)
            w = svm.coef_.ravel()
            self.w.append(((1 - self.beta) * np.abs(w).mean() + self.beta * w) * r)
            self.b.append(self.beta * svm.intercept_[0])
        return self

    def predict(self, X):
        s = X @ np.array(self.w).T + np.array(self.b)
        if len(self.classes_) == 2:
            return np.where(s[:, 0] > 0, self.classes_[1], self.classes_[0])
        return self.classes_[s.argmax(axis=1)]


def model(kind, C, liblinear):
    if kind == "lr":
        if liblinear:
            return LogisticRegression(C=C, solver="liblinear", max_iter=1000)
        return LogisticRegression(C=C)
    if kind == "svm":
        return LinearSVC(C=C)
    return NBSVM(C)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--valid")
    ap.add_argument("--test", required=True)
    ap.add_argument("--model", choices=["lr", "svm", "nbsvm"], default="lr")
    ap.add_argument("--C", type=float, help="one C (no validation needed)")
    ap.add_argument("--c-grid", help="comma-separated C values, chosen on --valid")
    ap.add_argument("--binary-liblinear", action="store_true")
    a = ap.parse_args()
    grid = [a.C] if a.C is not None else [float(c) for c in a.c_grid.split(",")]
    t = {}
    t0 = time.perf_counter()
    xtr, ytr = read(a.train)
    xte, yte = read(a.test)
    xva, yva = read(a.valid) if a.valid else (None, None)
    t["read"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if a.model == "nbsvm":
        vec = CountVectorizer(ngram_range=(1, 2), binary=True, token_pattern=TOKENS)
    else:
        vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, token_pattern=TOKENS)
    Xtr = vec.fit_transform(xtr)
    Xte = vec.transform(xte)
    Xva = vec.transform(xva) if xva is not None else None
    t["vectorize"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    points, best, warned = [], None, 0
    for C in sorted(grid):
        tc = time.perf_counter()
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always", ConvergenceWarning)
            clf = model(a.model, C, a.binary_liblinear).fit(Xtr, ytr)
        warned += sum(issubclass(x.category, ConvergenceWarning) for x in w)
        fit_s = time.perf_counter() - tc
        va = float((clf.predict(Xva) == yva).mean()) if Xva is not None else None
        te = float((clf.predict(Xte) == yte).mean())
        points.append({"c": C, "valid": va, "test": te, "fit_s": fit_s})
        if best is None or (va is not None and va > best[1] + 1e-12):
            best = (C, va, te)
    t["fit"] = time.perf_counter() - t0
    print(json.dumps({"model": a.model, "C": best[0], "accuracy": best[2], "valid_accuracy": best[1],
                      "c_search": points, "convergence_warnings": warned, "timing": t,
                      "features": int(Xtr.shape[1])}))


if __name__ == "__main__":
    main()
