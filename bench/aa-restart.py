#!/usr/bin/env python3
"""The figures of bench/aa-restart.sh: does restarting targets matter?

    python3 bench/aa-restart.py results/aa-restart-<timestamp>

For each scenario, from the A/A copies' windows (disturbed ones left out):

- kept: the geometric mean A/B ratio of the one long run, with its 95%
  t-interval, and the standard deviation of the per-round log ratios (the
  round-to-round noise);
- restarted: each run's mean log ratio (one pair of fresh starts each), the
  standard deviation of those means, and what the round-to-round noise
  alone would give them (the within-run SD over the square root of the
  rounds per run);
- the between-start component: the part of the restarted runs' spread
  that the round-to-round noise does not explain, as a standard deviation
  of log ratio (0 when there is none), with an F-test p-value
  (one-way analysis of variance of the log ratios by run).
"""

import glob
import json
import math
import os
import statistics
import sys

DISTURBING = {"not-settled", "steal", "neighbour-busy", "stalled"}


def log_ratios(results, scenario):
    """Per round: ln(A/B), both windows undisturbed."""
    by = {}
    for p in results["runs"]:
        if p["scenario"] != scenario:
            continue
        for w in p["windows"]:
            if DISTURBING.intersection(w["flags"]) or w["rps"] <= 0:
                continue
            by.setdefault(w["round"], {})[p["target"]] = w["rps"]
    return [math.log(r["aa-a"] / r["aa-b"]) for r in by.values() if "aa-a" in r and "aa-b" in r]


def t95(df):
    table = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365,
             8: 2.306, 9: 2.262, 10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042}
    keys = sorted(k for k in table if k <= df)
    return table[keys[-1]] if keys else math.inf


def f_sf(f, d1, d2):
    """P(F > f) for the F distribution, by the regularised incomplete beta."""
    if f <= 0:
        return 1.0
    x = d2 / (d2 + d1 * f)
    return betainc(d2 / 2, d1 / 2, x)


def betainc(a, b, x):
    """Regularised incomplete beta I_x(a, b), continued fraction (Numerical Recipes)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    lbeta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    front = math.exp(lbeta + a * math.log(x) + b * math.log(1 - x))
    if x > (a + 1) / (a + b + 2):
        return 1 - betainc(b, a, 1 - x)
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / d if abs(d) > 1e-300 else 1e300
    h = d
    for m in range(1, 300):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1 + num * d
            d = 1 / d if abs(d) > 1e-300 else 1e300
            c = 1 + num / c if abs(c) > 1e-300 else 1e300
            h *= d * c
    return front * h / a


def pct(x):
    return f"{(math.exp(x) - 1) * 100:+.1f}%"


def main(root):
    with open(os.path.join(root, "kept", "results.json")) as f:
        kept = json.load(f)
    restarted = []
    for path in sorted(glob.glob(os.path.join(root, "restarted-*", "results.json"))):
        with open(path) as f:
            restarted.append(json.load(f))
    for scenario in kept["config"]["scenarios"]:
        k = log_ratios(kept, scenario)
        groups = [g for g in (log_ratios(r, scenario) for r in restarted) if len(g) >= 2]
        print(f"\n{scenario}:")
        if len(k) >= 2:
            m, s = statistics.mean(k), statistics.stdev(k)
            half = t95(len(k) - 1) * s / math.sqrt(len(k))
            print(f"  kept:      {len(k)} rounds, A/B {math.exp(m):.3f} "
                  f"[{math.exp(m - half):.3f}, {math.exp(m + half):.3f}], "
                  f"round-to-round SD {pct(s)}")
        if len(groups) < 2:
            print("  restarted: fewer than two usable runs")
            continue
        means = [statistics.mean(g) for g in groups]
        within = [x - statistics.mean(g) for g in groups for x in g]
        n_total = sum(len(g) for g in groups)
        df_within = n_total - len(groups)
        ms_within = sum(x * x for x in within) / df_within
        n_per = n_total / len(groups)
        grand = statistics.mean([x for g in groups for x in g])
        ms_between = sum(len(g) * (statistics.mean(g) - grand) ** 2 for g in groups) / (len(groups) - 1)
        between_var = max((ms_between - ms_within) / n_per, 0.0)
        p = f_sf(ms_between / ms_within, len(groups) - 1, df_within) if ms_within > 0 else float("nan")
        expected = math.sqrt(ms_within / n_per)
        print(f"  restarted: {len(groups)} runs of {n_per:.0f} rounds, run means "
              f"{', '.join(f'{math.exp(x):.3f}' for x in means)}")
        print(f"             SD of run means {pct(statistics.stdev(means))}, "
              f"round-to-round noise alone would give {pct(expected)}")
        print(f"             between-start SD {pct(math.sqrt(between_var))} "
              f"(F-test of run means: p = {p:.2f})")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: aa-restart.py RESULTS_DIR")
    main(sys.argv[1])
