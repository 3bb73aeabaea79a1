#!/usr/bin/env bash
# Would an io_uring engine pay? The hello-world server of crates/load/examples
# pinned to CPU 0; from CPU 1, in turn, RUNS times each: `bookbench load`
# (its engine: tokio over epoll), and crates/load/examples/io-probe, the
# same minimal closed loop driven by epoll and by io_uring. 100 connections,
# DURATION seconds each. Prints each run's client CPU per request (user +
# system of the process, from /usr/bin/time), then the paired ratios
# uring/epoll (what io_uring itself saves) and load/epoll (what the engine
# costs over a bare loop), each the median over the rounds with its range.
#
#   bench/io-probe.sh            (DURATION=10 RUNS=3 PORT=8098)
#
# Only 127.0.0.1 is loaded. Run it alone (it takes /tmp/bookbench-bench.lock).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${BOOKBENCH_BENCH_LOCKED:-}" ]; then
    cargo build --release --quiet -p bookbench
    cargo build --release --quiet -p bookbench-load --example hello-server --example io-probe
    export BOOKBENCH_BENCH_LOCKED=1
    exec flock --close /tmp/bookbench-bench.lock "$0" "$@"
fi

duration=${DURATION:-10}
runs=${RUNS:-3}
port=${PORT:-8098}
addr="127.0.0.1:$port"
tmp=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null

taskset -c 0 target/release/examples/hello-server "$addr" >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://$addr/" 2>/dev/null && break
    sleep 0.1
done
curl -fsS -o /dev/null "http://$addr/" || { echo "error: the server did not come up" >&2; exit 1; }

echo "server: examples/hello-server (one thread) on CPU 0; clients on CPU 1, ${duration}s, 100 connections, one thread"
echo "kernel: $(uname -r)"
printf '%-6s %4s %12s %12s %10s %9s %9s\n' tool run requests/s requests cpu_us/req user_us sys_us

run_tool() {
    local tool=$1 requests
    case $tool in
        load)
            /usr/bin/time -f "%U %S" -o "$tmp/time" taskset -c 1 target/release/bookbench load \
                "http://$addr/" -c 100 -t 1 -d "${duration}s" --quiet --json "$tmp/load.json" >/dev/null
            requests=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"])' "$tmp/load.json")
            ;;
        epoll | uring)
            /usr/bin/time -f "%U %S" -o "$tmp/time" taskset -c 1 target/release/examples/io-probe \
                "$addr" 100 "$duration" "$tool" >"$tmp/probe.out"
            requests=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' "$tmp/probe.out")
            ;;
    esac
    echo "$requests $(cat "$tmp/time")"
}

: >"$tmp/results"
for i in $(seq "$runs"); do
    for tool in load epoll uring; do
        read -r requests user sys < <(run_tool "$tool")
        read -r rps per per_user per_sys < <(awk -v u="$user" -v s="$sys" -v n="$requests" -v d="$duration" \
            'BEGIN { printf "%.0f %.2f %.2f %.2f\n", n / d, (u + s) * 1e6 / n, u * 1e6 / n, s * 1e6 / n }')
        printf '%-6s %4d %12s %12d %10s %9s %9s\n' "$tool" "$i" "$rps" "$requests" "$per" "$per_user" "$per_sys"
        echo "$tool $i $per $per_user $per_sys" >>"$tmp/results"
    done
done

echo
python3 bench/paired.py "$tmp/results" uring epoll "CPU per request" "user per request" "system per request"
python3 bench/paired.py "$tmp/results" load epoll "CPU per request" "user per request" "system per request"
