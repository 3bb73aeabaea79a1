"""The bookstore in FastAPI: SQLAlchemy 2 (async, asyncpg) models with
relationships, pydantic models for input and output, under uvicorn.

Environment:
  DATABASE_URL   postgres://user:pass@host:port/db (required)
  DB_POOL_SIZE   connections kept in the pool (default 10)

Run: `uvicorn app:app --host 127.0.0.1 --port PORT --workers 1`.
"""

import datetime
import json
import os
import re
import uuid
from contextlib import asynccontextmanager
from typing import Annotated, Any, Optional

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from sqlalchemy import (
    CHAR,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Table,
    Text,
    select,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload
from starlette.exceptions import HTTPException as StarletteHTTPException

BODY_LIMIT = 64 * 1024
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
UUID_PATH = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


# --- Models: the project's schema, mapped (never created or altered) ---------


class Base(DeclarativeBase):
    pass


book_genre = Table(
    "book_genre",
    Base.metadata,
    Column("book_id", UUID(as_uuid=True), ForeignKey("book.id"), primary_key=True),
    Column("genre_id", Integer, ForeignKey("genre.id"), primary_key=True),
)


class Country(Base):
    __tablename__ = "country"
    code: Mapped[str] = mapped_column(CHAR(2), primary_key=True)
    name: Mapped[str] = mapped_column(Text)


class Genre(Base):
    __tablename__ = "genre"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)


class Author(Base):
    __tablename__ = "author"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text)
    country_code: Mapped[str] = mapped_column(CHAR(2), ForeignKey("country.code"))
    email: Mapped[str] = mapped_column(Text)
    phone: Mapped[str] = mapped_column(Text)
    contact_address: Mapped[str] = mapped_column(Text)
    contract_started: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime(timezone=True))
    contract_finished: Mapped[Optional[datetime.datetime]] = mapped_column(DateTime(timezone=True))
    contract_value: Mapped[Optional[int]] = mapped_column(Integer)

    books: Mapped[list["Book"]] = relationship(
        back_populates="author",
        order_by=lambda: (Book.published.asc().nulls_last(), Book.title, Book.id),
    )

    @property
    def genres(self) -> list[str]:
        """The sorted, distinct genre names across the author's books."""
        result = set()
        for book in self.books:
            result.update(book.genre_names)
        return sorted(result)


class Book(Base):
    __tablename__ = "book"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    author_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("author.id"), index=True)
    title: Mapped[str] = mapped_column(Text)
    isbn: Mapped[str] = mapped_column(Text)
    published: Mapped[Optional[datetime.date]] = mapped_column(Date)
    pages: Mapped[Optional[int]] = mapped_column(Integer)
    price: Mapped[Optional[int]] = mapped_column(Integer)

    author: Mapped[Author] = relationship(back_populates="books")
    genres: Mapped[list[Genre]] = relationship(secondary=book_genre)

    @property
    def genre_names(self) -> list[str]:
        return sorted(genre.name for genre in self.genres)


# --- Reference data: small and static, held in memory -------------------------


class Reference:
    countries: frozenset = frozenset()
    genres: dict = {}


# --- Schemas ------------------------------------------------------------------

UTCSeconds = Annotated[
    datetime.datetime,
    PlainSerializer(
        lambda v: v.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        return_type=str,
    ),
]


