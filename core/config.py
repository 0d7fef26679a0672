"""Configuration: defaults, then `TALONARIO_*` environment variables, then the test overrides.

With nothing configured the app runs on its embedded default: SQLite under `instance/`, an
in-process cache and secrets generated once into `instance/` (mode 0600) and reused.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

ARCA_ENVIRONMENTS = ("sandbox", "homologacion", "produccion")

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,
    "REDIS_URL": None,
    "SECRET_KEY": None,
    "ENCRYPTION_KEYS": None,
    "ARCA_ENVIRONMENT": "sandbox",
    "ARCA_SANDBOX_URL": None,
    "ARCA_SANDBOX_STATE": None,
    "ARCA_CONNECT_TIMEOUT": 5,
    "ARCA_READ_TIMEOUT": 30,
    # A voucher whose answer was lost counts as "not at ARCA" only this long after it was sent:
    # a request that timed out may still be processed late (NOTES §12.1).
    "ARCA_UNKNOWN_GRACE_SECONDS": 90,
    "CACHE_KEY_PREFIX": "talonario:",
    # Outgoing email (core/mail.py): smtp://user:pass@host:port (STARTTLS when offered) or
    # smtps://…; none: messages are written as .eml files under instance/mail/.
    "MAIL_URL": None,
    "MAIL_FROM": "Talonario <no-reply@localhost>",
    # Where people reach the app: links in emails sent by workers (no request to take it from).
    "PUBLIC_URL": "http://localhost:5000",
    # Webhook endpoints on loopback/private addresses: refused unless this is true (local
    # development, the tests).
    "WEBHOOKS_ALLOW_PRIVATE": False,
    # The webhook delivery log (attempts, finished deliveries, spent events) is kept this many
    # days; the scheduler's hourly job and `flask webhooks prune` delete the rest.
    "WEBHOOK_LOG_DAYS": 30,
    # Retention (blueprints/retention/policy.py): where removed audit entries and vouchers are
    # archived (default instance/archive); operational records at most 90 days; audit online 365.
    "ARCHIVE_PATH": None,
    "RETENTION_OPERATIONAL_DAYS": 90,
    "RETENTION_AUDIT_DAYS": 365,
    # Durable requests (core/tasks.py): a request that must wait (ARCA down, a voucher of its
    # sequence unconfirmed) is retried after 5 s, 10 s, 20 s… up to 10 minutes apart, and given
    # up after 50 attempts or a day; the scheduler wakes vanished ones every 2 s.
    "TASKS_RETRY_SECONDS": 5,
    "TASKS_RETRY_MAX_SECONDS": 600,
    "TASKS_MAX_ATTEMPTS": 50,
    "TASKS_GIVE_UP_SECONDS": 24 * 3600,
    "TASKS_DISPATCH_SECONDS": 2,
    "SESSION_COOKIE_SECURE": True,
    # Login attempts are counted before the password is checked: 5 a minute per account (from
    # any address), 20 per address (to any account); each further lock doubles, up to an hour.
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_FAILURE_WINDOW_SECONDS": 60,
    "LOGIN_MAX_ATTEMPTS_PER_ADDRESS": 20,
    "LOGIN_MAX_LOCK_SECONDS": 3600,
    "INVITATION_DAYS": 7,
    "TRUSTED_PROXIES": 0,
    "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
    # A CSV import of this many rows or more runs as a background job (RQ), with a progress bar.
    "CUSTOMER_IMPORT_BACKGROUND_ROWS": 10_000,
    # An anonymous final consumer may be invoiced below this many pesos (RG 5700/2025; NOTES §9).
    "CONSUMER_IDENTIFICATION_THRESHOLD": 10_000_000,
    # ARCA's Monotributo scale (yearly income ceilings A-K): the shipped copy unless a newer
    # JSON file is given (see arca/data/monotributo_scale.json).
    "MONOTRIBUTO_SCALE_FILE": None,
}


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill `app.config` from defaults, the environment and `test_config`, in that order."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("TALONARIO")
    if test_config:
        app.config.update(test_config)
    _check_arca_environment(app.config["ARCA_ENVIRONMENT"])
    _apply_database(app)
    _apply_secrets(app)
    _apply_cookies(app)


def _check_arca_environment(name: str) -> None:
    if name not in ARCA_ENVIRONMENTS:
        allowed = ", ".join(ARCA_ENVIRONMENTS)
        raise RuntimeError(f"TALONARIO_ARCA_ENVIRONMENT={name!r}: must be one of {allowed}")


def _apply_database(app: Flask) -> None:
    url = app.config["DATABASE_URL"]
    if not url:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        url = "sqlite:///" + str(Path(app.instance_path) / "talonario.db")
        app.config["DATABASE_URL"] = url
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    # hide_parameters: a failed statement's message (and SQL echo) never quotes the bound
    # values, which include password hashes, sealed keys and tokens. Forced, whatever is set.
    options = {"pool_pre_ping": True, **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, "hide_parameters": True}


def _apply_secrets(app: Flask) -> None:
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(app, "secret_key", secrets.token_urlsafe(48))
    app.config["SECRET_KEY"] = str(app.config["SECRET_KEY"])
    if not app.config["ENCRYPTION_KEYS"]:
        fresh = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        app.config["ENCRYPTION_KEYS"] = _instance_secret(app, "encryption_keys", fresh)


def _apply_cookies(app: Flask) -> None:
    secure = app.config["SESSION_COOKIE_SECURE"]
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="talonario_session",
        REMEMBER_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_NAME="talonario_remember",
        # "Recordarme" lasts 30 days; without it the session cookie ends with the browser.
        REMEMBER_COOKIE_DURATION=dt.timedelta(days=30),
        PERMANENT_SESSION_LIFETIME=dt.timedelta(days=30),
    )


def _instance_secret(app: Flask, name: str, fresh: str) -> str:
    """Read `instance/<name>`, creating it with `fresh` (mode 0600) if it does not exist yet.

    O_EXCL makes the first of several starting processes the only writer; the others read it.
    """
    folder = Path(app.instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(fresh + "\n")
    return fresh
