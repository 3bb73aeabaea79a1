#!/usr/bin/env bash
# Does restarting targets between rounds matter? An A/A experiment
# (docs/method.md, "Restarting targets").
#
#   bench/aa-restart.sh [TARGET] [RUNS]      (default flask-gunicorn-sync, 8)
#
# Two copies of one target, A and B, are measured two ways on the same
# database, at hello-get and author-detail, 10 connections:
#   kept:      one run of RUNS rounds; both copies start once;
#   restarted: RUNS runs of 2 rounds each; both copies start afresh per run.
# If a start leaves a lasting offset of its own (where memory lands, a warm
# or cold cache, which core's neighbour is busy), the kept run hides it
# inside one pair of starts, and the restarted runs' A/B ratios scatter
# more than their own rounds do. bench/aa-restart.py prints both.
#
# Uses the release binary and the embedded cluster, at the quick preset's
# medium data set (seeded if it holds another); writes under
# results/aa-restart-<timestamp>/
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-flask-gunicorn-sync}
runs=${2:-8}
bin=target/release/bookbench
[ -x "$bin" ] || { echo "error: $bin is missing; build it with cargo build --release" >&2; exit 1; }
out=results/aa-restart-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"

# The two copies: the target's own declaration under two names.
python3 - "$target" "$out/targets.toml" <<'EOF'
import sys, tomllib
name, path = sys.argv[1], sys.argv[2]
with open("bench/targets.toml", "rb") as f:
    targets = tomllib.load(f)["target"]
t = next((t for t in targets if t["name"] == name), None)
if t is None:
    sys.exit(f"error: no target {name} in bench/targets.toml")
def value(v):
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
    return str(v)
with open(path, "w") as f:
    for copy in ("aa-a", "aa-b"):
        f.write("[[target]]\n")
        for k, v in t.items():
            f.write(f"{k} = {value(copy if k == 'name' else v)}\n")
        f.write("\n")
EOF

common=(--targets aa-a,aa-b --baseline aa-b --scenarios hello-get,author-detail
        --concurrency 10 --duration 1s --warmup 500ms --point-time 10m
        --targets-file "$out/targets.toml")
echo "kept: one run of $runs rounds" >&2
"$bin" run "${common[@]}" --min-rounds "$runs" --max-rounds "$runs" --seed 1 --out "$out/kept" >"$out/kept.out" 2>"$out/kept.log"
for i in $(seq 1 "$runs"); do
    echo "restarted: run $i of $runs" >&2
    "$bin" run "${common[@]}" --min-rounds 2 --max-rounds 2 --seed "$((i + 1))" --out "$out/restarted-$i" >"$out/restarted-$i.out" 2>"$out/restarted-$i.log"
done
python3 bench/aa-restart.py "$out"
