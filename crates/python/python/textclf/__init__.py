"""textclf: text classification that reports clearly what works, from Python.

The functions mirror the ``textclf`` command line (same defaults, same checks, same error
messages, raised as :class:`TextclfError`)::

    import textclf
    run = textclf.baseline(train=df_train, test=df_test, model="nbsvm", out="runs/nb")
    run.metrics["accuracy"]      # metrics.json as a dict
    run.predictions              # a pandas DataFrame (a list of dicts without pandas)
    run                          # the HTML report, inline in Jupyter
    clf = textclf.load("runs/nb/model")
    clf.predict(["a wonderful film"]); clf.predict_proba(["..."])

Data can be file paths, pandas DataFrames, ``datasets.Dataset``s, ``(texts, labels)``,
or lists of ``(text, label)`` pairs or of dicts; columns are detected as on the command
line, or set with ``text_col=``/``label_col=``.
"""

from ._api import (
    Advice,
    Classifier,
    Comparison,
    Report,
    Run,
    Sweep,
    TextclfError,
    UsageError,
    advise,
    baseline,
    command_line,
    compare,
    data_stats,
    load,
    report,
    sweep,
    train,
)
from ._estimator import TextClassifier
from ._native import __version__
from ._progress import TextclfWarning

__all__ = [
    "Advice",
    "Classifier",
    "Comparison",
    "Report",
    "Run",
    "Sweep",
    "TextClassifier",
    "TextclfError",
    "TextclfWarning",
    "UsageError",
    "advise",
    "baseline",
    "command_line",
    "compare",
    "data_stats",
    "load",
    "report",
    "sweep",
    "train",
    "__version__",
]
