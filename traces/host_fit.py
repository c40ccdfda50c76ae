"""Least-squares fit of host time per aten call and per kernel launch from a Kineto profile.

Each top-level cpu_op (one not nested in another) is one sample: its duration against the number of
cpu_ops inside it (itself included) and the number of launches (cudaLaunchKernel, cuLaunchKernel(Ex),
cudaMemsetAsync, cudaMemcpyAsync) inside it. Prints the two coefficients (microseconds, profiled)
and their ratio. Usage: python3 host_fit.py kineto.json[.gz]
"""
import bisect
import gzip
import json
import sys

LAUNCHES = {"cudaLaunchKernel", "cuLaunchKernel", "cuLaunchKernelEx", "cudaLaunchKernelExC", "cudaMemsetAsync", "cudaMemcpyAsync"}


def main(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        events = json.load(f)["traceEvents"]
    cpu = sorted((e for e in events if e.get("cat") == "cpu_op"), key=lambda e: (e["ts"], -e["dur"]))
    launches = sorted((e for e in events if e.get("cat") in ("cuda_runtime", "cuda_driver") and e["name"] in LAUNCHES),
                      key=lambda e: e["ts"])
    top, end = [], -1.0
    for e in cpu:
        if e["ts"] >= end:
            top.append({"ts": e["ts"], "dur": e["dur"], "calls": 0, "launches": 0})
            end = e["ts"] + e["dur"]
        top[-1]["calls"] += 1
    starts = [t["ts"] for t in top]
    for r in launches:
        i = bisect.bisect_right(starts, r["ts"]) - 1
        if i >= 0 and r["ts"] <= top[i]["ts"] + top[i]["dur"]:
            top[i]["launches"] += 1
    n = [t["calls"] for t in top]
    l = [t["launches"] for t in top]
    d = [t["dur"] for t in top]
    snn = sum(x * x for x in n)
    sll = sum(x * x for x in l)
    snl = sum(x * y for x, y in zip(n, l))
    snd = sum(x * y for x, y in zip(n, d))
    sld = sum(x * y for x, y in zip(l, d))
    det = snn * sll - snl * snl
    per_call = (snd * sll - sld * snl) / det
    per_launch = (sld * snn - snd * snl) / det
    print(f"top-level calls {len(top)}, calls {sum(n)}, launches {sum(l)}, summed duration {sum(d):.1f} us")
    print(f"profiled: {per_call:.2f} us per call, {per_launch:.2f} us per launch, launch/call ratio {per_launch / per_call:.3f}")


if __name__ == "__main__":
    main(sys.argv[1])
