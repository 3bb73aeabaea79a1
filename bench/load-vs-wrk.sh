#!/usr/bin/env bash
# Is `bookbench load` as efficient as wrk? A hello-world server pinned to
# CPU 0; wrk (-t1 -c100) and `bookbench load` (-c 100, one thread) take turns
# from CPU 1, three times each, and the script prints both tools'
# requests/s and client CPU time per request (user + system of the tool's
# own process, from /usr/bin/time, split into user and system time) with
# their ratios: each run of bookbench load against the wrk run just before
# it, the median of those paired ratios and their range. Then an open-loop
# run at a rate the server holds, checking that rate x duration requests
# went out, within 1%; and the peak RSS of a 5 s and a 60 s run
# (MEMORY=0 skips it), which must differ by under 10%.
#
#   bench/load-vs-wrk.sh              (DURATION=10 RUNS=3 PORT=8099 RATE=...)
#
# The server is `bookbench serve --workers 1` (it needs the database: the
# embedded cluster is started as for any command), or, with SERVER=example,
# the one-thread hello server in crates/load/examples. Only 127.0.0.1 is
# loaded. Run it alone (it takes /tmp/bookbench-bench.lock itself, so no
# two benchmarks overlap).
set -euo pipefail
cd "$(dirname "$0")/.."

# Build first, then measure holding the lock.
if [ -z "${BOOKBENCH_BENCH_LOCKED:-}" ]; then
    cargo build --release --quiet -p bookbench
    cargo build --release --quiet -p bookbench-load --example hello-server
    export BOOKBENCH_BENCH_LOCKED=1
    exec flock --close /tmp/bookbench-bench.lock "$0" "$@"
fi

duration=${DURATION:-10}
runs=${RUNS:-3}
port=${PORT:-8099}
server_kind=${SERVER:-serve}
url="http://127.0.0.1:$port/"
tmp=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }; }
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null

bin=target/release/bookbench

if [ "$server_kind" = serve ]; then
    "$bin" db start >/dev/null
    taskset -c 0 "$bin" serve --workers 1 --listen "127.0.0.1:$port" >"$tmp/server.log" 2>&1 &
    server_pid=$!
    server_desc="bookbench serve --workers 1"
else
    taskset -c 0 target/release/examples/hello-server "127.0.0.1:$port" >"$tmp/server.log" 2>&1 &
    server_pid=$!
    server_desc="examples/hello-server (one thread)"
fi
for _ in $(seq 100); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && break
    sleep 0.1
done
curl -fsS -o /dev/null "$url" || { echo "error: the server did not come up:" >&2; cat "$tmp/server.log" >&2; exit 1; }

echo "server: $server_desc on CPU 0, $url; clients on CPU 1, ${duration}s, 100 connections, one thread"
echo "$(wrk --version 2>&1 | head -1)"
printf '%-8s %4s %12s %12s %10s %9s %9s %9s\n' tool run requests/s requests cpu_us/req user_us sys_us rss_kib

# One run of a tool: prints "rps requests user_seconds system_seconds
# peak_rss_kib".
run_wrk() {
    /usr/bin/time -f "%U %S %M" -o "$tmp/time" taskset -c 1 \
        wrk -t1 -c100 -d"${duration}s" --latency "$url" >"$tmp/wrk.out"
    local rps requests cpu
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk.out")
    requests=$(awk '/requests in/ {print $1}' "$tmp/wrk.out")
    echo "$rps $requests $(cat "$tmp/time")"
}
run_load() {
    /usr/bin/time -f "%U %S %M" -o "$tmp/time" taskset -c 1 \
        "$bin" load "$url" -c 100 -t 1 -d "${duration}s" --quiet --json "$tmp/load.json" >"$tmp/load.out"
    local rps requests cpu
    rps=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rps"])' "$tmp/load.json")
    requests=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"])' "$tmp/load.json")
    echo "$rps $requests $(cat "$tmp/time")"
}

: >"$tmp/results"
for i in $(seq "$runs"); do
    for tool in wrk load; do
        read -r rps requests user sys rss < <("run_$tool")
        read -r per per_user per_sys < <(awk -v u="$user" -v s="$sys" -v n="$requests" \
            'BEGIN { printf "%.2f %.2f %.2f\n", (u + s) * 1e6 / n, u * 1e6 / n, s * 1e6 / n }')
        printf '%-8s %4d %12.0f %12d %10s %9s %9s %9s\n' "$tool" "$i" "$rps" "$requests" "$per" "$per_user" "$per_sys" "$rss"
        echo "$tool $i $rps $per $per_user $per_sys" >>"$tmp/results"
    done
done

# Paired ratios (each load run against the wrk run before it), their
# median and range.
echo
python3 bench/paired.py "$tmp/results" load wrk requests/s "client CPU/request" "  of which user" "  of which system"
wrk_rps=$(awk '$1 == "wrk" {print $3}' "$tmp/results" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')

# Open loop: a rate the server holds (half the closed-loop median unless
# RATE is given), rate x duration requests expected.
rate=${RATE:-$(awk -v r="$wrk_rps" 'BEGIN { printf "%d", r / 2 / 1000 * 1000 }')}
taskset -c 1 "$bin" load "$url" -c 100 -t 1 -d "${duration}s" --rate "$rate" --quiet \
    --json "$tmp/open.json" >"$tmp/open.out"
python3 - "$tmp/open.json" "$rate" "$duration" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
rate, duration = float(sys.argv[2]), float(sys.argv[3])
want = rate * duration
sent = r["sent"]
off = (sent - want) / want * 100
c, u = r["latency_us"], r["latency_us_uncorrected"]
print(f"\nopen loop at {rate:.0f}/s for {duration:.0f}s: sent {sent} of {want:.0f} ({off:+.2f}%), "
      f"late {r['schedule']['late']}, flags {r['flags'] or 'none'}")
print(f"  latency p50/p99/p99.9 corrected {c['p50']}/{c['p99']}/{c['p999']} us, "
      f"uncorrected {u['p50']}/{u['p99']}/{u['p999']} us")
print("  within 1%: " + ("yes" if abs(off) <= 1 else "NO"))
EOF

# Memory is bounded by connections, not by the run's length.
if [ "${MEMORY:-1}" != 0 ]; then
    for d in 5 60; do
        /usr/bin/time -f "%M" -o "$tmp/rss$d" taskset -c 1 \
            "$bin" load "$url" -c 100 -t 1 -d "${d}s" --quiet >/dev/null
    done
    awk -v a="$(cat "$tmp/rss5")" -v b="$(cat "$tmp/rss60")" 'BEGIN {
        printf "\npeak RSS: 5 s run %d KiB, 60 s run %d KiB (%+.1f%%); within 10%%: %s\n", a, b, (b - a) / a * 100,
            ((b - a) / a <= 0.10 ? "yes" : "NO") }'
fi
