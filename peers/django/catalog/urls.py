import uuid

from django.urls import path, register_converter

from . import views


class UUIDConverter:
    """A hyphenated UUID in either case (Django's `uuid` converter takes
    lowercase only). Any other spelling matches no route: a 404."""

    regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

    def to_python(self, value):
        return uuid.UUID(value)

    def to_url(self, value):
        return str(value)


register_converter(UUIDConverter, "id")

# No trailing slashes, and no redirects to them: `/author/` is another,
# unknown, path.
urlpatterns = [
    path("", views.hello),
    path("author", views.AuthorList.as_view()),
    path("author/<id:pk>", views.AuthorDetail.as_view(), name="author-detail"),
    path("book", views.BookList.as_view()),
    path("book/<id:pk>", views.BookDetail.as_view(), name="book-detail"),
    path("genre", views.GenreList.as_view()),
    path("country", views.CountryList.as_view()),
]
