"""A customer's data-subject requests (Ley 25.326, art. 14 and 16): everything held about them,
and its erasure.

**Export** (`export_customer_data`): a ZIP with `customer.json` — the customer row, their
invoices as the API represents them, the emails sent to them (recipient among their addresses,
or about one of their invoices) and the audit entries about them or their invoices — and the
PDF of each of their authorized vouchers. Recorded as `customer.exported`.

**Erasure** (`erase_customer`). Fiscal documents must be kept 7 years from the end of their year
(Ley 11.683 art. 48; RG 1415), and an authorized voucher can't change (database triggers), so:

- drafts never sent to ARCA are deleted (no fiscal document: nothing to keep, and they would
  otherwise carry the receiver's snapshot on);
- a customer then left without invoices is deleted outright;
- otherwise the fields that are on no fiscal document are wiped now — emails, phone, notes,
  payment terms — and the search text rebuilt without them; name, document, IVA condition and
  address stay, because they are on the vouchers; the customer is archived and `erased_at` set.

The vouchers' receiver snapshot (name, document, address) stays until their retention ends;
then retention deletes the vouchers and `anonymize_expired_snapshots` removes what is left of
the customer (and blanks the snapshot of any unauthorized invoice the database let stay).
Recorded as `customer.erased` with the names of what was erased, never the values.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import json
import zipfile
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, func, or_, select, update

from blueprints.audit.models import AuditEvent
from blueprints.audit.services import record_event
from blueprints.auth.models import User
from blueprints.customers.models import Customer
from blueprints.customers.rules import build_search_text
from blueprints.customers.services import customer_in_use, data_of
from blueprints.exports.organization import api_links, invoice_json, plain, row_of
from blueprints.invoices.models import (
    EDITABLE,
    AuthorizationAttempt,
    Invoice,
    InvoiceStatus,
    with_children,
)
from blueprints.invoices.package import pdf_file_name
from blueprints.invoices.printing import invoice_pdf
from blueprints.retention.policy import fiscal_issued_before
from blueprints.webhooks.payloads import customer_payload
from core.db import DbSession, utcnow
from core.events import emit, wake_events
from core.mail import MailMessage

if TYPE_CHECKING:
    from blueprints.api.models import ApiKey

# Wiped by an erasure: what the customer told us that no fiscal document carries.
ERASED_FIELDS = ("emails", "phone", "notes", "payment_terms_days")
ANONYMOUS_NAME = "Cliente borrado"


@dataclass(frozen=True)
class CustomerData:
    filename: str
    content: bytes


@dataclass
class Erasure:
    deleted: bool  # the customer row itself is gone
    erased_fields: list[str] = field(default_factory=list)
    drafts_deleted: int = 0
    invoices_kept: int = 0


# --- export --------------------------------------------------------------------------------------


def export_customer_data(
    session: DbSession, customer: Customer, actor: User | ApiKey | None
) -> CustomerData:
    """The ZIP of everything held about `customer` (see the module's docstring), recording
    `customer.exported`. Commits."""
    invoices = customer_invoices(session, customer)
    mails = customer_mails(session, customer, [invoice.id for invoice in invoices])
    audit = audit_entries(session, customer, [invoice.id for invoice in invoices])
    with api_links() as links:
        document = {
            "exported_at": utcnow().isoformat(),
            "customer": row_of(customer),
            "invoices": [invoice_json(invoice, links) for invoice in invoices],
            "mails": [mail_json(mail) for mail in mails],
            "audit": [row_of(event) for event in audit],
        }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("customer.json", json.dumps(document, ensure_ascii=False, indent=2))
        for invoice in invoices:
            if invoice.status == InvoiceStatus.AUTHORIZED:
                archive.writestr(
                    f"invoices/{pdf_file_name(invoice)}", invoice_pdf(session, invoice)
                )
    record_event(
        session,
        customer.organization_id,
        "customer.exported",
        actor,
        subject=("customer", customer.id),
        details={"invoices": len(invoices), "mails": len(mails), "audit": len(audit)},
    )
    session.commit()
    day = utcnow().date().isoformat()
    return CustomerData(f"cliente-{customer.id}-{day}.zip", buffer.getvalue())


def customer_invoices(session: DbSession, customer: Customer) -> list[Invoice]:
    return list(
        session.scalars(
            select(Invoice)
            .where(
                Invoice.organization_id == customer.organization_id,
                Invoice.customer_id == customer.id,
            )
            .options(*with_children())
            .order_by(Invoice.id)
        )
    )


def customer_mails(
    session: DbSession, customer: Customer, invoice_ids: list[int]
) -> list[MailMessage]:
    """The organization's emails to one of the customer's addresses or about their invoices."""
    addresses = {address.lower() for address in customer.email_list}
    matches = [MailMessage.to.ilike(f"%{_escape_like(address)}%", "\\") for address in addresses]
    if invoice_ids:
        matches.append(MailMessage.invoice_id.in_(invoice_ids))
    if not matches:
        return []
    found = session.scalars(
        select(MailMessage)
        .where(MailMessage.organization_id == customer.organization_id, or_(*matches))
        .order_by(MailMessage.id)
    )
    return [
        mail
        for mail in found
        if mail.invoice_id in invoice_ids
        or addresses & {recipient.lower() for recipient in mail.recipients}
    ]


def mail_json(mail: MailMessage) -> dict[str, Any]:
    """The message's facts and its text, without the attachments (the PDFs are in the ZIP)."""
    message = email.message_from_bytes(mail.mime, policy=email.policy.default)
    plain_part = isinstance(message, EmailMessage) and message.get_body(("plain",))
    body = plain_part or None
    text = body.get_content() if isinstance(body, EmailMessage) else None
    facts = {key: plain(getattr(mail, key)) for key in ("id", "to", "subject", "kind")}
    return {
        **facts,
        "invoice_id": mail.invoice_id,
        "status": plain(mail.status),
        "created_at": plain(mail.created_at),
        "sent_at": plain(mail.sent_at),
        "text": text,
    }


def audit_entries(
    session: DbSession, customer: Customer, invoice_ids: list[int]
) -> list[AuditEvent]:
    about_invoices = (AuditEvent.subject_type == "invoice") & AuditEvent.subject_id.in_(invoice_ids)
    about_customer = (AuditEvent.subject_type == "customer") & (
        AuditEvent.subject_id == customer.id
    )
    return list(
        session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.organization_id == customer.organization_id,
                or_(about_customer, about_invoices) if invoice_ids else about_customer,
            )
            .order_by(AuditEvent.seq)
        )
    )


