"""Authorization as a background job: the web request queues it and shows a status panel; an
RQ worker (or the request itself, without Redis) talks to ARCA. A stuck ARCA holds a worker,
never a web process."""

from __future__ import annotations

from flask_babel import gettext as _

from blueprints.invoices.authorization import authorize_invoice
from blueprints.invoices.models import Invoice
from core.arca import get_arca
from core.cache import get_cache
from core.db import db
from core.errors import DomainError
from core.jobs import enqueue

QUEUED_TTL_SECONDS = 15 * 60


def queued_key(invoice_id: int) -> str:
    return f"invoices:queued:{invoice_id}"


def is_queued(invoice_id: int) -> bool:
    return get_cache().get(queued_key(invoice_id)) is not None


def queue_authorization(invoice_id: int) -> None:
    """Mark the invoice as waiting (the panel polls meanwhile) and queue the job."""
    get_cache().set(queued_key(invoice_id), b"1", QUEUED_TTL_SECONDS)
    enqueue(authorize_job, invoice_id, description=f"authorize invoice {invoice_id}")


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
