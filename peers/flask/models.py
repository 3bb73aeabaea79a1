"""The bookstore's tables as Flask-SQLAlchemy models.

The schema belongs to the project (it is created and filled by `bookbench
seed`); these models map it and never create or alter a table.
Relationships load lazily, as the blog post's app did: an author's `books`
are read when first touched, and each book's `genres` likewise.
"""

import uuid

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.dialects.postgresql import UUID

db = SQLAlchemy()

book_genre = db.Table(
    "book_genre",
    db.Column("book_id", UUID(as_uuid=True), db.ForeignKey("book.id"), primary_key=True),
    db.Column("genre_id", db.Integer, db.ForeignKey("genre.id"), primary_key=True),
)


class Country(db.Model):
    __tablename__ = "country"
    code = db.Column(db.CHAR(2), primary_key=True)
    name = db.Column(db.Text, nullable=False)


class Genre(db.Model):
    __tablename__ = "genre"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.Text, unique=True, nullable=False)


class Author(db.Model):
    __tablename__ = "author"
    id = db.Column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    name = db.Column(db.Text, nullable=False)
    country_code = db.Column(db.CHAR(2), db.ForeignKey("country.code"), nullable=False)
    email = db.Column(db.Text, nullable=False)
    phone = db.Column(db.Text, nullable=False)
    contact_address = db.Column(db.Text, nullable=False)
    contract_started = db.Column(db.DateTime(timezone=True))
    contract_finished = db.Column(db.DateTime(timezone=True))
    contract_value = db.Column(db.Integer)

    @property
    def genres(self):
        """The sorted, distinct genre names across all of the author's books."""
        result = set()
        for book in self.books:
            result.update(book.genre_names)
        return sorted(result)


class Book(db.Model):
    __tablename__ = "book"
    id = db.Column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    author_id = db.Column(
        UUID(as_uuid=True), db.ForeignKey("author.id"), nullable=False, index=True
    )
    title = db.Column(db.Text, nullable=False)
    isbn = db.Column(db.Text, nullable=False)
    published = db.Column(db.Date)
    pages = db.Column(db.Integer)
    price = db.Column(db.Integer)

    author = db.relationship(
        "Author",
        backref=db.backref(
            "books",
            order_by=lambda: (Book.published.asc().nulls_last(), Book.title, Book.id),
        ),
    )
    genres = db.relationship("Genre", secondary=book_genre)

    @property
    def genre_names(self):
        return sorted(genre.name for genre in self.genres)
