"""The textclf commands as Python functions.

Each function builds the command line of the matching ``textclf`` command from its
keyword arguments and runs it in-process, so defaults, checks and error messages are the
command line's own: an argument left as ``None`` takes the command's default, ``True``
turns a flag on, a list repeats the flag, and any other flag of the command can be given
as a keyword (``min_df=3`` is ``--min-df 3``). ``textclf baseline --help`` and
``textclf train --help`` (or ``python -m textclf … --help``) list them all.
"""

from __future__ import annotations

import csv
import html
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

from . import _native
from ._data import is_path, materialize
from ._progress import ProgressArg, Reporter

PathLike = Union[str, "os.PathLike[str]"]
Data = Any  # a path, a pandas DataFrame, a datasets.Dataset, (texts, labels), a list of pairs or dicts

TextclfError = _native.TextclfError
UsageError = _native.UsageError

# `sweep` runs every run as a child process: this interpreter running `python -m textclf`.
_native.set_child_command([sys.executable, "-m", "textclf"])

_DATA_KEYS = ("train", "valid", "test")


def _flag(key: str) -> str:
    return "--C" if key == "C" else "--" + key.replace("_", "-")


def _value(key: str, v: Any) -> str:
    if isinstance(v, (str, bytes, os.PathLike)):
        return os.fsdecode(v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


def command_line(options: Dict[str, Any]) -> List[str]:
    """The flags for ``options``: None and False are left out, True is a bare flag, a
    list or tuple repeats the flag (``class_weights`` joins it with commas)."""
    argv: List[str] = []
    for key, v in options.items():
        if v is None or v is False:
            continue
        flag = _flag(key)
        if v is True:
            argv.append(flag)
        elif key == "class_weights" and isinstance(v, (list, tuple)):
            argv += [flag, ",".join(_value(key, x) for x in v)]
        elif isinstance(v, (list, tuple)):
            for x in v:
                argv += [flag, _value(key, x)]
        else:
            argv += [flag, _value(key, v)]
    return argv


def _run(argv: List[str], progress: ProgressArg, quiet: bool) -> tuple:
    reporter = Reporter(progress, quiet)
    try:
        out = _native.run(argv, reporter)
    finally:
        reporter.close()
    return (json.loads(out) if out is not None else None), reporter.texts


def _with_data(command: str, data_args: Dict[str, Any], options: Dict[str, Any], progress: ProgressArg, quiet: bool) -> Any:
    """Runs a training command, writing in-memory data to a temporary folder first."""
    text_col, label_col = options.get("text_col"), options.get("label_col")
    with tempfile.TemporaryDirectory(prefix="textclf-") as tmp:
        folder = Path(tmp)
        flags: Dict[str, Any] = {}
        for key in _DATA_KEYS:
            if data_args.get(key) is not None:
                flags[key] = materialize(data_args[key], folder, key, text_col, label_col)
        pool = data_args.get("data")
        if pool is not None:
            parts = pool if isinstance(pool, list) and pool and all(
                is_path(p) or hasattr(p, "columns") or hasattr(p, "features") for p in pool
            ) else [pool]
            flags["data"] = [materialize(p, folder, f"data{i}", text_col, label_col) for i, p in enumerate(parts)]
        result, texts = _run([command, *command_line({**flags, **options})], progress, quiet)
    return result, texts


class Run:
    """A finished run folder: ``metrics``, ``predictions``, the saved model, and the HTML
    report rendered inline in Jupyter."""

    def __init__(self, path: PathLike, text: str = "") -> None:
        self.path = Path(path)
        self.text = text

    @property
    def metrics(self) -> Dict[str, Any]:
        """The contents of ``metrics.json``."""
        with open(self.path / "metrics.json", encoding="utf-8") as f:
            return json.load(f)

    @property
    def predictions(self) -> Any:
        """``predictions.csv``: a pandas DataFrame when pandas is installed, else a list of
        dicts (probabilities as floats)."""
        path = self.path / "predictions.csv"
        try:
            import pandas as pd
        except ImportError:
            pd = None
        if pd is not None:
            return pd.read_csv(path, dtype={"id": str, "gold": str, "predicted": str}, keep_default_na=False)
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        for r in rows:
            for k, v in r.items():
                if k.startswith("p_"):
                    r[k] = float(v)
        return rows

    @property
    def model_path(self) -> Path:
        return self.path / "model"

    def load(self, int8: bool = False) -> "Classifier":
        """The run's saved model (see :func:`load`)."""
        return load(self.model_path, int8=int8)

    def report(self, **kwargs: Any) -> "Report":
        """Writes this run's report (see :func:`report`)."""
        return report(self.path, **kwargs)

    def __repr__(self) -> str:
        try:
            acc = self.metrics.get("accuracy")
        except OSError:
            acc = None
        extra = f", accuracy={acc:.4f}" if isinstance(acc, (int, float)) else ""
        return f"Run('{self.path}'{extra})"

    def _repr_html_(self) -> str:
        return _report_html(self.path)


def _report_html(folder: Path) -> str:
    """The folder's report.html (written first if missing or older than its runs), inline."""
    page = folder / "report.html"
    metrics = folder / "metrics.json"
    if not page.is_file() or (metrics.is_file() and metrics.stat().st_mtime > page.stat().st_mtime):
        report(folder, quiet=True)
    doc = page.read_text(encoding="utf-8")
    # An iframe keeps the page's own styles from touching the notebook's.
    return (
        f'<iframe title="textclf report: {html.escape(str(folder))}" '
        f'srcdoc="{html.escape(doc, quote=True)}" '
        'style="width: 100%; height: 640px; border: 1px solid #ddd;"></iframe>'
    )


class Report(dict):
    """What ``textclf report`` wrote (the paths and the best run), as a dict; shows the
    HTML report inline in Jupyter."""

    def __init__(self, folder: PathLike, result: Optional[Dict[str, Any]]) -> None:
        super().__init__(result or {})
        self.path = Path(folder)

    @property
    def html(self) -> str:
        return (self.path / "report.html").read_text(encoding="utf-8")

    def _repr_html_(self) -> str:
        return _report_html(self.path)


class Advice(dict):
    """``textclf advise``'s ranked plan, as a dict; ``markdown`` is advice.md."""

    def __init__(self, folder: PathLike, result: Optional[Dict[str, Any]]) -> None:
        super().__init__(result or {})
        self.path = Path(folder)

    @property
    def markdown(self) -> str:
        return (self.path / "advice.md").read_text(encoding="utf-8")

    def _repr_markdown_(self) -> str:
        return self.markdown


class Comparison(dict):
    """``textclf compare``'s paired comparison, as a dict; ``text`` is the table the
    command line prints."""

    def __init__(self, result: Optional[Dict[str, Any]], text: str) -> None:
        super().__init__(result or {})
        self.text = text

    def __str__(self) -> str:
        return self.text

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.text)


