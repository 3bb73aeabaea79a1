"""The bookstore's tables, mapped as unmanaged models.

The schema belongs to the project (its migrations create it and `bookbench
seed` fills it): Django never creates, alters or migrates these tables, and
the app has no migrations of its own.
"""

import uuid

from django.db import models


class Country(models.Model):
    code = models.CharField(primary_key=True, max_length=2)
    name = models.TextField()

    class Meta:
        managed = False
        db_table = "country"


class Genre(models.Model):
    id = models.IntegerField(primary_key=True)
    name = models.TextField(unique=True)

    class Meta:
        managed = False
        db_table = "genre"
        # Every list of genre names in the API is sorted, a book's included:
        # the default ordering applies to `book.genres` and its prefetch.
        ordering = ["name"]


class Author(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.TextField()
    country = models.ForeignKey(
        Country, models.DO_NOTHING, db_column="country_code", related_name="authors"
    )
    email = models.TextField()
    phone = models.TextField()
    contact_address = models.TextField()
    contract_started = models.DateTimeField(null=True)
    contract_finished = models.DateTimeField(null=True)
    contract_value = models.IntegerField(null=True)

    class Meta:
        managed = False
        db_table = "author"

    @property
    def genre_names(self):
        """The sorted, distinct genre names across all of the author's books."""
        return sorted({genre.name for book in self.books.all() for genre in book.genres.all()})


class Book(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    author = models.ForeignKey(Author, models.DO_NOTHING, related_name="books")
    title = models.TextField()
    isbn = models.TextField()
    published = models.DateField(null=True)
    pages = models.IntegerField(null=True)
    price = models.IntegerField(null=True)
    genres = models.ManyToManyField(Genre, through="BookGenre", related_name="books")

    class Meta:
        managed = False
        db_table = "book"


class BookGenre(models.Model):
    # Declared for its key: an implicit through model would have an `id`
    # column, which book_genre has not.
    pk = models.CompositePrimaryKey("book", "genre")
    book = models.ForeignKey(Book, models.DO_NOTHING)
    genre = models.ForeignKey(Genre, models.DO_NOTHING)

    class Meta:
        managed = False
        db_table = "book_genre"
