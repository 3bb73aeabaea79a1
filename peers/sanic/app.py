"""The bookstore in Sanic with Tortoise ORM, as the blog post's rewrite:
one process, asyncpg underneath, marshmallow schemas validating input and
marshalling output.

Environment:
  DATABASE_URL   postgres://user:pass@host:port/db (required)
  HOST           the address to listen on (default 127.0.0.1)
  PORT           the port to listen on
  DB_POOL_SIZE   the most connections in the pool (default 10)

Run: `python app.py`.
"""

import json
import logging
import os
import re

from marshmallow import ValidationError
from sanic import Sanic
from sanic.exceptions import SanicException
from sanic.response import json as json_response
from sanic.response import text
from tortoise.contrib.sanic import register_tortoise
from tortoise.transactions import in_transaction

import marshallers
from models import Author, Book, Country, Genre

BODY_LIMIT = 64 * 1024
UUID_PATH = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")

logger = logging.getLogger("bookstore")
app = Sanic("bookstore")
# Sanic refuses larger bodies itself (413); the 64 KiB rule is checked
# below, so that the answer is the contract's.
app.config.REQUEST_MAX_SIZE = 1024 * 1024


class ApiError(Exception):
    def __init__(self, status, message, errors=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def error_response(status, message, errors=None):
    body = {"error": message}
    if errors is not None:
        body["errors"] = errors
    return json_response(body, status=status)


@app.exception(ApiError)
async def api_error(request, e):
    return error_response(e.status, e.message, e.errors)


@app.exception(SanicException)
async def http_error(request, e):
    if e.status_code >= 500:
        return error_response(e.status_code, "internal error")
    return error_response(e.status_code, str(e) or "error")


@app.exception(Exception)
async def internal_error(request, e):
    logger.exception("internal error")
    return error_response(500, "internal error")


def flatten(errors):
    out = {}
    for field, messages in errors.items():
        if isinstance(messages, dict):
            flat = []
            for index, inner in messages.items():
                inner = inner if isinstance(inner, list) else [str(inner)]
                flat.extend(f"item {index}: {m}" for m in inner)
            messages = flat
        out[field] = [str(m) for m in messages]
    return out


def validate_get(request, schema):
    args = request.get_args(keep_blank_values=True)
    repeated = {k: ["must be given at most once"] for k, v in args.items() if len(v) > 1}
    if repeated:
        raise ApiError(422, "invalid query parameters", repeated)
    try:
        return schema.load({k: v[0] for k, v in args.items()})
    except ValidationError as e:
        raise ApiError(422, "invalid query parameters", flatten(e.messages)) from None


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def body_bytes(request):
    body = request.body or b""
    if len(body) > BODY_LIMIT:
        raise ApiError(413, f"the request body is over {BODY_LIMIT // 1024} KiB")
    return body


def json_object(body):
    try:
        value = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        # RecursionError: a body of nested `[` under the size limit nests
        # deeper than the parser recurses.
        raise ApiError(400, "the request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return value


def is_json(content_type):
    essence = (content_type or "").split(";")[0].strip().lower()
    return essence == "application/json" or (essence.startswith("application/") and essence.endswith("+json"))


def validate_post(request, schema):
    if not is_json(request.headers.get("content-type")):
        raise ApiError(415, "the request body must be application/json")
    data = json_object(body_bytes(request))
    try:
        return schema.load(data)
    except ValidationError as e:
        raise ApiError(422, "invalid input", flatten(e.messages)) from None


def uuid_or_404(raw):
    if not UUID_PATH.match(raw):
        raise ApiError(404, "not found")
    return raw.lower()


def created(kind, ident):
    return json_response({"id": str(ident)}, status=201, headers={"Location": f"/{kind}/{ident}"})


def paged(query, args):
    query = query.order_by("id")
    if "after" in args:
        query = query.filter(id__gt=args["after"])
    else:
        query = query.offset(args.get("offset", 0))
    return query.limit(args["limit"])


@app.route("/", methods=["GET", "POST"])
async def hello(request):
    if request.method == "GET":
        return text("Hello, World!")
    body = json_object(body_bytes(request))
    if "id" not in body:
        raise ApiError(400, "Missing required parameter 'id'")
    ident = body["id"]
    rendered = ident if isinstance(ident, str) else json.dumps(ident, separators=(",", ":"))
    return text(f"Hello, {rendered}")


@app.route("/author", methods=["GET", "POST"])
async def author(request):
    """View all authors, or create a new one."""
    if request.method == "GET":
        args = validate_get(request, marshallers.page)
        authors = await paged(Author.all(), args)
        return json_response(marshallers.authors.dump(authors))

    author = await Author.create(**validate_post(request, marshallers.author))
    return created("author", author.id)


@app.get("/author/<author_id:str>")
async def author_detail(request, author_id):
    author = await Author.get_or_none(id=uuid_or_404(author_id))
    if author is None:
        raise ApiError(404, "no such author")
    books = (
        await Book.filter(author_id=author.id)
        .order_by("published", "title", "id")
        .prefetch_related("genres")
    )
    detail = marshallers.author_detail.dump(author)
    detail["books"] = marshallers.book_summaries.dump(books)
    detail["genres"] = author.genres_of(books)
    return json_response(detail)


@app.route("/book", methods=["GET", "POST"])
async def book(request):
    """View all books, or create a new one."""
    if request.method == "GET":
        args = validate_get(request, marshallers.page)
        books = await paged(Book.all(), args).prefetch_related("genres")
        return json_response(marshallers.books.dump(books))

    data = validate_post(request, marshallers.book)
    if not await Author.exists(id=data["author_id"]):
        raise ApiError(422, "invalid input", {"author_id": ["no such author"]})
    names = data.pop("genres")
    async with in_transaction():
        book = await Book.create(**data)
        await book.genres.add(*await Genre.filter(name__in=names))
    return created("book", book.id)


@app.get("/book/<book_id:str>")
async def book_detail(request, book_id):
    book = await Book.get_or_none(id=uuid_or_404(book_id)).prefetch_related("genres", "author")
    if book is None:
        raise ApiError(404, "no such book")
    return json_response(marshallers.book_detail.dump(book))


@app.get("/genre")
async def genres(request):
    return json_response(marshallers.genres.dump(await Genre.all().order_by("name")))


@app.get("/country")
async def countries(request):
    return json_response(marshallers.countries.dump(await Country.all().order_by("code")))


def tortoise_url():
    url = os.environ["DATABASE_URL"]
    scheme, rest = url.split("://", 1)
    if scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"DATABASE_URL must be a postgres:// URL, not {scheme}://")
    pool = int(os.environ.get("DB_POOL_SIZE", "10"))
    sep = "&" if "?" in rest else "?"
    return f"postgres://{rest}{sep}minsize=1&maxsize={pool}"


register_tortoise(app, db_url=tortoise_url(), modules={"models": ["models"]})


@app.before_server_start
async def load_reference(app):
    """The static reference tables, read once (after Tortoise started)."""
    marshallers.Reference.load(
        await Country.all().values_list("code", flat=True),
        await Genre.all().values_list("name", "id"),
    )


if __name__ == "__main__":
    app.run(
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        single_process=True,
        access_log=False,
        motd=False,
    )
