"""Shared fixtures of the Python package's tests: small samples of ../shared/data (or
$TEXTCLF_DATA_DIR), written as CSV files into a temporary folder."""

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
DATA = Path(os.environ.get("TEXTCLF_DATA_DIR", SHARED / "data"))
MODELS = Path(os.environ.get("TEXTCLF_MODELS_DIR", SHARED / "models"))
TINY_BERT = SHARED / "fixtures" / "parity" / "bert-tiny"


def sample(path: Path, per_class: int, skip: int = 0):
    """The first `per_class` rows of each label after `skip` rows of it, as (text, label)."""
    seen, rows = {}, []
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            k = seen.get(r["label"], 0)
            seen[r["label"]] = k + 1
            if skip <= k < skip + per_class:
                rows.append((r["text"], r["label"]))
    return rows


def write_csv(path: Path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)
    return path


@pytest.fixture(scope="session")
def sst2(tmp_path_factory):
    """Small SST-2 splits: lists of (text, label) and the same rows as CSV files."""
    d = tmp_path_factory.mktemp("sst2")
    src = DATA / "sst2" / "train.csv"
    splits = {
        "train": sample(src, 100),
        "valid": sample(src, 15, skip=100),
        "test": sample(src, 30, skip=115),
    }
    files = {k: write_csv(d / f"{k}.csv", v) for k, v in splits.items()}
    return splits, files
