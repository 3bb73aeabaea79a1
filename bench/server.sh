#!/usr/bin/env bash
# The server benchmark: `bookbench serve --workers 1` pinned to CPU 0, wrk
# pinned to CPU 1, each scenario beside its ceiling measured in the same run:
#
#   hello-get                 GET /                   vs bare axum (examples/hello.rs), same core
#   author-detail             GET /author/{random}    vs pgbench running the endpoint's SQL
#   author-list               GET /author?limit=20    vs pgbench, same SQL
#   author-offset-50k         ...&offset=50000        vs pgbench, same SQL; and the plain OFFSET query
#   author-offset-500k        ...&offset=500000       vs pgbench, same SQL; and the plain OFFSET query
#   author-keyset             ...&after={random}      vs pgbench, same SQL
#
# pgbench runs with the server's connection count, pinned to CPU 1 like wrk;
# PostgreSQL is not pinned (it runs on both cores, in both measurements).
# While each point runs, the CPU time of the server and of every PostgreSQL
# process is read from /proc, and divided by the requests served.
#
#   bench/server.sh              (BOOKBENCH_HOME as usual; a `full` data set)
#
# Environment: DURATION (s, default 15), WARMUP (s, 3), CONNECTIONS (10),
# HELLO_CONNECTIONS (50), RSS_CONNECTIONS (100), SAMPLE (random authors, 10000).
# Writes a table to standard output; raw outputs stay in a temporary
# directory that is named at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${DURATION:-15}
warmup=${WARMUP:-3}
conns=${CONNECTIONS:-10}
hello_conns=${HELLO_CONNECTIONS:-50}
rss_conns=${RSS_CONNECTIONS:-100}
sample=${SAMPLE:-10000}
port=${PORT:-18080}
hello_port=$((port + 1))
tick=$(getconf CLK_TCK)

cargo build --release --quiet -p bookbench
cargo build --release --quiet -p bookbench-server --example hello
bin=$PWD/target/release/bookbench
hello_bin=$PWD/target/release/examples/hello
"$bin" db start >/dev/null
url=$("$bin" db url)
postmaster=$("$bin" db status | sed -n 's/.*running (pid \([0-9]*\)).*/\1/p')
[ -n "$postmaster" ] || { echo "the embedded cluster is not running" >&2; exit 1; }

psql_q() { PGOPTIONS="-c client_min_messages=warning" psql "$url" -XAtq -v ON_ERROR_STOP=1 "$@"; }
scale=$(psql_q -c "SELECT coalesce(scale, '?') || ' (' || authors || ' authors, ' || books || ' books)' FROM dataset")
case "$scale" in
    full*) ;;
    *) echo "warning: data set is $scale, not full: offsets 50k/500k may be past the end" >&2 ;;
esac

work=$(mktemp -d /tmp/bookbench-server-bench.XXXXXX)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    psql_q -c "DROP TABLE IF EXISTS bench_author_sample" 2>/dev/null || true
}
trap cleanup EXIT

# The visibility map must be current for the deferred join's index-only
# scan; on a table that is already vacuumed this is quick.
psql_q -c "VACUUM (ANALYZE) author"

# The random authors: the same sample for wrk (a file) and pgbench (a table
# that its scripts index with a random n).
psql_q <<SQL
DROP TABLE IF EXISTS bench_author_sample;
CREATE TABLE bench_author_sample (n integer PRIMARY KEY, id uuid NOT NULL);
INSERT INTO bench_author_sample
SELECT row_number() OVER (), id FROM (SELECT id FROM author ORDER BY random() LIMIT $sample) AS s;
ANALYZE bench_author_sample;
SQL
psql_q -c "SELECT id FROM bench_author_sample ORDER BY n" > "$work/ids.txt"
n_ids=$(wc -l < "$work/ids.txt")

