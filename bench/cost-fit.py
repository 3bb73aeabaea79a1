#!/usr/bin/env python3
"""Does counted cost explain time? From one results.json that holds both a
run's throughput windows and its counted cost (`bookbench run` with a
preset that counts), fit each target's measured CPU time per request (its
own processes, user and system, the median of its undisturbed windows at
the counted concurrency) against its counts per request:

    time = a * instructions + b * system_calls

by least squares with no intercept, over every point, and over each
runtime's points alone (Rust, CPython), and print the fit's coefficients,
R^2 and each point's residual. Instructions are not time: the fit says how
far they go towards it, and where they do not.

    python3 bench/cost-fit.py docs/cost/quick-results.json
"""

import json
import statistics
import sys


def runtime(target, results):
    """The runtime a target runs on, from its name and description."""
    t = next((t for t in results["targets"] if t["name"] == target), {})
    text = (target + " " + t.get("description", "")).lower()
    if "pypy" in text:
        return "PyPy"
    if target.startswith("rust") or "axum" in text:
        return "Rust"
    if "node" in text:
        return "Node.js"
    return "CPython"


def points(results):
    """(target, scenario, concurrency, runtime, cpu_us, instructions, syscalls)."""
    timed = {}
    for p in results.get("runs", []):
        cpu = [
            w["cpu_per_request_us"]["server"]
            for w in p.get("windows", [])
            if not w.get("flags") and w.get("cpu_per_request_us")
        ]
        if cpu:
            timed[(p["target"], p["scenario"], p["concurrency"])] = statistics.median(cpu)
    out = []
    for c in results.get("cost", []):
        if c["status"] != "settled" or not c.get("per_request"):
            continue
        key = (c["target"], c["scenario"], c["concurrency"])
        if key not in timed:
            continue
        pr = c["per_request"]
        out.append((*key, runtime(c["target"], results), timed[key], pr["instructions"], pr["system_calls"]))
    return out


def fit(rows):
    """Least squares of y = a*x1 + b*x2: (a, b, r2)."""
    sxx = sum(r[5] ** 2 for r in rows)
    syy = sum(r[6] ** 2 for r in rows)
    sxy = sum(r[5] * r[6] for r in rows)
    sx = sum(r[5] * r[4] for r in rows)
    sy = sum(r[6] * r[4] for r in rows)
    det = sxx * syy - sxy * sxy
    if det == 0:
        return None
    a = (sx * syy - sy * sxy) / det
    b = (sy * sxx - sx * sxy) / det
    mean = statistics.mean(r[4] for r in rows)
    ss_res = sum((r[4] - a * r[5] - b * r[6]) ** 2 for r in rows)
    ss_tot = sum((r[4] - mean) ** 2 for r in rows)
    return a, b, 1 - ss_res / ss_tot if ss_tot else float("nan")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench/cost-fit.py RESULTS.json (a run with throughput and counted cost)")
    with open(sys.argv[1]) as f:
        results = json.load(f)
    rows = points(results)
    if len(rows) < 3:
        sys.exit("error: fewer than 3 points have both a settled count and timed windows")
    groups = [("every point", rows)] + [
        (rt, [r for r in rows if r[3] == rt]) for rt in sorted({r[3] for r in rows})
    ]
    print("| points | n | ns per instruction | us per system call | R^2 |")
    print("|---|---:|---:|---:|---:|")
    fits = {}
    for name, group in groups:
        f = fit(group) if len(group) >= 3 else None
        fits[name] = f
        if f:
            print(f"| {name} | {len(group)} | {f[0] * 1e3:.3f} | {f[1]:.2f} | {f[2]:.3f} |")
        else:
            print(f"| {name} | {len(group)} | - | - | - |")
    print()
    print("| target | scenario | c | measured us | instructions | system calls | predicted us (its runtime's fit) | residual |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in sorted(rows, key=lambda r: (r[3], r[0], r[1])):
        f = fits.get(r[3])
        if not f:
            continue
        pred = f[0] * r[5] + f[1] * r[6]
        print(
            f"| {r[0]} | {r[1]} | {r[2]} | {r[4]:.1f} | {r[5] / 1e6:.3f} M | {r[6]:.1f} | {pred:.1f} | {(r[4] - pred) / pred * 100:+.0f}% |"
        )


if __name__ == "__main__":
    main()
