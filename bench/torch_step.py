"""PyTorch + transformers reference for `textclf bench train-step` / `textclf bench infer`.

    python bench/torch_step.py train-step --model DIR --batch 32 --len 64 --steps 10
    python bench/torch_step.py infer --model DIR --batch 32 --len 128

Same model class (BertForSequenceClassification built from DIR with a fresh 2-class head),
same synthetic batch shape (lengths uniform in len/2..len, padded), cross-entropy, AdamW
(lr 1e-4, weight decay 0.01 on weights only), gradient clipping 1.0, dropout off,
2 threads, eager attention as in the parity fixtures; --device cuda runs it on a GPU (timed
with a synchronize before each clock read). Prints one JSON line.
"""
import argparse
import json
import statistics
import time

import torch
from transformers import AutoConfig, AutoModelForSequenceClassification


def summary(ms):
    ms = sorted(ms)
    return {"median_ms": statistics.median(ms), "min_ms": ms[0], "max_ms": ms[-1]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["train-step", "infer"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--len", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--attn", default="eager")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--int8", action="store_true",
                    help="infer: torch.ao.quantization.quantize_dynamic on every nn.Linear (qint8)")
    ap.add_argument("--grad-checkpoint", action="store_true",
                    help="train-step: transformers' gradient checkpointing (non-reentrant)")
    a = ap.parse_args()
    dev = torch.device(a.device)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    # Dropout off, under whichever keys the family's config has (ModernBERT's
    # from_pretrained rejects BERT's).
    cfg = AutoConfig.from_pretrained(a.model, num_labels=2)
    for key in ["hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout",
                "pooler_dropout", "embedding_dropout", "attention_dropout", "mlp_dropout",
                "dropout", "seq_classif_dropout"]:
        if hasattr(cfg, key):
            setattr(cfg, key, 0.0)
    model = AutoModelForSequenceClassification.from_pretrained(
        a.model, config=cfg, attn_implementation=a.attn).to(dev)
    vocab = model.config.vocab_size
    g = torch.Generator().manual_seed(1)
    lens = torch.randint((a.len + 1) // 2, a.len + 1, (a.batch,), generator=g)
    ids = torch.randint(1000, vocab, (a.batch, a.len), generator=g)
    mask = (torch.arange(a.len)[None, :] < lens[:, None]).long()
    ids = ids * mask
    labels = torch.arange(a.batch) % 2
    ids, mask, labels = ids.to(dev), mask.to(dev), labels.to(dev)
    out = {"bench": a.mode, "framework": f"torch {torch.__version__}", "batch": a.batch, "len": a.len,
           "threads": a.threads, "attn": a.attn, "steps": a.steps, "device": a.device}
    out["int8"] = a.int8
    out["grad_checkpoint"] = a.grad_checkpoint
    if a.mode == "infer":
        model.eval()
        if a.int8:
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        times = []
        with torch.inference_mode():
            for s in range(a.warmup + a.steps):
                t0 = time.perf_counter()
                model(input_ids=ids, attention_mask=mask).logits.cpu().numpy()
                if s >= a.warmup:
                    times.append((time.perf_counter() - t0) * 1e3)
        out["batch_time"] = summary(times)
        out["seq_per_s"] = a.batch / (out["batch_time"]["median_ms"] / 1e3)
    else:
        model.train()
        if a.grad_checkpoint:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        decay = [p for n, p in model.named_parameters() if not ("bias" in n or "LayerNorm" in n)]
        nodecay = [p for n, p in model.named_parameters() if "bias" in n or "LayerNorm" in n]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                                 {"params": nodecay, "weight_decay": 0.0}], lr=1e-4)
        fwd, bwd, optim, total = [], [], [], []
        for s in range(a.warmup + a.steps):
            t0 = time.perf_counter()
            loss = torch.nn.functional.cross_entropy(
                model(input_ids=ids, attention_mask=mask).logits, labels)
            loss.item()
            t1 = time.perf_counter()
            loss.backward()
            sync()
            t2 = time.perf_counter()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            sync()
            t3 = time.perf_counter()
            if s >= a.warmup:
                fwd.append((t1 - t0) * 1e3)
                bwd.append((t2 - t1) * 1e3)
                optim.append((t3 - t2) * 1e3)
                total.append((t3 - t0) * 1e3)
        out.update(step=summary(total), forward=summary(fwd), backward=summary(bwd),
                   optimizer=summary(optim))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
