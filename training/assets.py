"""Files and pages as they are best sent, whatever server stands in front.

`make install` builds static/dist (static/src/build.mjs): each file under a name holding a hash of its content,
with .br and .gz copies beside the text files, and manifest.json mapping each logical name to it. Templates name
a file by its logical name, `asset("styles.css")`; the static view sends a hashed file compressed when the browser
accepts it, cacheable for a year, since a changed file gets a new name. Other static files are sent as Flask does.
Pages are gzipped for browsers that accept it.
"""
from __future__ import annotations

import gzip
import json
import mimetypes
import re
from pathlib import Path

from flask import Flask, current_app, request, send_from_directory, url_for

DIST = "dist"
YEAR = 365 * 24 * 3600
HASHED = re.compile(rf"^{DIST}/[^/]+\.[0-9a-f]{{10}}\.[a-z0-9]+$")
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))   # the smaller first
SMALL_PAGE = 1024    # bytes: below this, compressing costs more than it saves


class AssetsMissing(RuntimeError):
    """The built files are not there: `make install` makes them."""


def manifest(app: Flask) -> dict[str, str]:
    """The logical names and their hashed files, read once per app."""
    if "assets" not in app.extensions:
        path = Path(app.static_folder) / DIST / "manifest.json"
        try:
            app.extensions["assets"] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as missing:
            raise AssetsMissing(f"{path} is missing: run 'make install' to build the style sheet and scripts") \
                from missing
    return app.extensions["assets"]


def asset(name: str) -> str:
    """The address of a built file, by its logical name (styles.css, uswds.js, app.js, favicon.svg...)."""
    return url_for("static", filename=f"{DIST}/{manifest(current_app)[name]}")


def send_static(filename: str):
    """The static view: a hashed file precompressed and cached for a year; any other file as Flask sends it."""
    if not HASHED.match(filename):
        return current_app.send_static_file(filename)
    folder = Path(current_app.static_folder)
    mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    for encoding, suffix in ENCODINGS:
        if request.accept_encodings[encoding] and (folder / (filename + suffix)).is_file():
            response = send_from_directory(folder, filename + suffix, mimetype=mimetype, max_age=YEAR)
            response.content_encoding = encoding
            break
    else:
        response = send_from_directory(folder, filename, mimetype=mimetype, max_age=YEAR)
    response.cache_control.public = True
    response.cache_control.immutable = True
    response.vary.add("Accept-Encoding")
    return response


def compress_page(response):
    """A page (HTML) gzipped when the browser accepts it. Pages hold a form's CSRF token; BREACH-style guessing
    needs the browser to send the session cookie with requests another site makes and to measure the answers,
    which the session cookie's SameSite=Lax refuses."""
    if (response.mimetype != "text/html" or response.direct_passthrough or response.is_streamed
            or "Content-Encoding" in response.headers or not request.accept_encodings["gzip"]):
        return response
    body = response.get_data()
    if len(body) >= SMALL_PAGE:
        response.set_data(gzip.compress(body, compresslevel=6))
        response.content_encoding = "gzip"
    response.vary.add("Accept-Encoding")
    return response


def init_app(app: Flask) -> None:
    app.view_functions["static"] = send_static
    app.after_request(compress_page)
    app.add_template_global(asset)
