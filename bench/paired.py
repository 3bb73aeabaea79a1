#!/usr/bin/env python3
"""Paired ratios of two tools measured in alternation, for the bench scripts.

    python3 bench/paired.py RESULTS NUMERATOR DENOMINATOR LABEL...

RESULTS has one line per run: `tool round value...`, the values in the
order of the LABELs. For each label it prints the median of each tool and
the ratio NUMERATOR/DENOMINATOR of the runs of the same round, as the
median over rounds with the range: with a handful of rounds the range is
the honest uncertainty, and nothing narrower is claimed.
"""

import statistics
import sys


def main(path, numerator, denominator, labels):
    by = {}
    with open(path) as f:
        for line in f:
            tool, run, *values = line.split()
            by[(tool, int(run))] = [float(v) for v in values]
    rounds = sorted({r for (t, r) in by if t == numerator} & {r for (t, r) in by if t == denominator})
    if not rounds:
        sys.exit(f"{path}: no round has both {numerator} and {denominator}")
    for col, label in enumerate(labels):
        a = [by[(denominator, r)][col] for r in rounds]
        b = [by[(numerator, r)][col] for r in rounds]
        ratios = [y / x for x, y in zip(a, b)]
        print(
            f"{label:<20} {denominator} {statistics.median(a):10.2f}  {numerator} {statistics.median(b):10.2f}  "
            f"{numerator}/{denominator} {statistics.median(ratios):.3f} [{min(ratios):.3f}, {max(ratios):.3f}]"
        )


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
