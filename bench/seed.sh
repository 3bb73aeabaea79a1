#!/usr/bin/env bash
# How fast does `bookbench seed` fill the database, against plain SQL making
# the same row counts with the same keys, indexes and foreign keys on the
# same cluster, in the same run?
#
#   bench/seed.sh [SCALE]        (default: full; BOOKBENCH_HOME as usual)
#
# Prints both wall times, their ratio, and the seed's peak memory. Nothing is
# pinned: the generator and PostgreSQL share the machine's cores as a user's
# seed would. The baseline tables (b_*) are dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-full}

cargo build --release --quiet -p bookbench
bin=target/release/bookbench
"$bin" db start >/dev/null
url=$("$bin" db url)

echo "== bookbench seed --scale $scale (realistic values)"
/usr/bin/time -f "seed_wall_s %e\nseed_max_rss_kib %M" -o /tmp/bookbench-seed-time.$$ \
    "$bin" seed --scale "$scale" --force
cat /tmp/bookbench-seed-time.$$
seed_s=$(awk '/seed_wall_s/ {print $2}' /tmp/bookbench-seed-time.$$)
rss=$(awk '/seed_max_rss_kib/ {print $2}' /tmp/bookbench-seed-time.$$)
rm -f /tmp/bookbench-seed-time.$$

read -r authors books book_genres < <(psql "$url" -XAtF' ' -c \
    "SELECT authors, books, book_genres FROM dataset")
echo "== plain SQL: $authors authors, $books books, $book_genres book genres (trivial values)"
start=$(date +%s.%N)
psql "$url" -X -q -1 -v authors="$authors" -v books="$books" -v book_genres="$book_genres" \
    -f bench/seed-baseline.sql | grep -E '^baseline_'
end=$(date +%s.%N)
psql "$url" -X -q -c "DROP TABLE b_book_genre, b_book, b_author"
sql_s=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')

awk -v s="$seed_s" -v q="$sql_s" -v r="$rss" 'BEGIN {
    printf "\nseed_s %.1f  plain_sql_s %.1f  ratio(seed/sql) %.2f  seed_peak_rss_mib %.0f\n", s, q, s / q, r / 1024 }'
