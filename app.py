"""WSGI entry point: `flask --app app ...`, `gunicorn app:app`."""
from training import create_app

app = create_app()
