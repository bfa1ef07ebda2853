"""Chaos test: kills `textclf train`, `textclf sweep` and `textclf predict` at random points
(SIGKILL and SIGINT), N times each, and checks that nothing finished is lost and that every
interrupted run, once resumed, ends identical to an uninterrupted one.

    python3 bench/chaos.py [--bin target/debug/textclf] [--rounds 20] [--seed 1] [--record]

Uses the tiny BERT fixture and a toy data set, so a round takes about a second. Prints one
line per kind and exits 1 on any violation. --record writes the counts into BENCHMARKS.md
(section `chaos`)."""
import argparse
import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--bin", default="target/debug/textclf")
ap.add_argument("--rounds", type=int, default=20)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--record", action="store_true")
a = ap.parse_args()
BIN = os.path.abspath(a.bin)
SHARED = os.path.abspath(os.environ.get("TEXTCLF_DATA_DIR", "../shared/data") + "/..")
TINY = os.path.join(SHARED, "fixtures/parity/bert-tiny")
rng = random.Random(a.seed)
work = tempfile.mkdtemp(prefix="textclf-chaos-")
# Timings, and the human-readable notes (which name the sweep folder's own paths).
TIMING = {"timing", "train_seconds", "samples_per_s", "tokens_per_s", "fit_s", "vectorize_s", "notes"}
problems = []


def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k not in TIMING}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v


