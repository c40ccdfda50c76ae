"""Fits the eager host cost per kind of op (host.dispatch.by_kind in the GPU family configs) from Kineto profiles.

A Kineto profile of an eager PyTorch forward records every aten call the Python program made (a top-level cpu_op),
the calls nested in it and the CUDA launches it made, each with its duration. One sample per top-level call: its
duration plus the gap before it (the Python interpreter's time between calls) against its kind and the number of
calls nested in it:

    host(call) = by_kind[kind] + nested_calls x by_kind.nested

kind: the op kind of the call as the importer maps aten names (matmul, attention, elementwise, copy, ...), or `view`
for a call that launches nothing (view, reshape, transpose, chunk, slice, a to() that does not convert). The first
top-level call of a profile (it carries the profiler's start-up) is left out. The least-squares fit of the --shape
profile gives the relative costs; profilers slow the host (per recorded event, so unevenly), so the absolute scale
comes from an unprofiled forward time: --scale PROFILE:FORWARD_MS predicts that profile's host time with the shape and
scales every cost so that it comes out at FORWARD_MS (a launch-bound run, where the forward time is host time).
Kinds no profile has (norm, rope, softmax, optimizer, generic) take the cost of the kind they are launched like
(elementwise, or reduction for softmax); embedding takes copy's (a gather, like index_select).

Also prints, for every profile given, its host time predicted with the final costs, its profiled host span and the
measured unprofiled time when given. Python 3 standard library only.

Usage:
  python3 traces/host_fit.py --shape validation/h100/e2e/kineto_llama2-7b_decode.json.gz \
      --scale traces/tinyllama-prefill512.kineto.json.gz:25.98260050000789 \
      [--check validation/h100/e2e/kineto_llama2-7b_prefill.json.gz] [--check PROFILE:MEASURED_MS ...]
  python3 traces/host_fit.py PROFILE        (the older two-parameter fit: per aten call and per launch)
"""
import bisect
import gzip
import json
import sys

LAUNCHES = {"cudaLaunchKernel", "cuLaunchKernel", "cuLaunchKernelEx", "cudaLaunchKernelExC", "cudaMemsetAsync", "cudaMemcpyAsync"}

KINDS = {}
for _n in "mm addmm bmm baddbmm matmul linear mv addmv _scaled_mm".split():
    KINDS[_n] = "matmul"
for _n in "scaled_dot_product_attention _scaled_dot_product_flash_attention _scaled_dot_product_efficient_attention _scaled_dot_product_cudnn_attention".split():
    KINDS[_n] = "attention"
for _n in "embedding embedding_bag".split():
    KINDS[_n] = "embedding"
for _n in "softmax _softmax log_softmax _safe_softmax".split():
    KINDS[_n] = "softmax"
for _n in "layer_norm native_layer_norm group_norm rms_norm _fused_rms_norm".split():
    KINDS[_n] = "norm"
for _n in "silu sigmoid gelu relu tanh mish hardswish softplus elu leaky_relu".split():
    KINDS[_n] = "activation"
for _n in ("mean sum amax amin max min argmax argmin var std norm cumsum prod all any topk sort argsort logsumexp "
           "nonzero unique bincount").split():
    KINDS[_n] = "reduction"
for _n in ("copy_ clone cat stack repeat repeat_interleave flip roll pad to _to_copy index_select gather index "
           "index_put_ scatter scatter_add_ index_add_ masked_select _local_scalar_dense").split():
    KINDS[_n] = "copy"
# every other call that launches a kernel is elementwise (add, mul, neg, pow, rsqrt, cos, arange, ...)

ALL_KINDS = ["matmul", "attention", "embedding", "norm", "rope", "elementwise", "activation", "softmax", "reduction",
             "copy", "optimizer", "generic", "view", "nested"]
BY_ANALOGY = {"norm": "elementwise", "rope": "elementwise", "softmax": "reduction", "optimizer": "elementwise",
              "generic": "elementwise", "embedding": "copy"}


