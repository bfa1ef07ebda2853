#!/usr/bin/env python3
"""The cost of the Python layer: the README's IMDB baseline (NBSVM, 25k/25k) through the
`textclf` binary and through `textclf.baseline(...)` in Python, in alternating rounds.

Each round runs both, in a fresh process each (so neither inherits the other's warm
caches more than the page cache both share), and times the whole process: starting,
reading the CSVs, fitting, predicting and writing the run. The Python side runs
`import textclf; textclf.baseline(train=PATH, test=PATH, model="nbsvm", out=...)`.

    python3 bench/python_vs_cli.py --bin target/release/textclf --python VENV/bin/python \
        --rounds 5 --record

`--record` rewrites the "Python vs the command line" section of BENCHMARKS.md.
"""

import argparse
import datetime
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SECTION = "## Python vs the command line (`bench/python_vs_cli.py`)"


def timed(cmd, env):
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if done.returncode != 0:
        sys.exit(f"{cmd[:3]} failed:\n{done.stderr[-2000:]}")
    return dt


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="the textclf binary")
    ap.add_argument("--python", required=True, help="a Python with the textclf package installed")
    ap.add_argument("--data", default=os.environ.get("TEXTCLF_DATA_DIR", str(REPO.parent / "shared" / "data")))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--build", default="", help="how the binary and the wheel were built (for the record)")
    ap.add_argument("--record", action="store_true", help="rewrite the section in BENCHMARKS.md")
    a = ap.parse_args()

    train, test = f"{a.data}/imdb/train.csv", f"{a.data}/imdb/test.csv"
    tmp = Path(tempfile.mkdtemp(prefix="textclf-pybench-"))
    env = dict(os.environ)
    py_code = (
        "import sys, textclf; "
        "r = textclf.baseline(train=sys.argv[1], test=sys.argv[2], model='nbsvm', out=sys.argv[3], quiet=True); "
        "print(r.metrics['accuracy'])"
    )
    cli_s, py_s = [], []
    for i in range(a.rounds):
        order = [("cli", cli_s), ("py", py_s)] if i % 2 == 0 else [("py", py_s), ("cli", cli_s)]
        for which, acc in order:
            out = tmp / f"{which}-{i}"
            if which == "cli":
                cmd = [a.bin, "baseline", "--train", train, "--test", test, "--model", "nbsvm", "--out", str(out), "--quiet"]
            else:
                cmd = [a.python, "-c", py_code, train, test, str(out)]
            acc.append(timed(cmd, env))
            print(f"round {i + 1} {which}: {acc[-1]:.2f} s", flush=True)
    same = (tmp / "cli-0" / "predictions.csv").read_text() == (tmp / "py-0" / "predictions.csv").read_text()
    shutil.rmtree(tmp, ignore_errors=True)
    mc, mp = statistics.median(cli_s), statistics.median(py_s)
    ratio = mp / mc
    print(f"median CLI {mc:.2f} s, Python {mp:.2f} s, ratio {ratio:.3f}; same predictions: {same}")
    if not a.record:
        return
    day = datetime.date.today().isoformat()
    body = f"""{SECTION}

The README's IMDB baseline (NBSVM, official 25k/25k split, `--quiet`) through the binary and
through `textclf.baseline(train=..., test=..., model="nbsvm", out=...)` in Python (file paths,
so no conversion), {a.rounds} alternating rounds, each a fresh process timed whole ({day},
2 CPU cores shared with other work{', ' + a.build if a.build else ''}):

| | median | runs (s) |
|---|---|---|
| `textclf baseline` (CLI) | {mc:.2f} s | {', '.join(f'{x:.2f}' for x in cli_s)} |
| `textclf.baseline` (Python) | {mp:.2f} s | {', '.join(f'{x:.2f}' for x in py_s)} |

**Python / CLI = {ratio:.3f}** (median over median). The predictions files are
{'identical' if same else 'DIFFERENT'}. The Python layer adds its interpreter's start and
import, builds the command line, and runs the same Rust code on a worker thread while the
calling thread relays progress. The rounds spread over {min(cli_s):.2f}–{max(cli_s):.2f} s (CLI)
and {min(py_s):.2f}–{max(py_s):.2f} s (Python): a difference smaller than that spread is noise
of the shared machine, not a cost of either side.
"""
    path = REPO / "BENCHMARKS.md"
    text = path.read_text()
    pattern = re.compile(re.escape(SECTION) + r".*?(?=\n## |\Z)", re.S)
    text = pattern.sub(body.rstrip() + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + body
    path.write_text(text)
    print(f"updated {path}")


if __name__ == "__main__":
    main()
