"""The invoice page's "Enviar por email" (POST /invoices/<id>/email) and its "sent to … on …"
history, on the invoices blueprint (registered by importing this module)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, flash, request, url_for
from flask_babel import gettext as _

from blueprints.invoices.mailing import email_invoice, parse_recipients
from blueprints.invoices.models import Invoice
from blueprints.invoices.services import get_invoice
from blueprints.invoices.views import ISSUERS, bp
from core.db import db
from core.errors import DomainError
from core.mail import MailMessage, invoice_mails
from core.tenancy import current_organization_id, role_required
from core.web import see_other


@bp.app_context_processor
def invoice_email_history() -> dict[str, Callable[[Invoice], list[MailMessage]]]:
    """`invoice_mails(invoice)` for templates/invoices/_email.html."""

    def mails(invoice: Invoice) -> list[MailMessage]:
        return invoice_mails(db.session, invoice.organization_id, invoice.id)

    return {"invoice_mails": mails}


@bp.post("/<int:invoice_id>/email")
@role_required(*ISSUERS)
def email(invoice_id: int) -> Response:
    """Queue the authorized voucher's email to the addresses typed (else the customer's)."""
    invoice = get_invoice(db.session, current_organization_id(), invoice_id)
    detail = url_for(
        "invoices.detail", invoice_id=invoice.id, _anchor=f"invoice-{invoice.id}-email"
    )
    try:
        to = parse_recipients(request.form.get("to", ""))
        queued = email_invoice(db.session, invoice, to)
    except DomainError as error:
        flash(error.message, "error")
        return see_other(detail)
    mail = db.session.get_one(MailMessage, queued.mail_id)
    flash(_("Enviamos el comprobante a %(to)s.", to=mail.to), "success")
    return see_other(detail)
