"""Tenancy: every organization-owned query goes through here.

`g.organization_id` and `g.role` are set once per request (blueprints/organizations) from an
active membership of the logged-in user. Objects of another organization are indistinguishable
from objects that do not exist: both raise NotFound (404), never Forbidden.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Protocol, TypeVar

from flask import g, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, select
from sqlalchemy.orm import Mapped

from core.db import db
from core.errors import Forbidden, NotFound
from core.security import login_manager


class OrganizationOwned(Protocol):
    id: Mapped[int]
    organization_id: Mapped[int]


M = TypeVar("M", bound=OrganizationOwned)
F = TypeVar("F", bound=Callable[..., Any])


def current_organization_id() -> int:
    organization_id = g.get("organization_id")
    if organization_id is None:
        raise NotFound(_("No hay una organización activa."))
    return int(organization_id)


def scoped(model: type[M]) -> Select[M]:
    """`SELECT model` limited to the current organization: the start of every tenant query."""
    return select(model).where(model.organization_id == current_organization_id())


def get_scoped(model: type[M], object_id: int) -> M:
    """The current organization's object with that id, or NotFound (also for other tenants)."""
    found = db.session.scalar(scoped(model).where(model.id == object_id))
    if found is None:
        raise NotFound(_("No encontramos lo que buscás."))
    return found


def organization_required(view: F) -> F:
    """Logged in and working inside an organization; users without one are sent to create one."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if g.get("organization_id") is None:
            return redirect(url_for("organizations.new"))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def role_required(*roles: str) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        @organization_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if g.get("role") not in roles:
                raise Forbidden(_("Tu rol en esta organización no permite esta acción."))
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate
