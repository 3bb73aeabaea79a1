"""The framework's own development server for a WSGI app, as its docs start
it: Flask's app.run() or Django's runserver, without the reloader. Takes
MODULE:ATTR and the app's directory; listens on $HOST:$PORT."""
import importlib
import os
import sys

entry, directory = sys.argv[1], sys.argv[2]
os.chdir(directory)
sys.path.insert(0, directory)
module, attr = entry.split(":", 1)
app = getattr(importlib.import_module(module), attr)
host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"])
if type(app).__module__.split(".")[0] == "flask":
    app.run(host=host, port=port, use_reloader=False)
elif "django" in sys.modules:
    from django.core.management import call_command

    call_command("runserver", f"{host}:{port}", use_reloader=False)
else:
    sys.exit(f"no development server is known for {type(app).__module__}.{type(app).__name__}")
