from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from core.cache import get_cache
from core.db import db

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> Response:
    """200 when the database and the cache both answer, 503 otherwise; says which failed."""
    database = check_database()
    cache = check_cache()
    healthy = database["ok"] and cache["ok"]
    response = jsonify(status="ok" if healthy else "unavailable", database=database, cache=cache)
    response.status_code = 200 if healthy else 503
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
