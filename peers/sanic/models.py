"""The bookstore's tables as Tortoise ORM models (asyncpg underneath).

The schema belongs to the project: these models map it and never create
or alter a table. `country_code` is a plain column, validated against the
in-memory country list, so that reading an author needs no join.
"""

from tortoise import fields
from tortoise.models import Model


class Country(Model):
    code = fields.CharField(max_length=2, primary_key=True)
    name = fields.TextField()

    class Meta:
        table = "country"


class Genre(Model):
    id = fields.IntField(primary_key=True)
    name = fields.TextField()

    class Meta:
        table = "genre"


class Author(Model):
    id = fields.UUIDField(primary_key=True)
    name = fields.TextField()
    country_code = fields.CharField(max_length=2)
    email = fields.TextField()
    phone = fields.TextField()
    contact_address = fields.TextField()
    contract_started = fields.DatetimeField(null=True)
    contract_finished = fields.DatetimeField(null=True)
    contract_value = fields.IntField(null=True)

    books: fields.ReverseRelation["Book"]

    class Meta:
        table = "author"

    def genres_of(self, books):
        """The sorted, distinct genre names across the author's books."""
        result = set()
        for book in books:
            result.update(book.genre_names)
        return sorted(result)


class Book(Model):
    id = fields.UUIDField(primary_key=True)
    author = fields.ForeignKeyField("models.Author", related_name="books")
    title = fields.TextField()
    isbn = fields.TextField()
    published = fields.DateField(null=True)
    pages = fields.IntField(null=True)
    price = fields.IntField(null=True)
    genres = fields.ManyToManyField(
        "models.Genre",
        through="book_genre",
        forward_key="genre_id",
        backward_key="book_id",
        related_name="books",
    )

    class Meta:
        table = "book"

    @property
    def genre_names(self):
        return sorted(genre.name for genre in self.genres)
