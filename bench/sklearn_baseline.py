"""scikit-learn reference pipeline for `bench/baseline.sh`.

Reads the train/test CSVs, vectorizes, fits, predicts and prints one JSON line with
the accuracy and the time of each phase. The settings follow ../shared/reference/README.md:
TF-IDF (1-2 grams, min_df 2, sublinear tf) + liblinear logistic regression, and NBSVM
(Wang & Manning 2012) on binarised uni+bigram counts with punctuation tokens.
"""
import argparse
import json
import re
import time

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

BR = re.compile(r"<br\s*/?>")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--model", choices=["lr", "nbsvm"], default="lr")
    ap.add_argument("--C", type=float, required=True)
    a = ap.parse_args()
    t = {}
    t0 = time.perf_counter()
    tr = pd.read_csv(a.train)
    te = pd.read_csv(a.test)
    xtr = [BR.sub(" ", s) for s in tr["text"].astype(str)]
    xte = [BR.sub(" ", s) for s in te["text"].astype(str)]
    ytr, yte = tr["label"].to_numpy(), te["label"].to_numpy()
    t["read"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if a.model == "lr":
        vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True)
    else:
        vec = CountVectorizer(ngram_range=(1, 2), binary=True, lowercase=True,
                              token_pattern=r"(?u)\w[\w']*|[^\w\s]")
    Xtr = vec.fit_transform(xtr)
    Xte = vec.transform(xte)
    t["vectorize"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if a.model == "lr":
        clf = LogisticRegression(C=a.C, solver="liblinear", max_iter=1000)
        clf.fit(Xtr, ytr)
        t["fit"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        pred = clf.predict(Xte)
    else:
        pos = ytr == 1
        p = np.asarray(Xtr[pos].sum(axis=0)).ravel() + 1.0
        q = np.asarray(Xtr[~pos].sum(axis=0)).ravel() + 1.0
        r = np.log((p / p.sum()) / (q / q.sum()))
        R = sparse.diags(r)
        svm = LinearSVC(C=a.C, loss="squared_hinge", max_iter=10000)
        svm.fit(Xtr @ R, ytr)
        beta = 0.25
        w = svm.coef_.ravel()
        w2 = (1 - beta) * np.abs(w).mean() + beta * w
        b2 = beta * svm.intercept_[0]
        t["fit"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        scores = (Xte @ R) @ w2 + b2
        pred = np.where(scores > 0, svm.classes_[1], svm.classes_[0])
    acc = float((pred == yte).mean())
    t["predict"] = time.perf_counter() - t0
    print(json.dumps({"model": a.model, "C": a.C, "accuracy": acc, "timing": t,
                      "features": int(Xtr.shape[1])}))


if __name__ == "__main__":
    main()
