# Shell functions for the counted benchmarks (sourced, not run):
#   serve BIN PORT LOG            the database, and one Rust server on CPU 0,
#                                 answering on 127.0.0.1:PORT (its pid in
#                                 $server_pid, for the caller's cleanup)
#   counted OUT PROGRAM ARGS...   runs PROGRAM under callgrind on CPU 1
#   split DUMP SUFFIX             prints "instructions system_calls own libc rest"
# They need valgrind, curl and python3.

serve() {
    local bin=$1 port=$2 log=$3
    "$bin" db start >/dev/null
    taskset -c 0 "$bin" serve --workers 1 --listen "127.0.0.1:$port" >"$log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "error: the server did not come up:" >&2
    cat "$log" >&2
    exit 1
}

# Under callgrind with system calls counted; the dump is read whole, the
# process's life included (start-up and connecting are a fixed cost that
# the run's length makes small).
counted() {
    local out=$1
    shift
    taskset -c 1 setarch -R valgrind --tool=callgrind --collect-systime=nsec \
        --callgrind-out-file="$out" "$@" 2>"$out.log"
}

# "instructions system_calls own libc rest" of a dump: the summary's
# totals, and the instructions by the object they ran in (each cost line's
# self cost; the line after a `calls=` line is a call's inclusive cost, and
# is skipped); own is the object whose path ends in $2.
split() {
    python3 - "$1" "$2" <<'PY'
import re, sys
dump, own = sys.argv[1], sys.argv[2]
events, totals, names, obj = [], {}, {}, None
by = {"own": 0, "libc": 0, "rest": 0}
skip = False
for line in open(dump, errors="replace"):
    line = line.rstrip("\n")
    if line.startswith("events:"):
        events = line.split()[1:]
    elif line.startswith("summary:"):
        totals = dict(zip(events, map(int, line.split()[1:])))
    elif line.startswith(("ob=", "cob=")):
        # Names are compressed: `(3) /path` once, `(3)` after; a `cob=`
        # (the object of a call) may name one first.
        called = line.startswith("cob=")
        value = line.split("=", 1)[1]
        m = re.match(r"\((\d+)\)(?: (.*))?", value)
        if m and m.group(2):
            names[m.group(1)] = m.group(2)
        if not called:
            obj = names.get(m.group(1), "?") if m else value
    elif line.startswith("calls="):
        skip = True
    elif line[:1].isdigit() or line[:1] in "+-*":
        if skip:
            skip = False
            continue
        fields = line.split()
        if len(fields) > 1 and obj is not None:
            n = int(fields[1])
            key = "own" if obj.endswith(own) else "libc" if "/libc.so" in obj else "rest"
            by[key] += n
print(totals.get("Ir", 0), totals.get("sysCount", 0), by["own"], by["libc"], by["rest"])
PY
}

