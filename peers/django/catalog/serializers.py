"""DRF serializers: each validates a request and marshals a response.

The reference tables (countries, genres) are small and static, so they are
read once per process and validated against in memory.
"""

import datetime
import functools
import re

from django.core.validators import RegexValidator
from django.db import models
from rest_framework import serializers

from .models import Author, Book, Country, Genre

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


@functools.lru_cache(maxsize=None)
def country_codes():
    return frozenset(Country.objects.values_list("code", flat=True))


@functools.lru_cache(maxsize=None)
def genre_ids():
    """Genre name -> id."""
    return dict(Genre.objects.values_list("name", "id"))


# --- Fields: JSON's types, strictly ------------------------------------------


class StrictCharField(serializers.CharField):
    """A JSON string, stored as given: DRF would take a number as its text
    and trim the whitespace around it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: DRF would also take `"100"`, `1.0`, `1e3`."""

    def to_internal_value(self, data):
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        return data


class QueryIntegerField(serializers.IntegerField):
    """An integer as a query string writes it: an optional sign and ASCII
    digits (Python's int() also reads spaces, `1_000` and other scripts' digits)."""

    DIGITS = re.compile(r"[+-]?[0-9]{1,1000}\Z")

    def to_internal_value(self, data):
        # Bounded: int() refuses more than 4300 digits with a ValueError.
        if not isinstance(data, str) or not self.DIGITS.match(data):
            self.fail("invalid")
        return int(data)


class UTCDateTimeField(serializers.DateTimeField):
    """Written in UTC to the second, fractions dropped; isoformat() pads a
    year below 1000 to four digits, which strftime("%Y") does not."""

    def to_representation(self, value):
        if value is None:
            return None
        utc = value.astimezone(datetime.timezone.utc).replace(microsecond=0, tzinfo=None)
        return utc.isoformat() + "Z"


class GenreNamesField(serializers.ListField):
    """A book's genres by name: written as a list of names, read as the
    book's genres (sorted by `Genre.Meta.ordering`)."""

    child = StrictCharField()

    def to_representation(self, genres):
        return [genre.name for genre in genres.all()]


# --- Validators ----------------------------------------------------------------


def known_country(code):
    if code not in country_codes():
        raise serializers.ValidationError("not a known country code")


def at_most_254_bytes(value):
    # The email RFCs count bytes; Django's validator takes non-ASCII domains.
    if len(value.encode()) > 254:
        raise serializers.ValidationError("must be at most 254 bytes")


ISBN_FORMAT = re.compile(r"[0-9]+(-[0-9]+)*\Z")


def isbn13(value):
    digits = value.replace("-", "")
    if not ISBN_FORMAT.match(value) or len(digits) != 13:
        raise serializers.ValidationError("must be an ISBN-13: 13 digits, optionally in hyphenated groups")
    if sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10:
        raise serializers.ValidationError("is not a valid ISBN-13 (wrong check digit)")


phone = RegexValidator(r"^[0-9 +()-]{1,32}\Z", "must be 1 to 32 characters: digits, spaces and + - ( )")


# --- Serializers ---------------------------------------------------------------


class StrictModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer with JSON's types and no unknown fields: DRF would
    ignore them, and would read `id` (read-only) as nothing."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.TextField: StrictCharField,
        models.CharField: StrictCharField,
        models.IntegerField: StrictIntegerField,
        models.DateTimeField: UTCDateTimeField,
    }

    def to_internal_value(self, data):
        writable = {name for name, field in self.fields.items() if not field.read_only}
        unknown = {key: ["unknown field"] for key in data if key not in writable}
        try:
            values = super().to_internal_value(data)
        except serializers.ValidationError as e:
            raise serializers.ValidationError({**e.detail, **unknown}) from None
        if unknown:
            raise serializers.ValidationError(unknown)
        return values


