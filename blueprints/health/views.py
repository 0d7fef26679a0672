"""Liveness (`/healthz`) and readiness (`/readyz`) for load balancers, orchestrators and monitors.

Liveness answers "is this process able to answer at all?": restarting the process is the only
cure for a "no", so it checks nothing outside the process (a database outage must not make an
orchestrator restart every web process at once). Readiness answers "should traffic come here?":
the database, Redis, the schema at the migrations' head, the encryption keys.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text

from core.cache import get_cache
from core.crypto import configured_keyring, keys_open_canary
from core.db import db
from core.scheduler import scheduler_status

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)

Check = dict[str, Any]
AT_HEAD = "talonario.migrations_at_head"  # app.extensions key: the cached positive answer
PUBLIC_SCHEDULER_FIELDS = ("name", "state", "overdue", "last_finished_at")


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: 200 whenever a worker of this process can run a view. No dependency is asked."""
    return no_store(jsonify(status="ok"), 200)


@bp.get("/readyz")
def readyz() -> Response:
    """Readiness: 200 when the database and the cache answer, the schema is at the migrations'
    head and the encryption keys open the canary; else 503 naming the failed checks in `failed`:
    status "unavailable" (database, cache or schema) or "degraded" (keys that can't open the
    secrets: every ARCA action would fail). `scheduler` only informs.
    """
    database = check_database()
    cache = check_cache()
    migrations = check_migrations() if database["ok"] else unchecked("database unavailable")
    keys = check_keys() if database["ok"] else unchecked("database unavailable")
    checks = {"database": database, "cache": cache, "migrations": migrations, "keys": keys}
    status = overall_status(checks)
    body: dict[str, Any] = {"status": status, **checks}
    body["failed"] = [name for name, check in checks.items() if not check["ok"]]
    # Read from the database: asked only when it answers (a failed read there would leave
    # the request's session broken for the teardown).
    if database["ok"]:
        body["scheduler"] = scheduler_summary()
    return no_store(jsonify(body), 200 if status == "ok" else 503)


def no_store(response: Response, status: int) -> Response:
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"  # a probe's answer is about this moment
    return response


def unchecked(reason: str) -> Check:
    return {"ok": False, "error": reason}


def check_database() -> Check:
    dialect = db.engine.dialect.name
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # any failure means "not ready"; the log has the detail
        db.session.rollback()
        log.warning("readyz: database check failed: %s", type(error).__name__)
        return {"ok": False, "dialect": dialect, "error": type(error).__name__}
    return {"ok": True, "dialect": dialect}


def check_cache() -> Check:
    cache = get_cache()
    try:
        ok = cache.ping()
    except Exception as error:  # same: report, do not raise
        log.warning("readyz: cache check failed: %s", type(error).__name__)
        return {"ok": False, "backend": cache.backend, "error": type(error).__name__}
    return {"ok": ok, "backend": cache.backend}


def check_migrations() -> Check:
    """The database's alembic revision(s) equal the scripts' head(s). A schema never goes back
    under a running process, so once at head the answer is kept for the process's life (the
    scripts are parsed once, not at every probe)."""
    if current_app.extensions.get(AT_HEAD):
        return {"ok": True}
    try:
        heads = set(ScriptDirectory(str(migrations_directory())).get_heads())
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except Exception as error:  # no scripts, no alembic_version table yet: not ready
        log.warning("readyz: migrations check failed: %s", type(error).__name__)
        return {"ok": False, "error": type(error).__name__}
    if current != heads:
        log.warning("readyz: database at %s, migrations head %s", sorted(current), sorted(heads))
        return {"ok": False, "current": sorted(current), "head": sorted(heads)}
    current_app.extensions[AT_HEAD] = True
    return {"ok": True}


def migrations_directory() -> Path:
    """Flask-Migrate's directory ("migrations"), relative to the app's root rather than to the
    working directory: a process started elsewhere (a container's workdir) finds it too."""
    directory = Path(current_app.extensions["migrate"].directory)
    return directory if directory.is_absolute() else Path(current_app.root_path) / directory


def check_keys() -> Check:
    """The canary, opened with the configured keys at each call: one row, one AES-GCM open."""
    try:
        opened = keys_open_canary(configured_keyring())
    except Exception as error:  # a database error here: report it, do not raise
        log.warning("readyz: keys check failed: %s", type(error).__name__)
        return {"ok": False, "error": type(error).__name__}
    if not opened:
        log.error("readyz: TALONARIO_ENCRYPTION_KEYS cannot open the key canary")
        return {"ok": False, "error": "TALONARIO_ENCRYPTION_KEYS cannot open the key canary"}
    return {"ok": True}


def overall_status(checks: dict[str, Check]) -> str:
    if not all(checks[name]["ok"] for name in ("database", "cache", "migrations")):
        return "unavailable"
    return "ok" if checks["keys"]["ok"] else "degraded"


def scheduler_summary() -> Any:
    """Each periodic job's state, for whoever reads the probe. Anyone may: no notes or errors
    (they name organizations and ARCA's answers; `flask --app app scheduler status` has them).
    Informative only: a late job is the scheduler's alarm, not a reason to stop serving."""
    try:
        return [{key: job[key] for key in PUBLIC_SCHEDULER_FIELDS} for job in scheduler_status()]
    except Exception as error:  # never fails readiness
        db.session.rollback()
        log.warning("readyz: scheduler status failed: %s", type(error).__name__)
        return {"error": type(error).__name__}
