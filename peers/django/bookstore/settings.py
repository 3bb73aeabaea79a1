"""Settings of the bookstore: a JSON API, so no admin, sessions, users,
templates or static files.

Environment:
  DATABASE_URL        postgres://user:pass@host:port/db (required)
  DJANGO_SECRET_KEY   optional: nothing is signed
  HOST                the address it listens on, when not 127.0.0.1 (a host
                      of bookbench's lab): requests name it in their Host
"""

import os
import secrets
from urllib.parse import parse_qsl, unquote, urlsplit

DEBUG = False
# Nothing is signed (no sessions, no CSRF tokens), so a key per process does.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"] + [
    h for h in [os.environ.get("HOST", "")] if h
]

INSTALLED_APPS = ["rest_framework", "catalog"]
# CommonMiddleware checks the Host against ALLOWED_HOSTS and sets
# Content-Length (without it the servers answer chunked). No redirect to a
# trailing slash: `/author/` is another, unknown, path.
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
APPEND_SLASH = False
ROOT_URLCONF = "bookstore.urls"
WSGI_APPLICATION = "bookstore.wsgi.application"

# Timestamps are timestamptz, written back in UTC.
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False

# The contract's 64 KiB: request.body refuses a larger declared body (413).
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024


def _database(url):
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"DATABASE_URL must be a postgres:// URL, not {parts.scheme}://")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": parts.port or "",
        "OPTIONS": dict(parse_qsl(parts.query)),
        # Persistent connections, one per worker thread: a new connection per
        # request would add a PostgreSQL backend's start-up (a fork and the
        # authentication) to every request. The health check (a `SELECT 1`
        # before a request's first query) replaces a connection the database
        # dropped, so no request fails after a database restart.
        "CONN_MAX_AGE": None,
        "CONN_HEALTH_CHECKS": True,
    }


DATABASES = {"default": _database(os.environ["DATABASE_URL"])}

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Bodies are read by catalog.api.json_body, in the contract's order.
    "DEFAULT_PARSER_CLASSES": [],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "catalog.api.JSONOnlyNegotiation",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PAGINATION_CLASS": "catalog.api.IdPagination",
    "EXCEPTION_HANDLER": "catalog.api.exception_handler",
    # OPTIONS is a method the API does not take (405), not a description.
    "DEFAULT_METADATA_CLASS": None,
}

# Errors (and the tracebacks of 500s) to stderr; Django logs each 4xx as a
# warning, too many under load.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    "loggers": {"django": {"handlers": [], "level": "ERROR"}},
}
