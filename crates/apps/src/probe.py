"""Imports MODULE:ATTR from the app's directory as a server would and prints
what it is: its framework (flask, django, or other). Exits non-zero, with
the error as its last line, when it does not import or is not callable."""
import importlib
import os
import sys

entry, directory = sys.argv[1], sys.argv[2]
os.chdir(directory)
sys.path.insert(0, directory)
module, _, attr = entry.partition(":")
app = importlib.import_module(module)
for part in attr.split("."):
    app = getattr(app, part)
if not callable(app):
    sys.exit(f"{entry} is a {type(app).__name__}, not a callable app")
top = type(app).__module__.split(".")[0]
if top == "flask":
    print("flask")
elif "django" in sys.modules:
    print("django")
else:
    print("other")
