"""The bookstore's endpoints, as DRF views."""

import json

from django.db import transaction
from django.db.models import F, Prefetch
from django.http import HttpResponse
from django.urls import reverse
from rest_framework import generics, status
from rest_framework.decorators import api_view
from rest_framework.exceptions import ParseError
from rest_framework.response import Response

from .api import json_body, json_object
from .models import Author, Book, Country, Genre
from .serializers import (
    AuthorDetailSerializer,
    AuthorSerializer,
    BookDetailSerializer,
    BookSerializer,
    CountrySerializer,
    GenreSerializer,
)


@api_view(["GET", "HEAD", "POST"])
def hello(request):
    """The blog post's baseline: no database."""
    if request.method != "POST":
        return HttpResponse("Hello, World!", content_type="text/plain; charset=utf-8")
    # The body is JSON whatever its Content-Type says.
    body = json_object(request.body)
    if "id" not in body:
        raise ParseError("Missing required parameter 'id'")
    ident = body["id"]
    text = ident if isinstance(ident, str) else json.dumps(ident, separators=(",", ":"), ensure_ascii=False)
    return HttpResponse(f"Hello, {text}", content_type="text/plain; charset=utf-8")


class CreateMixin:
    """POST: the body checked in the contract's order (415, 413, 400 by
    json_body, then the serializer's 422), answered 201 with the new id and
    its Location."""

    detail_view = None

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=json_body(request))
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        ident = serializer.instance.pk
        location = reverse(self.detail_view, args=[ident])
        return Response({"id": str(ident)}, status=status.HTTP_201_CREATED, headers={"Location": location})


class AuthorList(CreateMixin, generics.ListCreateAPIView):
    queryset = Author.objects.order_by("id")
    serializer_class = AuthorSerializer
    detail_view = "author-detail"


class AuthorDetail(generics.RetrieveAPIView):
    # Three queries: the author, their books, the books' genres.
    queryset = Author.objects.prefetch_related(
        Prefetch("books", queryset=Book.objects.order_by(F("published").asc(nulls_last=True), "title", "id")),
        "books__genres",
    )
    serializer_class = AuthorDetailSerializer


class BookList(CreateMixin, generics.ListCreateAPIView):
    queryset = Book.objects.order_by("id").prefetch_related("genres")
    serializer_class = BookSerializer
    detail_view = "book-detail"

    def perform_create(self, serializer):
        # The book and its book_genre rows (ModelSerializer.create sets them
        # after the insert): both or neither.
        with transaction.atomic():
            serializer.save()


class BookDetail(generics.RetrieveAPIView):
    queryset = Book.objects.select_related("author").prefetch_related("genres")
    serializer_class = BookDetailSerializer


class GenreList(generics.ListAPIView):
    queryset = Genre.objects.all()
    serializer_class = GenreSerializer
    pagination_class = None


class CountryList(generics.ListAPIView):
    queryset = Country.objects.order_by("code")
    serializer_class = CountrySerializer
    pagination_class = None