class AuthorOverview(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    country_code: str
    email: str
    phone: str
    contact_address: str
    contract_started: Optional[UTCSeconds]
    contract_finished: Optional[UTCSeconds]
    contract_value: Optional[int]


class BookSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    title: str
    published: Optional[datetime.date]
    genres: list[str] = Field(validation_alias="genre_names")


class AuthorDetail(AuthorOverview):
    books: list[BookSummary]
    genres: list[str]


class BookOverview(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    author_id: uuid.UUID
    title: str
    isbn: str
    published: Optional[datetime.date]
    pages: Optional[int]
    price: Optional[int]
    genres: list[str] = Field(validation_alias="genre_names")


class BookAuthor(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    country_code: str


class BookDetail(BookOverview):
    author: BookAuthor


class GenreOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str


class CountryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str


class Created(BaseModel):
    id: uuid.UUID


EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+\Z")
PHONE = re.compile(r"[0-9 +\-()]{1,32}\Z")
ISBN_FORMAT = re.compile(r"[0-9]+(-[0-9]+)*\Z")


def _no_nul(value: Optional[str]) -> Optional[str]:
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _utc_representable(value: Optional[datetime.datetime]) -> Optional[datetime.datetime]:
    if value is not None:
        try:
            value.astimezone(datetime.timezone.utc)
        except OverflowError:
            raise ValueError("must be between years 1 and 9999") from None
    return value


class NewAuthor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    country_code: StrictStr
    email: Annotated[StrictStr, Field(max_length=254)]
    phone: StrictStr
    contact_address: Annotated[StrictStr, Field(min_length=1, max_length=500)]
    contract_started: Optional[AwareDatetime] = None
    contract_finished: Optional[AwareDatetime] = None
    contract_value: Optional[Annotated[StrictInt, Field(ge=0, le=INT32_MAX)]] = None

    _no_nul = field_validator("name", "email", "contact_address")(_no_nul)
    _in_range = field_validator("contract_started", "contract_finished")(_utc_representable)

    @field_validator("contract_started", "contract_finished", mode="before")
    @classmethod
    def rfc3339_text(cls, value):
        # pydantic would also read a number as a Unix time; JSON has text.
        if value is not None and not isinstance(value, str):
            raise ValueError("must be an RFC 3339 timestamp")
        return value

    @field_validator("country_code")
    @classmethod
    def known_country(cls, value: str) -> str:
        if value not in Reference.countries:
            raise ValueError("not a known country code")
        return value

    @field_validator("email")
    @classmethod
    def valid_email(cls, value: str) -> str:
        if not EMAIL.match(value):
            raise ValueError("not a valid email address")
        return value

    @field_validator("phone")
    @classmethod
    def valid_phone(cls, value: str) -> str:
        if not PHONE.match(value):
            raise ValueError("must be 1 to 32 characters: digits, spaces and + - ( )")
        return value

    @field_validator("contract_finished")
    @classmethod
    def not_before_start(cls, value, info: ValidationInfo):
        started = info.data.get("contract_started")
        if value is not None and started is not None and value < started:
            raise ValueError("must not be before contract_started")
        return value


class NewBook(BaseModel):
    model_config = ConfigDict(extra="forbid")
    author_id: uuid.UUID
    title: Annotated[StrictStr, Field(min_length=1, max_length=300)]
    isbn: StrictStr
    genres: Annotated[list[StrictStr], Field(min_length=1, max_length=10)]
    published: Optional[datetime.date] = None
    pages: Optional[Annotated[StrictInt, Field(ge=1, le=100000)]] = None
    price: Optional[Annotated[StrictInt, Field(ge=0, le=INT32_MAX)]] = None

    _no_nul = field_validator("title")(_no_nul)

    @field_validator("published", mode="before")
    @classmethod
    def date_text(cls, value):
        if value is not None and not isinstance(value, str):
            raise ValueError("must be a date, YYYY-MM-DD")
        return value

    @field_validator("isbn")
    @classmethod
    def isbn13(cls, value: str) -> str:
        digits = value.replace("-", "")
        if not ISBN_FORMAT.match(value) or len(digits) != 13 or not digits.isascii():
            raise ValueError("must be an ISBN-13: 13 digits, optionally in hyphenated groups")
        total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits))
        if total % 10:
            raise ValueError("is not a valid ISBN-13 (wrong check digit)")
        return value

    @field_validator("genres")
    @classmethod
    def known_distinct(cls, names: list[str]) -> list[str]:
        unknown = sorted({n for n in names if n not in Reference.genres})
        if unknown:
            raise ValueError("unknown genres: " + ", ".join(unknown))
        if len(set(names)) != len(names):
            raise ValueError("must not repeat a genre")
        return names


# --- Errors ---------------------------------------------------------------------


class ApiError(Exception):
    def __init__(self, status: int, message: str, errors: Optional[dict] = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def field_errors(errors: list[dict], skip: tuple = ()) -> dict[str, list[str]]:
    """pydantic's errors as the contract's map: field -> list of messages."""
    out: dict[str, list[str]] = {}
    for e in errors:
        loc = [p for p in e["loc"] if p not in skip]
        field = str(loc[0]) if loc else "body"
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            message = "unknown field"
        if len(loc) > 1:
            message = f"item {loc[1]}: {message}"
        out.setdefault(field, []).append(message)
    return out


def error_response(status: int, message: str, errors: Optional[dict] = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


# --- Application ------------------------------------------------------------------


def engine_url() -> str:
    url = os.environ["DATABASE_URL"]
    scheme, rest = url.split("://", 1)
    if scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"DATABASE_URL must be a postgres:// URL, not {scheme}://")
    return f"postgresql+asyncpg://{rest}"


engine = create_async_engine(
    engine_url(), pool_size=int(os.environ.get("DB_POOL_SIZE", "10")), max_overflow=0, pool_timeout=60
)
Session = async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with Session() as session:
        Reference.countries = frozenset(await session.scalars(select(Country.code)))
        Reference.genres = dict((await session.execute(select(Genre.name, Genre.id))).all())
    yield
    await engine.dispose()


app = FastAPI(title="bookstore", lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)


@app.exception_handler(ApiError)
async def api_error(request: Request, e: ApiError):
    return error_response(e.status, e.message, e.errors)


@app.exception_handler(RequestValidationError)
async def request_validation_error(request: Request, e: RequestValidationError):
    return error_response(422, "invalid input", field_errors(e.errors(), skip=("query", "path", "body")))


@app.exception_handler(StarletteHTTPException)
async def http_error(request: Request, e: StarletteHTTPException):
    return error_response(e.status_code, str(e.detail).lower())


@app.exception_handler(Exception)
async def internal_error(request: Request, e: Exception):
    return error_response(500, "internal error")


async def get_session():
    async with Session() as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(get_session)]


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > BODY_LIMIT:
        raise ApiError(413, f"the request body is over {BODY_LIMIT // 1024} KiB")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > BODY_LIMIT:
            raise ApiError(413, f"the request body is over {BODY_LIMIT // 1024} KiB")
    return body


def json_object(body: bytes) -> dict:
    try:
        value = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        # RecursionError: a body of nested `[` under the size limit nests
        # deeper than the parser recurses.
        raise ApiError(400, "the request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return value


def is_json(content_type: str) -> bool:
    essence = content_type.split(";")[0].strip().lower()
    return essence == "application/json" or (essence.startswith("application/") and essence.endswith("+json"))


def valid_body(model: type[BaseModel]):
    """A dependency: the body as `model`, with the contract's rejections
    (415, 413, 400, then 422 naming every offending field)."""

    async def dependency(request: Request):
        if not is_json(request.headers.get("content-type", "")):
            raise ApiError(415, "the request body must be application/json")
        data = json_object(await read_body(request))
        try:
            return model.model_validate(data)
        except ValidationError as e:
            raise ApiError(422, "invalid input", field_errors(e.errors())) from None

    return dependency


class Page(BaseModel):
    limit: int
    offset: Optional[int]
    after: Optional[uuid.UUID]


def page(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[Optional[int], Query(ge=0, le=INT64_MAX)] = None,
    after: Optional[uuid.UUID] = None,
) -> Page:
    if offset is not None and after is not None:
        raise ApiError(
            422,
            "invalid input",
            {"after": ["cannot be combined with offset"], "offset": ["cannot be combined with after"]},
        )
    return Page(limit=limit, offset=offset, after=after)


def paged(query, model, p: Page):
    query = query.order_by(model.id)
    if p.after is not None:
        query = query.where(model.id > p.after)
    else:
        query = query.offset(p.offset or 0)
    return query.limit(p.limit)


def uuid_or_404(raw: str) -> uuid.UUID:
    if not UUID_PATH.match(raw):
        raise ApiError(404, "not found")
    return uuid.UUID(raw)


def created(kind: str, ident: uuid.UUID) -> JSONResponse:
    return JSONResponse({"id": str(ident)}, status_code=201, headers={"Location": f"/{kind}/{ident}"})


@app.get("/", response_class=PlainTextResponse)
async def hello():
    return "Hello, World!"


@app.post("/", response_class=PlainTextResponse)
async def hello_post(request: Request):
    body = json_object(await read_body(request))
    if "id" not in body:
        raise ApiError(400, "Missing required parameter 'id'")
    ident = body["id"]
    text = ident if isinstance(ident, str) else json.dumps(ident, separators=(",", ":"))
    return f"Hello, {text}"


@app.get("/author", response_model=list[AuthorOverview])
async def list_authors(session: DbSession, p: Annotated[Page, Depends(page)]):
    return (await session.scalars(paged(select(Author), Author, p))).all()


@app.post("/author", status_code=201, response_model=Created)
async def create_author(session: DbSession, new: Annotated[NewAuthor, Depends(valid_body(NewAuthor))]):
    author = Author(**new.model_dump())
    session.add(author)
    await session.commit()
    return created("author", author.id)


@app.get("/author/{author_id}", response_model=AuthorDetail)
async def get_author(session: DbSession, author_id: str):
    author = await session.scalar(
        select(Author)
        .where(Author.id == uuid_or_404(author_id))
        .options(selectinload(Author.books).selectinload(Book.genres))
    )
    if author is None:
        raise ApiError(404, "no such author")
    return author


@app.get("/book", response_model=list[BookOverview])
async def list_books(session: DbSession, p: Annotated[Page, Depends(page)]):
    query = paged(select(Book), Book, p).options(selectinload(Book.genres))
    return (await session.scalars(query)).all()


@app.post("/book", status_code=201, response_model=Created)
async def create_book(session: DbSession, new: Annotated[NewBook, Depends(valid_body(NewBook))]):
    if await session.get(Author, new.author_id) is None:
        raise ApiError(422, "invalid input", {"author_id": ["no such author"]})
    data = new.model_dump()
    names = data.pop("genres")
    book = Book(**data)
    book.genres = list(await session.scalars(select(Genre).where(Genre.name.in_(names))))
    session.add(book)
    try:
        await session.commit()
    except IntegrityError:
        raise ApiError(422, "invalid input", {"author_id": ["no such author"]}) from None
    return created("book", book.id)


@app.get("/book/{book_id}", response_model=BookDetail)
async def get_book(session: DbSession, book_id: str):
    book = await session.scalar(
        select(Book)
        .where(Book.id == uuid_or_404(book_id))
        .options(selectinload(Book.genres), selectinload(Book.author))
    )
    if book is None:
        raise ApiError(404, "no such book")
    return book


@app.get("/genre", response_model=list[GenreOut])
async def list_genres(session: DbSession):
    return (await session.scalars(select(Genre).order_by(Genre.name))).all()


@app.get("/country", response_model=list[CountryOut])
async def list_countries(session: DbSession):
    return (await session.scalars(select(Country).order_by(Country.code))).all()
