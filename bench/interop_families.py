"""Interop of the modern families with Python transformers, both ways (issue 19).

    python bench/interop_families.py --textclf target/debug/textclf --work /tmp/interop

For each family (electra, deberta-v2, modernbert with cls and with mean pooling):

1. transformers -> textclf: a tiny random `*ForSequenceClassification` (seed 0, three
   labels, initializer_range 0.1 so the model is far from uniform) is built from its config
   and saved with `save_pretrained` (safetensors) beside the bert-tiny WordPiece tokenizer of
   the parity fixtures; transformers predicts a set of texts, `textclf predict` predicts the
   same texts from that folder; labels must agree and probabilities differ by <= 1e-5.
2. textclf -> transformers: `textclf train` fine-tunes that folder for one epoch on a small
   labelled set; transformers loads the saved model (AutoModelForSequenceClassification +
   AutoTokenizer) and predicts the texts; `textclf predict` on the same folder must give the
   same labels and probabilities within 1e-5, and config.json must keep the label names.

Needs torch + transformers (the venv ~/.cache/textclf/torch-venv). Exits non-zero on any
mismatch; prints one JSON line per check.
"""
import argparse
import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import torch
from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DebertaV2Config,
                          ElectraConfig, ModernBertConfig)

LABELS = ["neg", "neu", "pos"]
TEXTS = [
    "a gripping, beautifully acted film",
    "the plot is thin and the jokes fall flat",
    "it was fine.",
    "I can't say I hated it, but I won't watch it again - too long, too loud, too pleased with itself",
    "Honestly, the second half drags: endless chases, a shouting villain and a score that never "
    "stops telling you what to feel, and the ending undoes everything the first hour built.",
    "ok",
    "a clever script with plenty of laughs and performances that carry the slow middle part",
    "worst thing I have seen this year",
]
TRAIN = [(t, LABELS[i % 3]) for i, t in enumerate(TEXTS * 3)]


def configs():
    common = dict(vocab_size=30522, pad_token_id=0, initializer_range=0.1,
                  id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)},
                  problem_type="single_label_classification")
    yield "electra", ElectraConfig(embedding_size=16, hidden_size=32, num_hidden_layers=2,
                                   num_attention_heads=2, intermediate_size=64,
                                   max_position_embeddings=512, **common)
    yield "deberta-v2", DebertaV2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                        intermediate_size=64, max_position_embeddings=512,
                                        relative_attention=True, position_biased_input=False,
                                        pos_att_type=["p2c", "c2p"], position_buckets=16,
                                        max_relative_positions=32, norm_rel_ebd="layer_norm",
                                        share_att_key=True, type_vocab_size=0, layer_norm_eps=1e-7,
                                        pooler_hidden_size=32, pooler_hidden_act="gelu", **common)
    for pooling in ["cls", "mean"]:
        yield f"modernbert-{pooling}", ModernBertConfig(
            hidden_size=64, num_hidden_layers=4, num_attention_heads=4, intermediate_size=128,
            max_position_embeddings=512, local_attention=8, global_attn_every_n_layers=3,
            cls_token_id=101, sep_token_id=102, bos_token_id=101, eos_token_id=102,
            classifier_pooling=pooling, **common)


def hf_probs(model_dir, texts):
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir, attn_implementation="eager").eval()
    tok = AutoTokenizer.from_pretrained(model_dir)
    with torch.no_grad():
        enc = tok(texts, truncation=True, max_length=128, padding=True, return_tensors="pt")
        if "token_type_ids" in enc and getattr(model.config, "type_vocab_size", 1) == 0:
            del enc["token_type_ids"]
        if model.config.model_type == "modernbert":
            enc.pop("token_type_ids", None)
        probs = torch.softmax(model(**enc).logits, dim=-1)
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    return labels, probs.tolist()


def textclf_probs(binary, model_dir, texts_csv, out_csv):
    subprocess.run([binary, "-q", "predict", "--model", str(model_dir), "--input", str(texts_csv),
                    "--output", str(out_csv)], check=True)
    rows = list(csv.DictReader(open(out_csv, newline="", encoding="utf-8")))
    return rows


def compare(name, direction, labels, hf, ours):
    worst, agree = 0.0, 0
    for p, row in zip(hf, ours):
        agree += labels[max(range(len(p)), key=lambda k: p[k])] == row["predicted"]
        for k, l in enumerate(labels):
            worst = max(worst, abs(p[k] - float(row[f"p_{l}"])))
    ok = agree == len(hf) == len(ours) and worst <= 1e-5
    print(json.dumps({"family": name, "direction": direction, "texts": len(hf),
                      "same_label": agree, "max_prob_diff": worst, "ok": ok}))
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--textclf", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--tokenizer", default=str(
        Path(__file__).resolve().parents[1] / "../shared/fixtures/parity/bert-tiny"))
    a = ap.parse_args()
    torch.set_num_threads(2)
    work = Path(a.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    texts_csv = work / "texts.csv"
    with open(texts_csv, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "text"])
        for i, t in enumerate(TEXTS):
            w.writerow([i, t])
    train_csv = work / "train.csv"
    with open(train_csv, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(TRAIN)
    tok_files = ["tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]
    all_ok = True
    for name, cfg in configs():
        d = work / name / "hf"
        torch.manual_seed(0)
        model = AutoModelForSequenceClassification.from_config(cfg)
        model.save_pretrained(d, safe_serialization=True)
        for f in tok_files:
            shutil.copy(Path(a.tokenizer) / f, d / f)
        labels, hf = hf_probs(d, TEXTS)
        ours = textclf_probs(a.textclf, d, texts_csv, work / name / "hf_pred.csv")
        all_ok &= compare(name, "transformers->textclf", labels, hf, ours)

        run = work / name / "run"
        subprocess.run([a.textclf, "-q", "train", "--model", str(d), "--train", str(train_csv),
                        "--valid", str(train_csv), "--test", str(train_csv), "--out", str(run), "--epochs", "1",
                        "--batch-size", "8", "--lr", "1e-3", "--max-len", "128", "--overwrite"],
                       check=True)
        saved = run / "model"
        cfg_saved = json.load(open(saved / "config.json"))
        same_labels = [cfg_saved["id2label"][str(i)] for i in range(3)] == LABELS
        labels, hf = hf_probs(saved, TEXTS)
        ours = textclf_probs(a.textclf, saved, texts_csv, work / name / "run_pred.csv")
        all_ok &= compare(name, "textclf->transformers", labels, hf, ours) and same_labels
        if not same_labels:
            print(json.dumps({"family": name, "error": "id2label changed", "got": cfg_saved["id2label"]}))
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()
