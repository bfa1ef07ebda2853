"""Checks that a model saved by `textclf train` loads in Python transformers and predicts
the same as textclf.

    python bench/check_hf_load.py --run runs/x --data test.csv [--max-len 128]

Loads <run>/model with AutoModelForSequenceClassification + AutoTokenizer, predicts the
texts of <run>/predictions.csv (rows of --data, ids `<file>:<row>`), and compares labels
and probabilities with textclf's. Needs torch + transformers (a venv outside the repo).
Exits non-zero if any label differs or a probability differs by more than 1e-4.
"""
import argparse
import csv
import json
import sys

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(2)
    model_dir = f"{a.run}/model"
    settings = json.load(open(f"{model_dir}/textclf.json"))
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    tok = AutoTokenizer.from_pretrained(model_dir)
    rows = list(csv.DictReader(open(a.data, newline="", encoding="utf-8")))
    preds = list(csv.DictReader(open(f"{a.run}/predictions.csv", newline="", encoding="utf-8")))
    if a.limit:
        preds = preds[: a.limit]
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    texts = [rows[int(p["id"].rsplit(":", 1)[1]) - 1]["text"] for p in preds]
    agree, max_diff = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(texts), 64):
            enc = tok(texts[i : i + 64], truncation=True, max_length=settings["max_len"],
                      padding=True, return_tensors="pt")
            probs = torch.softmax(model(**enc).logits, dim=-1)
            for j, p in enumerate(probs):
                ours = preds[i + j]
                agree += labels[int(p.argmax())] == ours["predicted"]
                for k, name in enumerate(labels):
                    max_diff = max(max_diff, abs(float(p[k]) - float(ours[f"p_{name}"])))
    n = len(texts)
    print(json.dumps({"texts": n, "same_label": agree, "max_prob_diff": max_diff,
                      "architectures": model.config.architectures,
                      "truncation": settings["truncation"]}))
    ok = agree == n and max_diff <= 1e-4
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
