#!/usr/bin/env python3
"""The tables of docs/blog.md, from a results.json of `bookbench run --preset blog`.

    python3 bench/blog-tables.py docs/blog/results.json [MORE.json ...]

Prints Markdown, in two parts:

- the blog post's claims, each as a ratio of two targets with its 95%
  interval and a verdict, at every concurrency both were measured at, and
  the same for the questions of the targets it did not have (Django,
  Granian);
- for each of the blog post's scenarios, each target's median requests/s
  at each concurrency with its interval, the ratio to the run's baseline at
  the target's best concurrency, the CPU of server and database there, and
  the errors and disturbed windows over all points.

Ratios are computed as the suite computes them (docs/method.md): windows
of the two targets from the same round, disturbed windows left out, the
geometric mean of the per-round ratios with a t-interval on their logs,
and `faster`/`slower` only when the interval lies wholly beyond the run's
noise threshold. Machines differ, so only ratios are compared with the
blog post.

With several files (a study run in parts, each part a set of scenarios),
each scenario is taken from the first file that measured it; ratios are
only ever formed within one file, where the windows share rounds.

Reads results.json version 2 (the version that keeps every window); a
version 1 file has no windows to pair, and is refused with a line saying so.
"""

import json
import math
import sys

BLOG_SCENARIOS = [
    "hello-get",
    "author-detail",
    "author-list",
    "author-offset-50k",
    "author-offset-500k",
]

# Flags that say the machine, not the target, spoilt a window: such a window
# is kept in results.json but left out of every figure (as `Flag::disturbs`).
DISTURBING = {"not-settled", "steal", "neighbour-busy", "stalled"}

# The blog post's claims: (what it said, scenarios, target a, target b, what
# a/b was in the blog post where its text gives figures).
CLAIMS = [
    ('"Using Gunicorn quadruples the number of Flask requests per second"',
     ["hello-get"], "flask-gunicorn-sync", "flask-dev", "4"),
    ("gunicorn's sync worker against the development server on the data endpoints",
     ["author-detail", "author-list"], "flask-gunicorn-sync", "flask-dev", None),
    ('"Using a gevent worker adds a mild (sub 10%) speed boost"',
     ["hello-get", "author-detail", "author-list"],
     "flask-gunicorn-gevent", "flask-gunicorn-sync", "< 1.1"),
    ("eventlet against gevent (CPython, psycopg2)",
     ["hello-get", "author-detail"],
     "flask-gunicorn-eventlet", "flask-gunicorn-gevent", None),
    ("PyPy raw: 3,000 against CPython's 1,000",
     ["hello-get"], "pypy-flask-dev", "flask-dev", "3"),
    ("PyPy under gunicorn: 12,000 against CPython's 4,000",
     ["hello-get"], "pypy-flask-gunicorn-sync", "flask-gunicorn-sync", "3"),
    ("PyPy with gevent: 17,000 against PyPy sync's 12,000",
     ["hello-get"], "pypy-flask-gunicorn-gevent", "pypy-flask-gunicorn-sync", "1.4"),
    ('Sanic "dominates, with 23,000 requests a second" (against PyPy gevent)',
     ["hello-get"], "sanic-tortoise", "pypy-flask-gunicorn-gevent", "1.35"),
    ('"Sanic performs a little less than twice as well as CPython + Flask"',
     ["author-detail", "author-list"], "sanic-tortoise", "flask-gunicorn-sync", "< 2"),
    ('"If the database is fast, use PyPy"',
     ["author-detail", "author-list"],
     "pypy-flask-gunicorn-sync", "flask-gunicorn-sync", None),
    ('"The asynchronous PyPy worker does worse than the synchronous one with high concurrency"',
     ["author-detail", "author-list"],
     "pypy-flask-gunicorn-gevent", "pypy-flask-gunicorn-sync", "< 1"),
    ('"The pure Python libraries performed a little better ... under PyPy" (sync)',
     ["author-detail", "author-list"],
     "pypy-flask-gunicorn-sync-pg8000", "pypy-flask-gunicorn-sync", "> 1"),
    ('"... under PyPy" (gevent)',
     ["author-detail", "author-list"],
     "pypy-flask-gunicorn-gevent-pg8000", "pypy-flask-gunicorn-gevent", "> 1"),
    ('"... and a little worse under CPython" (sync)',
     ["author-detail", "author-list"],
     "flask-gunicorn-sync-pg8000", "flask-gunicorn-sync", "< 1"),
    ("The same hello-world code with two drivers (the old 2,560 against 4,272)",
     ["hello-get"], "flask-gunicorn-sync-pg8000", "flask-gunicorn-sync", "1"),
    ('At offset 50,000, "asynchronous gunicorn workers ... go a long way"',
     ["author-offset-50k"], "flask-gunicorn-gevent", "flask-gunicorn-sync", "> 1"),
    ('"... or an async framework like Sanic"',
     ["author-offset-50k", "author-offset-500k"],
     "sanic-tortoise", "flask-gunicorn-sync", "> 1"),
    ("At offset 500,000, async workers against sync",
     ["author-offset-500k"], "flask-gunicorn-gevent", "flask-gunicorn-sync", "> 1"),
]

