"""The notes table and 1,000 notes, made once: `bookbench matrix --setup`
runs it with DATABASE_URL set. Run again, it leaves what is there."""
import os

import psycopg

SCHEMA = """
CREATE TABLE IF NOT EXISTS note (
    id bigserial PRIMARY KEY,
    title text NOT NULL,
    body text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
)
"""
FIXTURES = 1_000

with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    conn.execute(SCHEMA)
    (count,) = conn.execute("SELECT count(*) FROM note").fetchone()
    if count == 0:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO note (title, body) VALUES (%s, %s)",
                [(f"Note {i}", f"The body of note {i}. " * 8) for i in range(FIXTURES)],
            )
    print(f"notes: {max(count, FIXTURES)}")
