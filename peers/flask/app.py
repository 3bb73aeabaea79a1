"""The bookstore in Flask, as the blog post wrote it: Flask-SQLAlchemy models
with relationships, marshmallow schemas that validate input and marshal
output.

Environment:
  DATABASE_URL   postgres://user:pass@host:port/db (required)
  PORT           the port to listen on at 127.0.0.1 (`python app.py`)
  DB_DRIVER      psycopg2 (default) or pg8000
  DB_POOL_SIZE   connections kept in the pool (default 10)

Run: `python app.py` (the development server) or
`gunicorn -w 1 -k sync|gevent|eventlet app:app`.
"""

import json
import os
import platform
import re
import sys

from flask import Blueprint, Flask, Response, jsonify, request
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

import marshallers
from models import Author, Book, Country, Genre, db

BODY_LIMIT = 64 * 1024
DRIVER = os.environ.get("DB_DRIVER", "psycopg2")
UUID_PATH = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


def _prepare_driver():
    """Makes the chosen driver importable and cooperative with the worker.

    Under PyPy psycopg2 is psycopg2cffi, registered under psycopg2's name.
    Under gevent psycopg2's C socket code must yield to the hub (psycogreen);
    under eventlet, to its hub (eventlet's own patcher). pg8000 is pure
    Python and is patched with the socket module. Order matters: gevent or
    eventlet first (gunicorn's worker), then psycopg2cffi, then the wait
    callback.
    """
    if DRIVER != "psycopg2":
        return
    if platform.python_implementation() == "PyPy":
        from psycopg2cffi import compat

        compat.register()
    if "gevent" in sys.modules:
        from gevent import monkey

        if monkey.is_module_patched("socket"):
            from psycogreen.gevent import patch_psycopg

            patch_psycopg()
    if "eventlet" in sys.modules:
        from eventlet import patcher

        if patcher.is_monkey_patched("socket"):
            # eventlet greens psycopg2 when it patches, if psycopg2 was
            # importable then; psycopg2cffi is registered only now.
            from eventlet.support import psycopg2_patcher

            psycopg2_patcher.make_psycopg_green()


def database_uri():
    url = os.environ["DATABASE_URL"]
    scheme, rest = url.split("://", 1)
    if scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"DATABASE_URL must be a postgres:// URL, not {scheme}://")
    return f"postgresql+{DRIVER}://{rest}"


