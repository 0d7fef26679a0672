"""`--organization CUIT` for commands: the organization's id, or a clear usage error; and the
command confined to that organization's rows."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from arca.cuit import normalize_cuit
from blueprints.organizations.models import Organization
from core.db import DbSession, db
from core.rowsecurity import tenant_scope

F = TypeVar("F", bound=Callable[..., Any])


def organization_id_by_cuit(session: DbSession, cuit: str | None) -> int | None:
    """None when no CUIT was given (every organization)."""
    if not cuit:
        return None
    organization_id = session.scalar(
        select(Organization.id).where(Organization.cuit == normalize_cuit(cuit))
    )
    if organization_id is None:
        raise click.BadParameter(f"no organization has CUIT {cuit}", param_hint="--organization")
    return organization_id


def organization_option(command: F) -> F:
    """Add `--organization CUIT` to a command, which receives `organization_id` (None: every
    organization). Given one, the command's transactions see only its rows (row-level
    security), as a request of that organization would."""

    @click.option("--organization", "cuit", help="Only this organization (CUIT).")
    @with_appcontext
    @wraps(command)
    def wrapped(cuit: str | None, **kwargs: Any) -> Any:
        organization_id = organization_id_by_cuit(db.session, cuit)
        if organization_id is None:
            return command(organization_id=None, **kwargs)
        with tenant_scope(organization_id, db.session):
            return command(organization_id=organization_id, **kwargs)

    return wrapped  # type: ignore[return-value]
