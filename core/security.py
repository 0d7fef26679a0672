"""Passwords, CSRF, login manager, the security headers every response carries, and the
redaction of secrets from the logs."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, Response, request
from flask_babel import gettext
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from core.i18n import N_
from core.logging import install_redaction

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
# A plain string translated when flashed: the session store (msgpack) cannot hold lazy strings.
login_manager.login_message = N_("Ingresá para continuar.")
login_manager.localize_callback = gettext
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a login takes as long whether or not it exists.
_DUMMY_HASH = _hasher.hash("talonario-timing-equalizer")

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def forbid_storing_private_responses(response: Response) -> Response:
    """`Cache-Control: no-store` on every answer to a signed-in person or an API key (pages,
    fragments, PDFs, exports, errors): neither a shared computer's browser cache nor a proxy
    keeps a business's data after the session. Static files and public pages keep theirs."""
    if request.endpoint == "static" or not is_authenticated_request():
        return response
    if not response.cache_control.no_store:
        response.headers["Cache-Control"] = "no-store"
    return response


def is_authenticated_request() -> bool:
    if "Authorization" in request.headers:
        return True
    try:
        return bool(current_user.is_authenticated)
    except Exception:  # the user could not be loaded (database down): assume private
        return True


def init_security(app: Flask) -> None:
    install_redaction()
    csrf.init_app(app)
    login_manager.init_app(app)
    app.after_request(add_security_headers)
    app.after_request(forbid_storing_private_responses)
