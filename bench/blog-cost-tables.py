#!/usr/bin/env python3
"""The counted tables of docs/blog.md, from results.json of `bookbench cost`.

    python3 bench/blog-cost-tables.py [--less-misses] COST.json [MORE.json ...] [--timed RUN.json ...]

Prints Markdown: for each of the blog post's claims and of the questions of
the targets it did not have (the pairs of bench/blog-tables.py), at every
scenario both targets were counted at, the ratio of the app's instructions
per request (a / b) with the range of any settled window's ratio to any
other's, its verdict, the database's statements and shared buffers per
request of each, and the ratio of the database's own instructions where
both were counted and settled. With `--timed`, the throughput ratio of the
same pair at the lowest concurrency both were timed at, from those runs
(as bench/blog-tables.py computes it), is put beside.

Verdicts as `bookbench cost` gives them: `costlier` or `cheaper` only when
the whole range lies beyond the run's threshold (2.5%); a point that did not
settle is not compared. Counts are never time: a ratio of instructions says
which does less work, not which serves more.

With `--less-misses`, the app's instructions are counted less CPython's
type-cache misses (the instructions of the searches that follow them, which
move with where a process lays out memory; docs/method.md), as `bookbench
cost` compares targets from one start, and judged at the run's threshold
(1.5%); without it, whole counts, which from one start tell only
differences beyond 5%.

With several cost files (a study counted in parts), each pair at each
scenario is taken from the first file that counted both targets there;
ratios are only ever formed within one file.
"""

import importlib.util
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("blog_tables", HERE / "blog-tables.py")
blog_tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(blog_tables)


# Pairs the timed tables do not ask, that counting can answer.
EXTRA = [
    ("eventlet against sync (CPython, psycopg2)",
     ["hello-get", "author-detail", "author-list", "author-offset-50k", "author-offset-500k"],
     "flask-gunicorn-eventlet", "flask-gunicorn-sync"),
    ("pg8000 against psycopg2 under CPython (gevent)",
     ["author-detail", "author-list"],
     "flask-gunicorn-gevent-pg8000", "flask-gunicorn-gevent"),
    ("Sanic against Flask (sync), hello world and pages",
     ["hello-get", "author-offset-50k"], "sanic-tortoise", "flask-gunicorn-sync"),
    ("FastAPI against Flask (sync)",
     ["hello-get", "author-detail", "author-list", "author-offset-50k", "author-offset-500k"],
     "fastapi", "flask-gunicorn-sync"),
    ("The Rust server against Flask (sync)",
     ["hello-get", "author-detail", "author-list", "author-offset-50k", "author-offset-500k"],
     "rust", "flask-gunicorn-sync"),
]


def settled_values(windows, warmup, per):
    """Per-request figures of the settled windows (those after the warm-up)."""
    out = []
    for w in windows[warmup:]:
        value = per(w)
        if value is not None:
            out.append(value)
    return out


def median(values):
    s = sorted(values)
    n = len(s)
    if n == 0:
        return None
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def compare(mine, theirs, threshold):
    """Ratio of medians and the range of any window's ratio to any other's."""
    if not mine or not theirs or median(theirs) <= 0 or min(theirs) <= 0:
        return None
    ratio = median(mine) / median(theirs)
    low, high = min(mine) / max(theirs), max(mine) / min(theirs)
    if low > 1 + threshold:
        verdict = "costlier"
    elif high < 1 - threshold:
        verdict = "cheaper"
    else:
        verdict = "no significant difference"
    return ratio, low, high, verdict


def app_values(point, less_misses):
    if point["status"] != "settled":
        return None

    def per(w):
        if not w["requests"]:
            return None
        misses = (w.get("type_cache") or {}).get("instructions", 0) if less_misses else 0
        return (w["instructions"] - misses) / w["requests"]

    return settled_values(point["windows"], point["warmup_windows"], per)


def database_values(point):
    d = point.get("database_instructions")
    if not d or d["status"] != "settled" or not d["windows"]:
        return None
    return settled_values(
        d["windows"],
        d["warmup_windows"],
        lambda w: w["instructions"] / w["requests"]
        if w["requests"] and w.get("instructions") is not None
        else None,
    )


def database_state(point):
    d = point.get("database_instructions")
    if not d:
        return "not counted"
    if d["status"] == "settled" and d.get("per_request") == 0:
        return "none"
    return d["status"].replace("_", " ")