class Sweep(dict):
    """A sweep folder after ``textclf sweep``: its summary (runs, statuses, the best) as a
    dict; shows its report inline in Jupyter."""

    def __init__(self, folder: PathLike, result: Optional[Dict[str, Any]]) -> None:
        super().__init__(result or {})
        self.path = Path(folder)

    def report(self, **kwargs: Any) -> "Report":
        return report(self.path, **kwargs)

    def advise(self, **kwargs: Any) -> "Advice":
        return advise(self.path, **kwargs)

    def _repr_html_(self) -> str:
        return _report_html(self.path)


def baseline(
    *,
    out: PathLike,
    train: Data = None,
    valid: Data = None,
    test: Data = None,
    data: Data = None,
    model: Optional[str] = None,
    C: Optional[float] = None,
    c_grid: Optional[Sequence[float]] = None,
    ngram: Optional[str] = None,
    char_ngram: Optional[str] = None,
    min_df: Optional[int] = None,
    class_weights: Union[None, str, Sequence[float]] = None,
    split: Optional[str] = None,
    subset_frac: Optional[float] = None,
    per_class: Optional[int] = None,
    seed: Optional[int] = None,
    text_col: Optional[str] = None,
    label_col: Optional[str] = None,
    id_col: Optional[str] = None,
    overwrite: bool = False,
    progress: ProgressArg = None,
    quiet: bool = False,
    **options: Any,
) -> Run:
    """``textclf baseline``: train and evaluate a TF-IDF linear model (``model``: "lr"
    (default), "svm" or "nbsvm"; for sentence-pair regression also "cosine", the TF-IDF
    cosine of the two texts scaled to the scores). Returns the finished :class:`Run`."""
    opts = dict(
        model=model, out=out, C=C, c_grid=c_grid, ngram=ngram, char_ngram=char_ngram, min_df=min_df,
        class_weights=class_weights, split=split, subset_frac=subset_frac, per_class=per_class, seed=seed,
        text_col=text_col, label_col=label_col, id_col=id_col, overwrite=overwrite, **options,
    )
    _, texts = _with_data("baseline", dict(train=train, valid=valid, test=test, data=data), opts, progress, quiet)
    return Run(out, "\n".join(texts))