def toy(path, n, offset):
    pos = ["a wonderful film", "great acting and a great story", "loved it, superb", "brilliant and moving"]
    neg = ["a terrible film", "awful acting and a dull story", "hated it, boring", "dreadful and tedious"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for i in range(offset, offset + n):
            t, l = (pos[i // 2 % 4], "pos") if i % 2 == 0 else (neg[i // 2 % 4], "neg")
            w.writerow([f"{t} {['', 'indeed', 'really'][i // 8 % 3]}", l])


def run(args, **kw):
    return subprocess.run([BIN] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def killed_at_random(args, limit):
    """Starts textclf, kills it after a random delay in [0, limit) with SIGKILL or SIGINT.
    Returns the signal name, or None when it finished first."""
    p = subprocess.Popen([BIN] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0, limit))
    sig = rng.choice([signal.SIGKILL, signal.SIGINT])
    if p.poll() is not None:
        return None
    p.send_signal(sig)
    p.wait()
    return sig.name


tr, va, te = (os.path.join(work, f) for f in ("train.csv", "valid.csv", "test.csv"))
toy(tr, 96, 0)
toy(va, 24, 200)
toy(te, 24, 400)
pool = os.path.join(work, "pool.csv")
toy(pool, 150, 0)

# --- train -----------------------------------------------------------------------------
def train_args(out, resume=False):
    args = ["train", "--model", TINY, "--train", tr, "--valid", va, "--test", te, "--epochs", "6",
            "--batch-size", "8", "--max-len", "32", "--lr", "3e-3", "--patience", "0",
            "--checkpoint-every", "3", "--bootstrap", "20", "--no-save-model", "--quiet", "--out", out]
    return args + (["--resume"] if resume else [])


ref = os.path.join(work, "train-ref")
t0 = time.time()
r = run(train_args(ref))
if r.returncode != 0:
    sys.exit(f"reference train failed: {r.stderr}")
whole = time.time() - t0
ref_m = strip(json.load(open(os.path.join(ref, "metrics.json"))))
kills = {"SIGKILL": 0, "SIGINT": 0}
resumes = 0
for i in range(a.rounds):
    out = os.path.join(work, f"train-{i}")
    sig = killed_at_random(train_args(out), whole)
    if sig:
        kills[sig] += 1
        if os.path.exists(out):
            if not os.path.exists(os.path.join(out, "metrics.json")):
                problems.append(f"train round {i}: {out} exists but is incomplete after {sig}")
    # Resume until it finishes (a kill before the first checkpoint starts afresh).
    for attempt in range(5):
        if os.path.exists(os.path.join(out, "metrics.json")):
            break
        has_ckpt = os.path.exists(out + ".partial/checkpoint/state.json")
        r = run(train_args(out, resume=has_ckpt) + ([] if has_ckpt else ["--overwrite"]))
        resumes += has_ckpt
        if r.returncode != 0:
            problems.append(f"train round {i}: resume failed: {r.stderr.strip()[-300:]}")
            break
    m = strip(json.load(open(os.path.join(out, "metrics.json"))))
    if m != ref_m:
        problems.append(f"train round {i}: the resumed run differs from the uninterrupted one")
    if os.path.exists(out + ".partial"):
        problems.append(f"train round {i}: {out}.partial left behind")
    shutil.rmtree(out, ignore_errors=True)
train_line = f"train: {a.rounds} rounds, {kills['SIGKILL']} SIGKILL + {kills['SIGINT']} SIGINT, {resumes} resumed from a checkpoint; every run ended identical to the uninterrupted one (metrics.json, timings aside)"

# --- sweep -----------------------------------------------------------------------------
cfg = os.path.join(work, "sweep.toml")
with open(cfg, "w") as f:
    f.write(f"""name = "chaos"
save_models = false
[data]
pool = ["{pool}"]
split = "60/20/20"
[base]
model = "{TINY}"
epochs = 4
max_len = 32
batch_size = 8
patience = 0
checkpoint_every = 3
bootstrap = 20
[grid]
lr = [1e-3, 3e-3]
[[models]]
name = "tiny"
model = "{TINY}"
[[models]]
name = "lr"
baseline = "lr"
""")


def sweep_results(out):
    res = {}
    runs = os.path.join(out, "runs")
    for d in sorted(os.listdir(runs)):
        mp = os.path.join(runs, d, "metrics.json")
        if os.path.exists(mp):
            res[d] = strip(json.load(open(mp)))
    return res


sref = os.path.join(work, "sweep-ref")
t0 = time.time()
r = run(["sweep", cfg, "--out", sref, "--quiet"])
if r.returncode != 0:
    sys.exit(f"reference sweep failed: {r.stderr}")
swhole = time.time() - t0
sref_res = sweep_results(sref)
skills = {"SIGKILL": 0, "SIGINT": 0}
for i in range(a.rounds):
    out = os.path.join(work, f"sweep-{i}")
    sig = killed_at_random(["sweep", cfg, "--out", out, "--quiet"], swhole)
    if sig:
        skills[sig] += 1
        # Whatever is under runs/<id>/ (no .partial) must be whole.
        if os.path.isdir(os.path.join(out, "runs")):
            for d in os.listdir(os.path.join(out, "runs")):
                p = os.path.join(out, "runs", d)
                if not d.endswith(".partial") and not os.path.exists(os.path.join(p, "run.json")):
                    problems.append(f"sweep round {i}: {p} is not whole after {sig}")
    for attempt in range(6):
        r = run(["sweep", cfg, "--out", out, "--quiet"])
        if r.returncode == 0:
            break
        time.sleep(0.5)  # a child told to stop may still be saving its checkpoint
    if r.returncode != 0:
        problems.append(f"sweep round {i}: did not finish: {r.stderr.strip()[-300:]}")
        continue
    if sweep_results(out) != sref_res:
        problems.append(f"sweep round {i}: results differ from the uninterrupted sweep")
    shutil.rmtree(out, ignore_errors=True)
sweep_line = f"sweep: {a.rounds} rounds, {skills['SIGKILL']} SIGKILL + {skills['SIGINT']} SIGINT of the sweep process; every sweep, rerun, ended with all 3 runs identical to the uninterrupted sweep"

# --- predict ---------------------------------------------------------------------------
base = os.path.join(work, "base")
r = run(["baseline", "--train", tr, "--test", te, "--C", "1", "--quiet", "--out", base])
big = os.path.join(work, "big.csv")
toy(big, 100_000, 0)
outp = os.path.join(work, "pred.csv")
run(["predict", "--model", base + "/model", "--input", te, "--output", outp])
old = open(outp, "rb").read()
t0 = time.time()
run(["predict", "--model", base + "/model", "--input", big, "--output", outp])
pwhole = time.time() - t0
new = open(outp, "rb").read()
pkills = {"SIGKILL": 0, "SIGINT": 0}
for i in range(a.rounds):
    open(outp, "wb").write(old)
    sig = killed_at_random(["predict", "--model", base + "/model", "--input", big, "--output", outp], pwhole)
    if sig:
        pkills[sig] += 1
    got = open(outp, "rb").read()
    if got not in (old, new):
        problems.append(f"predict round {i}: output cut ({len(got)} bytes) after {sig}")
predict_line = f"predict: {a.rounds} rounds, {pkills['SIGKILL']} SIGKILL + {pkills['SIGINT']} SIGINT while writing 100,000 predictions over a complete file; the file was always the old output or the whole new one"

shutil.rmtree(work, ignore_errors=True)
lines = [train_line, sweep_line, predict_line]
for l in lines:
    print(("FAILED " if problems else "") + l)
for p in problems:
    print("PROBLEM:", p)
if a.record and not problems:
    import re
    sec = ("<!-- chaos:start -->\n## Chaos: killing train, sweep and predict (`bench/chaos.py`)\n\n"
           f"`python3 bench/chaos.py --rounds {a.rounds} --seed {a.seed}` on {time.strftime('%Y-%m-%d')}, "
           "tiny BERT fixture and toy data; kills at uniformly random times within one uninterrupted "
           "run's duration, SIGKILL or SIGINT at random:\n\n" + "\n".join(f"- {l}" for l in lines) +
           "\n\nZero violations.\n<!-- chaos:end -->")
    s = open("BENCHMARKS.md").read()
    pat = re.compile(r"<!-- chaos:start -->.*?<!-- chaos:end -->", re.S)
    s = pat.sub(lambda _: sec, s) if pat.search(s) else s.rstrip() + "\n\n" + sec + "\n"
    open("BENCHMARKS.md", "w").write(s)
sys.exit(1 if problems else 0)
