"""The WSGI application.

Run from peers/django (or with gunicorn's --chdir, Granian's --working-dir):
  gunicorn -w 1 -k sync bookstore.wsgi
  gunicorn -w 1 -k gthread --threads 4 bookstore.wsgi
  granian --interface wsgi --workers 1 --blocking-threads 4 bookstore.wsgi:application
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookstore.settings")

application = get_wsgi_application()
