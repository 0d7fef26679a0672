"""An authorized voucher emailed to its customer: "Factura B 00001-00000012 de <org>", text
and HTML parts (the organization's logo inline), the PDF attached — the same bytes as the
download (ORIGINAL and DUPLICADO). Sent through the mail outbox (`core.mail`): the message is
stored with its sending request in one transaction, and a worker sends it.

The recipient's language picks the words; customers have no language yet, so Spanish.
"""

from __future__ import annotations

import re

from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup

from blueprints.customers.models import Customer
from blueprints.invoices.bulk import voucher_label
from blueprints.invoices.models import Invoice, InvoiceStatus
from blueprints.invoices.package import pdf_file_name
from blueprints.invoices.printing import invoice_pdf
from blueprints.organizations.models import Organization
from blueprints.organizations.notices import logo_html, logo_images
from core.db import DbSession
from core.errors import Conflict, DomainError
from core.events import Event, listen
from core.i18n import DEFAULT_LOCALE, format_day, format_money
from core.mail import Attachment, Queued, build_message, mailed_events, queue_mail
from core.tasks import wake

KIND = "invoice"
DOWNLOAD_COPIES = ("ORIGINAL", "DUPLICADO")  # as GET /invoices/<id>/pdf?descargar=1
EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")


def parse_recipients(text: str) -> list[str]:
    """Addresses separated by commas, semicolons or spaces; raises DomainError on a bad one."""
    addresses = [part for part in re.split(r"[,;\s]+", text) if part]
    bad = [address for address in addresses if not EMAIL.match(address)]
    if bad:
        raise DomainError(_("Esta dirección de email no es válida: %(email)s", email=bad[0]))
    return addresses


def email_invoice(
    session: DbSession, invoice: Invoice, to: list[str] | None, locale: str = DEFAULT_LOCALE
) -> Queued:
    """Queue the invoice's email to `to` (else its customer's addresses). Commits, then wakes
    the sending (without Redis it is sent before this returns)."""
    if invoice.status != InvoiceStatus.AUTHORIZED:
        raise Conflict(_("Solo se envían por email los comprobantes autorizados."))
    recipients = to or customer_addresses(session, invoice)
    if not recipients:
        raise DomainError(_("Indicá a qué email enviarlo: el cliente no tiene uno cargado."))
    queued = queue_invoice_mail(session, invoice, recipients, locale)
    session.commit()
    if queued.task_id is not None:
        wake([queued.task_id])
    return queued


def customer_addresses(session: DbSession, invoice: Invoice) -> list[str]:
    customer = session.get(Customer, invoice.customer_id) if invoice.customer_id else None
    return customer.email_list if customer else []


def queue_invoice_mail(
    session: DbSession,
    invoice: Invoice,
    recipients: list[str],
    locale: str = DEFAULT_LOCALE,
    event_id: int | None = None,
) -> Queued:
    """The message with its PDF, queued in the caller's transaction (no commit)."""
    organization = session.get_one(Organization, invoice.organization_id)
    pdf = invoice_pdf(session, invoice, DOWNLOAD_COPIES)
    with force_locale(locale):
        message = build_message(
            to=recipients,
            subject=invoice_subject(invoice, organization),
            text=invoice_text(invoice, organization),
            html=invoice_html(invoice, organization),
            attachments=(Attachment(pdf_file_name(invoice), pdf, "application/pdf"),),
            images=logo_images(organization),
        )
    return queue_mail(
        session, organization.id, message, KIND, invoice_id=invoice.id, event_id=event_id
    )


@listen("invoice_mail")
def email_authorized(session: DbSession, events: list[Event]) -> list[int]:
    """An organization that asked for it emails each authorized invoice to its customer (one
    with an address), once per event."""
    authorized = [event for event in events if event.type == "invoice.authorized"]
    if not authorized:
        return []
    organization = session.get_one(Organization, authorized[0].organization_id)
    if not organization.email_invoices:
        return []
    done = mailed_events(session, [event.id for event in authorized])
    task_ids: list[int] = []
    for event in authorized:
        invoice = session.get(Invoice, int(event.payload["id"]))
        if event.id in done or invoice is None or invoice.status != InvoiceStatus.AUTHORIZED:
            continue
        recipients = customer_addresses(session, invoice)
        if recipients:
            queued = queue_invoice_mail(session, invoice, recipients, event_id=event.id)
            task_ids += [queued.task_id] if queued.task_id is not None else []
    return task_ids


def invoice_subject(invoice: Invoice, organization: Organization) -> str:
    return _(
        "%(voucher)s de %(organization)s",
        voucher=voucher_label(invoice),
        organization=organization.display_name,
    )


def _facts(invoice: Invoice, organization: Organization) -> dict[str, str]:
    symbol = "$" if invoice.currency == "PES" else invoice.currency
    return {
        "voucher": voucher_label(invoice),
        "organization": organization.display_name,
        "date": format_day(invoice.issue_date),
        "total": format_money(invoice.total, symbol),
        "cae": invoice.cae or "",
        "due": format_day(invoice.cae_due),
    }


def invoice_text(invoice: Invoice, organization: Organization) -> str:
    facts = _facts(invoice, organization)
    return (
        "\n\n".join(
            [
                _("Hola, %(name)s:", name=invoice.receiver_name),
                _(
                    "%(organization)s te envía %(voucher)s del %(date)s por %(total)s.",
                    **facts,
                ),
                _("CAE %(cae)s, vencimiento %(due)s.", **facts),
                _("El comprobante va adjunto en PDF."),
            ]
        )
        + "\n"
    )


def invoice_html(invoice: Invoice, organization: Organization) -> str:
    """The same words as the text part, each paragraph escaped as a whole (the translations
    hold no markup)."""
    facts = _facts(invoice, organization)
    logo = logo_html(organization)
    paragraphs = [
        _("Hola, %(name)s:", name=invoice.receiver_name),
        _("%(organization)s te envía %(voucher)s del %(date)s por %(total)s.", **facts),
        _("CAE %(cae)s, vencimiento %(due)s.", **facts),
        _("El comprobante va adjunto en PDF."),
    ]
    body = Markup("").join(Markup("<p>{}</p>").format(text) for text in paragraphs)
    page = Markup('<!doctype html><html><body style="font-family:sans-serif">{}{}</body></html>')
    return str(page.format(logo, body))