def train(
    *,
    model: PathLike,
    out: PathLike,
    train: Data = None,
    valid: Data = None,
    test: Data = None,
    data: Data = None,
    epochs: Optional[int] = None,
    max_len: Optional[int] = None,
    lr: Optional[float] = None,
    batch_size: Optional[int] = None,
    layers: Optional[int] = None,
    class_weights: Union[None, str, Sequence[float]] = None,
    split: Optional[str] = None,
    subset_frac: Optional[float] = None,
    per_class: Optional[int] = None,
    seed: Optional[int] = None,
    text_col: Optional[str] = None,
    label_col: Optional[str] = None,
    id_col: Optional[str] = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: ProgressArg = None,
    quiet: bool = False,
    **options: Any,
) -> Run:
    """``textclf train``: fine-tune a BERT-family encoder (``model``: a Hugging Face folder
    or Hub id). Ctrl-C (KeyboardInterrupt) saves a checkpoint and stops; call again with
    ``resume=True`` to continue. Returns the finished :class:`Run`."""
    opts = dict(
        model=model, out=out, epochs=epochs, max_len=max_len, lr=lr, batch_size=batch_size, layers=layers,
        class_weights=class_weights, split=split, subset_frac=subset_frac, per_class=per_class, seed=seed,
        text_col=text_col, label_col=label_col, id_col=id_col, resume=resume, overwrite=overwrite, **options,
    )
    _, texts = _with_data("train", dict(train=train, valid=valid, test=test, data=data), opts, progress, quiet)
    return Run(out, "\n".join(texts))


def sweep(
    config: PathLike,
    *,
    out: PathLike,
    shard: Optional[str] = None,
    dry_run: bool = False,
    skip_failed: bool = False,
    progress: ProgressArg = None,
    quiet: bool = False,
) -> Sweep:
    """``textclf sweep CONFIG --out OUT``: every run a TOML sweep file declares (each in a
    child process; finished runs are skipped when called again)."""
    result, _ = _run(
        ["sweep", os.fsdecode(config), *command_line(dict(out=out, shard=shard, dry_run=dry_run, skip_failed=skip_failed))],
        progress, quiet,
    )
    return Sweep(out, result)


def report(dir: PathLike, *, select: Optional[str] = None, progress: ProgressArg = None, quiet: bool = False) -> Report:
    """``textclf report DIR``: report.html, report.md, results.csv/json and plots for a
    sweep folder, a run folder or a folder of run folders."""
    result, _ = _run(["report", os.fsdecode(dir), *command_line(dict(select=select))], progress, quiet)
    return Report(dir, result)


def advise(dir: PathLike, *, select: Optional[str] = None, progress: ProgressArg = None, quiet: bool = False) -> Advice:
    """``textclf advise DIR``: a ranked, evidence-backed plan (also written to advice.md)."""
    result, _ = _run(["advise", os.fsdecode(dir), *command_line(dict(select=select))], progress, quiet)
    return Advice(dir, result)


def compare(
    run_a: Union[PathLike, Run],
    run_b: Union[PathLike, Run],
    *,
    bootstrap: Optional[int] = None,
    seed: Optional[int] = None,
) -> Comparison:
    """``textclf compare A B``: paired accuracy/macro-F1 differences with bootstrap CIs and
    McNemar's test on the same test set."""
    a = run_a.path if isinstance(run_a, Run) else run_a
    b = run_b.path if isinstance(run_b, Run) else run_b
    result, texts = _run(
        ["compare", os.fsdecode(a), os.fsdecode(b), *command_line(dict(bootstrap=bootstrap, seed=seed))], None, True
    )
    return Comparison(result, "\n".join(texts))


def data_stats(*files: PathLike, tokenizer: Optional[PathLike] = None, **columns: Any) -> Dict[str, Any]:
    """``textclf data stats FILES…``: rows, classes, lengths, duplicates and leakage."""
    result, _ = _run(["data", "stats", *map(os.fsdecode, files), *command_line(dict(tokenizer=tokenizer, **columns))], None, True)
    return result or {}


class Classifier:
    """A saved model (``<run>/model``): a linear baseline or a fine-tuned transformer."""

    def __init__(self, native: Any, path: Path) -> None:
        self._native = native
        self.path = path

    @property
    def labels(self) -> List[str]:
        """The class names, in the column order of :meth:`predict_proba`."""
        return self._native.labels

    @property
    def kind(self) -> str:
        return self._native.kind

    def predict(self, texts: Union[str, Iterable[str]]) -> List[str]:
        """The most probable class of each text."""
        return self._native.predict(_texts(texts))

    def predict_proba(self, texts: Union[str, Iterable[str]]) -> Any:
        """Class probabilities (columns in :attr:`labels` order): a numpy array when numpy
        is installed, else a list of lists."""
        rows = self._native.predict_proba(_texts(texts))
        try:
            import numpy as np
        except ImportError:
            return rows
        return np.asarray(rows, dtype=np.float32).reshape(len(rows), len(self.labels))

    def __repr__(self) -> str:
        return f"Classifier('{self.path}', kind={self.kind!r}, labels={self.labels!r})"


def _texts(texts: Union[str, Iterable[str]]) -> List[str]:
    if isinstance(texts, str):
        return [texts]
    out = [t if isinstance(t, str) else str(t) for t in texts]
    return out


def load(path: PathLike, *, int8: bool = False) -> Classifier:
    """Loads a saved model folder as ``textclf predict --model`` does."""
    from ._progress import TextclfWarning
    import warnings

    native = _native.Model.load(os.fsdecode(path), int8)
    for w in native.warnings:
        warnings.warn(w, TextclfWarning, stacklevel=2)
    return Classifier(native, Path(path))
