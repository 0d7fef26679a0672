from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from core.cache import get_cache
from core.crypto import configured_keyring, keys_open_canary
from core.db import db

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> Response:
    """200 when the database and the cache answer and the encryption keys open the canary;
    503 otherwise: "unavailable" (database or cache down) or "degraded" (keys that can't open
    the secrets: every ARCA action would fail). Says which check failed."""
    database = check_database()
    cache = check_cache()
    keys = check_keys() if database["ok"] else {"ok": False, "error": "database unavailable"}
    status = overall_status(database, cache, keys)
    response = jsonify(status=status, database=database, cache=cache, keys=keys)
    response.status_code = 200 if status == "ok" else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def check_database() -> dict[str, object]:
    dialect = db.engine.dialect.name
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # any failure means "not ready"; the log has the detail
        db.session.rollback()
        log.warning("healthz: database check failed: %s", type(error).__name__)
        return {"ok": False, "dialect": dialect, "error": type(error).__name__}
    return {"ok": True, "dialect": dialect}


def check_cache() -> dict[str, object]:
    cache = get_cache()
    try:
        ok = cache.ping()
    except Exception as error:  # same: report, do not raise
        log.warning("healthz: cache check failed: %s", type(error).__name__)
        return {"ok": False, "backend": cache.backend, "error": type(error).__name__}
    return {"ok": ok, "backend": cache.backend}


def check_keys() -> dict[str, object]:
    """The canary, opened with the configured keys at each call: one row, one AES-GCM open."""
    try:
        opened = keys_open_canary(configured_keyring())
    except Exception as error:  # a database error here: report it, do not raise
        log.warning("healthz: keys check failed: %s", type(error).__name__)
        return {"ok": False, "error": type(error).__name__}
    if not opened:
        log.error("healthz: TALONARIO_ENCRYPTION_KEYS cannot open the key canary")
        return {"ok": False, "error": "TALONARIO_ENCRYPTION_KEYS cannot open the key canary"}
    return {"ok": True}


def overall_status(
    database: dict[str, object], cache: dict[str, object], keys: dict[str, object]
) -> str:
    if not (database["ok"] and cache["ok"]):
        return "unavailable"
    return "ok" if keys["ok"] else "degraded"
