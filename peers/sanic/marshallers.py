"""Marshmallow schemas: each validates input and marshals output.

The reference tables (countries, genres) are small and static, so their
names are read once per process and validated against in memory.
"""

import datetime
import re

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


class Reference:
    """The country codes and genre names, loaded at start-up."""

    countries = None
    genres = None  # name -> id

    @classmethod
    def load(cls, countries, genres):
        cls.countries = frozenset(countries)
        cls.genres = dict(genres)


def no_nul(value):
    if "\x00" in value:
        raise ValidationError("must not contain NUL characters")


def known_country(value):
    if value not in Reference.countries:
        raise ValidationError("not a known country code")


PHONE = re.compile(r"[0-9 +\-()]{1,32}\Z")


def phone(value):
    if not PHONE.match(value):
        raise ValidationError("must be 1 to 32 characters: digits, spaces and + - ( )")


ISBN_FORMAT = re.compile(r"[0-9]+(-[0-9]+)*\Z")


def isbn13(value):
    digits = value.replace("-", "")
    if not ISBN_FORMAT.match(value) or len(digits) != 13 or not digits.isascii():
        raise ValidationError("must be an ISBN-13: 13 digits, optionally in hyphenated groups")
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits))
    if total % 10:
        raise ValidationError("is not a valid ISBN-13 (wrong check digit)")


def known_distinct_genres(names):
    unknown = sorted({n for n in names if n not in Reference.genres})
    if unknown:
        raise ValidationError("unknown genres: " + ", ".join(unknown))
    if len(set(names)) != len(names):
        raise ValidationError("must not repeat a genre")


def utc_representable(value):
    try:
        value.astimezone(datetime.timezone.utc)
    except OverflowError:
        raise ValidationError("must be between years 1 and 9999") from None


class UTCDateTime(fields.AwareDateTime):
    """RFC 3339 in: any offset. Out: UTC, seconds precision."""

    def _deserialize(self, value, attr, data, **kwargs):
        # RFC 3339's `Z`, which Python 3.9's fromisoformat (PyPy) does not read.
        if isinstance(value, str) and value[-1:] in ("Z", "z"):
            value = value[:-1] + "+00:00"
        return super()._deserialize(value, attr, data, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class StrictInteger(fields.Integer):
    """An integer in JSON: not a string, a float or a boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class QueryInteger(fields.Integer):
    """An integer as a query string writes it: an optional sign and digits."""

    DIGITS = re.compile(r"[+-]?[0-9]+\Z")

    def _deserialize(self, value, attr, data, **kwargs):
        if not self.DIGITS.match(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Page(Schema):
    """`limit`, and `offset` or `after`, from the query string."""

    class Meta:
        unknown = "exclude"

    limit = QueryInteger(load_default=20, validate=validate.Range(1, 100))
    offset = QueryInteger(validate=validate.Range(0, INT64_MAX))
    after = fields.UUID()

    @validates_schema
    def offset_or_after(self, data, **kwargs):
        if "offset" in data and "after" in data:
            raise ValidationError(
                {
                    "after": ["cannot be combined with offset"],
                    "offset": ["cannot be combined with after"],
                }
            )


class Country(Schema):
    code = fields.Str()
    name = fields.Str()


class Genre(Schema):
    id = fields.Int()
    name = fields.Str()


class Author(Schema):
    class Meta:
        unknown = RAISE
        ordered = True

    id = fields.UUID(dump_only=True)
    name = fields.Str(required=True, validate=[validate.Length(1, 200), no_nul])
    country_code = fields.Str(required=True, validate=known_country)
    email = fields.Email(required=True, validate=[validate.Length(max=254), no_nul])
    phone = fields.Str(required=True, validate=phone)
    contact_address = fields.Str(required=True, validate=[validate.Length(1, 500), no_nul])
    contract_started = UTCDateTime(format="iso", allow_none=True, validate=utc_representable)
    contract_finished = UTCDateTime(format="iso", allow_none=True, validate=utc_representable)
    contract_value = StrictInteger(
        strict=True, allow_none=True, validate=validate.Range(0, INT32_MAX)
    )

    @validates_schema(skip_on_field_errors=False)
    def contract_in_order(self, data, **kwargs):
        started = data.get("contract_started")
        finished = data.get("contract_finished")
        if started and finished and finished < started:
            raise ValidationError("must not be before contract_started", "contract_finished")


class BookSummary(Schema):
    id = fields.UUID()
    title = fields.Str()
    published = fields.Date()
    genres = fields.List(fields.Str(), attribute="genre_names")


class BookAuthor(Schema):
    id = fields.UUID()
    name = fields.Str()
    country_code = fields.Str()


class Book(Schema):
    class Meta:
        unknown = RAISE
        ordered = True

    id = fields.UUID(dump_only=True)
    author_id = fields.UUID(required=True)
    title = fields.Str(required=True, validate=[validate.Length(1, 300), no_nul])
    isbn = fields.Str(required=True, validate=isbn13)
    published = fields.Date(allow_none=True)
    pages = StrictInteger(strict=True, allow_none=True, validate=validate.Range(1, 100000))
    price = StrictInteger(strict=True, allow_none=True, validate=validate.Range(0, INT32_MAX))
    genres = fields.List(
        fields.Str(),
        required=True,
        validate=[validate.Length(1, 10), known_distinct_genres],
    )


class BookOverview(Schema):
    class Meta:
        ordered = True

    id = fields.UUID()
    author_id = fields.UUID()
    title = fields.Str()
    isbn = fields.Str()
    published = fields.Date()
    pages = fields.Int()
    price = fields.Int()
    genres = fields.List(fields.Str(), attribute="genre_names")


class BookDetail(BookOverview):
    author = fields.Nested(BookAuthor)


page = Page()
countries = Country(many=True)
genres = Genre(many=True)
author = Author()
authors = Author(many=True)
author_detail = Author()
book_summaries = BookSummary(many=True)
book = Book()
books = BookOverview(many=True)
book_detail = BookDetail()