class ApiError(Exception):
    def __init__(self, status, message, errors=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def flatten(errors):
    """marshmallow's errors as the contract's map: field -> list of messages.
    A list's item errors (a dict by index) become messages naming the item."""
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


def validate_get(schema):
    repeated = {k: ["must be given at most once"] for k, v in request.args.lists() if len(v) > 1}
    if repeated:
        raise ApiError(422, "invalid query parameters", repeated)
    try:
        return schema.load(request.args.to_dict(flat=True))
    except ValidationError as e:
        raise ApiError(422, "invalid query parameters", flatten(e.messages)) from None


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def json_object(body):
    """The body as a JSON object, or a 400."""
    try:
        value = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        # RecursionError: a body of nested `[` under the size limit nests
        # deeper than the parser recurses.
        raise ApiError(400, "the request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return value


def is_json(mimetype):
    return mimetype == "application/json" or mimetype.endswith("+json")


def validate_post(schema):
    if not is_json(request.mimetype):
        raise ApiError(415, "the request body must be application/json")
    data = json_object(request.get_data(cache=False))
    try:
        return schema.load(data)
    except ValidationError as e:
        raise ApiError(422, "invalid input", flatten(e.messages)) from None


def load_reference():
    """The static reference tables, read once per process."""
    if marshallers.Reference.countries is None:
        marshallers.Reference.load(
            db.session.scalars(db.select(Country.code)),
            db.session.execute(db.select(Genre.name, Genre.id)).all(),
        )


def uuid_or_404(raw):
    if not UUID_PATH.match(raw):
        raise ApiError(404, "not found")
    return raw.lower()


def created(kind, ident):
    response = jsonify({"id": str(ident)})
    response.status_code = 201
    response.headers["Location"] = f"/{kind}/{ident}"
    return response


bp = Blueprint("bookstore", __name__)


@bp.route("/", methods=["GET", "POST"])
def hello():
    if request.method == "GET":
        return Response("Hello, World!", mimetype="text/plain")
    body = json_object(request.get_data(cache=False))
    if "id" not in body:
        raise ApiError(400, "Missing required parameter 'id'")
    ident = body["id"]
    text = ident if isinstance(ident, str) else json.dumps(ident, separators=(",", ":"))
    return Response(f"Hello, {text}", mimetype="text/plain")


def page_of(model, args):
    query = model.query.order_by(model.id)
    if "after" in args:
        query = query.filter(model.id > args["after"])
    else:
        query = query.offset(args.get("offset", 0))
    return query.limit(args["limit"])


@bp.route("/author", methods=["GET", "POST"])
def author():
    """View all authors, or create a new one."""
    if request.method == "GET":
        args = validate_get(marshallers.page)
        authors = page_of(Author, args).all()
        return jsonify(marshallers.authors.dump(authors))

    load_reference()
    author = Author(**validate_post(marshallers.author))
    db.session.add(author)
    db.session.commit()
    return created("author", author.id)


@bp.route("/author/<author_id>")
def author_detail(author_id):
    author = db.session.get(Author, uuid_or_404(author_id))
    if author is None:
        raise ApiError(404, "no such author")
    return jsonify(marshallers.author_detail.dump(author))


@bp.route("/book", methods=["GET", "POST"])
def book():
    """View all books, or create a new one."""
    if request.method == "GET":
        args = validate_get(marshallers.page)
        books = page_of(Book, args).options(selectinload(Book.genres)).all()
        return jsonify(marshallers.books.dump(books))

    load_reference()
    data = validate_post(marshallers.book)
    if db.session.get(Author, data["author_id"]) is None:
        raise ApiError(422, "invalid input", {"author_id": ["no such author"]})
    names = data.pop("genres")
    book = Book(**data)
    book.genres = db.session.scalars(db.select(Genre).where(Genre.name.in_(names))).all()
    db.session.add(book)
    try:
        db.session.commit()
    except IntegrityError:
        # The author was deleted meanwhile.
        db.session.rollback()
        raise ApiError(422, "invalid input", {"author_id": ["no such author"]}) from None
    return created("book", book.id)


@bp.route("/book/<book_id>")
def book_detail(book_id):
    book = db.session.get(Book, uuid_or_404(book_id))
    if book is None:
        raise ApiError(404, "no such book")
    return jsonify(marshallers.book_detail.dump(book))


@bp.route("/genre")
def genres():
    return jsonify(marshallers.genres.dump(Genre.query.order_by(Genre.name).all()))


@bp.route("/country")
def countries():
    return jsonify(marshallers.countries.dump(Country.query.order_by(Country.code).all()))


def error_response(status, message, errors=None):
    body = {"error": message}
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    return response


def create_app():
    _prepare_driver()
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri()
    pool = int(os.environ.get("DB_POOL_SIZE", "10"))
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": pool, "max_overflow": 0, "pool_timeout": 60}
    app.config["MAX_CONTENT_LENGTH"] = BODY_LIMIT
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    db.init_app(app)
    app.register_blueprint(bp)

    @app.errorhandler(ApiError)
    def api_error(e):
        return error_response(e.status, e.message, e.errors)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(e):
        return error_response(413, f"the request body is over {BODY_LIMIT // 1024} KiB")

    @app.errorhandler(HTTPException)
    def http_error(e):
        return error_response(e.code, e.name.lower())

    @app.errorhandler(Exception)
    def internal_error(e):
        app.logger.exception("internal error")
        return error_response(500, "internal error")

    return app


app = create_app()

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
