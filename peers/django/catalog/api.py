"""The contract's HTTP conventions, as DRF's extension points: JSON bodies
checked in the contract's order, paging, errors in the contract's shape."""

import json
import logging

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework.exceptions import APIException, NotFound, ParseError, UnsupportedMediaType, ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from .serializers import PageSerializer

logger = logging.getLogger(__name__)

# --- Request bodies -------------------------------------------------------------


def is_json(content_type):
    essence = content_type.split(";")[0].strip().lower()
    return essence == "application/json" or (essence.startswith("application/") and essence.endswith("+json"))


def json_object(body):
    """The body as a JSON object, or a 400."""
    try:
        value = json.loads(body.decode(), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        # RecursionError: a body of 64 KiB of `[` nests deeper than the parser goes.
        raise ParseError("the request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise ParseError("the request body must be a JSON object")
    return value


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def json_body(request):
    """The body of a POST that creates a resource: 415 unless it is declared
    JSON, 413 over DATA_UPLOAD_MAX_MEMORY_SIZE (request.body refuses to read
    it), 400 unless it is a JSON object. DRF's request.data would take a body
    with no Content-Type, or an empty one, as {}."""
    if not is_json(request.content_type):
        raise UnsupportedMediaType(request.content_type, detail="the request body must be application/json")
    return json_object(request.body)


# --- Content negotiation and paging ------------------------------------------------


class JSONOnlyNegotiation(BaseContentNegotiation):
    """Every answer is JSON, whatever the client's Accept header asks for
    (DRF would answer 406)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class IdPagination(BasePagination):
    """A page of a list in id order, as a bare array: `limit`, and `offset`
    or `after` (the items whose id is greater)."""

    def paginate_queryset(self, queryset, request, view=None):
        page = PageSerializer(data=request.query_params)
        page.is_valid(raise_exception=True)
        limit, offset, after = (page.validated_data.get(k) for k in ("limit", "offset", "after"))
        if after is not None:
            queryset = queryset.filter(pk__gt=after)
        offset = offset or 0
        return list(queryset[offset : offset + limit])

    def get_paginated_response(self, data):
        return Response(data)


# --- Errors -----------------------------------------------------------------------

# A write that reaches the database and still breaks a constraint (a book
# whose author was just deleted): the field behind it, and a message.
CONSTRAINT_FIELDS = {
    "book_author_id_fkey": ("author_id", "no such author"),
    "author_country_code_fkey": ("country_code", "not a known country code"),
    "book_genre_genre_id_fkey": ("genres", "not a known genre"),
    "author_contract_check": ("contract_finished", "must not be before contract_started"),
    "author_contract_value_check": ("contract_value", "must be at least 0"),
    "book_pages_check": ("pages", "must be between 1 and 100000"),
    "book_price_check": ("price", "must be at least 0"),
}


def error_body(message, errors=None):
    body = {"error": message}
    if errors is not None:
        body["errors"] = errors
    return body


def messages(detail):
    """DRF's error detail as a list of strings; a list item's errors (a dict
    by index) name the item."""
    if isinstance(detail, dict):
        return [f"item {index}: {m}" for index, inner in detail.items() for m in messages(inner)]
    if isinstance(detail, list):
        return [m for inner in detail for m in messages(inner)]
    return [str(detail)]


def exception_handler(exc, context):
    """DRF's exception handler, in the contract's shape and statuses."""
    if isinstance(exc, ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"body": exc.detail}
        errors = {field: messages(inner) for field, inner in detail.items()}
        return Response(error_body("invalid input", errors), status=422)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("the request body is over 64 KiB"), status=413)
    if isinstance(exc, IntegrityError):
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        if constraint in CONSTRAINT_FIELDS:
            field, message = CONSTRAINT_FIELDS[constraint]
            return Response(error_body("invalid input", {field: [message]}), status=422)
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.error("database unavailable", exc_info=exc)
        return Response(error_body("database unavailable"), status=503)
    if isinstance(exc, Http404):
        exc = NotFound(*exc.args)
    if isinstance(exc, APIException):
        return Response(error_body(str(exc.detail)), status=exc.status_code)
    return None  # Django logs it and answers with handler500


# Django's own error views, for what never reaches a DRF view (an unknown
# path, above all): JSON too, never Django's HTML pages.

COMPACT = {"separators": (",", ":")}


def bad_request(request, exception):
    return JsonResponse(error_body("bad request"), status=400, json_dumps_params=COMPACT)


def not_found(request, exception):
    return JsonResponse(error_body("not found"), status=404, json_dumps_params=COMPACT)


def server_error(request):
    return JsonResponse(error_body("internal error"), status=500, json_dumps_params=COMPACT)
