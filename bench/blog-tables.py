#!/usr/bin/env python3
"""The tables of docs/blog.md, from a results.json of `bookbench run --preset blog`.

    python3 bench/blog-tables.py docs/blog/results.json

Prints Markdown: for each of the blog post's scenarios, each target's
requests/s at each concurrency, its best as a ratio to the Flask development
server's best under CPython (the blog post's baseline), the blog post's own
ratio where its text gives one, the CPU of server and database at the best
point (percent of one core), and the errors over all points. Machines
differ, so only ratios are compared.
"""

import json
import sys

# The blog post's figures, as its text states them (requests/s, hello world).
# gevent's "mild (sub 10%)" boost over gunicorn sync is not a figure; it is
# shown as a range in the text of docs/blog.md, not here.
BLOG_HELLO = {
    "flask-dev": 1_000,
    "flask-gunicorn-sync": 4_000,
    "pypy-flask-dev": 3_000,
    "pypy-flask-gunicorn-sync": 12_000,
    "pypy-flask-gunicorn-gevent": 17_000,
    "sanic-tortoise": 23_000,
}
BASELINE = "flask-dev"
SCENARIOS = [
    "hello-get",
    "author-detail",
    "author-list",
    "author-offset-50k",
    "author-offset-500k",
]


def best(runs, target, scenario):
    points = [p for p in runs if p["target"] == target and p["scenario"] == scenario]
    return max(points, key=lambda p: p["rps"], default=None)


def fmt(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def main(path):
    r = json.load(open(path))
    runs = r["runs"]
    levels = r["config"]["concurrency"]
    targets = [t["name"] for t in r["targets"] if t["status"] == "measured"]
    for scenario in SCENARIOS:
        base = best(runs, BASELINE, scenario)
        blog = scenario == "hello-get"
        print(f"\n#### {scenario}\n")
        head = "| target |" + "".join(f" c={c} |" for c in levels)
        head += " best × flask-dev |" + (" blog post |" if blog else "")
        head += " CPU server / db at best | errors |"
        print(head)
        print("|---|" + "---:|" * (len(levels) + 1 + blog) + "---|---:|")
        for t in targets:
            p = best(runs, t, scenario)
            if p is None:
                continue
            cells = []
            for c in levels:
                q = next(
                    (q for q in runs if q["target"] == t and q["scenario"] == scenario
                     and q["concurrency"] == c),
                    None,
                )
                cells.append(fmt(q["rps"]) if q else "-")
            errors = sum(
                sum(q["errors"].values())
                for q in runs
                if q["target"] == t and q["scenario"] == scenario
            )
            ratio = p["rps"] / base["rps"] if base and base["rps"] > 0 else float("nan")
            row = f"| {t} | " + " | ".join(cells) + f" | {ratio:.2f} |"
            if blog:
                b = BLOG_HELLO.get(t)
                row += f" {b / BLOG_HELLO[BASELINE]:.0f} |" if b else " |"
            cpu = p["cpu"]
            row += f" {cpu['server']:.0f}% / {cpu['database']:.0f}% | {errors} |"
            print(row)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: blog-tables.py RESULTS.json")
    main(sys.argv[1])
