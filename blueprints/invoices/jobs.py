"""Authorization as a background job: the web request queues it and shows a status panel; an
RQ worker (or the request itself, without Redis) talks to ARCA. A stuck ARCA holds a worker,
never a web process."""

from __future__ import annotations

import time

from flask_babel import gettext as _

from blueprints.invoices.authorization import UNSETTLED, authorize_invoice
from blueprints.invoices.models import EDITABLE, Invoice
from blueprints.invoices.preflight import Problem
from blueprints.invoices.preflight_adapter import preflight_problems
from core.arca import ArcaGateway, get_arca
from core.cache import get_cache
from core.db import DbSession, db
from core.errors import DomainError, ValidationFailed
from core.jobs import enqueue

QUEUED_TTL_SECONDS = 15 * 60
POLL_SECONDS = 0.25


class PreflightRefused(ValidationFailed):
    """ARCA would refuse the draft as it is: `problems` says why. Nothing was queued."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(_("ARCA lo rechazaría: corregí lo que marcamos antes de enviarlo."))
        self.problems = problems


def start_authorization(session: DbSession, invoice: Invoice, gateway: ArcaGateway) -> bool:
    """The preflight, then the job queued: True when queued by this call. False, with nothing
    queued, when the invoice is no longer a draft (authorized, or being authorized) or its job
    is already waiting: an invoice is never queued twice. Raises `PreflightRefused`."""
    if invoice.status not in EDITABLE or is_queued(invoice.id):
        return False
    if problems := preflight_problems(session, invoice, gateway):
        raise PreflightRefused(problems)
    return queue_authorization(invoice.id)


def queued_key(invoice_id: int) -> str:
    return f"invoices:queued:{invoice_id}"


def is_queued(invoice_id: int) -> bool:
    return get_cache().get(queued_key(invoice_id)) is not None


def queue_authorization(invoice_id: int) -> bool:
    """Mark the invoice as waiting (the panel polls meanwhile) and queue the job; False, queuing
    nothing, when it was marked already (the mark is set atomically: one job per invoice)."""
    if not get_cache().add(queued_key(invoice_id), b"1", QUEUED_TTL_SECONDS):
        return False
    enqueue(authorize_job, invoice_id, description=f"authorize invoice {invoice_id}")
    return True


def is_settled(invoice: Invoice, queued: bool) -> bool:
    """Nothing more will happen to it without someone asking: no job waiting, and authorized,
    rejected or back to a draft (a failure before sending)."""
    return not queued and invoice.status not in UNSETTLED


def wait_until_settled(session: DbSession, invoice_id: int, seconds: float) -> Invoice:
    """The invoice once settled (`is_settled`), or as it is after `seconds`. Polls: reads it
    afresh each time and holds no transaction while sleeping."""
    deadline = time.monotonic() + seconds
    while True:
        session.expire_all()
        invoice = session.get_one(Invoice, invoice_id)
        if is_settled(invoice, is_queued(invoice_id)) or time.monotonic() >= deadline:
            return invoice
        session.commit()  # ends the read's transaction; the invoice reloads on the next read
        time.sleep(POLL_SECONDS)


def authorize_job(invoice_id: int) -> None:
    """Runs `authorize_invoice`; a failure before sending is written on the invoice for the
    panel to show (the invoice itself is as it was)."""
    try:
        authorize_invoice(db.session, invoice_id, get_arca())
    except DomainError as error:
        db.session.rollback()
        invoice = db.session.get(Invoice, invoice_id)
        if invoice is not None and invoice.editable:
            invoice.errors = [{"code": None, "text": error.message}]
            db.session.commit()
    except Exception:
        db.session.rollback()
        invoice = db.session.get(Invoice, invoice_id)
        if invoice is not None and invoice.editable:
            invoice.errors = [{"code": None, "text": _("Falló la autorización; probá de nuevo.")}]
            db.session.commit()
        raise
    finally:
        get_cache().delete(queued_key(invoice_id))
        db.session.remove()
