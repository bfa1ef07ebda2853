"""Turning Python data (DataFrames, lists, HF datasets) into files the command reads.

Paths pass through unchanged. Anything else is written as JSON lines into a temporary
folder that lives as long as the call; the command then detects the columns exactly as
for a file (or uses ``text_col=``/``label_col=``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional

DEFAULT_TEXT = "text"
DEFAULT_LABEL = "label"


def is_path(obj: Any) -> bool:
    return isinstance(obj, (str, bytes, os.PathLike))


def _plain(v: Any) -> Any:
    """A JSON-friendly value (numpy scalars and arrays become Python ones)."""
    if hasattr(v, "item") and callable(v.item) and getattr(v, "shape", None) == ():
        return v.item()
    if hasattr(v, "tolist") and callable(v.tolist):
        return v.tolist()
    return v


def _write_records(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps({k: _plain(v) for k, v in row.items()}, ensure_ascii=False))
            f.write("\n")
            n += 1
    return n


def _dataset_rows(ds: Any) -> Iterator[Mapping[str, Any]]:
    """Rows of a Hugging Face ``datasets.Dataset``, with ClassLabel ids as their names."""
    features = getattr(ds, "features", None) or {}
    named = {
        col: feat
        for col, feat in dict(features).items()
        if hasattr(feat, "int2str") and getattr(feat, "names", None)
    }
    for row in ds:
        if named:
            row = dict(row)
            for col, feat in named.items():
                if isinstance(row.get(col), int) and row[col] >= 0:
                    row[col] = feat.int2str(row[col])
        yield row


def _pairs(obj: Any, text_key: str, label_key: str) -> Optional[Iterator[Mapping[str, Any]]]:
    """Rows of list-like inputs: ``(texts, labels)``, ``[(text, label), …]``,
    ``[{"text": …, "label": …}, …]`` or ``{"text": [...], "label": [...]}``."""
    if isinstance(obj, Mapping):
        cols = {k: list(v) for k, v in obj.items()}
        lengths = {len(v) for v in cols.values()}
        if len(lengths) > 1:
            raise ValueError(f"the columns of the dict have different lengths: { {k: len(v) for k, v in cols.items()} }")
        n = lengths.pop() if lengths else 0
        return ({k: v[i] for k, v in cols.items()} for i in range(n))
    if isinstance(obj, tuple) and len(obj) == 2 and not isinstance(obj[0], str):
        texts, labels = list(obj[0]), list(obj[1])
        if len(texts) != len(labels):
            raise ValueError(f"(texts, labels): {len(texts)} texts but {len(labels)} labels")
        return ({text_key: t, label_key: y} for t, y in zip(texts, labels))
    if isinstance(obj, (list, tuple)):
        items = list(obj)
        if all(isinstance(r, Mapping) for r in items):
            return iter(items)
        if all(isinstance(r, (list, tuple)) and len(r) == 2 for r in items):
            return ({text_key: t, label_key: y} for t, y in items)
        raise TypeError(
            "a list of data must hold (text, label) pairs or dicts of columns; "
            "or give (texts, labels), a pandas DataFrame, a datasets.Dataset or a file path"
        )
    return None


def materialize(obj: Any, folder: Path, name: str, text_col: Optional[str], label_col: Optional[str]) -> str:
    """A path the command can read for ``obj`` (written into ``folder`` when needed)."""
    if is_path(obj):
        return os.fsdecode(obj)
    path = folder / f"{name}.jsonl"
    if hasattr(obj, "to_json") and hasattr(obj, "columns") and hasattr(obj, "iloc"):
        # A pandas DataFrame: JSON lines keep integer, string and list labels as they are.
        obj.to_json(path, orient="records", lines=True, force_ascii=False)
        return str(path)
    if hasattr(obj, "features") and hasattr(obj, "column_names"):
        _write_records(path, _dataset_rows(obj))
        return str(path)
    rows = _pairs(obj, text_col or DEFAULT_TEXT, label_col or DEFAULT_LABEL)
    if rows is None:
        raise TypeError(
            f"{name}=: expected a file path, a pandas DataFrame, a datasets.Dataset, "
            f"(texts, labels), a list of (text, label) pairs or of dicts; got {type(obj).__name__}"
        )
    _write_records(path, rows)
    return str(path)
