"""Static files: built under content-hashed names, sent precompressed when the browser accepts it, cached for a
year; every file a page or the style sheet names is there."""
from __future__ import annotations

import gzip
import hashlib
import re
from urllib.request import Request, urlopen

import pytest

from tests.support.databases import database_of_its_own, reset_database
from tests.support.paths import ROOT
from tests.support.servers import gunicorn
from training.assets import manifest

DIST = ROOT / "static" / "dist"


def built(app, name: str) -> tuple[str, bytes]:
    hashed = manifest(app)[name]
    return f"/static/dist/{hashed}", (DIST / hashed).read_bytes()


@pytest.mark.parametrize("accepts, encoding", [("gzip, deflate, br, zstd", "br"), ("gzip", "gzip"),
                                               ("br;q=0, gzip;q=0.5", "gzip"), ("", None), ("identity", None)])
def test_a_built_file_is_sent_compressed_as_the_browser_accepts(app, client, accepts, encoding):
    path, original = built(app, "styles.css")
    response = client.get(path, headers={"Accept-Encoding": accepts})
    assert response.status_code == 200
    assert response.content_type.startswith("text/css")
    assert response.headers.get("Content-Encoding") == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    body = response.get_data()
    if encoding == "gzip":
        body = gzip.decompress(body)
    elif encoding == "br":
        assert body == (DIST / f"{manifest(app)['styles.css']}.br").read_bytes() and len(body) < len(original) / 5
        return
    assert body == original


def test_built_files_are_cached_for_a_year_and_others_are_not(app, client):
    for name in ("styles.css", "uswds.js", "app.js", "favicon.svg"):
        path, _ = built(app, name)
        cache = client.get(path, headers={"Accept-Encoding": "br"}).headers["Cache-Control"]
        assert {"public", "max-age=31536000", "immutable"} <= set(re.split(r",\s*", cache)), (name, cache)
    plain = client.get("/static/src/favicon.svg")
    assert plain.status_code == 200 and "immutable" not in plain.headers.get("Cache-Control", "")


def test_a_changed_file_gets_a_new_name(app):
    """The name holds a hash of the content, so a year-long cache never serves an old copy."""
    for name, hashed in manifest(app).items():
        content = (DIST / hashed).read_bytes()
        assert hashed.split(".")[-2] == hashlib.sha256(content).hexdigest()[:10], name


def test_conditional_requests_get_not_modified(app, client):
    path, _ = built(app, "uswds.js")
    first = client.get(path, headers={"Accept-Encoding": "br"})
    again = client.get(path, headers={"Accept-Encoding": "br", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_pages_name_only_built_files_and_the_style_sheet_only_files_that_exist(app, client):
    page = client.get("/login").get_data(as_text=True)
    named = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert len(named) == 5 and all(client.get(path).status_code == 200 for path in named), named
    css = (DIST / manifest(app)["styles.css"]).read_text(encoding="utf-8")
    urls = {url for url in re.findall(r'url\("?([^")]+)"?\)', css) if not url.startswith("data:")}
    assert urls and all((DIST / url).is_file() for url in urls), urls
    assert "merriweather" not in css.lower() and ".woff)" not in css and ".ttf" not in css   # one typeface, woff2


def test_pages_are_gzipped_for_browsers_that_accept_it(client):
    plain = client.get("/login")
    packed = client.get("/login", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert plain.headers.get("Content-Encoding") is None
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    page = gzip.decompress(packed.get_data()).decode()
    assert "<h1>Sign in to Rollcall</h1>" in page and len(packed.get_data()) < len(page) / 2
    # The CSRF token differs with each page made; everything else is the same page.
    assert re.sub(r'value="[^"]+"', "", page) == re.sub(r'value="[^"]+"', "", plain.get_data(as_text=True))


@pytest.mark.slow
def test_gunicorn_in_production_sends_them_the_same_way(tmp_path_factory, tmp_path):
    """Nothing in front: gunicorn alone, in production settings, sends the built files and the pages compressed."""
    url = database_of_its_own(tmp_path_factory, "assets")
    reset_database(url)
    with gunicorn(url, tmp_path, workers=1) as server:
        page = urlopen(Request(f"{server.base_url}/login", headers={"Accept-Encoding": "gzip, br"}), timeout=30)
        html = gzip.decompress(page.read()).decode()
        assert page.headers["Content-Encoding"] == "gzip" and "Strict-Transport-Security" in page.headers
        path = re.search(r'href="(/static/dist/styles\.\w+\.css)"', html).group(1)
        sheet = urlopen(Request(server.base_url + path, headers={"Accept-Encoding": "gzip, br"}), timeout=30)
        assert sheet.headers["Content-Encoding"] == "br" and "immutable" in sheet.headers["Cache-Control"]
        assert sheet.read() == (DIST / f"{path.rsplit('/', 1)[1]}.br").read_bytes()
