from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, g, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.dashboard.services import SETUP_CHECKS
from blueprints.organizations.models import MANAGER_ROLES
from blueprints.points_of_sale.forms import AddForm, EmptyForm, details_from, edit_form
from blueprints.points_of_sale.models import PointOfSale
from blueprints.points_of_sale.services import (
    SyncResult,
    add_point_of_sale,
    has_usable_point_of_sale,
    invoice_types_for,
    last_synced_at,
    list_points_of_sale,
    refresh_counters,
    sync_points_of_sale,
    update_point_of_sale,
)
from core.arca import get_arca
from core.db import db
from core.errors import DomainError
from core.tenancy import current_organization_id, get_scoped, organization_required, role_required
from core.web import attach_error, form_status, render, see_other, wants_fragment

bp = Blueprint("points_of_sale", __name__, url_prefix="/points-of-sale")

SETUP_CHECKS["point_of_sale"] = has_usable_point_of_sale

LIST = "points_of_sale/_list.html"
POINT = "points_of_sale/_point.html"


@bp.get("/")
@organization_required
def index() -> Response:
    return render_index(LIST)


@bp.post("/sync")
@role_required(*MANAGER_ROLES)
def sync() -> Response:
    EmptyForm()  # CSRF is checked globally; the form only documents the contract.
    try:
        result = sync_points_of_sale(
            db.session, current_organization_id(), get_arca(), current_user
        )
    except DomainError as error:
        db.session.rollback()
        return render_index(LIST, error.status, error=error.message)
    return done(sync_message(result), LIST)


@bp.post("/add")
@role_required(*MANAGER_ROLES)
def add() -> Response:
    form = AddForm()
    if form.validate_on_submit():
        try:
            point = add_point_of_sale(
                db.session,
                current_organization_id(),
                form.number.data,
                details_from(form),
                current_user,
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            return done(_("Agregaste el punto de venta %(number)s.", number=label(point)), LIST)
    return render_index(LIST, form_status(form), add_form=form)


@bp.post("/<int:point_of_sale_id>/edit")
@role_required(*MANAGER_ROLES)
def edit(point_of_sale_id: int) -> Response:
    point = get_scoped(PointOfSale, point_of_sale_id)
    form = edit_form(point, submitted=True)
    if not form.validate_on_submit():
        return render_index(POINT, 422, point=point, focus_id=point.id, failed_form=form)
    update_point_of_sale(db.session, point, details_from(form), current_user)
    message = _("Guardamos el punto de venta %(number)s.", number=label(point))
    return done(message, POINT, point=point, focus_id=point.id)


@bp.post("/<int:point_of_sale_id>/refresh")
@organization_required
def refresh(point_of_sale_id: int) -> Response:
    """Any member may ask: it records what ARCA says, as the certificates' connection test does."""
    point = get_scoped(PointOfSale, point_of_sale_id)
    EmptyForm()
    try:
        refresh_counters(db.session, point, get_arca())
    except DomainError as error:
        db.session.rollback()
        return render_index(
            POINT, error.status, point=point, focus_id=point.id, error=error.message
        )
    message = _("ARCA informó los últimos números de %(number)s.", number=label(point))
    return done(message, POINT, point=point, focus_id=point.id)


def label(point: PointOfSale) -> str:
    return f"{point.number:05d}"


def sync_message(result: SyncResult) -> str:
    if result.listed == 0:
        return _(
            "ARCA no informa puntos de venta para web services: dalo de alta en ARCA "
            "(«Factura electrónica - web services») y volvé a sincronizar."
        )
    return _(
        "ARCA informó %(listed)s puntos de venta; %(added)s nuevos en la lista.",
        listed=result.listed,
        added=result.added,
    )


def done(message: str, fragment: str, **context: Any) -> Response:
    """After a change: the updated partial for htmx; otherwise a flash and back to the page."""
    if wants_fragment():
        return render_index(fragment, notice=message, **context)
    flash(message, "success")
    anchor = f"point-of-sale-{context['focus_id']}" if "focus_id" in context else None
    return see_other(url_for("points_of_sale.index", _anchor=anchor))


def render_index(fragment: str | None = None, status: int = 200, **context: Any) -> Response:
    organization = g.membership.organization
    points = list_points_of_sale(db.session, organization.id)
    defaults: dict[str, object] = {
        "add_form": AddForm(formdata=None),
        "action_form": EmptyForm(formdata=None),
        "edit_form": edit_form,
        "focus_id": None,
        "failed_form": None,
        "notice": None,
        "error": None,
    }
    return render(
        "points_of_sale/index.html",
        fragment,
        status=status,
        points=points,
        last_sync=last_synced_at(points),
        invoice_types=invoice_types_for(organization.iva_condition),
        **{**defaults, **context},
    )
