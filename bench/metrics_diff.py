"""Compares run folders pairwise (BEFORE AFTER BEFORE AFTER ...): metrics.json with every
timing field left out must be equal (values and key order), and predictions.csv,
valid_predictions.csv and epochs.csv (its timing columns left out) byte-identical.
Prints one Markdown line per pair and exits 1 when any pair differs."""
import csv
import io
import json
import os
import sys

TIMING_KEYS = {"timing", "train_seconds", "samples_per_s", "tokens_per_s", "fit_s", "vectorize_s"}


def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k not in TIMING_KEYS}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v


def epochs_csv(path):
    rows = list(csv.DictReader(open(path)))
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in rows]


def compare(a, b):
    diffs = []
    ma = strip(json.load(open(os.path.join(a, "metrics.json"))))
    mb = strip(json.load(open(os.path.join(b, "metrics.json"))))
    if json.dumps(ma) != json.dumps(mb):
        diffs.append("metrics.json")
    for f in ["predictions.csv", "valid_predictions.csv"]:
        pa, pb = os.path.join(a, f), os.path.join(b, f)
        if os.path.exists(pa) or os.path.exists(pb):
            if not (os.path.exists(pa) and os.path.exists(pb)) or open(pa, "rb").read() != open(pb, "rb").read():
                diffs.append(f)
    pa, pb = os.path.join(a, "epochs.csv"), os.path.join(b, "epochs.csv")
    if os.path.exists(pa) and epochs_csv(pa) != epochs_csv(pb):
        diffs.append("epochs.csv")
    return diffs, ma.get("accuracy")


bad = False
args = sys.argv[1:]
for a, b in zip(args[::2], args[1::2]):
    diffs, acc = compare(a, b)
    name = os.path.basename(b)
    if diffs:
        bad = True
        print(f"- {name}: DIFFERENT ({', '.join(diffs)})")
    else:
        print(f"- {name}: identical (metrics.json with timings left out, predictions; test accuracy {acc:.4f})")
sys.exit(1 if bad else 0)