def load(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return json.load(f)["traceEvents"]


def top_level(events):
    """Top-level cpu_ops with their nested calls, launches and the gap before each."""
    cpu = sorted((e for e in events if e.get("cat") == "cpu_op"), key=lambda e: (e["ts"], -e["dur"]))
    launches = sorted((e for e in events if e.get("cat") in ("cuda_runtime", "cuda_driver") and e["name"] in LAUNCHES),
                      key=lambda e: e["ts"])
    top, end = [], -1.0
    for e in cpu:
        if e["ts"] >= end:
            top.append({"name": e["name"].split("::")[-1], "ts": e["ts"], "dur": e["dur"], "calls": 0, "launches": 0})
            end = e["ts"] + e["dur"]
        top[-1]["calls"] += 1
    starts = [t["ts"] for t in top]
    for r in launches:
        i = bisect.bisect_right(starts, r["ts"]) - 1
        if i >= 0 and r["ts"] <= top[i]["ts"] + top[i]["dur"]:
            top[i]["launches"] += 1
    for i, t in enumerate(top):
        t["gap"] = t["ts"] - (top[i - 1]["ts"] + top[i - 1]["dur"]) if i else 0.0
        t["kind"] = KINDS.get(t["name"], "elementwise") if t["launches"] else "view"
    return top


def solve(a, b):
    n = len(a)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for i in range(n):
        p = max(range(i, n), key=lambda r: abs(m[r][i]))
        m[i], m[p] = m[p], m[i]
        if m[i][i] == 0:
            continue
        for r in range(n):
            if r != i:
                f = m[r][i] / m[i][i]
                m[r] = [x - f * y for x, y in zip(m[r], m[i])]
    return [m[i][n] / m[i][i] if m[i][i] else 0.0 for i in range(n)]


def fit(samples):
    kinds = sorted({t["kind"] for t in samples})
    cols = kinds + ["nested"]
    rows = []
    for t in samples:
        x = [0.0] * len(cols)
        x[cols.index(t["kind"])] = 1.0
        x[-1] = t["calls"] - 1
        rows.append((x, t["dur"] + t["gap"]))
    a = [[sum(x[i] * x[j] for x, _ in rows) for j in range(len(cols))] for i in range(len(cols))]
    b = [sum(x[i] * y for x, y in rows) for i in range(len(cols))]
    return dict(zip(cols, solve(a, b)))


def predict(samples, cost):
    return sum(cost[t["kind"]] + (t["calls"] - 1) * cost["nested"] for t in samples)


def complete(cost):
    out = dict(cost)
    for k, like in BY_ANALOGY.items():
        out.setdefault(k, out[like])
    return {k: out[k] for k in ALL_KINDS}


def spec(arg):
    path, _, ms = arg.partition(":") if not arg.endswith(".gz") and not arg.endswith(".json") else (arg, "", "")
    return path, float(ms) if ms else None


def per_kind(args):
    shape = scale = None
    checks = []
    i = 0
    while i < len(args):
        if args[i] == "--shape":
            shape = args[i + 1]
        elif args[i] == "--scale":
            scale = spec(args[i + 1])
        elif args[i] == "--check":
            checks.append(spec(args[i + 1]))
        else:
            raise SystemExit(f"unknown argument {args[i]}")
        i += 2
    if shape is None or scale is None or scale[1] is None:
        raise SystemExit("need --shape PROFILE and --scale PROFILE:FORWARD_MS")
    shape_samples = top_level(load(shape))[1:]
    profiled = complete(fit(shape_samples))
    print(f"shape: {shape}: {len(shape_samples)} top-level calls")
    print("profiled us per call: " + ", ".join(f"{k} {v:.2f}" for k, v in profiled.items()))
    scale_samples = top_level(load(scale[0]))[1:]
    factor = scale[1] * 1e3 / predict(scale_samples, profiled)
    cost = {k: v * factor for k, v in profiled.items()}
    print(f"scale: {scale[0]} forward {scale[1]:.3f} ms -> factor {factor:.4f} (unprofiled / profiled)")
    print("host.dispatch.by_kind (s): " + json.dumps({k: float(f"{v * 1e-6:.4g}") for k, v in cost.items()}))
    print("per profile: host time predicted (unprofiled costs), the profiled host time of the same calls (first call left out),")
    print("the shape's prediction of it (profiled costs: how much slower this profile's host ran), and the measured forward")
    print(f"{'profile':60s} {'calls':>6s} {'predicted ms':>13s} {'profiled ms':>12s} {'shape ms':>9s} {'measured ms':>12s}")
    for path, ms in [(shape, None), scale] + checks:
        s = top_level(load(path))
        profiled_ms = (s[-1]["ts"] + s[-1]["dur"] - s[1]["ts"] + s[1]["gap"]) / 1e3
        p = predict(s[1:], cost) / 1e3
        shape_ms = predict(s[1:], profiled) / 1e3
        m = "" if ms is None else f"{ms:.3f}"
        err = "" if ms is None else f"  ({(p - ms) / ms * 100:+.1f}%)"
        print(f"{path:60s} {len(s):6d} {p:13.3f} {profiled_ms:12.3f} {shape_ms:9.3f} {m:>12s}{err}")


def two_parameter(path):
    top = top_level(load(path))
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
    if len(sys.argv) == 2:
        two_parameter(sys.argv[1])
    else:
        per_kind(sys.argv[1:])
