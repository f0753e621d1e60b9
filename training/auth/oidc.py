"""Single sign-on with OpenID Connect providers: their settings, their Authlib clients, and whom they sign in.

Authlib does the protocol: the authorization code flow with PKCE (S256), `state` and `nonce` kept in the signed
session cookie and checked on return, and the ID token's signature (against the provider's published keys),
issuer, audience, expiry and nonce verified. This module reads the providers' settings, fetches each one's
discovery document and keys on first use (never while the app is built) and keeps them for
OIDC_METADATA_MINUTES, and decides, from verified claims, which account a sign-in opens.

A provider comes from the environment (`OIDC_ISSUER`, `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET` or
`OIDC_PRIVATE_KEY_FILE`, `OIDC_SCOPES`, `OIDC_LABEL`, ...), and any number more from the settings file
OIDC_PROVIDERS_FILE (default instance/oidc.yaml; JSON is YAML too). docs/single-sign-on.md describes both.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests
import yaml
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import FlaskIntegration
from authlib.integrations.flask_client.apps import FlaskOAuth2App
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.errors import JoseError
from sqlalchemy import select
from sqlalchemy.orm import Session

from training.auth.service import find_by_email
from training.people.models import User

log = logging.getLogger(__name__)

CALLBACK_PATH = "/login/oidc/callback"
DEFAULT_SCOPES = "openid email profile"
PASSWORD_SIGN_IN_MODES = ("all", "staff", "off")
# Authentication method references (RFC 8176) that mean more than a password was used.
MULTI_FACTOR_AMR = frozenset({"mfa", "hwk", "otp", "sc", "swk", "fpt", "face", "iris", "retina", "vbm"})
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
# A provider that could not be reached is not asked again for this many seconds: sign-in pages stay quick.
RETRY_AFTER_SECONDS = 30


class SettingsError(ValueError):
    """The providers' settings are wrong: single sign-on is off until they are fixed; passwords still work."""


class ProviderUnavailable(RuntimeError):
    """The provider's discovery document or keys could not be fetched, or do not match its settings."""


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    issuer: str
    client_id: str
    client_secret: str | None = None
    private_key_file: str | None = None
    scopes: str = DEFAULT_SCOPES
    # Agency codes whose people this provider may sign in; empty: any agency's.
    agencies: tuple[str, ...] = ()
    # A claim holding the employee id, matched against the account's employee id.
    employee_id_claim: str | None = None
    # `acr` values that count as multi-factor authentication, and those asked for (`acr_values`).
    mfa_acr: tuple[str, ...] = ()
    acr_values: str | None = None

    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


class SignInFailed(Exception):
    """The provider's answer signs nobody in: `reason` for the audit trail, `message` for the page."""

    def __init__(self, reason: str, message: str, status: int = 400, detail: str = "") -> None:
        super().__init__(message)
        self.reason, self.message, self.status, self.detail = reason, message, status, detail


@dataclass
class Refusal:
    """Why a verified sign-in opens no account: the audit action's reason, the page's words, the account."""
    reason: str
    message: str
    account: User | None = None


REFUSALS = {
    "unknown": "No Rollcall account matches the account you signed in with. Ask your training coordinator to add "
               "you to the roster, with the email address your agency's sign-in uses.",
    "deactivated": "Your Rollcall account is deactivated. Ask your training coordinator if you should still "
                   "have access.",
    "unverified": "Your sign-in provider has not verified your email address, so Rollcall cannot tell it is "
                  "yours. Verify the address with your provider (or ask its help desk), then try again.",
    "wrong_agency": "This sign-in provider does not sign in people of your agency. Use your own agency's "
                    "sign-in button, or ask your training coordinator which one is yours.",
}