# What users ask of the frameworks and servers the blog post did not have:
# (question, scenarios, target a, target b), asked wherever a run has both.
QUESTIONS = [
    ("Granian against gunicorn's sync worker, Flask",
     BLOG_SCENARIOS, "flask-granian", "flask-gunicorn-sync"),
    ("Granian against uvicorn, FastAPI",
     BLOG_SCENARIOS, "fastapi-granian", "fastapi"),
    ("Django against Flask, both under gunicorn sync",
     BLOG_SCENARIOS, "django-gunicorn-sync", "flask-gunicorn-sync"),
    ("gunicorn gthread (4 threads) against sync, Django",
     BLOG_SCENARIOS, "django-gunicorn-gthread", "django-gunicorn-sync"),
    ("Granian against gunicorn gthread, Django (4 threads each)",
     BLOG_SCENARIOS, "django-granian", "django-gunicorn-gthread"),
]

# Two-sided 95% quantiles of Student's t, as `stats::t95` in crates/suite.
T95 = [
    (1, 12.7062), (2, 4.3027), (3, 3.1824), (4, 2.7764), (5, 2.5706),
    (6, 2.4469), (7, 2.3646), (8, 2.3060), (9, 2.2622), (10, 2.2281),
    (11, 2.2010), (12, 2.1788), (13, 2.1604), (14, 2.1448), (15, 2.1314),
    (16, 2.1199), (17, 2.1098), (18, 2.1009), (19, 2.0930), (20, 2.0860),
    (21, 2.0796), (22, 2.0739), (23, 2.0687), (24, 2.0639), (25, 2.0595),
    (26, 2.0555), (27, 2.0518), (28, 2.0484), (29, 2.0452), (30, 2.0423),
    (40, 2.0211), (60, 2.0003), (120, 1.9799),
]
Z975 = 1.959964


def t95(df):
    """Interpolated linearly in 1/df, as the suite does."""
    if df < 1:
        return math.inf
    for (d0, t0), (d1, t1) in zip(T95, T95[1:]):
        if df <= d1:
            w = (1 / df - 1 / d1) / (1 / d0 - 1 / d1)
            return t1 + w * (t0 - t1)
    d_last, t_last = T95[-1]
    return Z975 + (t_last - Z975) * (d_last / df)


def paired_ratio(a, b):
    """Geometric mean of a_i / b_i with a 95% t-interval, or None under 2 pairs."""
    logs = [math.log(x) - math.log(y) for x, y in zip(a, b) if x > 0 and y > 0]
    n = len(logs)
    if n < 2:
        return None
    mean = sum(logs) / n
    var = sum((x - mean) ** 2 for x in logs) / (n - 1)
    half = t95(n - 1) * math.sqrt(var / n)
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half), n


def verdict(low, high, threshold):
    beyond = 1 + max(threshold, 0)
    if low > beyond:
        return "faster"
    if high < 1 / beyond:
        return "slower"
    return "no significant difference"


def undisturbed(point):
    return {
        w["round"]: w["rps"]
        for w in point["windows"]
        if not DISTURBING.intersection(w["flags"])
    }


def fmt(x):
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def fmt_ratio(x):
    return f"{x:.2f}" if x < 10 else f"{x:.1f}"


def pm(interval):
    """The median's interval as ±x%, the larger side, or '' without one."""
    est, low, high = interval["estimate"], interval["low"], interval["high"]
    if not (est > 0 and math.isfinite(high)):
        return ""
    return f" ±{max(high / est - 1, 1 - low / est) * 100:.0f}%"


