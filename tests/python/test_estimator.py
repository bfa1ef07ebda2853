"""The scikit-learn-style estimator: its protocol without scikit-learn, and inside
cross_val_score and Pipeline when scikit-learn is installed."""

import pytest

import textclf


def data(sst2):
    splits, _ = sst2
    rows = splits["train"]
    return [t for t, _ in rows], [int(l) for _, l in rows]


def test_params_fit_predict_score(sst2):
    X, y = data(sst2)
    est = textclf.TextClassifier("nbsvm", C=4.0)
    assert est.get_params() == {"model": "nbsvm", "out": None, "quiet": True, "C": 4.0}
    assert est.set_params(C=2.0, model="lr") is est
    assert est.get_params()["C"] == 2.0 and est.model == "lr"
    with pytest.raises(RuntimeError, match="not fitted"):
        est.predict(["x"])
    est.fit(X, y)
    assert list(est.classes_) == [0, 1]
    pred = list(est.predict(X[:10]))
    assert all(p in (0, 1) for p in pred)  # the labels' own type comes back
    assert est.score(X, y) > 0.8
    proba = est.predict_proba(X[:3])
    assert len(proba) == 3 and len(proba[0]) == 2


def test_cross_val_score_and_pipeline(sst2):
    pytest.importorskip("sklearn")
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = data(sst2)
    scores = cross_val_score(textclf.TextClassifier("nbsvm"), X, y, cv=3)
    assert len(scores) == 3 and all(0.0 <= s <= 1.0 for s in scores)
    pipe = Pipeline([("lower", FunctionTransformer(lambda xs: [x.lower() for x in xs])), ("clf", textclf.TextClassifier("lr"))])
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.8