def _words(value, what: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(value.replace(",", " ").split())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise SettingsError(f"{what} must be a list of words or a space-separated string")


def _allowed_issuer(issuer: str, where: str) -> str:
    parts = urlsplit(issuer)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.netloc or parts.scheme not in ("https", "http") or (parts.scheme == "http" and not loopback):
        raise SettingsError(f"{where}: the issuer must be an https:// address (http:// only on loopback), "
                            f"not {issuer!r}")
    return issuer


def make_provider(entry: Mapping, where: str) -> Provider:
    """One provider from a settings entry (a mapping of the documented keys); SettingsError names `where`."""
    known = {"name", "label", "issuer", "client_id", "client_secret", "client_secret_env", "private_key_file",
             "scopes", "agencies", "employee_id_claim", "mfa_acr", "acr_values"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise SettingsError(f"{where}: unknown setting {', '.join(map(str, unknown))} "
                            f"(known: {', '.join(sorted(known))})")
    name = str(entry.get("name") or "")
    if not NAME.fullmatch(name):
        raise SettingsError(f"{where}: name must be 1 to 40 lower-case letters, digits and dashes, not {name!r}")
    for key in ("issuer", "client_id"):
        if not entry.get(key):
            raise SettingsError(f"{where}: {key} is required")
    secret = entry.get("client_secret")
    if entry.get("client_secret_env"):
        secret = os.environ.get(str(entry["client_secret_env"]))
        if not secret:
            raise SettingsError(f"{where}: the environment variable {entry['client_secret_env']} named by "
                                f"client_secret_env is not set")
    key_file = entry.get("private_key_file")
    if bool(secret) == bool(key_file):
        raise SettingsError(f"{where}: give either a client secret (client_secret or client_secret_env) or "
                            f"private_key_file (for private_key_jwt), not both nor neither")
    if key_file and not Path(key_file).is_file():
        raise SettingsError(f"{where}: private_key_file {key_file} does not exist")
    scopes = " ".join(_words(entry.get("scopes"), f"{where}: scopes")) or DEFAULT_SCOPES
    if "openid" not in scopes.split():
        raise SettingsError(f"{where}: scopes must include openid")
    return Provider(
        name=name, label=str(entry.get("label") or f"Sign in with {name}"),
        issuer=_allowed_issuer(str(entry["issuer"]), where), client_id=str(entry["client_id"]),
        client_secret=str(secret) if secret else None, private_key_file=str(key_file) if key_file else None,
        scopes=scopes, agencies=tuple(a.upper() for a in _words(entry.get("agencies"), f"{where}: agencies")),
        employee_id_claim=str(entry["employee_id_claim"]) if entry.get("employee_id_claim") else None,
        mfa_acr=_words(entry.get("mfa_acr"), f"{where}: mfa_acr"),
        acr_values=" ".join(_words(entry.get("acr_values"), f"{where}: acr_values")) or None)


def load_providers(config: Mapping) -> list[Provider]:
    """Every configured provider: the environment's (when OIDC_ISSUER is set), then the settings file's."""
    found = []
    if config.get("OIDC_ISSUER"):
        found.append(make_provider({
            "name": config.get("OIDC_NAME") or "sso", "label": config.get("OIDC_LABEL") or "Sign in with your agency",
            "issuer": config["OIDC_ISSUER"], "client_id": config.get("OIDC_CLIENT_ID"),
            "client_secret": config.get("OIDC_CLIENT_SECRET"), "private_key_file": config.get("OIDC_PRIVATE_KEY_FILE"),
            "scopes": config.get("OIDC_SCOPES"), "agencies": config.get("OIDC_AGENCIES"),
            "employee_id_claim": config.get("OIDC_EMPLOYEE_ID_CLAIM"), "mfa_acr": config.get("OIDC_MFA_ACR"),
            "acr_values": config.get("OIDC_ACR_VALUES")}, "OIDC_ISSUER and the OIDC_ settings"))
    path = config.get("OIDC_PROVIDERS_FILE")
    if path and Path(path).is_file():
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise SettingsError(f"{path}: cannot be read: {exc}") from exc
        entries = data.get("providers") if isinstance(data, dict) else None
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise SettingsError(f"{path}: expected a top-level 'providers:' list of mappings")
        found += [make_provider(entry, f"{path}, provider {n}") for n, entry in enumerate(entries, 1)]
    names = [p.name for p in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SettingsError(f"provider name {', '.join(twice)} is used more than once")
    return found


def password_sign_in(config: Mapping) -> str:
    """PASSWORD_SIGN_IN: who may sign in with a password (all, staff or off); anything else counts as all."""
    mode = str(config.get("PASSWORD_SIGN_IN") or "all").strip().lower()
    return mode if mode in PASSWORD_SIGN_IN_MODES else "all"


def asserts_multi_factor(provider: Provider, claims: Mapping) -> bool:
    """Whether the ID token says the person signed in with more than a password: an `amr` value meaning so,
    or an `acr` the provider's settings count as multi-factor."""
    amr = claims.get("amr")
    if isinstance(amr, list) and MULTI_FACTOR_AMR.intersection(a for a in amr if isinstance(a, str)):
        return True
    return bool(provider.mfa_acr) and claims.get("acr") in provider.mfa_acr


def account_for(session: Session, provider: Provider, claims: Mapping) -> User | Refusal:
    """The active account verified claims sign in, or why none: matched by the employee-id claim (where the
    provider has one) or by a verified email, case-insensitively. No account is ever created here."""
    account = None
    if provider.employee_id_claim:
        employee_id = claims.get(provider.employee_id_claim)
        if isinstance(employee_id, str | int) and str(employee_id).strip():
            account = session.scalar(select(User).where(User.employee_id == str(employee_id).strip()))
    email = claims.get("email")
    if account is None and isinstance(email, str) and email.strip():
        if claims.get("email_verified") is not True:
            return Refusal("unverified", REFUSALS["unverified"], find_by_email(session, email))
        account = find_by_email(session, email)
    if account is None:
        return Refusal("unknown", REFUSALS["unknown"])
    if not account.active:
        return Refusal("deactivated", REFUSALS["deactivated"], account)
    if provider.agencies and (account.agency is None or account.agency.code.upper() not in provider.agencies):
        return Refusal("wrong_agency", REFUSALS["wrong_agency"], account)
    return account


@dataclass
class _Loaded:
    client: FlaskOAuth2App | None = None
    at: float = 0.0
    error: str | None = None


@dataclass
class Registry:
    """The configured providers and, fetched on first use, their Authlib clients (discovery and keys kept for
    `ttl` seconds; a failure is kept RETRY_AFTER_SECONDS, then tried again)."""
    providers: list[Provider]
    error: str | None = None
    timeout: float = 5.0
    ttl: float = 3600.0
    _loaded: dict[str, _Loaded] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, name: str) -> Provider | None:
        return next((p for p in self.providers if p.name == name), None)

    def client(self, provider: Provider) -> FlaskOAuth2App:
        """The provider's Authlib client; ProviderUnavailable (logged) when it cannot be had now."""
        with self._lock:
            now = time.monotonic()
            loaded = self._loaded.get(provider.name)
            if loaded and loaded.client and now - loaded.at < self.ttl:
                return loaded.client
            if loaded and loaded.error and now - loaded.at < RETRY_AFTER_SECONDS:
                raise ProviderUnavailable(loaded.error)
            try:
                client = self._build(provider)
            except ProviderUnavailable as exc:
                log.error("single sign-on provider %s is unavailable: %s", provider.name, exc)
                self._loaded[provider.name] = _Loaded(error=str(exc), at=now)
                raise
            self._loaded[provider.name] = _Loaded(client=client, at=now)
            return client

    def cached_metadata(self, name: str) -> Mapping | None:
        """The discovery document fetched last for this provider, without fetching; None when there is none."""
        loaded = self._loaded.get(name)
        return loaded.client.server_metadata if loaded and loaded.client else None

    def form_origins(self) -> list[str]:
        """Where the sign-in page's provider buttons end up: each issuer's origin, and its authorization
        endpoint's once the discovery document is known (for Content-Security-Policy form-action)."""
        found = []
        for provider in self.providers:
            metadata = self.cached_metadata(provider.name) or {}
            for url in (provider.issuer, metadata.get("authorization_endpoint")):
                parts = urlsplit(url or "")
                origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None
                if origin and origin not in found:
                    found.append(origin)
        return found

    def _fetch(self, url: str, what: str) -> dict:
        try:
            response = requests.get(url, timeout=self.timeout, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"its {what} at {url} could not be fetched: {exc}") from exc
        except ValueError as exc:
            raise ProviderUnavailable(f"its {what} at {url} is not JSON") from exc
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"its {what} at {url} is not a JSON object")
        return document

    def _build(self, provider: Provider) -> FlaskOAuth2App:
        metadata = self._fetch(provider.discovery_url(), "discovery document")
        if metadata.get("issuer") != provider.issuer:
            raise ProviderUnavailable(
                f"the discovery document at {provider.discovery_url()} names the issuer "
                f"{metadata.get('issuer')!r}, not the configured {provider.issuer!r}: correct the issuer setting "
                f"(exactly as the provider writes it, trailing slash included)")
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not metadata.get(key):
                raise ProviderUnavailable(f"its discovery document has no {key}")
        methods = metadata.get("code_challenge_methods_supported")
        if methods is not None and "S256" not in methods:
            raise ProviderUnavailable("it does not support PKCE with S256")
        jwks = self._fetch(metadata["jwks_uri"], "key set (JWKS)")
        if not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
            raise ProviderUnavailable(f"its key set at {metadata['jwks_uri']} holds no keys")
        metadata = {**metadata, "jwks": jwks}
        client_kwargs = {"scope": provider.scopes, "code_challenge_method": "S256",
                         "default_timeout": self.timeout}
        secret, auth_methods = provider.client_secret, None
        if provider.private_key_file:
            try:
                secret = Path(provider.private_key_file).read_text(encoding="utf-8")
            except OSError as exc:
                raise ProviderUnavailable(f"its private key file cannot be read: {exc}") from exc
            client_kwargs["token_endpoint_auth_method"] = "private_key_jwt"
            auth_methods = [PrivateKeyJWT(metadata["token_endpoint"])]
        # The endpoints come from the document fetched and checked above, which also serves as the client's
        # server metadata (issuer for the ID token check, jwks, end_session_endpoint).
        metadata.pop("_loaded_at", None)
        return FlaskOAuth2App(FlaskIntegration(f"oidc_{provider.name}"), name=f"oidc_{provider.name}",
                              client_id=provider.client_id, client_secret=secret, client_kwargs=client_kwargs,
                              client_auth_methods=auth_methods,
                              authorize_params={"acr_values": provider.acr_values} if provider.acr_values else None,
                              **metadata)


def registry(app) -> Registry:
    """The app's providers, read from its settings on first use; a settings mistake is logged and leaves
    single sign-on off (no providers), so password sign-in goes on working."""
    found = app.extensions.get("oidc")
    if found is None:
        config = app.config
        try:
            providers, error = load_providers(config), None
        except SettingsError as exc:
            providers, error = [], f"single sign-on is off: {exc}"
            app.logger.error(error)
        found = app.extensions.setdefault("oidc", Registry(
            providers, error, timeout=float(config.get("OIDC_TIMEOUT_SECONDS", 5)),
            ttl=float(config.get("OIDC_METADATA_MINUTES", 60)) * 60))
    return found


def callback_url(config: Mapping) -> str:
    return str(config["BASE_URL"]).rstrip("/") + CALLBACK_PATH


START_AGAIN = "Start again from the sign-in page."


def finish(client: FlaskOAuth2App, provider: Provider, args: Mapping) -> dict:
    """The verified ID token claims of the answer the provider sent the browser back with (`args`, the
    callback's query). Authlib checks `state` against this browser's session (and forgets it: an answer is
    good once), exchanges the code with the PKCE verifier, and verifies the ID token's signature, issuer,
    audience, expiry and nonce. Anything wrong raises SignInFailed."""
    if args.get("iss") not in (None, provider.issuer):
        raise SignInFailed("issuer_mismatch", f"The answer came from another provider than {provider.label}. "
                           + START_AGAIN, detail=str(args.get("iss"))[:200])
    try:
        token = client.authorize_access_token()
    except MismatchingStateError as exc:
        raise SignInFailed("state", "This sign-in answer does not belong to a sign-in started in this browser, "
                           "or it was used already. " + START_AGAIN) from exc
    except OAuthError as exc:
        if exc.error == "access_denied":
            raise SignInFailed("access_denied", f"{provider.label} did not sign you in (it was cancelled or "
                               "refused). " + START_AGAIN, detail=str(exc)[:500]) from exc
        raise SignInFailed("provider_error", f"{provider.label} did not complete the sign-in. " + START_AGAIN,
                           detail=str(exc)[:500]) from exc
    except requests.RequestException as exc:
        log.error("single sign-on provider %s did not answer the token request: %s", provider.name, exc)
        raise SignInFailed("unavailable", UNAVAILABLE.format(label=provider.label), 503,
                           detail=str(exc)[:500]) from exc
    except (AuthlibBaseError, JoseError) as exc:
        log.warning("single sign-on provider %s: ID token refused: %r", provider.name, exc)
        raise SignInFailed("id_token", f"The answer from {provider.label} could not be verified, so nobody was "
                           "signed in. " + START_AGAIN, detail=repr(exc)[:500]) from exc
    claims = token.get("userinfo")
    if not claims:
        raise SignInFailed("id_token", f"{provider.label} sent no ID token, so nobody was signed in. " + START_AGAIN)
    return with_userinfo(client, provider, token, dict(claims))


def with_userinfo(client: FlaskOAuth2App, provider: Provider, token: dict, claims: dict) -> dict:
    """Providers that keep the email (or the employee id) out of the ID token (Login.gov) give it at their
    userinfo endpoint, asked with the access token just received; its answer must be about the same `sub`.
    What the ID token says wins: amr and acr are taken from it alone."""
    wanted = [c for c in ("email", provider.employee_id_claim) if c]
    if any(claims.get(c) for c in wanted) or not client.server_metadata.get("userinfo_endpoint"):
        return claims
    try:
        info = dict(client.userinfo(token=token))
    except (requests.RequestException, AuthlibBaseError, ValueError) as exc:
        log.error("single sign-on provider %s: userinfo could not be fetched: %s", provider.name, exc)
        raise SignInFailed("unavailable", UNAVAILABLE.format(label=provider.label), 503,
                           detail=str(exc)[:500]) from exc
    if info.get("sub") != claims.get("sub"):
        raise SignInFailed("userinfo", f"The answer from {provider.label} could not be verified, so nobody was "
                           "signed in. " + START_AGAIN, detail="userinfo sub differs from the ID token's")
    info.pop("amr", None)
    info.pop("acr", None)
    return {**info, **claims}


UNAVAILABLE = ("{label} cannot be reached just now, so single sign-on is not working. Try again in a few "
               "minutes.")
