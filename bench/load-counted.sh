#!/usr/bin/env bash
# What does a request cost the load generator itself, counted? wrk and
# `bookbench load` each run under valgrind's callgrind against one Rust
# server (native, pinned to CPU 0), 10 connections on one thread for
# DURATION seconds, RUNS times each, taking turns; the script prints each
# run's user-space instructions and system calls per request, and where
# the instructions ran (the tool's own binary, libc, the rest), from
# callgrind_annotate. Counts, not time: the timed comparison is
# bench/load-vs-wrk.sh, and cannot go below the kernel's share.
#
#   bench/load-counted.sh        (DURATION=8 RUNS=2 PORT=8098)
#
# Needs valgrind (callgrind_annotate comes with it) and wrk; installs wrk
# when missing. Only 127.0.0.1 is loaded. It takes
# /tmp/bookbench-bench.lock, so no two benchmarks overlap.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${BOOKBENCH_BENCH_LOCKED:-}" ]; then
    cargo build --release --quiet -p bookbench
    export BOOKBENCH_BENCH_LOCKED=1
    exec flock --close /tmp/bookbench-bench.lock "$0" "$@"
fi

duration=${DURATION:-8}
runs=${RUNS:-2}
port=${PORT:-8098}
url="http://127.0.0.1:$port/"
tmp=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

command -v valgrind >/dev/null || { echo "error: valgrind is missing: apt-get install valgrind" >&2; exit 1; }
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }; }

. bench/counted.sh
bin=target/release/bookbench
serve "$bin" "$port" "$tmp/server.log"

echo "server: bookbench serve --workers 1 on CPU 0, $url; each tool under callgrind on CPU 1, 10 connections, one thread, ${duration}s"
echo "$(wrk --version 2>&1 | head -1); $(valgrind --version)"
printf '%-6s %3s %9s %13s %10s %9s %10s %8s %8s\n' tool run requests instructions instr/req syscalls/req own/req libc/req rest/req

: >"$tmp/results"
for i in $(seq "$runs"); do
    counted "$tmp/cg.wrk.$i" wrk -t1 -c10 -d"${duration}s" "$url" >"$tmp/wrk.out"
    requests=$(awk '/requests in/ {print $1}' "$tmp/wrk.out")
    echo "wrk $i $requests $(split "$tmp/cg.wrk.$i" /wrk)" >>"$tmp/results"
    counted "$tmp/cg.load.$i" "$bin" load "$url" -c 10 -t 1 -d "${duration}s" --quiet --json "$tmp/load.json" >/dev/null
    requests=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"])' "$tmp/load.json")
    echo "load $i $requests $(split "$tmp/cg.load.$i" /bookbench)" >>"$tmp/results"
done
awk '{ n = $3; printf "%-6s %3d %9d %13d %10.0f %9.2f %10.0f %8.0f %8.0f\n", $1, $2, n, $4, $4 / n, $5 / n, $6 / n, $7 / n, $8 / n }' "$tmp/results"
awk '{ s[$1] += $4 / $3; c[$1]++ } END { printf "\nmean instructions a request: bookbench load %.0f, wrk %.0f (ratio %.3f)\n", s["load"] / c["load"], s["wrk"] / c["wrk"], (s["load"] / c["load"]) / (s["wrk"] / c["wrk"]) }' "$tmp/results"