class AuthorSerializer(StrictModelSerializer):
    country_code = StrictCharField(source="country_id", validators=[known_country])
    email = serializers.EmailField(max_length=254, trim_whitespace=False, validators=[at_most_254_bytes])

    class Meta:
        model = Author
        fields = [
            "id",
            "name",
            "country_code",
            "email",
            "phone",
            "contact_address",
            "contract_started",
            "contract_finished",
            "contract_value",
        ]
        extra_kwargs = {
            "name": {"max_length": 200},
            "phone": {"validators": [phone]},
            "contact_address": {"max_length": 500},
            "contract_value": {"min_value": 0, "max_value": INT32_MAX},
        }

    def validate(self, attrs):
        started, finished = attrs.get("contract_started"), attrs.get("contract_finished")
        if started and finished and finished < started:
            raise serializers.ValidationError({"contract_finished": ["must not be before contract_started"]})
        return attrs


class BookSummarySerializer(serializers.ModelSerializer):
    genres = GenreNamesField(read_only=True)

    class Meta:
        model = Book
        fields = ["id", "title", "published", "genres"]


class AuthorDetailSerializer(AuthorSerializer):
    books = BookSummarySerializer(many=True, read_only=True)
    genres = serializers.ListField(source="genre_names", read_only=True)

    class Meta(AuthorSerializer.Meta):
        fields = AuthorSerializer.Meta.fields + ["books", "genres"]


class BookSerializer(StrictModelSerializer):
    author_id = serializers.PrimaryKeyRelatedField(
        source="author", queryset=Author.objects.all(), pk_field=serializers.UUIDField()
    )
    genres = GenreNamesField(min_length=1, max_length=10)

    class Meta:
        model = Book
        fields = ["id", "author_id", "title", "isbn", "published", "pages", "price", "genres"]
        extra_kwargs = {
            "title": {"max_length": 300},
            "isbn": {"validators": [isbn13]},
            "pages": {"min_value": 1, "max_value": 100000},
            "price": {"min_value": 0, "max_value": INT32_MAX},
        }

    def validate_genres(self, names):
        """The names as genre ids, which ModelSerializer.create() sets."""
        ids = genre_ids()
        unknown = sorted({name for name in names if name not in ids})
        if unknown:
            raise serializers.ValidationError("unknown genres: " + ", ".join(unknown))
        if len(set(names)) != len(names):
            raise serializers.ValidationError("must not repeat a genre")
        return [ids[name] for name in names]


class BookAuthorSerializer(serializers.ModelSerializer):
    country_code = serializers.CharField(source="country_id")

    class Meta:
        model = Author
        fields = ["id", "name", "country_code"]


class BookDetailSerializer(BookSerializer):
    author = BookAuthorSerializer(read_only=True)

    class Meta(BookSerializer.Meta):
        fields = BookSerializer.Meta.fields + ["author"]


class GenreSerializer(serializers.ModelSerializer):
    class Meta:
        model = Genre
        fields = ["id", "name"]


class CountrySerializer(serializers.ModelSerializer):
    class Meta:
        model = Country
        fields = ["code", "name"]


class PageSerializer(serializers.Serializer):
    """`limit`, and `offset` or `after`, from the query string."""

    limit = QueryIntegerField(min_value=1, max_value=100, default=20)
    offset = QueryIntegerField(min_value=0, max_value=INT64_MAX, required=False)
    after = serializers.UUIDField(required=False)

    def to_internal_value(self, query):
        # A plain dict: from a QueryDict DRF would read `limit=` as absent,
        # and the last of repeated values silently.
        repeated = {name: ["must be given at most once"] for name in self.fields if len(query.getlist(name)) > 1}
        try:
            values = super().to_internal_value(query.dict())
        except serializers.ValidationError as e:
            raise serializers.ValidationError({**e.detail, **repeated}) from None
        if repeated:
            raise serializers.ValidationError(repeated)
        return values

    def validate(self, attrs):
        if "offset" in attrs and "after" in attrs:
            raise serializers.ValidationError(
                {"after": ["cannot be combined with offset"], "offset": ["cannot be combined with after"]}
            )
        return attrs
