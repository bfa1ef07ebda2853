"""PyTorch + transformers reference fine-tune, configured like `textclf train`:
AdamW (weight decay 0.01 on weights, none on biases/LayerNorm), linear warmup (10 %) and
decay, gradient clipping 1.0, dynamic padding (length-grouped batches with
--group-by-length), validation every epoch, best epoch by
validation loss (or accuracy, --monitor val_accuracy), then the test set. Runs on the CPU
with 2 threads by default, or on a GPU with --device cuda. Prints one JSON line.

    python bench/torch_finetune.py --model DIR --train train.csv --valid dev.csv --test test.csv \
        --epochs 2 --max-len 64 --lr 5e-5 --batch-size 32
"""
import argparse
import copy
import json
import random
import time

import pandas as pd
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup


def batches(n, bs, shuffle, rng):
    idx = list(range(n))
    if shuffle:
        rng.shuffle(idx)
    return [idx[i:i + bs] for i in range(0, n, bs)]


def grouped_batches(lengths, bs, rng):
    """Length-grouped batches the way transformers' Trainer(group_by_length=True) makes them:
    a random permutation cut into megabatches of 50 batches, each sorted by length
    (longest first) and cut into batches."""
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    mega = 50 * bs
    out = []
    for i in range(0, len(idx), mega):
        chunk = sorted(idx[i:i + mega], key=lambda j: -lengths[j])
        out += [chunk[k:k + bs] for k in range(0, len(chunk), bs)]
    return out


def evaluate(model, enc, labels, bs, dev):
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.inference_mode():
        for b in batches(len(labels), bs, False, None):
            x = {k: v[b] for k, v in enc.items()}
            keep = int(x["attention_mask"].sum(1).max())
            x = {k: v[:, :keep].to(dev) for k, v in x.items()}
            logits = model(**x).logits
            y = torch.tensor([labels[i] for i in b], device=dev)
            loss_sum += float(torch.nn.functional.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(-1) == y).sum())
    return loss_sum / len(labels), correct / len(labels)


def main():
    ap = argparse.ArgumentParser()
    for f in ["model", "train", "valid", "test"]:
        ap.add_argument(f"--{f}", required=True)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--monitor", choices=["val_loss", "val_accuracy"], default="val_loss")
    ap.add_argument("--eval-every", type=int, default=0,
                    help="also validate every N optimizer steps (like textclf's --eval-every); the best "
                         "validation by --monitor, at any step, gives the weights scored on test")
    ap.add_argument("--group-by-length", action="store_true",
                    help="length-grouped batches (transformers' group_by_length) instead of plain shuffled ones")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    t_start = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(a.model)
    data = {s: pd.read_csv(getattr(a, s)) for s in ["train", "valid", "test"]}
    names = sorted(data["train"]["label"].astype(str).unique(), key=lambda x: (len(x), x))
    lid = {n: i for i, n in enumerate(names)}
    enc = {s: tok(list(d["text"].astype(str)), truncation=True, max_length=a.max_len, padding="max_length",
                  return_tensors="pt") for s, d in data.items()}
    lab = {s: [lid[str(v)] for v in d["label"]] for s, d in data.items()}
    model = AutoModelForSequenceClassification.from_pretrained(a.model, num_labels=len(names),
                                                               attn_implementation="sdpa").to(dev)
    decay = [p for n, p in model.named_parameters() if not ("bias" in n or "LayerNorm" in n)]
    nodecay = [p for n, p in model.named_parameters() if "bias" in n or "LayerNorm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": nodecay, "weight_decay": 0.0}], lr=a.lr)
    n = len(lab["train"])
    steps = (n + a.batch_size - 1) // a.batch_size * a.epochs
    sched = get_linear_schedule_with_warmup(opt, int(0.1 * steps + 0.999), steps)
    history, best_state = [], None
    # Every validation (mid-epoch with --eval-every, and at each epoch's end) competes for the
    # kept weights; ties keep the earlier one, as textclf does.
    points, best_point = [], None

    def validate(step):
        nonlocal best_point, best_state
        vl, va = evaluate(model, enc["valid"], lab["valid"], 64, dev)
        points.append({"step": step, "val_loss": vl, "val_accuracy": va})
        if best_point is None or (va > best_point["val_accuracy"] if a.monitor == "val_accuracy"
                                  else vl < best_point["val_loss"]):
            best_point, best_state = points[-1], copy.deepcopy(model.state_dict())
        return vl, va

    step = 0
    train_lengths = [int(v) for v in enc["train"]["attention_mask"].sum(1)]
    for epoch in range(a.epochs):
        model.train()
        t0 = time.perf_counter()
        tokens = 0
        order = (grouped_batches(train_lengths, a.batch_size, rng) if a.group_by_length
                 else batches(n, a.batch_size, True, rng))
        for b in order:
            tokens += sum(train_lengths[i] for i in b)
            x = {k: v[b] for k, v in enc["train"].items()}
            keep = int(x["attention_mask"].sum(1).max())
            x = {k: v[:, :keep].to(dev) for k, v in x.items()}
            y = torch.tensor([lab["train"][i] for i in b], device=dev)
            loss = torch.nn.functional.cross_entropy(model(**x).logits, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            if a.eval_every and step % a.eval_every == 0 and step % len(order) != 0:
                validate(step)
                model.train()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        secs = time.perf_counter() - t0
        vl, va = validate(step)
        history.append({"epoch": epoch + 1, "val_loss": vl, "val_accuracy": va, "train_seconds": secs,
                        "tokens_per_s": tokens / secs})
    model.load_state_dict(best_state)
    best = (best_point["step"] - 1) // len(order)  # the epoch the kept weights come from
    _, test_acc = evaluate(model, enc["test"], lab["test"], 64, dev)
    print(json.dumps({"framework": f"torch {torch.__version__}", "epochs": history, "best_epoch": best + 1,
                      "best_step": best_point["step"], "validations": len(points),
                      "val_accuracy": best_point["val_accuracy"], "test_accuracy": test_acc,
                      "seconds_per_epoch": sum(h["train_seconds"] for h in history) / len(history),
                      "total_seconds": time.perf_counter() - t_start}))


if __name__ == "__main__":
    main()
