"""A scikit-learn-style estimator over textclf, with no scikit-learn dependency."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

from ._api import Classifier, baseline, load, train
from ._progress import TextclfWarning

LINEAR = ("lr", "svm", "nbsvm")


class TextClassifier:
    """``fit`` / ``predict`` / ``predict_proba`` / ``score`` / ``get_params`` /
    ``set_params`` over :func:`textclf.baseline` (``model`` "lr", "svm" or "nbsvm") or
    :func:`textclf.train` (``model`` a Hugging Face folder or Hub id). It drops into
    scikit-learn's ``cross_val_score``, ``GridSearchCV`` and ``Pipeline``.

    ``X`` is a sequence of texts, ``y`` their labels (strings or integers; predictions
    come back as the same values). Other keyword arguments are the command's options
    (``C=4``, ``epochs=2``, ``max_len=64``…). ``out`` keeps the run folder there (each
    ``fit`` replaces it); by default a temporary folder is used and removed with the
    estimator.
    """

    _estimator_type = "classifier"

    def __init__(self, model: str = "lr", *, out: Optional[str] = None, quiet: bool = True, **options: Any) -> None:
        self.model = model
        self.out = out
        self.quiet = quiet
        self._options = dict(options)

    # --- scikit-learn's parameter protocol -------------------------------------------
    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        return {"model": self.model, "out": self.out, "quiet": self.quiet, **self._options}

    def set_params(self, **params: Any) -> "TextClassifier":
        for k, v in params.items():
            if k in ("model", "out", "quiet"):
                setattr(self, k, v)
            else:
                self._options[k] = v
        return self

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags, Tags, TargetTags  # only asked by scikit-learn

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True), classifier_tags=ClassifierTags())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if k != "quiet" or not v)
        return f"TextClassifier({args})"

    # --- fitting and predicting -------------------------------------------------------
    def fit(self, X: Iterable[str], y: Iterable[Any]) -> "TextClassifier":
        texts = [str(t) for t in X]
        labels = list(y)
        if len(texts) != len(labels):
            raise ValueError(f"fit: {len(texts)} texts but {len(labels)} labels")
        self._by_name = {str(_plain(v)): _plain(v) for v in labels}
        rows = (texts, [str(_plain(v)) for v in labels])
        if self.out is not None:
            folder = Path(self.out)
        else:
            self._tmp = tempfile.mkdtemp(prefix="textclf-fit-")
            folder = Path(self._tmp) / "run"
        common = dict(out=folder, train=rows, test=rows, overwrite=True, quiet=self.quiet, **self._options)
        with warnings.catch_warnings():
            # The command needs a test file; the training rows stand in for it, which its
            # leakage check would rightly flag.
            warnings.filterwarnings("ignore", message=r".* also occur in the training data", category=TextclfWarning)
            if self.model in LINEAR:
                self.run_ = baseline(model=self.model, **common)
            else:
                self.run_ = train(model=self.model, **common)
        self.classifier_: Classifier = load(folder / "model")
        self.classes_ = [self._by_name.get(n, n) for n in self.classifier_.labels]
        return self

    def predict(self, X: Iterable[str]) -> Any:
        names = self._fitted().predict([str(t) for t in X])
        out: List[Any] = [self._by_name.get(n, n) for n in names]
        try:
            import numpy as np

            return np.asarray(out)
        except ImportError:
            return out

    def predict_proba(self, X: Iterable[str]) -> Any:
        return self._fitted().predict_proba([str(t) for t in X])

    def score(self, X: Iterable[str], y: Iterable[Any]) -> float:
        """Accuracy on ``X``, ``y``."""
        pred = list(self.predict(X))
        gold = [_plain(v) for v in y]
        return sum(_plain(p) == g for p, g in zip(pred, gold)) / max(1, len(gold))

    def _fitted(self) -> Classifier:
        clf = getattr(self, "classifier_", None)
        if clf is None:
            raise RuntimeError("this TextClassifier is not fitted yet: call fit(X, y) first")
        return clf

    def __del__(self) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)

    def __getstate__(self) -> Dict[str, Any]:
        # A fitted model is not picklable; scikit-learn clones by parameters anyway.
        state = dict(self.__dict__)
        for k in ("classifier_", "_tmp"):
            state.pop(k, None)
        return state


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") and getattr(v, "shape", None) == () else v
