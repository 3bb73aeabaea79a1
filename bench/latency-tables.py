#!/usr/bin/env python3
"""The tables of docs/hosts.md, from a results.json of `bookbench run --preset latency`.

    python3 bench/latency-tables.py docs/hosts/results-latency.json

Prints Markdown:

- for each scenario, each target's median requests/s at each database
  round trip (± its 95% interval), the statements it ran per request, and
  what is left at the longest round trip of its throughput at the shortest;
- for the one-request-at-a-time worker (gunicorn sync), what a closed
  loop predicts: a request takes what it took at 0 ms plus one round trip
  per statement, so requests/s = 1 / (1 / rps0 + statements x round trip);
- each async target against gunicorn sync at each round trip: the paired
  ratio of their windows of the same rounds, with its 95% interval and a
  verdict, computed as bench/blog-tables.py computes the blog's (the same
  helpers, loaded from it).
"""

import importlib.util
import json
import pathlib
import sys

_spec = importlib.util.spec_from_file_location(
    "blog_tables", pathlib.Path(__file__).with_name("blog-tables.py")
)
blog = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(blog)

SYNC = "flask-gunicorn-sync"


def label(us):
    if us is None:
        return "direct"
    if us == 0:
        return "0"
    return f"{us / 1000:g} ms"


def main(path):
    r = json.load(open(path))
    trips = r["config"].get("db_round_trips_us") or [None]
    targets = [t["name"] for t in r["targets"] if t["status"] == "measured"]
    threshold = r["config"]["noise_threshold"]
    at = {(p["target"], p["scenario"], p.get("db_round_trip_us")): p for p in r["runs"]}
    (c,) = r["config"]["concurrency"][:1] or [None]
    for s in r["config"]["scenarios"]:
        print(f"\n### {s}, c={c}\n")
        print("| target | statements/request | " + " | ".join(label(u) for u in trips) + " | left at the longest |")
        print("|---|---:|" + "---:|" * len(trips) + "---:|")
        for t in targets:
            row = [at.get((t, s, u)) for u in trips]
            if not any(row):
                continue
            k = row[0]["db_statements_per_request"] if row[0] else None
            cells = [
                f"{blog.fmt(p['rps'])}{blog.pm(p['rps_interval']) if p and p.get('rps_interval') else ''}" if p else "-"
                for p in row
            ]
            left = f"{row[-1]['rps'] / row[0]['rps'] * 100:.0f}%" if row[0] and row[-1] and row[0]["rps"] > 0 else "-"
            k = f"{k:.1f}" if k is not None else "-"
            print(f"| {t} | {k} | " + " | ".join(cells) + f" | {left} |")
        base = [at.get((SYNC, s, u)) for u in trips]
        if base[0]:
            rps0 = base[0]["rps"]
            k = base[0]["db_statements_per_request"] or 0
            pred = [1 / (1 / rps0 + k * (u or 0) / 1e6) for u in trips]
            print(f"| {SYNC}, predicted: 1 / (1/{blog.fmt(rps0)} + {k:.1f} × round trip) | | "
                  + " | ".join(blog.fmt(x) for x in pred) + " | "
                  + f"{pred[-1] / pred[0] * 100:.0f}% |")
    print(f"\n### Against {SYNC}, round by round\n")
    print("| scenario | target | " + " | ".join(label(u) for u in trips) + " |")
    print("|---|---|" + "---|" * len(trips))
    for s in r["config"]["scenarios"]:
        for t in targets:
            if t == SYNC:
                continue
            cells = []
            for u in trips:
                a, b = at.get((t, s, u)), at.get((SYNC, s, u))
                if not (a and b):
                    cells.append("-")
                    continue
                wa, wb = blog.undisturbed(a), blog.undisturbed(b)
                rounds = sorted(set(wa) & set(wb))
                ratio = blog.paired_ratio([wa[i] for i in rounds], [wb[i] for i in rounds])
                if ratio is None:
                    cells.append("-")
                    continue
                est, low, high, n = ratio
                v = blog.verdict(low, high, threshold)
                mark = "" if v != "no significant difference" else " (n.s.)"
                cells.append(f"{blog.fmt_ratio(est)} [{blog.fmt_ratio(low)}, {blog.fmt_ratio(high)}]{mark}")
            print(f"| {s} | {t} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