def fmt_ratio(x):
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def fmt_count(x):
    if x is None:
        return "-"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.1f}"


class Counted:
    def __init__(self, results, less_misses=False):
        self.less_misses = less_misses
        self.threshold = (results.get("cost_run") or {}).get("threshold", 0.025)
        self.points = {(p["target"], p["scenario"]): p for p in results.get("cost", [])}


def row(run, a, b, scenario, timed):
    pa, pb = run.points.get((a, scenario)), run.points.get((b, scenario))
    if pa is None or pb is None:
        return None
    ma, mb = app_values(pa, run.less_misses), app_values(pb, run.less_misses)
    c = compare(ma, mb, run.threshold) if ma is not None and mb is not None else None
    if c is None:
        app = f"not compared ({pa['status']} / {pb['status']})"
        verdict = ""
    else:
        ratio, low, high, verdict = c
        app = f"{fmt_ratio(ratio)} ({fmt_ratio(low)}–{fmt_ratio(high)})"
    work = []
    for p in (pa, pb):
        per = p.get("per_request") or {}
        work.append(
            f"{fmt_count(per.get('db_statements'))} / {fmt_count(per.get('db_shared_blocks_hit'))}"
        )
    da, db = database_values(pa), database_values(pb)
    d = compare(da, db, run.threshold) if da is not None and db is not None else None
    if d is None:
        database = f"{database_state(pa)} / {database_state(pb)}"
    else:
        ratio, low, high, v = d
        database = f"{fmt_ratio(ratio)} ({fmt_ratio(low)}–{fmt_ratio(high)}) {v}"
    cells = [scenario, f"{a} / {b}", app, verdict, work[0], work[1], database]
    if timed is not None:
        cells.append(timed_ratio(timed, a, b, scenario))
    return cells


def timed_ratio(timed, a, b, scenario):
    for run, c in ((run, c) for run in timed.get(scenario, []) for c in run.levels):
        r = run.ratio(a, b, scenario, c)
        if r is not None:
            est, low, high, _ = r
            v = blog_tables.verdict(low, high, run.threshold)
            return (
                f"{blog_tables.fmt_ratio(est)} [{blog_tables.fmt_ratio(low)}, "
                f"{blog_tables.fmt_ratio(high)}] at c={c}, {v}"
            )
    return "-"


def main(args):
    timed_paths = []
    if "--timed" in args:
        i = args.index("--timed")
        args, timed_paths = args[:i], args[i + 1:]
    less_misses = "--less-misses" in args
    args = [a for a in args if a != "--less-misses"]
    counted = {}
    for path in args:
        with open(path) as f:
            results = json.load(f)
        if results.get("version", 0) < 4:
            sys.exit(f"{path}: results version {results.get('version')}: this script reads version 4")
        run = Counted(results, less_misses)
        for scenario in {s for (_, s) in run.points}:
            counted.setdefault(scenario, []).append(run)
    timed = None
    if timed_paths:
        timed = {}
        for path in timed_paths:
            with open(path) as f:
                run = blog_tables.Run(json.load(f))
            for scenario in {s for (_, s, _) in run.points}:
                timed.setdefault(scenario, []).append(run)
    what = "instructions less type-cache misses" if less_misses else "instructions"
    head = f"| claim | scenario | a / b | {what} a / b (range) | verdict | statements / buffers hit, a | statements / buffers hit, b | database instructions a / b |"
    rule = "|---|---|---|---|---|---:|---:|---|"
    if timed is not None:
        head += " requests/s a / b [95%], timed |"
        rule += "---|"
    print(head)
    print(rule)
    pairs = [(text, scenarios, a, b) for text, scenarios, a, b, _ in blog_tables.CLAIMS]
    pairs += EXTRA
    pairs += blog_tables.QUESTIONS
    for text, scenarios, a, b in pairs:
        for scenario in scenarios:
            cells = next(
                (
                    c
                    for run in counted.get(scenario, [])
                    if (c := row(run, a, b, scenario, timed)) is not None
                ),
                None,
            )
            if cells is None:
                continue
            print(f"| {text} | " + " | ".join(cells) + " |")
            text = ""


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: blog-cost-tables.py COST.json [MORE.json ...] [--timed RUN.json ...]")
    main(sys.argv[1:])