# ---- the SQL of each endpoint (crates/server/src/routes/author.rs) ----
cols="id, name, country_code, email, phone, contact_address, contract_started, contract_finished, contract_value"
acols="a.id, a.name, a.country_code, a.email, a.phone, a.contact_address, a.contract_started, a.contract_finished, a.contract_value"
pick="(SELECT id FROM bench_author_sample WHERE n = :n)"
cat > "$work/author-detail.sql" <<SQL
\set n random(1, $n_ids)
\startpipeline
SELECT $cols FROM author WHERE id = $pick;
SELECT b.id, b.title, b.published, ARRAY(SELECT g.name FROM book_genre AS bg JOIN genre AS g ON g.id = bg.genre_id WHERE bg.book_id = b.id ORDER BY g.name) AS genres FROM book AS b WHERE b.author_id = $pick ORDER BY b.published NULLS LAST, b.title, b.id;
\endpipeline
SQL
echo "SELECT $cols FROM author ORDER BY id LIMIT 20;" > "$work/author-list.sql"
for off in 50000 500000; do
    echo "SELECT $acols FROM (SELECT id FROM author ORDER BY id LIMIT 20 OFFSET $off) AS page JOIN author AS a ON a.id = page.id ORDER BY a.id;" \
        > "$work/author-offset-$((off / 1000))k.sql"
    echo "SELECT $cols FROM author ORDER BY id LIMIT 20 OFFSET $off;" > "$work/plain-offset-$((off / 1000))k.sql"
done
cat > "$work/author-keyset.sql" <<SQL
\set n random(1, $n_ids)
SELECT $cols FROM author WHERE id > $pick ORDER BY id LIMIT 20;
SQL

