"""ARCA's parameter tables: what the app uses now, and where it came from; managers refresh them."""

from __future__ import annotations

from flask import Blueprint, Response, flash, url_for
from flask_babel import gettext as _

from arca.defaults import ParameterName
from blueprints.arca.parameters import RefreshResult, parameter_tables, refresh_parameters
from blueprints.organizations.models import MANAGER_ROLES
from core.arca import get_arca
from core.db import db
from core.errors import DomainError
from core.tenancy import current_organization_id, organization_required, role_required
from core.web import render, see_other, wants_fragment

bp = Blueprint("arca", __name__, url_prefix="/arca")


def table_titles() -> dict[ParameterName, str]:
    return {
        ParameterName.VOUCHER_TYPES: _("Tipos de comprobante"),
        ParameterName.DOCUMENT_TYPES: _("Tipos de documento"),
        ParameterName.VAT_RATES: _("Alícuotas de IVA"),
        ParameterName.CURRENCIES: _("Monedas"),
        ParameterName.RECEIVER_IVA_CONDITIONS: _("Condiciones de IVA del receptor"),
        ParameterName.TAX_TYPES: _("Tributos (otros impuestos)"),
    }


@bp.get("/parameters")
@organization_required
def parameters() -> Response:
    return render_parameters()


@bp.post("/parameters/refresh")
@role_required(*MANAGER_ROLES)
def refresh() -> Response:
    try:
        result = refresh_parameters(db.session, current_organization_id(), get_arca())
    except DomainError as error:
        db.session.rollback()
        return render_parameters(error=error.message, status=error.status)
    notice = refreshed_message(result)
    if not wants_fragment():
        flash(notice, "success")
        return see_other(url_for("arca.parameters"))
    return render_parameters(notice=notice)


def refreshed_message(result: RefreshResult) -> str:
    rows = sum(result.counts.values())
    return _(
        "Actualizamos las %(tables)s tablas desde ARCA (%(rows)s códigos).",
        tables=len(result.counts),
        rows=rows,
    )


def render_parameters(
    error: str | None = None, notice: str | None = None, status: int = 200
) -> Response:
    gateway = get_arca()
    return render(
        "arca/parameters.html",
        "arca/_parameters.html",
        status=status,
        tables=parameter_tables(gateway.environment_name),
        titles=table_titles(),
        environment=gateway.environment_name,
        error=error,
        notice=notice,
    )
