"""Settings, read from the environment."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (os.environ.get(name) or default).strip().lower()
    if value not in choices:
        raise RuntimeError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _years(name: str) -> int | None:
    """A whole number of years above zero, or None when unset."""
    value = (os.environ.get(name) or "").strip()
    if not value:
        return None
    if not value.lstrip("-").isdigit() or int(value) < 1:
        raise RuntimeError(f"{name} must be a whole number of years, at least 1, not {value!r}")
    return int(value)


class Config:
    # Signs the session cookie. Unset (outside production): a random key of this installation's own, made once
    # under instance/ (training/auth/keys.py); a key written here would be readable by anyone.
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    # Fernet keys that encrypt second-factor secrets at rest, comma-separated, newest first. Unset (outside
    # production): one made once under instance/, like SECRET_KEY.
    ENCRYPTION_KEYS = os.environ.get("ENCRYPTION_KEYS") or None
    # Production refuses to start without SECRET_KEY and ENCRYPTION_KEYS instead of making them.
    REQUIRE_CONFIGURED_KEYS = False
    DATABASE_URL = os.environ.get(
        "DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'rollcall.db'}"
    )
    SMTP_HOST = os.environ.get("SMTP_HOST", "127.0.0.1")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "25"))
    SMTP_USERNAME = os.environ.get("SMTP_USERNAME")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD")
    SMTP_STARTTLS = _bool("SMTP_STARTTLS")
    MAIL_FROM = os.environ.get("MAIL_FROM", "rollcall@localhost")
    # How many SMTP connections a delivery sends over at once, each a batch of its own.
    MAIL_CONNECTIONS = int(os.environ.get("MAIL_CONNECTIONS", "4"))
    # Development serves on PORT: links in mail and on certificates follow the address `serve` listens on,
    # unless BASE_URL names the public address.
    PORT = int(os.environ.get("PORT") or 5000)
    BASE_URL = os.environ.get("BASE_URL") or f"http://127.0.0.1:{PORT}"
    BASE_URL_FOLLOWS_SERVE = not os.environ.get("BASE_URL")

    COURSES_DIR = BASE_DIR / "courses"
    QUIZZES_DIR = BASE_DIR / "quizzes"

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Flask-Login's remember cookie is never issued nor honoured (training/security.py); this keeps
    # Flask-Login from ever setting one on its own.
    REMEMBER_COOKIE_REFRESH_EACH_REQUEST = False
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    # Sessions live on the server: they end after this long without a request, and this long after sign-in.
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
    SESSION_MAX_HOURS = int(os.environ.get("SESSION_MAX_HOURS", "12"))
    # Failed sign-ins allowed per account and per client address in one fixed window.
    SIGN_IN_WINDOW_MINUTES = int(os.environ.get("SIGN_IN_WINDOW_MINUTES", "15"))
    SIGN_IN_ACCOUNT_LIMIT = int(os.environ.get("SIGN_IN_ACCOUNT_LIMIT", "5"))
    SIGN_IN_ADDRESS_LIMIT = int(os.environ.get("SIGN_IN_ADDRESS_LIMIT", "20"))
    # Staff sign in with a second factor. The documented demo sign-ins may skip it, except in production.
    DEMO_SIGN_IN_WITHOUT_SECOND_FACTOR = True
    # Minutes between a right password and the one-time code that must follow it.
    SECOND_FACTOR_MINUTES = 5
    # Minutes a key offered for setting up an authenticator waits, on the server, for the code that confirms it.
    SECOND_FACTOR_SETUP_MINUTES = 10
    # Invitations to choose a password are good for this many days; a password-reset link for this many minutes.
    INVITATION_DAYS = int(os.environ.get("INVITATION_DAYS", "14"))
    PASSWORD_RESET_MINUTES = int(os.environ.get("PASSWORD_RESET_MINUTES", "60"))
    # Password-reset requests allowed per email address typed and per client address, in the sign-in window.
    PASSWORD_RESET_ACCOUNT_LIMIT = int(os.environ.get("PASSWORD_RESET_ACCOUNT_LIMIT", "3"))
    PASSWORD_RESET_ADDRESS_LIMIT = int(os.environ.get("PASSWORD_RESET_ADDRESS_LIMIT", "10"))
    # Where those failures are counted: unset, the database; a redis:// URL, that Redis (keys under the prefix).
    THROTTLE_REDIS_URL = os.environ.get("THROTTLE_REDIS_URL") or None
    THROTTLE_REDIS_PREFIX = os.environ.get("THROTTLE_REDIS_PREFIX", "rollcall:throttle:")
    # Behind reverse proxies: how many of them append X-Forwarded-For (the client address the throttle and the
    # audit trail see) and set X-Forwarded-Proto. 0 (directly exposed): the headers are ignored, as anyone can
    # send them.
    PROXY_FIX_X_FOR = int(os.environ.get("PROXY_FIX_X_FOR", "0"))
    PROXY_FIX_X_PROTO = int(os.environ.get("PROXY_FIX_X_PROTO", "0"))
    # Strict-Transport-Security: only where the site is served over HTTPS.
    HSTS = False
    # Uploads: a roster of 100,000 officers is about 10 MB.
    MAX_CONTENT_LENGTH = 32 * 1024 * 1024
    # Files given to the import commands: years of completion records run to a few hundred MB.
    IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(512 * 1024 * 1024)))
    # Problems an import (site or command) lists with their lines; beyond these it only counts them, so a file of
    # millions of bad lines takes no more memory than a good one.
    IMPORT_PROBLEMS_SHOWN = int(os.environ.get("IMPORT_PROBLEMS_SHOWN", "200"))
    # Hours for which an upload's preview can be confirmed; the daily job then deletes the file (personal data).
    UPLOAD_PREVIEW_HOURS = int(os.environ.get("UPLOAD_PREVIEW_HOURS", "24"))

    # Single sign-on with OpenID Connect (docs/single-sign-on.md): one provider from these settings, and any
    # number more from OIDC_PROVIDERS_FILE. The callback every provider is given is BASE_URL/login/oidc/callback.
    OIDC_ISSUER = os.environ.get("OIDC_ISSUER") or None
    OIDC_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID") or None
    OIDC_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET") or None
    OIDC_PRIVATE_KEY_FILE = os.environ.get("OIDC_PRIVATE_KEY_FILE") or None
    OIDC_SCOPES = os.environ.get("OIDC_SCOPES") or "openid email profile"
    OIDC_LABEL = os.environ.get("OIDC_LABEL") or "Sign in with your agency"
    OIDC_NAME = os.environ.get("OIDC_NAME") or "sso"
    OIDC_AGENCIES = os.environ.get("OIDC_AGENCIES") or None
    OIDC_EMPLOYEE_ID_CLAIM = os.environ.get("OIDC_EMPLOYEE_ID_CLAIM") or None
    OIDC_MFA_ACR = os.environ.get("OIDC_MFA_ACR") or None
    OIDC_ACR_VALUES = os.environ.get("OIDC_ACR_VALUES") or None
    OIDC_PROVIDERS_FILE = os.environ.get("OIDC_PROVIDERS_FILE") or str(BASE_DIR / "instance" / "oidc.yaml")
    # Seconds to wait for a provider; minutes its discovery document and keys are kept before being fetched again.
    OIDC_TIMEOUT_SECONDS = float(os.environ.get("OIDC_TIMEOUT_SECONDS", "5"))
    OIDC_METADATA_MINUTES = float(os.environ.get("OIDC_METADATA_MINUTES", "60"))
    # Who may sign in with a password: all, staff (officers use single sign-on) or off (single sign-on only).
    PASSWORD_SIGN_IN = _choice("PASSWORD_SIGN_IN", "all", ("all", "staff", "off"))

    # The longest exemption a coordinator grants an officer; longer ones, and any for staff, need an administrator.
    EXEMPTION_MAX_DAYS = int(os.environ.get("EXEMPTION_MAX_DAYS", "365"))
    # Hour of each agency's own day (in its time zone; the server's for officers of no agency) from which the
    # daily job, run every hour, sweeps that agency for the day (training/scheduler.py).
    DAILY_JOB_HOUR = int(os.environ.get("DAILY_JOB_HOUR", "6"))
    # Reminders: days before the due date ("30,14,7,1"); every N days while overdue (7); the escalation ladder
    # ("7:supervisor,14:coordinator"). Unset, each keeps its default in training/reminders/rules.py.
    REMINDER_DAYS_BEFORE = os.environ.get("REMINDER_DAYS_BEFORE")
    REMINDER_OVERDUE_EVERY_DAYS = os.environ.get("REMINDER_OVERDUE_EVERY_DAYS")
    REMINDER_ESCALATIONS = os.environ.get("REMINDER_ESCALATIONS")
    # A message the mail server refused this many times is marked failed and shown to administrators.
    REMINDER_MAX_ATTEMPTS = int(os.environ.get("REMINDER_MAX_ATTEMPTS", "8"))
    # Minutes between deliveries of the outbox.
    DELIVERY_INTERVAL_MINUTES = int(os.environ.get("DELIVERY_INTERVAL_MINUTES", "5"))
    # Minutes between counts of the compliance dashboard's tallies (docs/performance.md).
    TALLY_INTERVAL_MINUTES = int(os.environ.get("TALLY_INTERVAL_MINUTES", "5"))

    # The JSON API (docs/api.md): requests per minute each token may make, counted where sign-in failures are
    # (THROTTLE_REDIS_URL, or the database); and how many minutes old a completion's change must be before the
    # sync gives it, so that a transaction still writing completions commits before the cursor passes them.
    API_RATE_LIMIT = int(os.environ.get("API_RATE_LIMIT", "120"))
    API_SYNC_SETTLE_MINUTES = int(os.environ.get("API_SYNC_SETTLE_MINUTES", "10"))
    # Backups on PostgreSQL (docs/operations.md#backups): the folder of pg_dump and pg_restore. Unset, those of the
    # server's major version under Debian's /usr/lib/postgresql, else the ones on the PATH, if not older than it.
    PG_BIN_DIR = os.environ.get("PG_BIN_DIR") or None

    # Operations (docs/operations.md#health-metrics-and-logs). /readyz fails when the daily job last started more
    # than this many hours ago, or when more messages than this wait in the outbox, or one has waited longer.
    READY_DAILY_JOB_HOURS = int(os.environ.get("READY_DAILY_JOB_HOURS", "25"))
    READY_OUTBOX_MAX_PENDING = int(os.environ.get("READY_OUTBOX_MAX_PENDING", "5000"))
    READY_OUTBOX_MAX_AGE_MINUTES = int(os.environ.get("READY_OUTBOX_MAX_AGE_MINUTES", "120"))
    # Who may read /metrics: these addresses or CIDR blocks (comma-separated), or a request with the bearer token.
    METRICS_ALLOW = os.environ.get("METRICS_ALLOW", "127.0.0.1/32,::1/128")
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None
    # One line per request and per job run: json (for a log collector) or text (for a person).
    LOG_FORMAT = _choice("LOG_FORMAT", "text", ("json", "text"))

    # Years after an account is deactivated that its personal data is kept; the daily job then anonymises it,
    # keeping its training records (training/retention). Unset: nothing is ever purged.
    RETENTION_YEARS = _years("RETENTION_YEARS")


class TestConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = False
    SECRET_KEY = "test-secret-key"
    ENCRYPTION_KEYS = "dGVzdC1lbmNyeXB0aW9uLWtleS0wMS0tLS0tLS0tLS0="
    # Tests that use Redis say so; a developer's THROTTLE_REDIS_URL is not the suite's.
    THROTTLE_REDIS_URL = None
    # Nor are a developer's single sign-on settings: tests that use a provider set their own.
    OIDC_ISSUER = None
    OIDC_PROVIDERS_FILE = None
    PASSWORD_SIGN_IN = "all"
    METRICS_TOKEN = None
    METRICS_ALLOW = "127.0.0.1/32,::1/128"


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    HSTS = True
    DEMO_SIGN_IN_WITHOUT_SECOND_FACTOR = False
    REQUIRE_CONFIGURED_KEYS = True
    BASE_URL_FOLLOWS_SERVE = False

    def __init__(self) -> None:
        # Read when the settings are made, not when this module was imported.
        for name in ("SECRET_KEY", "ENCRYPTION_KEYS"):
            if not os.environ.get(name):
                raise RuntimeError(f"{name} must be set in production")
            setattr(self, name, os.environ[name])


def from_environment() -> type[Config] | Config:
    """The settings class named by ROLLCALL_ENV (development by default)."""
    name = os.environ.get("ROLLCALL_ENV", "development")
    if name == "production":
        return ProductionConfig()
    if name == "test":
        return TestConfig
    return Config
