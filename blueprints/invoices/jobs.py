"""Authorization as a durable request (`core.tasks`): the click writes the request in its own
transaction and the page shows a status panel; an RQ worker (or the request itself, without
Redis) talks to ARCA. A stuck ARCA holds a worker, never a web process; a lost job is woken
again by the dispatcher; a request that must wait (ARCA unreachable, a voucher of its sequence
unconfirmed) is retried with back-off, saying on the draft what it waits for."""

from __future__ import annotations

import datetime as dt
import time

from flask_babel import gettext as _

from blueprints.invoices.authorization import (
    UNSETTLED,
    InvoiceNotEditable,
    SequencePending,
    authorize_invoice,
    sequence_of,
)
from blueprints.invoices.bulk import waiting_message
from blueprints.invoices.locks import SequenceBusy
from blueprints.invoices.models import EDITABLE, Invoice, InvoiceStatus, authorization_key
from blueprints.invoices.preflight import Problem
from blueprints.invoices.preflight_adapter import preflight_problems
from blueprints.points_of_sale.services import ArcaCallFailed
from core.arca import ArcaGateway, get_arca
from core.db import DbSession, utcnow
from core.errors import DomainError, ValidationFailed
from core.i18n import format_clock
from core.tasks import Again, Task, backoff, handles, open_task, poke, submit, wake

AUTHORIZE = "invoices.authorize"
POLL_SECONDS = 0.25


class PreflightRefused(ValidationFailed):
    """ARCA would refuse the draft as it is: `problems` says why. Nothing was queued."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(_("ARCA lo rechazaría: corregí lo que marcamos antes de enviarlo."))
        self.problems = problems


def start_authorization(session: DbSession, invoice: Invoice, gateway: ArcaGateway) -> bool:
    """The preflight, then the request written and woken: True when this call asked. False,
    asking nothing, when the invoice is no longer a draft (authorized, or being authorized) or
    its request is already open: an invoice is never asked for twice. Raises
    `PreflightRefused`."""
    if invoice.status not in EDITABLE or is_queued(session, invoice.id):
        return False
    if problems := preflight_problems(session, invoice, gateway):
        raise PreflightRefused(problems)
    task_id = submit(
        session,
        AUTHORIZE,
        {"invoice_id": invoice.id},
        organization_id=invoice.organization_id,
        key=authorization_key(invoice.id),
    )
    if task_id is None:
        session.rollback()
        return False
    invoice.errors = []  # the last attempt's messages no longer apply: the panel says "En cola"
    session.commit()
    wake([task_id])
    return True


def is_queued(session: DbSession, invoice_id: int) -> bool:
    """Whether the invoice's authorization request is open (queued, running or waiting)."""
    return open_task(session, authorization_key(invoice_id)) is not None


def is_settled(invoice: Invoice, queued: bool) -> bool:
    """Nothing more will happen to it without someone asking: no request open, and authorized,
    rejected or back to a draft."""
    return not queued and invoice.status not in UNSETTLED


def refresh(session: DbSession, invoice_id: int) -> bool:
    """For a page that polls: runs a due retry without Redis (`core.tasks.poke`); returns
    whether the request is still open."""
    poke(session, open_task(session, authorization_key(invoice_id)))
    return is_queued(session, invoice_id)


def wait_until_settled(session: DbSession, invoice_id: int, seconds: float) -> Invoice:
    """The invoice once settled (`is_settled`), or as it is after `seconds`. Polls: reads it
    afresh each time and holds no transaction while sleeping."""
    deadline = time.monotonic() + seconds
    while True:
        session.expire_all()
        invoice = session.get_one(Invoice, invoice_id)
        if is_settled(invoice, is_queued(session, invoice_id)) or time.monotonic() >= deadline:
            return invoice
        session.commit()  # ends the read's transaction; the invoice reloads on the next read
        time.sleep(POLL_SECONDS)


def _gave_up(session: DbSession, task: Task, why: str) -> None:
    note(
        session,
        task.payload["invoice_id"],
        [_("No pudimos enviarlo a ARCA después de varios intentos: probá de nuevo más tarde.")],
    )


@handles(AUTHORIZE, give_up=_gave_up)
def authorize_task(session: DbSession, task: Task) -> Again | None:
    """One run of an authorization request: done once ARCA authorized or rejected the invoice
    (or it is gone, or a person must act); again, saying why on the draft, while it waits."""
    invoice_id = int(task.payload["invoice_id"])
    attempt = task.attempts
    try:
        authorize_invoice(session, invoice_id, get_arca())
    except SequencePending:
        session.rollback()
        invoice = session.get(Invoice, invoice_id)
        if invoice is None:
            return None
        text = waiting_message(session, sequence_of(invoice))
        return _again(session, invoice_id, attempt, text)
    except (ArcaCallFailed, SequenceBusy) as error:
        session.rollback()
        return _again(session, invoice_id, attempt, error.message)
    except InvoiceNotEditable:
        session.rollback()
        return _outcome(session, invoice_id, attempt)
    except DomainError as error:  # no certificate, the draft refused: a person must act
        session.rollback()
        note(session, invoice_id, [error.message])
        return None
    return _outcome(session, invoice_id, attempt)


def _outcome(session: DbSession, invoice_id: int, attempt: int) -> Again | None:
    """Done when authorized or rejected (or gone); again while unsettled (settled by asking
    ARCA first) or back to a draft (ARCA never got it: sent again after the back-off)."""
    invoice = session.get(Invoice, invoice_id)
    status = invoice.status if invoice is not None else None
    reason = str(invoice.errors[0]["text"]) if invoice is not None and invoice.errors else ""
    session.commit()
    if status in (None, InvoiceStatus.AUTHORIZED, InvoiceStatus.REJECTED):
        return None
    if status in UNSETTLED:
        return Again("unsettled")
    return _again(session, invoice_id, attempt, reason or _("ARCA no respondió."))


def _again(session: DbSession, invoice_id: int, attempt: int, reason: str) -> Again:
    """Retry after the back-off; the draft says why and when."""
    seconds = backoff(attempt)
    note(session, invoice_id, [reason, retry_note(seconds)])
    return Again(reason, seconds=seconds)


def retry_note(seconds: float) -> str:
    """ "Lo reintentamos automáticamente a las 14:05:10", in the user's time zone."""
    when = format_clock(utcnow() + dt.timedelta(seconds=seconds))
    return _("Lo reintentamos automáticamente a las %(time)s.", time=when)


def note(session: DbSession, invoice_id: int, texts: list[str]) -> None:
    """Write `texts` on the invoice for the panel, if it is still a draft. Commits."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is not None and invoice.editable:
        invoice.errors = [{"code": None, "text": text} for text in texts]
    session.commit()
