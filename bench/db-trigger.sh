#!/usr/bin/env bash
# Can a PostgreSQL backend's instructions be counted window by window under
# callgrind without ptrace? A throwaway cluster runs under callgrind with
# --dump-after=ProcessLogMemoryContextInterrupt: `SELECT
# pg_log_backend_memory_contexts(PID)` from another session makes the
# backend dump its counts since its last dump, from inside, even while it
# waits for its client (which `callgrind_control`, through ptrace, cannot do
# without ending it). One session runs the same two catalog queries in each
# of WINDOWS windows, and then sits idle through as many; the script prints
# each window's instructions. Needs PostgreSQL 15's server binaries, valgrind
# and root (the cluster runs as the postgres user); nothing is left behind.
#
#   bench/db-trigger.sh          (WINDOWS=4 PORT=45432)
set -euo pipefail
windows=${WINDOWS:-4}
port=${PORT:-45432}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
dir=$(mktemp -d)
chmod 755 "$dir"
chown postgres "$dir"
session=
cleanup() {
    [ -n "$session" ] && { exec 7>&- || true; }
    su postgres -s /bin/sh -c "$bin/pg_ctl stop -D $dir/data -m fast" >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
su postgres -s /bin/sh -c "$bin/initdb -D $dir/data -U postgres --auth=trust" >/dev/null
mkdir "$dir/out" && chown postgres "$dir/out"
cat >"$dir/postgres.sh" <<WRAP
#!/bin/sh
exec valgrind --tool=callgrind --dump-after=ProcessLogMemoryContextInterrupt \
    --callgrind-out-file=$dir/out/cg.%p --vgdb=no $bin/postgres "\$@"
WRAP
chmod 755 "$dir/postgres.sh"
su postgres -s /bin/sh -c "$bin/pg_ctl start -D $dir/data -p $dir/postgres.sh -w -t 120 -l $dir/log \
    -o '-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir'" >/dev/null
sql() { psql -h 127.0.0.1 -p "$port" -U postgres -tA -c "$1"; }
mkfifo "$dir/in"
psql -h 127.0.0.1 -p "$port" -U postgres -tA <"$dir/in" >"$dir/session.out" 2>&1 &
exec 7>"$dir/in"
session=1
echo "SELECT pg_backend_pid();" >&7
for _ in $(seq 100); do [ -s "$dir/session.out" ] && break; sleep 0.1; done
pid=$(head -1 "$dir/session.out")
# A window ends when the backend has dumped: its next dump file is there.
trigger() {
    local n=$1
    sql "SELECT pg_log_backend_memory_contexts($pid)" >/dev/null
    for _ in $(seq 300); do [ -e "$dir/out/cg.$pid.$n" ] && return; sleep 0.1; done
    echo "error: backend $pid did not dump ($n)" >&2
    exit 1
}
instructions() { awk '/^summary:/ { print $2 }' "$dir/out/cg.$pid.$1"; }
trigger 1   # from the backend's start (with what it inherited from the postmaster)
n=1
printf '%-8s %6s %14s\n' window kind instructions
for kind in queries idle; do
    for w in $(seq "$windows"); do
        if [ "$kind" = queries ]; then
            echo "SELECT count(*) FROM pg_class; SELECT count(*) FROM pg_attribute;" >&7
            sleep 1
        fi
        n=$((n + 1))
        trigger "$n"
        printf '%-8s %6s %14s\n' "$w" "$kind" "$(instructions "$n")"
    done
done
echo "backend $pid alive after $((n)) dumps: $(sql "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid")"
