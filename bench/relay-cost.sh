#!/usr/bin/env bash
# What the latency relay costs, and how closely it adds what it is asked.
# pgbench runs a prepared `SELECT 1` against the embedded cluster directly
# and through `bookbench relay`, alternating, RUNS rounds:
#   - one client, at each round trip in RTTS: pgbench's mean latency through
#     the relay, less the direct run's of the same round, less the round trip
#     asked: what the relay and the parties' wake-ups add;
#   - ten clients, at 0: transactions/s through the relay over direct, and the
#     relay's CPU time per statement (its process's ticks over the run).
# pgbench runs on CPU 1; the relay and PostgreSQL are unpinned, as in a run.
#
#   bench/relay-cost.sh              (DURATION=5 RUNS=5 RTTS="0 0.5ms 2ms 5ms")
#
# Only 127.0.0.1 is used. Run it alone (it takes /tmp/bookbench-bench.lock).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${BOOKBENCH_BENCH_LOCKED:-}" ]; then
    cargo build --release --quiet -p bookbench
    export BOOKBENCH_BENCH_LOCKED=1
    exec flock --close /tmp/bookbench-bench.lock "$0" "$@"
fi

duration=${DURATION:-5}
runs=${RUNS:-5}
rtts=${RTTS:-0 0.5ms 2ms 5ms}
bin=target/release/bookbench
pgbench=$(ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | tail -1)
[ -x "$pgbench" ] || { echo "error: pgbench not found (install postgresql)" >&2; exit 1; }
tmp=$(mktemp -d)
relay_pid=
cleanup() {
    exec 3>&- 2>/dev/null || true
    if [ -n "$relay_pid" ]; then wait "$relay_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

"$bin" db start >/dev/null
direct=$("$bin" db url)
db_port=$(sed -E 's#.*@[^:]+:([0-9]+)/.*#\1#' <<<"$direct")
mkfifo "$tmp/control"
"$bin" relay --upstream "127.0.0.1:$db_port" <"$tmp/control" >"$tmp/relay.out" 2>"$tmp/relay.err" &
relay_pid=$!
# The relay runs while this descriptor is open: it stops when the script ends.
exec 3>"$tmp/control"
for _ in $(seq 50); do grep -q '^listening' "$tmp/relay.out" 2>/dev/null && break; sleep 0.1; done
relay_addr=$(awk '/^listening/ {print $2}' "$tmp/relay.out")
[ -n "$relay_addr" ] || { echo "error: the relay did not start: $(cat "$tmp/relay.err")" >&2; exit 1; }
relayed=$(sed -E "s#@[^/]+/#@$relay_addr/#" <<<"$direct")
echo 'SELECT 1;' >"$tmp/select1.sql"

set_round_trip() {
    echo "round-trip $1" >&3
    for _ in $(seq 50); do grep -qx "round-trip $1" "$tmp/relay.out" && return; sleep 0.02; done
    echo "error: the relay did not take round-trip $1" >&2
    exit 1
}
ticks() { awk '{print $14 + $15}' "/proc/$relay_pid/stat"; }
# pgbench URL CLIENTS -> "latency_ms tps"
bench() {
    taskset -c 1 "$pgbench" -n -M prepared -f "$tmp/select1.sql" -c "$2" -j 1 -T "$duration" "$1" 2>/dev/null |
        awk '/^latency average/ {l=$4} /^tps/ {t=$3} END {print l, t}'
}

: >"$tmp/latency"
: >"$tmp/throughput"
for rtt in $rtts; do
    set_round_trip "$rtt"
    for round in $(seq "$runs"); do
        read -r dl _ < <(bench "$direct" 1)
        read -r rl _ < <(bench "$relayed" 1)
        echo "$rtt $round $dl $rl" >>"$tmp/latency"
    done
    echo stats >&3
done
set_round_trip 0
for round in $(seq "$runs"); do
    read -r _ dt < <(bench "$direct" 10)
    before=$(ticks)
    read -r _ rt < <(bench "$relayed" 10)
    after=$(ticks)
    echo "direct $round $dt" >>"$tmp/throughput"
    echo "relay $round $rt $(( after - before ))" >>"$tmp/throughput"
done

echo "SELECT 1 through bookbench relay against direct, $runs alternating rounds of $duration s (pgbench on CPU 1; relay and PostgreSQL unpinned)"
python3 - "$tmp/latency" "$tmp/throughput" "$duration" <<'PY'
import statistics, sys

def ms(rt):
    rt = rt.strip()
    if rt == "0":
        return 0.0
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if rt.endswith(unit):
            return float(rt[: -len(unit)]) * f
    raise ValueError(rt)

def spread(v):
    return f"{statistics.median(v):+.3f} ms [{min(v):+.3f}, {max(v):+.3f}]"

print("\none client: round trip through the relay, less direct, less asked (median [range] over rounds)")
rows = {}
for line in open(sys.argv[1]):
    rt, _, direct, relayed = line.split()
    rows.setdefault(rt, []).append(float(relayed) - float(direct) - ms(rt))
for rt, excess in rows.items():
    print(f"  {rt:>6}: {spread(excess)}   (tolerance: {max(0.1, 0.1 * ms(rt)):.2f} ms)")

direct, relay, cpu = {}, {}, []
duration = float(sys.argv[3])
for line in open(sys.argv[2]):
    tool, r, tps, *rest = line.split()
    (direct if tool == "direct" else relay)[r] = float(tps)
    if rest:
        # Clock ticks of 10 ms over the run's statements.
        cpu.append(int(rest[0]) * 1e4 / (float(tps) * duration))
ratios = [relay[r] / direct[r] for r in direct if r in relay]
print("\nten clients at 0 ms:")
print(f"  transactions/s through the relay / direct: {statistics.median(ratios):.3f} [{min(ratios):.3f}, {max(ratios):.3f}]")
print(f"  relay CPU per statement: {statistics.median(cpu):.1f} us [{min(cpu):.1f}, {max(cpu):.1f}]")
PY
echo
echo "the relay's own lateness (mean over its writes so far, after each round trip's runs):"
grep '^connections' "$tmp/relay.out" | awk '{print "  " $0}' | paste -d' ' <(printf '%s\n' $rtts) - | sed 's/^/  /'
