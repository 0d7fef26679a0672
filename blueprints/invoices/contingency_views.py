"""The contingency's pages, on the invoices blueprint (imported by `views`): the "Contingencia
(CAEA)" page, "Emitir con CAEA" on a voucher, and the banner every page shows while vouchers
issued with the CAEA wait to be informed."""

from __future__ import annotations

import logging

from flask import Response, flash, g, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from blueprints.audit.labels import ACTIONS
from blueprints.invoices.contingency import (
    PendingSummary,
    caea_point_of_sale,
    caeas_of,
    current_caea,
    issue_with_caea,
    pending_summary,
    reports_of,
    request_caeas,
    retry_rejected,
)
from blueprints.invoices.contingency_jobs import submit_inform
from blueprints.invoices.preflight_adapter import arca_today
from blueprints.invoices.services import get_invoice
from blueprints.invoices.views import ISSUERS, bp
from core.arca import get_arca
from core.db import db
from core.errors import DomainError
from core.i18n import N_
from core.tasks import wake
from core.tenancy import current_organization_id, organization_required, role_required
from core.web import render, see_other

log = logging.getLogger(__name__)

# How the Auditoría page names the contingency's entries.
ACTIONS.update(
    {
        "caea.requested": N_("Pidió el CAEA de una quincena"),
        "caea.retry_requested": N_("Pidió volver a informar comprobantes con CAEA"),
        "caea.no_movement_informed": N_("Informó a ARCA un punto de venta sin movimiento"),
        "invoice.issued_with_caea": N_("Emitió un comprobante con CAEA (contingencia)"),
        "invoice.caea_informed": N_("ARCA registró un comprobante emitido con CAEA"),
        "invoice.caea_rejected": N_("ARCA rechazó un comprobante emitido con CAEA"),
    }
)


@bp.app_context_processor
def contingency_banner() -> dict[str, object]:
    """`caea_waiting()`: what the banner says, for the organization the request works in
    (None outside one). A function, so pages that never show the banner query nothing."""

    def waiting() -> PendingSummary | None:
        if g.get("organization_id") is None:
            return None
        try:
            return pending_summary(db.session, int(g.organization_id))
        except SQLAlchemyError:  # an error page for a broken transaction: no banner
            log.warning("contingency banner skipped", exc_info=True)
            return None

    return {"caea_waiting": waiting}


@bp.get("/contingencia")
@organization_required
def contingency() -> Response:
    organization_id = current_organization_id()
    today = arca_today(get_arca())
    return render(
        "invoices/contingency.html",
        caeas=caeas_of(db.session, organization_id),
        current=current_caea(db.session, organization_id, today),
        point=caea_point_of_sale(db.session, organization_id),
        reports=reports_of(db.session, organization_id),
        summary=pending_summary(db.session, organization_id),
        today=today,
    )


@bp.post("/contingencia/caea")
@role_required(*ISSUERS)
def request_caea() -> Response:
    """ "Pedir CAEA": the current fortnight's and, in its window, the next one's."""
    try:
        codes = request_caeas(db.session, current_organization_id(), get_arca(), current_user)
    except DomainError as error:
        flash(error.message, "error")
    else:
        names = ", ".join(code.code for code in codes)
        flash(_("CAEA vigentes: %(codes)s.", codes=names), "success")
    return _back()


@bp.post("/contingencia/informar")
@role_required(*ISSUERS)
def inform_now() -> Response:
    """ "Informar ahora": the informing request, run now (or by a worker)."""
    task_id = submit_inform(db.session, current_organization_id())
    db.session.commit()
    if task_id is not None:
        wake([task_id])
    flash(_("Pedimos informar a ARCA lo emitido con CAEA. Si ARCA no responde, lo reintentamos."))
    return _back()


@bp.post("/contingencia/reintentar")
@role_required(*ISSUERS)
def retry() -> Response:
    count = retry_rejected(db.session, current_organization_id(), current_user)
    flash(
        ngettext(
            "%(num)s comprobante vuelve a la cola para informar.",
            "%(num)s comprobantes vuelven a la cola para informar.",
            count,
        )
    )
    return _back()


@bp.post("/<int:invoice_id>/caea")
@role_required(*ISSUERS)
def issue_caea(invoice_id: int) -> Response:
    """ "Emitir con CAEA": only while ARCA is down (the service asks FEDummy)."""
    invoice = get_invoice(db.session, current_organization_id(), invoice_id)
    detail = url_for("invoices.detail", invoice_id=invoice.id)
    try:
        issued = issue_with_caea(db.session, invoice.id, get_arca(), current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _see_other(detail)
    flash(
        _(
            "Emitido en contingencia con el CAEA %(caea)s, número %(number)s. Lo informamos a "
            "ARCA cuando vuelva.",
            caea=issued.cae,
            number=issued.number,
        ),
        "success",
    )
    return _see_other(detail)


def _back() -> Response:
    return _see_other(url_for("invoices.contingency"))


def _see_other(location: str) -> Response:
    return see_other(location)
