"""Checks the task metrics and the threshold rule of bench/torch_finetune.py without torch:
its numpy metrics against scikit-learn / scipy on random predictions, and `best_cut` /
`tune_thresholds` against the cases of textclf's own unit tests
(crates/eval/src/thresholds.rs) and a brute force over every candidate cut.

    ~/.cache/textclf/bench-venv/bin/python bench/check_torch_twin.py
"""
import os
import sys
import types

import numpy as np
import pandas  # noqa: F401  (imported before the stand-ins below, which scikit-learn must not see)
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef, mean_squared_error

# torch_finetune.py imports torch and transformers at the top; its metric functions use neither.
sys.modules["torch"] = types.ModuleType("torch")
sys.modules["torch"].Tensor = type("Tensor", (), {})
tf = sys.modules["transformers"] = types.ModuleType("transformers")
tf.AutoModelForSequenceClassification = tf.AutoTokenizer = tf.get_linear_schedule_with_warmup = None
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_finetune as t  # noqa: E402

rng = np.random.default_rng(0)
for _ in range(300):
    k, n = int(rng.integers(2, 5)), int(rng.integers(5, 60))
    g = rng.integers(0, k, n)
    p = np.where(rng.random(n) < 0.5, g, rng.integers(0, k, n))
    m = t.single_label_metrics(g, p)
    assert abs(m["accuracy"] - accuracy_score(g, p)) < 1e-12
    assert abs(m["macro_f1"] - f1_score(g, p, average="macro", zero_division=0)) < 1e-12, (g, p)
    assert abs(m["mcc"] - matthews_corrcoef(g, p)) < 1e-12, (g, p)
    G, P = rng.random((n, k)) < 0.3, rng.random((n, k)) < 0.3
    m = t.multi_label_metrics(G, P)
    assert abs(m["micro_f1"] - f1_score(G, P, average="micro", zero_division=0)) < 1e-12
    assert abs(m["macro_f1"] - f1_score(G, P, average="macro", zero_division=0)) < 1e-12
    assert abs(m["subset_accuracy"] - accuracy_score(G, P)) < 1e-12
    x = np.round(rng.random(n) * 5, 1)
    y = np.round(x + rng.random(n), 1)  # ties on both sides
    m = t.regression_metrics(x, y)
    assert abs(m["pearson"] - pearsonr(y, x)[0]) < 1e-9
    assert abs(m["spearman"] - spearmanr(y, x)[0]) < 1e-9
    assert abs(m["mse"] - mean_squared_error(x, y)) < 1e-12


def cut(cells):
    return t.best_cut(np.array([c[0] for c in cells], dtype=np.float32), np.array([c[1] for c in cells]))


# textclf's cases (thresholds.rs, best_cut_by_hand_and_ties_take_the_highest)
assert cut([(0.9, True), (0.6, False), (0.4, True), (0.1, False)]) == (np.float32(0.4), 0.8)
th, f = cut([(0.9, True), (0.7, False), (0.6, False), (0.5, True)])
assert th == np.float32(0.9) and abs(f - 2 / 3) < 1e-12
assert cut([(0.5, True), (0.5, False), (0.2, True)])[0] == np.float32(0.2)
assert cut([(0.3, False)]) is None
# (per_label_and_global_tuning)
gold = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0]], dtype=bool)
scores = np.array([0.9, 0.2, 0.3, 0.6, 0.3, 0.1, 0.5, 0.25, 0.2, 0.1, 0.1, 0.4], dtype=np.float32).reshape(4, 3)
tuned = t.tune_thresholds(scores, gold, ["a", "b", "none"])
assert [x["threshold"] for x in tuned] == [np.float32(0.6), np.float32(0.25), 0.5], tuned
assert [x["tuned"] for x in tuned] == [True, True, False] and tuned[0]["f1"] == 1.0
# brute force: the best F1 of every candidate cut, the highest threshold among equals
for _ in range(500):
    n = int(rng.integers(1, 30))
    s = np.round(rng.random(n), 1).astype(np.float32)
    g = rng.random(n) < 0.4
    r = t.best_cut(s, g)
    if not g.any():
        assert r is None
        continue
    f1 = {float(c): f1_score(g, s >= c, zero_division=0) for c in np.unique(s)}
    best = max(f1.values())
    want = max(c for c, v in f1.items() if abs(v - best) < 1e-12)
    assert abs(r[1] - best) < 1e-12 and abs(r[0] - want) < 1e-7, (s, g, r)
print("torch_finetune.py: metrics agree with scikit-learn/scipy; thresholds follow textclf's rule")
