"""Row-level security: the database itself keeps each organization's rows to itself.

On PostgreSQL every table that belongs to an organization has a policy (migration 0017) that
shows and accepts only the rows of the organization named by the transaction's
`talonario.organization_id` setting. Each transaction starts in one of three scopes, chosen
from a context variable when it begins:

- tenant: `SET LOCAL ROLE talonario_app` (not the tables' owner, so the policies apply) and
  the organization (and user) settings. Requests enter it as soon as they know their
  organization, API calls once the key is checked, jobs for their task's organization.
- system: `SET LOCAL ROLE talonario_maintenance`, a role with BYPASSRLS for work that spans
  organizations by design (signing in, the job dispatcher, retention, key rotation, backups).
  It is the default outside a tenant, and explicit: `system_scope()`.
- owner: no role change, for schema work (migrations, the demo's reset); `owner_scope()`.

The roles are created by migration 0017 when the migrating role may; without them (or on
SQLite) scopes change nothing and the app's own filters (core/tenancy.py) are the only guard.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import Flask
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, event
from sqlalchemy.orm import scoped_session

from core.db import DbSession

log = logging.getLogger(__name__)

APP_ROLE = "talonario_app"
MAINTENANCE_ROLE = "talonario_maintenance"
OWNER_OPTION = "talonario_owner"  # a connection's execution option: stay the tables' owner
RECHECK_SECONDS = 30.0


@dataclass(frozen=True)
class Scope:
    kind: str  # "tenant", "system" or "owner"
    organization_id: int | None = None
    user_id: int | None = None


SYSTEM = Scope("system")
OWNER = Scope("owner")
_current: ContextVar[Scope] = ContextVar("talonario_row_scope", default=SYSTEM)


def current_scope() -> Scope:
    return _current.get()


@contextmanager
def scoped_to(scope: Scope, session: DbSession | None = None) -> Iterator[None]:
    """Run the block in `scope`; a transaction `session` has open switches now and back."""
    token = _current.set(scope)
    apply_now(session)
    try:
        yield
    except BaseException:
        # The transaction is likely failed: the caller rolls it back, and the next one
        # begins in the outer scope.
        _current.reset(token)
        raise
    _current.reset(token)
    apply_now(session)


def tenant_scope(
    organization_id: int, session: DbSession | None = None, user_id: int | None = None
) -> Any:
    return scoped_to(Scope("tenant", organization_id, user_id), session)


def system_scope(session: DbSession | None = None) -> Any:
    return scoped_to(SYSTEM, session)


def owner_scope(session: DbSession | None = None) -> Any:
    return scoped_to(OWNER, session)


def enter_tenant(organization_id: int, user_id: int | None, session: DbSession) -> None:
    """For the rest of this request: the organization's rows only (reset at its teardown)."""
    _current.set(Scope("tenant", organization_id, user_id))
    apply_now(session)


def leave_tenant() -> None:
    _current.set(SYSTEM)


def apply_now(session: DbSession | None) -> None:
    """Switch a transaction already open on `session` to the current scope."""
    real = session() if isinstance(session, scoped_session) else session
    if real is None or not real.in_transaction():
        return
    connection = real.connection()
    if connection.dialect.name != "postgresql":
        return
    raw = connection.connection.dbapi_connection
    if raw is not None and raw.info.transaction_status != TransactionStatus.INERROR:
        _apply(connection.engine, raw, current_scope())


class _Roles:
    """Whether this database has the roles and grants; rechecked while it has not."""

    def __init__(self) -> None:
        self.ready = False
        self.checked_at = 0.0
        self.warned = False

    def available(self, cursor: Any) -> bool:
        if self.ready or time.monotonic() - self.checked_at < RECHECK_SECONDS:
            return self.ready
        cursor.execute(
            "SELECT count(*) = 2 AND bool_and(pg_has_role(current_user, oid, 'MEMBER'))"
            " AND bool_and(has_table_privilege(oid, 'public.invoices', 'SELECT'))"
            " AND bool_or(rolbypassrls) FROM pg_roles WHERE rolname IN (%s, %s)"
            " AND to_regclass('public.invoices') IS NOT NULL",
            (APP_ROLE, MAINTENANCE_ROLE),
        )
        row = cursor.fetchone()
        self.ready = bool(row and row[0])
        self.checked_at = time.monotonic()
        if not self.ready and not self.warned:
            self.warned = True
            log.warning("row-level security roles missing: run the migrations as an owner")
        return self.ready


_roles: dict[int, _Roles] = {}


def _apply(engine: Engine, raw: Any, scope: Scope) -> None:
    roles = _roles.setdefault(id(engine), _Roles())
    with raw.cursor() as cursor:
        if scope.kind == "owner" or not roles.available(cursor):
            return
        role = APP_ROLE if scope.kind == "tenant" else MAINTENANCE_ROLE
        cursor.execute(
            "SELECT set_config('role', %s, true),"
            " set_config('talonario.organization_id', %s, true),"
            " set_config('talonario.user_id', %s, true)",
            (role, _text(scope.organization_id), _text(scope.user_id)),
        )


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


def _on_begin(connection: Any) -> None:
    # The transaction is being opened: SQLAlchemy has none to run statements in yet, so the
    # settings go through the driver's connection (psycopg opens the transaction with them).
    if connection.get_execution_options().get(OWNER_OPTION):
        return
    raw = connection.connection.dbapi_connection
    if raw is None or getattr(raw, "autocommit", False):
        return
    _apply(connection.engine, raw, current_scope())


def init_row_security(app: Flask) -> None:
    from core.db import db

    # Every request starts and ends outside any organization, whatever the database: the scope
    # is a context variable a thread carries from one request (or app) to the next.
    app.before_request(_reset_scope)
    app.teardown_request(_teardown_scope)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        event.listen(engine, "begin", _on_begin)


def _reset_scope() -> None:
    leave_tenant()


def _teardown_scope(_error: BaseException | None) -> None:
    from core.db import db

    leave_tenant()
    # A transaction still open belongs to an app context that outlives the request (a
    # script or a test around it): it goes on outside the organization.
    apply_now(db.session)


F = TypeVar("F", bound=Callable[..., Any])


def across_organizations(service: F) -> F:
    """For a service that works across organizations by design (accepting an invitation to
    another one, creating a new one): it runs in the system scope. Its first argument is the
    session."""

    @wraps(service)
    def wrapped(session: DbSession, *args: Any, **kwargs: Any) -> Any:
        with system_scope(session):
            return service(session, *args, **kwargs)

    return wrapped  # type: ignore[return-value]