# --- erasure -------------------------------------------------------------------------------------


def erase_customer(session: DbSession, customer: Customer, actor: User | ApiKey | None) -> Erasure:
    """Erase what may be erased of `customer` now (see the module's docstring), recording
    `customer.erased`. Commits. Safe to repeat: an erased customer is erased again (nothing
    left to wipe, new drafts deleted)."""
    organization_id, customer_id = customer.organization_id, customer.id
    drafts = unsent_drafts(session, customer)
    for draft in drafts:
        session.delete(draft)
    session.flush()
    if not customer_in_use(session, customer_id):
        result = Erasure(deleted=True, drafts_deleted=len(drafts))
        _record_erasure(session, organization_id, customer_id, actor, result)
        session.delete(customer)
        session.commit()
        return result
    result = Erasure(
        deleted=False,
        erased_fields=wipe_personal_fields(customer),
        drafts_deleted=len(drafts),
        invoices_kept=_count_invoices(session, customer_id),
    )
    _record_erasure(session, organization_id, customer_id, actor, result)
    task_id = emit(session, organization_id, "customer.updated", customer_payload(customer))
    session.commit()
    wake_events([task_id])
    return result


def unsent_drafts(session: DbSession, customer: Customer) -> list[Invoice]:
    """The customer's editable invoices that never took a number (never went to ARCA)."""
    numbered_attempt = exists().where(
        AuthorizationAttempt.invoice_id == Invoice.id, AuthorizationAttempt.number.is_not(None)
    )
    return list(
        session.scalars(
            select(Invoice).where(
                Invoice.organization_id == customer.organization_id,
                Invoice.customer_id == customer.id,
                Invoice.status.in_([str(status) for status in EDITABLE]),
                Invoice.number.is_(None),
                Invoice.cae.is_(None),
                ~numbered_attempt,
            )
        )
    )


def wipe_personal_fields(customer: Customer) -> list[str]:
    """Blank the fields no fiscal document carries; returns the names of those that held
    something. Archives the customer and stamps `erased_at`."""
    held = [name for name in ERASED_FIELDS if getattr(customer, name) not in (None, "")]
    customer.emails = ""
    customer.phone = None
    customer.notes = None
    customer.payment_terms_days = None
    customer.search_text = build_search_text(data_of(customer))
    now = utcnow()
    customer.erased_at = now
    customer.archived_at = customer.archived_at or now
    return held


def _count_invoices(session: DbSession, customer_id: int) -> int:
    return int(
        session.scalar(select(func.count(Invoice.id)).where(Invoice.customer_id == customer_id))
        or 0
    )


def _record_erasure(
    session: DbSession,
    organization_id: int,
    customer_id: int,
    actor: User | ApiKey | None,
    result: Erasure,
) -> None:
    record_event(
        session,
        organization_id,
        "customer.erased",
        actor,
        subject=("customer", customer_id),
        details={
            "deleted": result.deleted,
            "erased_fields": result.erased_fields,
            "drafts_deleted": result.drafts_deleted,
            "invoices_kept": result.invoices_kept,
        },
    )


# --- when the vouchers' retention ends ------------------------------------------------------------


def anonymize_expired_snapshots(session: DbSession, today: dt.date) -> int:
    """For the retention job, after it deleted the vouchers past their retention: blank the
    receiver snapshot of erased customers' invoices that are past it but still here and may
    change (not authorized: an authorized one can't, and retention deletes it instead), then
    delete the erased customers no invoice refers to any more — the last place their name,
    document and address were. Returns how many customers were deleted. Commits.

    Reads across organizations (a maintenance job)."""
    erased = select(Customer.id).where(Customer.erased_at.is_not(None))
    cutoff = fiscal_issued_before(today)
    session.execute(
        update(Invoice)
        .where(
            Invoice.customer_id.in_(erased),
            Invoice.status != InvoiceStatus.AUTHORIZED,
            Invoice.issue_date < cutoff,
        )
        .values(
            receiver_name=ANONYMOUS_NAME,
            receiver_doc_type=99,
            receiver_doc_number="0",
            receiver_address=None,
        )
        .execution_options(synchronize_session=False)
    )
    orphaned = delete(Customer).where(
        Customer.erased_at.is_not(None), ~exists().where(Invoice.customer_id == Customer.id)
    )
    deleted = session.execute(orphaned.execution_options(synchronize_session=False))
    session.commit()
    return int(deleted.rowcount or 0)  # type: ignore[attr-defined]


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
