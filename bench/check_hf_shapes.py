"""Checks that textclf's multi-label, regression and single-label pair models load in
transformers with the right problem_type, num_labels and id2label, and predict the same
scores (sigmoid probabilities; raw regression values of sentence pairs; softmax
probabilities of sentence pairs) within 1e-5.

    cargo run -p textclf-train --example save_shapes -- /tmp/shapes
    ~/.cache/textclf/torch-venv/bin/python bench/check_hf_shapes.py /tmp/shapes

Needs torch + transformers (a venv outside the repo). Exits non-zero on any difference.
"""
import json
import sys

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer


def main():
    root = sys.argv[1]
    expected = json.load(open(f"{root}/expected.json"))
    torch.set_num_threads(2)
    ok = True
    for name, e in expected.items():
        d = f"{root}/{name}"
        model = AutoModelForSequenceClassification.from_pretrained(d).eval()
        tok = AutoTokenizer.from_pretrained(d)
        args = [e["texts"]] + ([e["pairs"]] if e["pairs"] else [])
        enc = tok(*args, truncation=True, max_length=32, padding=True, return_tensors="pt")
        with torch.no_grad():
            logits = model(**enc).logits
        if model.config.problem_type == "multi_label_classification":
            scores = torch.sigmoid(logits)
        elif model.config.problem_type == "regression":
            scores = logits
        else:
            scores = torch.softmax(logits, dim=-1)
        got = scores.flatten().tolist()
        diff = max(abs(a - b) for a, b in zip(got, e["scores"]))
        id2label = [model.config.id2label[i] for i in range(model.config.num_labels)]
        labels_ok = e["problem_type"] == "regression" or id2label == e["labels"]
        same = (model.config.problem_type == e["problem_type"]
                and model.config.num_labels == e["num_labels"] and labels_ok
                and len(got) == len(e["scores"]) and diff <= 1e-5)
        ok &= same
        print(json.dumps({"model": name, "problem_type": model.config.problem_type,
                          "num_labels": model.config.num_labels,
                          "id2label": model.config.id2label, "max_abs_diff": diff,
                          "ok": same}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