# ---- wrk request scripts ----
cat > "$work/random.lua" <<'LUA'
local ids = {}
local prefix, suffix = "", ""
function init(args)
    prefix, suffix = args[2] or "", args[3] or ""
    for line in io.lines(args[1]) do ids[#ids + 1] = line end
    math.randomseed(os.time())
end
function request()
    return wrk.format("GET", prefix .. ids[math.random(#ids)] .. suffix)
end
LUA

# ---- measurement helpers ----
cpu_of() { # utime+stime ticks of the given pids (those still alive)
    local total=0 p f
    for p in "$@"; do
        f=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
        total=$((total + ${f% *} + ${f#* }))
    done
    echo "$total"
}
pg_pids() { echo "$postmaster" $(pgrep -P "$postmaster" || true); }
# Samples CPU one second into a run and one second before its end:
# prints "server_ticks pg_ticks seconds".
sample_cpu() {
    local spid=$1 len=$2 s0 p0 s1 p1 t0 t1
    sleep 1
    t0=$(date +%s.%N); s0=$(cpu_of $spid); p0=$(cpu_of $(pg_pids))
    sleep $((len - 2))
    t1=$(date +%s.%N); s1=$(cpu_of $spid); p1=$(cpu_of $(pg_pids))
    echo "$((s1 - s0)) $((p1 - p0)) $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
}
wrk_run() { # name conns len url [lua args...]; prints requests/s and errors
    local name=$1 c=$2 len=$3 target=$4; shift 4
    if [ $# -gt 0 ]; then
        taskset -c 1 wrk -t1 -c"$c" -d"${len}s" --latency -s "$work/random.lua" "$target" -- "$@" > "$work/$name.wrk"
    else
        taskset -c 1 wrk -t1 -c"$c" -d"${len}s" --latency "$target" > "$work/$name.wrk"
    fi
}
wrk_rps() { awk '/^Requests\/sec/ {print $2}' "$work/$1.wrk"; }
wrk_errors() {
    awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$work/$1.wrk"
}
pgbench_run() { # name conns len script
    taskset -c 1 pgbench -n -M prepared -c "$2" -j 1 -T "$3" -f "$4" "$url" > "$work/$1.pgbench" 2>&1
}
pgbench_tps() { awk '/^tps/ {print $3; exit}' "$work/$1.pgbench"; }
start_server() { # pid in $server_pid, waits until it serves
    taskset -c 0 "$@" > "$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
        curl -sf "http://127.0.0.1:$hello_port/" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "server did not start:" >&2; cat "$work/server.log" >&2; exit 1
}
stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""; }

declare -A rps errs ceil sticks pticks rsec
measure_wrk() { # name conns url [lua args]
    local name=$1 c=$2 target=$3; shift 3
    wrk_run "$name-warmup" "$c" "$warmup" "$target" "$@"
    wrk_run "$name" "$c" "$duration" "$target" "$@" &
    local w=$!
    read -r sticks[$name] pticks[$name] rsec[$name] < <(sample_cpu "$server_pid" "$duration")
    wait $w
    rps[$name]=$(wrk_rps "$name"); errs[$name]=$(wrk_errors "$name")
}

# ---- the same rows: deferred join vs plain OFFSET ----
same=$(psql_q -c "
SELECT (SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT id FROM author ORDER BY id LIMIT 20 OFFSET 500000) p)
     = (SELECT string_agg(a.id::text, ',' ORDER BY a.id) FROM (SELECT id FROM author ORDER BY id LIMIT 20 OFFSET 500000) AS page JOIN author AS a ON a.id = page.id)")
echo "deferred join gives the plain query's rows at offset 500000: $same"

# ---- hello-get: bare axum first, then the server ----
start_server "$hello_bin" "127.0.0.1:$hello_port"
measure_wrk hello-baseline "$hello_conns" "http://127.0.0.1:$hello_port/"
stop_server

start_server "$bin" serve --listen "127.0.0.1:$port" --workers 1 --pool-size "$conns" --database-url "$url"
base="http://127.0.0.1:$port"
measure_wrk hello-get "$hello_conns" "$base/"
measure_wrk author-detail "$conns" "$base/" "$work/ids.txt" "/author/" ""
measure_wrk author-list "$conns" "$base/author?limit=20"
measure_wrk author-offset-50k "$conns" "$base/author?limit=20&offset=50000"
measure_wrk author-offset-500k "$conns" "$base/author?limit=20&offset=500000"
measure_wrk author-keyset "$conns" "$base/" "$work/ids.txt" "/author?limit=20&after=" ""
# Memory at many connections: the peak resident set after a detail run.
wrk_run rss "$rss_conns" "$duration" "$base/" "$work/ids.txt" "/author/" ""
rss_kib=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
rss_rps=$(wrk_rps rss); rss_errs=$(wrk_errors rss)
stop_server

# ---- the database's ceiling: pgbench, same SQL, same connections ----
measure_pgbench() { # name
    local name=$1
    pgbench_run "$name-warmup" "$conns" "$warmup" "$work/$name.sql"
    pgbench_run "$name-pg" "$conns" "$duration" "$work/$name.sql" &
    local p=$!
    read -r _ pticks[$name-pg] rsec[$name-pg] < <(sample_cpu 0 "$duration")
    wait $p || true
    ceil[$name]=$(pgbench_tps "$name-pg")
}
for s in author-detail author-list author-offset-50k author-offset-500k author-keyset; do
    measure_pgbench "$s"
done
# The plain OFFSET queries are slow: a fixed number of transactions instead.
for k in 50k 500k; do
    t=$([ "$k" = 50k ] && echo 5 || echo 1)
    taskset -c 1 pgbench -n -M prepared -c "$conns" -j 1 -t "$t" -f "$work/plain-offset-$k.sql" "$url" \
        > "$work/plain-offset-$k.pgbench" 2>&1
done

# ---- report ----
per_req_us() { # ticks seconds rate -> microseconds of CPU per request
    awk -v t="$1" -v s="$2" -v r="$3" -v hz="$tick" 'BEGIN { if (r > 0 && s > 0) printf "%.0f", t / hz / (r * s) * 1e6; else print "-" }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (at the start: $load_start)"
echo "data: $scale; server: --workers 1 --pool-size $conns on CPU 0; wrk and pgbench on CPU 1; $duration s per point"
echo
echo "| scenario | server req/s | errors | ceiling | ceiling req/s | ratio | server CPU µs/req | PostgreSQL CPU µs/req (server run) | PostgreSQL CPU µs/req (pgbench) | server/PostgreSQL CPU |"
echo "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|"
row() { # name ceiling-label ceiling-rps ceiling-pg-key
    local n=$1 label=$2 c=$3 key=$4
    local r=${rps[$n]} s p pgb
    s=$(per_req_us "${sticks[$n]}" "${rsec[$n]}" "$r")
    p=$(per_req_us "${pticks[$n]}" "${rsec[$n]}" "$r")
    pgb=$([ -n "$key" ] && per_req_us "${pticks[$key]}" "${rsec[$key]}" "$c" || echo "-")
    echo "| $n | $r | ${errs[$n]} | $label | $c | $(ratio "$r" "$c") | $s | $p | $pgb | $(ratio "$s" "$p") |"
}
row hello-get "bare axum" "${rps[hello-baseline]}" ""
for s in author-detail author-list author-offset-50k author-offset-500k author-keyset; do
    row "$s" "pgbench" "${ceil[$s]}" "$s-pg"
done
echo
for k in 50k 500k; do
    plain=$(pgbench_tps "plain-offset-$k")
    echo "plain ORDER BY id LIMIT 20 OFFSET ${k}: $plain tps (pgbench, $conns clients); server author-offset-$k: ${rps[author-offset-$k]} req/s = $(ratio "${rps[author-offset-$k]}" "$plain")x"
done
echo "server peak RSS at $rss_conns connections (author-detail, $rss_rps req/s, $rss_errs errors): $((rss_kib / 1024)) MiB"
echo
echo "raw outputs: $work"
