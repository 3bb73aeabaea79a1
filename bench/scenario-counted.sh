#!/usr/bin/env bash
# Does a scenario read from its file cost the load generator more than one
# compiled in? The same requests, counted: `bookbench load` of the commit
# before scenario files (OLD, its scenarios compiled in as Rust) and of this
# checkout (the built-in scenario, now a file compiled into the binary, and
# the same file read from disk with --scenario-file), taking turns under
# valgrind's callgrind, each sending exactly REQUESTS requests on 10
# connections to one Rust server on CPU 0 (native). Prints each run's
# user-space instructions and system calls per request.
#
#   OLD=path/to/old/bookbench bench/scenario-counted.sh
#       (REQUESTS=100000 RUNS=2 PORT=8099 SCENARIOS="hello-post author-detail")
#
# OLD is a release build of the commit before scenario files, for example:
#   git worktree add /tmp/old 44ad2f2 && (cd /tmp/old && cargo build --release)
# Needs valgrind and a seeded database (bookbench seed). Only 127.0.0.1 is
# loaded. It takes /tmp/bookbench-bench.lock, so no two benchmarks overlap.
set -euo pipefail
cd "$(dirname "$0")/.."

old=${OLD:?"set OLD to the bookbench binary of the commit before scenario files"}
if [ -z "${BOOKBENCH_BENCH_LOCKED:-}" ]; then
    cargo build --release --quiet -p bookbench
    export BOOKBENCH_BENCH_LOCKED=1
    exec flock --close /tmp/bookbench-bench.lock "$0" "$@"
fi

requests=${REQUESTS:-100000}
runs=${RUNS:-2}
port=${PORT:-8099}
scenarios=${SCENARIOS:-"hello-post author-detail"}
url="http://127.0.0.1:$port"
tmp=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
command -v valgrind >/dev/null || { echo "error: valgrind is missing: apt-get install valgrind" >&2; exit 1; }
. bench/counted.sh

bin=target/release/bookbench
serve "$bin" "$port" "$tmp/server.log"

echo "server: bookbench serve --workers 1 on CPU 0; each load under callgrind on CPU 1, 10 connections, one thread, $requests requests each"
printf '%-20s %-28s %3s %9s %10s %9s\n' scenario load run requests instr/req sys/req
: >"$tmp/results"
for scenario in $scenarios; do
    cp "crates/load/scenarios/$scenario.toml" "$tmp/$scenario.toml"
    for i in $(seq "$runs"); do
        for how in old-compiled-in built-in-file scenario-file; do
            case $how in
                old-compiled-in) cmd=("$old" load "$url" --scenario "$scenario") ;;
                built-in-file) cmd=("$bin" load "$url" --scenario "$scenario") ;;
                scenario-file) cmd=("$bin" load "$url" --scenario-file "$tmp/$scenario.toml") ;;
            esac
            counted "$tmp/cg.$scenario.$how.$i" "${cmd[@]}" -c 10 -t 1 -n "$requests" -d 10m \
                --quiet --json "$tmp/load.json" >/dev/null
            n=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["requests"], r["ok"])' "$tmp/load.json")
            set -- $n
            [ "$1" = "$2" ] || { echo "error: $how $scenario: $2 of $1 requests succeeded" >&2; exit 1; }
            echo "$scenario $how $i $1 $(split "$tmp/cg.$scenario.$how.$i" /bookbench)" >>"$tmp/results"
        done
    done
done
awk '{ printf "%-20s %-28s %3d %9d %10.0f %9.2f\n", $1, $2, $3, $4, $5 / $4, $6 / $4 }' "$tmp/results"
awk '{ k = $1 " " $2; s[k] += $5 / $4; c[k]++ }
     END { for (k in s) { split(k, p, " "); m[p[1], p[2]] = s[k] / c[k]; sc[p[1]] = 1 }
           printf "\nmean instructions a request, against the old binary'"'"'s compiled-in scenario:\n"
           for (x in sc) printf "%-20s built-in file %.4f, --scenario-file %.4f\n", x, m[x, "built-in-file"] / m[x, "old-compiled-in"], m[x, "scenario-file"] / m[x, "old-compiled-in"] }' "$tmp/results"
