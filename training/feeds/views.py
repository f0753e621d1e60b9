"""Calendar feeds: /calendar/<token>.ics, and making one's own address (shown once, on the page it is made)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, make_response, render_template, url_for
from flask_login import current_user, login_required

from training.access import supervises
from training.clock import current_instant, today_for, viewer_zone
from training.db import db
from training.feeds.addresses import make_address, owner_of
from training.feeds.service import Entry, calendar, feed_entries
from training.forms import EmptyForm

bp = Blueprint("feeds", __name__)


def _base() -> str:
    return str(current_app.config["BASE_URL"]).rstrip("/")


def feed_address(token: str) -> str:
    return _base() + url_for("feeds.feed", token=token)


@bp.route("/calendar/<token>.ics")
def feed(token: str):
    """The feed: no sign-in, the token is the check. An unknown, replaced or deactivated address: not found."""
    session = db()
    user = owner_of(session, token)
    if user is None:
        abort(404)
    base = _base()

    def page(entry: Entry) -> str:
        endpoint, values = entry.link
        return base + url_for(endpoint, **values)

    today = today_for(user)
    body = calendar(feed_entries(session, user, today), uid=f"calendar-{user.id}",
                    name=f"Rollcall training: {user.full_name}", time_zone=viewer_zone(user),
                    host=urlsplit(base).hostname or "rollcall", today=today, stamp=current_instant(), url=page)
    response = Response(body, mimetype="text/calendar")
    # Calendars fetch it again themselves; no shared cache keeps one person's dates.
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Content-Disposition"] = 'inline; filename="rollcall.ics"'
    return response


@bp.route("/reminders/calendar", methods=["POST"])
@login_required
def new_address():
    """Make the person's calendar address (replacing any before) and show it, this once."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    token = make_address(db(), current_user._get_current_object())
    address = feed_address(token)
    response = make_response(render_template("feeds/made.html", address=address,
                                             webcal="webcal://" + address.split("://", 1)[1],
                                             supervisor=supervises(db(), current_user)))
    response.headers["Cache-Control"] = "no-store"
    return response
