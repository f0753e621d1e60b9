"""Rollcall: annual use-of-force training and certification."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

import config as settings
from training import assets, db, navigation, security, words
from training.api import problems
from training.commands import megabytes
from training.extensions import csrf, login_manager

BASE_DIR = Path(__file__).resolve().parent.parent


def create_app(config: object | None = None, **overrides) -> Flask:
    """Build the app: settings, extensions, blueprints, error pages and commands. No side effects, but one:
    outside production, a SECRET_KEY or ENCRYPTION_KEYS left unset is made once under instance/."""
    app = Flask(__name__, template_folder=str(BASE_DIR / "templates"),
                static_folder=str(BASE_DIR / "static"), instance_path=str(BASE_DIR / "instance"))
    app.config.from_object(config or settings.from_environment())
    app.config.update(overrides)
    trust_proxies(app)
    register_extensions(app)
    register_request_checks(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Behind N reverse proxies, take the client's address (and scheme) from the headers they add."""
    x_for, x_proto = app.config.get("PROXY_FIX_X_FOR", 0), app.config.get("PROXY_FIX_X_PROTO", 0)
    if x_for or x_proto:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=x_for, x_proto=x_proto, x_host=0, x_port=0, x_prefix=0)


def register_extensions(app: Flask) -> None:
    from training.auth import keys
    keys.init_app(app)   # first: the keys that sign cookies and encrypt secrets, checked before anything uses them
    from training.ops import logs
    logs.init_app(app)   # before the other hooks: each request's log line times it all and follows its commit

    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    security.init_app(app)
    register_template_helpers(app)
    assets.init_app(app)
    navigation.init_app(app)

    from training.auth import throttle
    throttle.init_app(app)

    from training.auth.service import load_user
    login_manager.user_loader(load_user)


def register_template_helpers(app: Flask) -> None:
    """How every page writes counts and dates, and what every date field's hint says."""
    from training.forms import DATE_HINT

    app.add_template_filter(words.plural, "plural")
    app.add_template_filter(words.day, "day")
    app.add_template_global(words.agree, "agree")
    app.jinja_env.globals["date_hint"] = DATE_HINT


def register_request_checks(app: Flask) -> None:
    from training.params import RowId, refuse_nul_characters

    app.url_map.converters["int"] = RowId
    app.before_request(refuse_nul_characters)


BLUEPRINT_PACKAGES = ("home", "auth", "learn", "updates", "records", "people", "assignments", "imports", "reports",
                      "audit", "admin", "reminders", "documents", "api", "feeds", "evidence", "ops")


def register_blueprints(app: Flask) -> None:
    """Each feature package's `views.bp`, named like its package and rendering from templates/<package>/."""
    from importlib import import_module

    for package in BLUEPRINT_PACKAGES:
        app.register_blueprint(import_module(f"training.{package}.views").bp)


def register_error_handlers(app: Flask) -> None:
    """Every error answer first discards what the request changed: a failed request writes nothing. Under
    /api/ every error is answered as problem details (training/api/problems.py)."""
    def page(code: int, title: str, message: str, specific_from=(400, 404)):
        def handler(error):
            # A view may say what exactly was wrong or not found (abort(404, "No module has the code X.")).
            said = getattr(error, "description", None)
            specific = said if code in specific_from and said and said != type(error).description else message
            return render_template("errors.html", code=code, title=title, message=specific), code
        return handler

    def too_large(_error):
        return render_template(
            "errors.html", code=413, title="File too large",
            message=f"The upload is larger than the {megabytes(app.config['MAX_CONTENT_LENGTH'])} allowed. "
                    f"Split the file into smaller ones and upload each."), 413

    handlers = {
        400: page(400, "Bad request", "The request could not be understood."),
        403: page(403, "Not allowed", "Your role does not give access to this page."),
        404: page(404, "Not found", "There is nothing at this address."),
        413: too_large,
        500: page(500, "Something went wrong",
                  "Nothing was saved. Try again, and tell an administrator if it keeps happening."),
        CSRFError: page(400, "Form expired",
                        "The form expired or was sent from elsewhere. Go back, reload the page and try again.",
                        specific_from=()),
        HTTPException: lambda error: error,   # any other error status, answered as Werkzeug words it
    }
    for key, handler in handlers.items():
        app.register_error_handler(key, _discarding(handler))


def _discarding(handler):
    def discard_then_answer(error):
        db.discard_request_changes()
        if problems.is_api_request():   # the API answers every error as problem details, never as a page
            return problems.from_error(getattr(error, "original_exception", None) or error)
        return handler(error)
    return discard_then_answer


def register_commands(app: Flask) -> None:
    from training.cli import register

    register(app)
