"""WSGI entry point: `flask --app app ...`, `gunicorn app:app`."""
import gc

from training import create_app

app = create_app()
# Everything loaded at start-up lives as long as the process: keep it out of the
# garbage collector's full passes, which otherwise add pauses to large pages.
gc.freeze()
