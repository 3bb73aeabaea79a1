#!/usr/bin/env python3
"""How far CPython's type-cache misses account for what moves between
starts. From a results.json counted in layouts (`bookbench cost --layouts
N`, every window's `type_cache` recorded), print two tables in Markdown:

1. for each target and scenario, the range of its layouts' medians (largest
   - smallest, over their mean), whole and less the type-cache misses;
2. for each target against the baseline, the ratio less the misses that
   one start of each would give, for each pair of starts in the same
   layout, beside the ratio of whole counts across layouts that the run
   judged.

    python3 bench/type-cache-layouts.py docs/cost/type-cache-layouts-results.json
"""

import json
import statistics
import sys


def medians(start):
    """A start's median instructions a request over its settled windows (in
    their groups), whole and less the misses; the second is None where a
    window did not tell its misses apart."""
    windows = start["windows"][start["warmup_windows"]:]
    size = start.get("merged", 1)
    whole, less = [], []
    for i in range(0, len(windows) - len(windows) % size, size):
        group = windows[i:i + size]
        n = sum(w["requests"] for w in group)
        own = sum(w["instructions"] - w["idle_instructions"] for w in group)
        whole.append(own / n)
        if all("type_cache" in w for w in group):
            less.append((own - sum(w["type_cache"]["instructions"] for w in group)) / n)
    if not whole:
        return None
    return (
        statistics.median(whole),
        statistics.median(less) if len(less) == len(whole) else None,
        start["status"] == "settled",
    )


def spread(values):
    return (max(values) - min(values)) / statistics.mean(values) * 100


def main(path):
    r = json.load(open(path))
    baseline = r["config"].get("baseline") or r["cost"][0]["target"]
    starts = {
        (p["target"], p["scenario"]): [medians(s) for s in [p] + p.get("layouts", [])]
        for p in r["cost"]
    }
    print("| target | scenario | settled starts | whole: range | less the misses: range |")
    print("|---|---|---:|---:|---:|")
    for (target, scenario), ss in starts.items():
        settled = [s for s in ss if s and s[2]]
        if len(settled) < 2:
            print(f"| {target} | {scenario} | {len(settled)} of {len(ss)} | – | – |")
            continue
        told = [s[1] for s in settled if s[1] is not None]
        less = f"{spread(told):.2f}%" if len(told) >= 2 else "–"
        if 2 <= len(told) < len(settled):
            less += f" ({len(told)} told apart)"
        print(
            f"| {target} | {scenario} | {len(settled)} of {len(ss)} "
            f"| {spread([s[0] for s in settled]):.2f}% | {less} |"
        )
    print()
    print(f"| target | scenario | less the misses, one start each, layout by layout (× {baseline}) | whole, across layouts (95% interval) |")
    print("|---|---|---|---|")
    for p in r["cost"]:
        if p["target"] == baseline:
            continue
        mine = starts[(p["target"], p["scenario"])]
        theirs = starts.get((baseline, p["scenario"]), [])
        ratios = [
            f"{m[1] / t[1]:.4f}"
            for m, t in zip(mine, theirs)
            if m and t and m[2] and t[2] and m[1] and t[1]
        ]
        c = p.get("comparison")
        across = f"{c['ratio']:.4f} ({c['low']:.4f}–{c['high']:.4f})" if c else "not compared"
        print(f"| {p['target']} | {p['scenario']} | {', '.join(ratios) or '–'} | {across} |")


if __name__ == "__main__":
    main(sys.argv[1])
