"""Timing shared by the PyTorch bench scripts: calls batched until one sample lasts 2 ms, then
samples until the budget is spent (at least 3, at most `most`). Returns seconds per call."""
import time


def timed(fn, budget, most=40):
    fn()
    inner = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        if time.perf_counter() - t0 >= 0.002 or inner >= 1 << 20:
            break
        inner *= 2
    per = []
    start = time.perf_counter()
    while len(per) < 3 or (len(per) < most and time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        per.append((time.perf_counter() - t0) / inner)
    per.sort()
    return {"best": per[0], "median": per[len(per) // 2]}
