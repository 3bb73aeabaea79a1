"""A small notes API: not the bookstore, an example of an app of one's own
measured by `bookbench matrix` (docs/your-app.md).

FastAPI over PostgreSQL with psycopg 3 and its connection pool; the
database is DATABASE_URL, its table made by init_db.py."""
import os
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI, HTTPException, Query
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, Field

LIST_NOTES = "SELECT id, title, body, created_at FROM note ORDER BY id LIMIT %s OFFSET %s"
GET_NOTE = "SELECT id, title, body, created_at FROM note WHERE id = %s"
INSERT_NOTE = "INSERT INTO note (title, body) VALUES (%s, %s) RETURNING id, title, body, created_at"

pool = AsyncConnectionPool(
    os.environ["DATABASE_URL"],
    min_size=1,
    max_size=int(os.environ.get("DB_POOL_SIZE", "10")),
    open=False,
    kwargs={"row_factory": dict_row},
)


@asynccontextmanager
async def lifespan(_app):
    await pool.open()
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


class NoteIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=10_000)


class Note(NoteIn):
    id: int
    created_at: datetime


@app.get("/")
async def health():
    return {"status": "ok"}


@app.get("/notes", response_model=list[Note])
async def list_notes(limit: int = Query(20, ge=1, le=100), offset: int = Query(0, ge=0)):
    async with pool.connection() as conn:
        cur = await conn.execute(LIST_NOTES, (limit, offset))
        return await cur.fetchall()


@app.get("/notes/{note_id}", response_model=Note)
async def get_note(note_id: int):
    async with pool.connection() as conn:
        cur = await conn.execute(GET_NOTE, (note_id,))
        row = await cur.fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such note")
    return row


@app.post("/notes", response_model=Note, status_code=201)
async def create_note(note: NoteIn):
    async with pool.connection() as conn:
        cur = await conn.execute(INSERT_NOTE, (note.title, note.body))
        return await cur.fetchone()
