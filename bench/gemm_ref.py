"""f32 GEMM reference timings for bench/gemm.sh: NumPy (its bundled OpenBLAS) and
torch.mm (MKL) on C[m×n] = A·Bᵀ with B stored [n, k] (the weight layout) and A stored
[m, k] or, with --transpose-a, [k, m]. Prints one JSON line per library."""
import argparse
import json
import os
import statistics
import time


def bench(f, reps):
    for _ in range(2):
        f()
    ms = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ms.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ms)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--m", type=int, required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--k", type=int, required=True)
    ap.add_argument("--transpose-a", action="store_true")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    import numpy as np
    import torch
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(1)
    lhs = rng.uniform(-1, 1, (a.k, a.m) if a.transpose_a else (a.m, a.k)).astype(np.float32)
    rhs = rng.uniform(-1, 1, (a.n, a.k)).astype(np.float32)
    A = lhs.T if a.transpose_a else lhs
    flops = 2.0 * a.m * a.n * a.k
    out = np.empty((a.m, a.n), np.float32)
    np_ms = bench(lambda: np.matmul(A, rhs.T, out=out), a.reps)
    tA, tB = torch.from_numpy(lhs), torch.from_numpy(rhs)
    tA = tA.t() if a.transpose_a else tA
    tout = torch.empty(a.m, a.n)
    with torch.inference_mode():
        th_ms = bench(lambda: torch.mm(tA, tB.t(), out=tout), a.reps)
    for name, ms in [(f"numpy {np.__version__} (OpenBLAS)", np_ms), (f"torch {torch.__version__} (MKL)", th_ms)]:
        print(json.dumps({"impl": name, "m": a.m, "n": a.n, "k": a.k, "transpose_a": a.transpose_a,
                          "median_ms": ms, "gflops": flops / ms / 1e6}))


if __name__ == "__main__":
    main()