class Run:
    def __init__(self, results):
        self.points = {
            (p["target"], p["scenario"], p["concurrency"]): p for p in results["runs"]
        }
        config = results["config"]
        self.levels = config["concurrency"]
        self.threshold = config["noise_threshold"]
        self.baseline = config["baseline"]
        # Every target with points, in the run's order: one that failed or
        # was stopped later still measured those.
        measured = {t for (t, _, _) in self.points}
        self.targets = [t["name"] for t in results["targets"] if t["name"] in measured]

    def ratio(self, a, b, scenario, c):
        pa, pb = self.points.get((a, scenario, c)), self.points.get((b, scenario, c))
        if pa is None or pb is None:
            return None
        wa, wb = undisturbed(pa), undisturbed(pb)
        rounds = sorted(set(wa) & set(wb))
        return paired_ratio([wa[r] for r in rounds], [wb[r] for r in rounds])

    def best(self, target, scenario):
        points = [p for (t, s, _), p in self.points.items() if t == target and s == scenario]
        return max(points, key=lambda p: p["rps"], default=None)


def claims(runs):
    print("| claim | scenario | a / b | c | a / b here [95%] | verdict | blog post |")
    print("|---|---|---|---:|---|---|---:|")
    for text, scenarios, a, b, blog in CLAIMS:
        for row in ratios(runs, scenarios, a, b):
            print(f"| {text} | " + " | ".join(row) + f" | {blog or ''} |")
            text = ""


def questions(runs):
    rows = [
        (text, row)
        for text, scenarios, a, b in QUESTIONS
        for row in ratios(runs, scenarios, a, b)
    ]
    if not rows:
        return
    print("\n### Django and Granian\n")
    print("| question | scenario | a / b | c | a / b [95%] | verdict |")
    print("|---|---|---|---:|---|---|")
    last = None
    for text, row in rows:
        print(f"| {text if text != last else ''} | " + " | ".join(row) + " |")
        last = text


def ratios(runs, scenarios, a, b):
    """The cells of a / b at every scenario and concurrency measured."""
    for scenario in scenarios:
        run = runs.get(scenario)
        if run is None:
            continue
        for c in run.levels:
            r = run.ratio(a, b, scenario, c)
            if r is None:
                continue
            est, low, high, _ = r
            yield [
                scenario,
                f"{a} / {b}",
                str(c),
                f"{fmt_ratio(est)} [{fmt_ratio(low)}, {fmt_ratio(high)}]",
                verdict(low, high, run.threshold),
            ]


def tables(runs):
    for scenario in BLOG_SCENARIOS:
        run = runs.get(scenario)
        if run is None:
            continue
        print(f"\n#### {scenario}\n")
        head = "| target |" + "".join(f" c={c} |" for c in run.levels)
        head += f" best / {run.baseline} [95%] | verdict | CPU server / db at best | errors | disturbed |"
        print(head)
        print("|---|" + "---:|" * len(run.levels) + "---|---|---|---:|---:|")
        for t in run.targets:
            best = run.best(t, scenario)
            if best is None:
                continue
            cells = []
            errors = disturbed = windows = 0
            for c in run.levels:
                p = run.points.get((t, scenario, c))
                if p is None:
                    cells.append("-")
                    continue
                cells.append(fmt(p["rps"]) + pm(p["rps_interval"]))
                errors += sum(p["errors"].values())
                windows += len(p["windows"])
                disturbed += sum(1 for w in p["windows"] if DISTURBING.intersection(w["flags"]))
            if t == run.baseline:
                ratio, v = "baseline", ""
            else:
                r = run.ratio(t, run.baseline, scenario, best["concurrency"])
                if r is None:
                    ratio, v = "-", ""
                else:
                    est, low, high, _ = r
                    ratio = f"{fmt_ratio(est)} [{fmt_ratio(low)}, {fmt_ratio(high)}] at c={best['concurrency']}"
                    v = verdict(low, high, run.threshold)
            cpu = best["cpu"]
            print(
                f"| {t} | " + " | ".join(cells)
                + f" | {ratio} | {v} | {cpu['server']:.0f}% / {cpu['database']:.0f}% "
                f"| {errors} | {disturbed} of {windows} |"
            )


def main(paths):
    runs = {}
    for path in paths:
        with open(path) as f:
            results = json.load(f)
        if results.get("version") != 2:
            sys.exit(
                f"{path}: results version {results.get('version')} has no windows to pair; "
                "this script reads version 2 (a run of today's `bookbench run`)"
            )
        run = Run(results)
        for scenario in {s for (_, s, _) in run.points}:
            runs.setdefault(scenario, run)
    print("### The blog post's claims\n")
    claims(runs)
    questions(runs)
    print("\n### Every target\n")
    tables(runs)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: blog-tables.py RESULTS.json [MORE.json ...]")
    main(sys.argv[1:])
