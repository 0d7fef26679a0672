"""Bulk authorization: many drafts sent in batches (FECAESolicitar with CantReg up to ARCA's
limit, FECompTotXRequest) as one background job, with progress the page polls.

Per voucher the exactly-once rules of `authorization` hold: each batch is one
`authorize_batch`. A voucher refused only because an earlier one of its batch was (10016) goes
into a later batch, up to `ROUNDS` times. The job degrades, never dies: every ARCA call goes
through the typed handling of single authorization, one sequence's failure ends that sequence
only, and every draft ends with an outcome the page lists (`BulkProgress`). FCE MiPyME vouchers go
one per request (ARCA allows no more, 10003); a Factura E goes alone through WSFEXv1
(`export_authorization`), one FEXAuthorize per voucher as that service works.

The job is a durable request (`core.tasks`) whose state is its progress, saved after every
batch: a killed worker or a flushed Redis resumes it where it stopped, and drafts that must wait
(ARCA unreachable, a voucher of their sequence unconfirmed) are retried with back-off until
they get a final outcome.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import select, update

from arca.codes import VOUCHER_TYPES
from arca.fce import is_fce
from blueprints.certificates.connection import ArcaSession, arca_client
from blueprints.invoices.authorization import (
    UNSETTLED,
    InvoiceNotEditable,
    SequencePending,
    ask_arca,
    authorize_batch,
    sequence_of,
    unsettled_ids,
)
from blueprints.invoices.export_authorization import authorize_export
from blueprints.invoices.letters import is_export
from blueprints.invoices.locks import Sequence as NumberingSequence
from blueprints.invoices.locks import SequenceBusy
from blueprints.invoices.models import (
    EDITABLE,
    AttemptOutcome,
    AuthorizationAttempt,
    Invoice,
    InvoiceStatus,
)
from blueprints.invoices.preflight_adapter import preflight_problems
from blueprints.points_of_sale.services import ArcaCallFailed
from core.arca import ArcaGateway, get_arca
from core.db import DbSession, utcnow
from core.errors import DomainError, NotFound, ValidationFailed
from core.events import emit, wake_events
from core.inputs import parse_id
from core.tasks import Again, Task, TaskStatus, backoff, handles, poke, submit, wake

log = logging.getLogger(__name__)
T = TypeVar("T")
ROUNDS = 3
BATCH_CEILING = 250  # never more per request, whatever ARCA allows
BULK = "invoices.bulk"


@dataclass
class BulkProgress:
    """A bulk job's progress, then its outcome: each draft sent ends in exactly one group.

    Final groups: authorized, rejected, not sent (a person must act). While the job runs, some
    drafts may be waiting (retried automatically; `waiting_for` names an unsettled voucher of
    their sequence) or unsettled (sent, ARCA has not said): those groups are recomputed on each
    run until every draft is final."""

    organization_id: int
    total: int
    done: int = 0
    authorized: int = 0
    batches: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    failure: str | None = None
    finished: bool = False
    # Drafts left out because the preflight found problems: what and why, for the page.
    skipped: list[dict[str, Any]] = field(default_factory=list)
    authorized_ids: list[int] = field(default_factory=list)
    # Not sent yet, retried automatically: behind an unsettled voucher, or ARCA failed.
    waiting: list[dict[str, Any]] = field(default_factory=list)
    # Sent, and ARCA has not said whether it got them: settled by FECompConsultar, never resent.
    unsettled: list[dict[str, Any]] = field(default_factory=list)
    # Not sent, with why: a person must act (no certificate…) or retrying was given up.
    not_sent: list[dict[str, Any]] = field(default_factory=list)
    # When the waiting drafts are tried again (ISO 8601, UTC), while they wait.
    retry_at: str | None = None

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.done / self.total)

    @property
    def unauthorized(self) -> int:
        return len(self.rejected) + len(self.waiting) + len(self.unsettled) + len(self.not_sent)

    def accounted(self) -> set[int]:
        """The drafts that already have their final outcome."""
        groups = (self.rejected, self.not_sent)
        return {*self.authorized_ids, *(item["id"] for group in groups for item in group)}

    def add(self, group: str, item: dict[str, Any]) -> None:
        getattr(self, group).append(item)
        if group in FINAL_GROUPS:
            self.done += 1

    def add_authorized(self, invoice_ids: list[int]) -> None:
        self.authorized_ids += invoice_ids
        self.authorized += len(invoice_ids)
        self.done += len(invoice_ids)

    def start_run(self) -> None:
        """A new run recomputes the drafts that were not final."""
        self.waiting, self.unsettled, self.retry_at, self.failure = [], [], None, None

    @property
    def pending(self) -> bool:
        """Some drafts still wait for a final outcome."""
        return bool(self.waiting or self.unsettled)


FINAL_GROUPS = ("rejected", "not_sent")


class NothingToAuthorize(ValidationFailed):
    """None of the chosen invoices is a draft of the organization."""


def start_bulk_authorization(
    session: DbSession, organization_id: int, chosen: list[int], gateway: ArcaGateway
) -> tuple[str, BulkProgress]:
    """The organization's drafts among `chosen`, preflighted: those ARCA would refuse are left
    out (listed with their reasons in the progress), the rest queued (`start_bulk`). Returns
    the job's key and its first progress. Raises `NothingToAuthorize` when no draft is among
    `chosen` (nothing is started)."""
    ready: list[int] = []
    refused: list[dict[str, Any]] = []
    for invoice_id in editable_ids(session, organization_id, chosen):
        invoice = session.get_one(Invoice, invoice_id)
        if problems := preflight_problems(session, invoice, gateway):
            refused.append(skipped_draft(invoice, [problem.message for problem in problems]))
        else:
            ready.append(invoice_id)
    if not ready and not refused:
        raise NothingToAuthorize(_("No hay borradores listos para autorizar en la selección."))
    key = start_bulk(session, organization_id, ready, refused)
    return key, load_progress(session, key, organization_id)


def skipped_draft(invoice: Invoice, problems: list[str]) -> dict[str, Any]:
    """A draft the bulk authorization left out, as its page lists it."""
    return {
        "id": invoice.id,
        "invoice_type": invoice.invoice_type,
        "point_of_sale": invoice.point_of_sale_number,
        "number": invoice.number,
        "receiver": invoice.receiver_name,
        "problems": problems,
    }


def start_bulk(
    session: DbSession,
    organization_id: int,
    invoice_ids: list[int],
    skipped: Sequence[dict[str, Any]] = (),
) -> str:
    """Ask for the organization's editable drafts among `invoice_ids` to be authorized (one
    durable request, committed, then woken); returns the job's key. `skipped` (drafts left out,
    with their problems) is kept with the progress for the page; with nothing to send, the
    request is recorded already finished."""
    ids = editable_ids(session, organization_id, invoice_ids)
    progress = BulkProgress(organization_id, total=len(ids), skipped=list(skipped))
    progress.finished = not ids
    task_id = submit(
        session, BULK, {"invoice_ids": ids}, organization_id=organization_id, state=asdict(progress)
    )
    if task_id is None:  # only a keyed task can meet an open one
        raise RuntimeError("a keyless task was refused")
    if not ids:
        session.execute(
            update(Task)
            .where(Task.id == task_id)
            .values(status=TaskStatus.DONE, finished_at=utcnow())
        )
    session.commit()
    if ids:
        wake([task_id])
    return str(task_id)


def editable_ids(session: DbSession, organization_id: int, invoice_ids: list[int]) -> list[int]:
    query = select(Invoice.id).where(
        Invoice.organization_id == organization_id,
        Invoice.id.in_(invoice_ids),
        Invoice.status.in_(EDITABLE),
    )
    return sorted(session.scalars(query))


def _gave_up(session: DbSession, task: Task, why: str) -> None:
    """Retrying for too long: the drafts still waiting become "not sent", saying so."""
    progress = BulkProgress(**task.state)
    reason = _("No pudimos enviarlo a ARCA después de varios intentos: probá de nuevo más tarde.")
    left = [item["id"] for item in [*progress.waiting, *progress.unsettled]]
    progress.start_run()
    _account_for(session, left, progress, reason, transient=False)
    progress.finished = True
    save_progress(session, task.id, progress)


@handles(BULK, give_up=_gave_up)
def bulk_task(session: DbSession, task: Task) -> Again | None:
    """One run of a bulk request: resumes from its saved progress; again while some drafts
    wait (their retry time on the page), done once every draft has its final outcome."""
    progress = run_bulk(
        session, task.organization_id, task.payload["invoice_ids"], get_arca(), task.id
    )
    if not progress.pending:
        return None
    seconds = backoff(task.attempts)
    progress.retry_at = (utcnow() + dt.timedelta(seconds=seconds)).isoformat()
    save_progress(session, task.id, progress)
    return Again(progress.failure or "waiting", seconds=seconds)


def run_bulk(
    session: DbSession, organization_id: int, invoice_ids: list[int], gateway: ArcaGateway, key: int
) -> BulkProgress:
    """Send the drafts not yet final, sequence by sequence, and give every one an outcome in
    the progress: authorized, rejected (ARCA's reasons), waiting (for an unsettled voucher,
    which; or after an ARCA failure, why), sent but unconfirmed, or not sent (why, also written
    on the draft). One sequence's errors end that sequence only. The progress ends `finished`
    unless some drafts wait."""
    progress = load_state(session, key)
    progress.start_run()
    left = [invoice_id for invoice_id in invoice_ids if invoice_id not in progress.accounted()]
    try:
        _run_sequences(session, organization_id, left, gateway, key, progress)
    except Exception:
        log.exception("bulk authorization %s failed", key)
        session.rollback()
        progress.failure = progress.failure or _("Falló la autorización masiva; la reintentamos.")
    _account_for(session, left, progress, progress.failure, transient=True)
    progress.finished = not progress.pending
    save_progress(session, key, progress)
    return progress


def _run_sequences(
    session: DbSession,
    organization_id: int,
    invoice_ids: list[int],
    gateway: ArcaGateway,
    key: int,
    progress: BulkProgress,
) -> None:
    """Every sequence over one ARCA session (one login, one read of the certificate)."""
    try:
        with arca_client(session, organization_id, gateway) as arca:
            size = max(1, min(BATCH_CEILING, ask_arca(arca.wsfe.max_batch_size)))
            sending = Sending(gateway, arca, size, progress, key)
            for sequence, ids in by_sequence(session, invoice_ids).items():
                _run_sequence(session, sequence, ids, sending)
    except (ArcaCallFailed, SequenceBusy) as error:  # no batch size: nothing sent, all wait
        session.rollback()
        progress.failure = error.message
    except DomainError as error:  # no certificate: nothing sent, a person must act
        session.rollback()
        progress.failure = error.message
        _account_for(session, invoice_ids, progress, error.message, transient=False)


@dataclass(frozen=True)
class Sending:
    """What every batch of a bulk run shares: ARCA's session, the batch size, the progress."""

    gateway: ArcaGateway
    arca: ArcaSession
    size: int
    progress: BulkProgress
    key: int


def _run_sequence(
    session: DbSession, sequence: NumberingSequence, ids: list[int], sending: Sending
) -> None:
    """One sequence's drafts; its failure ends it alone, each draft saying why."""
    reason, transient = None, True
    try:
        _send_rounds(session, sequence, ids, sending)
    except (ArcaCallFailed, SequenceBusy) as error:
        session.rollback()
        reason = error.message
    except DomainError as error:
        session.rollback()
        reason, transient = error.message, False
    except Exception:  # one sequence's bug or outage never stops the others
        log.exception("bulk authorization %s: a sequence failed", sending.key)
        session.rollback()
        reason = _("Falló el envío a ARCA de este punto de venta y tipo; lo reintentamos.")
    _account_for(session, ids, sending.progress, reason, transient=transient)


def _send_rounds(
    session: DbSession, sequence: NumberingSequence, ids: list[int], sending: Sending
) -> None:
    """Up to `ROUNDS` passes; what is left afterwards gets its outcome from `_account_for`.
    The progress is saved after each batch: what a resumed run starts from."""
    if is_export(sequence.invoice_type):
        _send_exports(session, ids, sending)
        return
    # ARCA takes one FCE voucher per request (10003).
    size = 1 if is_fce(sequence.invoice_type) else sending.size
    progress, queue = sending.progress, ids
    for _round in range(ROUNDS):
        again: list[int] = []
        for chunk in chunks(queue, size):
            outcome = authorize_batch(session, chunk, sending.gateway, sequence, sending.arca)
            progress.batches += 1
            progress.add_authorized(outcome.authorized)
            for invoice_id in outcome.rejected:
                progress.add("rejected", _rejection(session, invoice_id))
            again += outcome.retry + outcome.unknown
            save_progress(session, sending.key, progress)
        if not again:
            return
        queue = again


def _send_exports(session: DbSession, ids: list[int], sending: Sending) -> None:
    """Factura E drafts of one sequence, one FEXAuthorize each (`authorize_export`: its own
    WSFEXv1 session and locks). Behind an unsettled voucher the rest wait (`_account_for`)."""
    progress = sending.progress
    for invoice_id in ids:
        try:
            invoice = authorize_export(session, invoice_id, sending.gateway)
        except InvoiceNotEditable:
            session.rollback()
            continue
        except SequencePending:
            session.rollback()
            return
        progress.batches += 1
        if invoice.status == InvoiceStatus.AUTHORIZED:
            progress.add_authorized([invoice_id])
        elif invoice.status == InvoiceStatus.REJECTED:
            progress.add("rejected", _rejection(session, invoice_id))
        save_progress(session, sending.key, progress)


def by_sequence(session: DbSession, invoice_ids: list[int]) -> dict[NumberingSequence, list[int]]:
    groups: dict[NumberingSequence, list[int]] = {}
    for invoice in session.scalars(
        select(Invoice).where(Invoice.id.in_(invoice_ids)).order_by(Invoice.id)
    ):
        groups.setdefault(sequence_of(invoice), []).append(invoice.id)
    session.commit()
    return groups


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


# --- one outcome per draft -----------------------------------------------------------------------


def _account_for(
    session: DbSession,
    invoice_ids: list[int],
    progress: BulkProgress,
    reason: str | None,
    transient: bool,
) -> None:
    """An outcome for each of `invoice_ids` not given one yet, from its state now. A draft not
    sent waits (retried) behind an unsettled voucher, or when `transient`; else it is not sent,
    with `reason` (or why it came back), written on it too if it is still a draft."""
    seen = progress.accounted() | {item["id"] for item in progress.waiting + progress.unsettled}
    left = [invoice_id for invoice_id in invoice_ids if invoice_id not in seen]
    if not left:
        return
    invoices = {i.id: i for i in session.scalars(select(Invoice).where(Invoice.id.in_(left)))}
    blockers: dict[NumberingSequence, list[dict[str, Any]]] = {}
    notes: dict[str, list[int]] = {}
    for invoice_id in left:
        invoice = invoices.get(invoice_id)
        if invoice is None:
            progress.add("not_sent", _item(invoice_id, "", [_("Ya no existe.")]))
        elif invoice.status == InvoiceStatus.AUTHORIZED:
            progress.add_authorized([invoice_id])
        elif invoice.status == InvoiceStatus.REJECTED:
            progress.add("rejected", _rejection(session, invoice_id))
        elif invoice.status in UNSETTLED:
            progress.add("unsettled", _unsettled(invoice))
        else:
            sequence = sequence_of(invoice)
            if sequence not in blockers:
                blockers[sequence] = _blockers(session, sequence)
            group, item = _not_sent(session, invoice, reason, blockers[sequence], transient)
            progress.add(group, item)
            notes.setdefault(item["reasons"][0], []).append(invoice_id)
    for text, ids in notes.items():
        # Only drafts still editable: one authorized meanwhile by someone else keeps its record.
        session.execute(
            update(Invoice)
            .where(Invoice.id.in_(ids), Invoice.status.in_(EDITABLE))
            .values(errors=[{"code": None, "text": text}])
        )
    session.commit()


def _not_sent(
    session: DbSession,
    invoice: Invoice,
    reason: str | None,
    blockers: list[dict[str, Any]],
    transient: bool,
) -> tuple[str, dict[str, Any]]:
    """A draft that went back (or never left): waiting behind an unsettled voucher or for a
    retry, or not sent, and why."""
    if blockers:
        text = _waiting_text(blockers)
        return "waiting", {
            **_item(invoice.id, invoice.receiver_name, [text]),
            "waiting_for": blockers,
        }
    if reason is None:
        last = session.scalar(
            select(AuthorizationAttempt.outcome)
            .where(AuthorizationAttempt.invoice_id == invoice.id)
            .order_by(AuthorizationAttempt.id.desc())
            .limit(1)
        )
        reason = (
            _("ARCA no le dio número porque rechazó otro comprobante del mismo envío.")
            if last == AttemptOutcome.REJECTED
            else _("ARCA no respondió.")
        )
    group = "waiting" if transient else "not_sent"
    return group, {**_item(invoice.id, invoice.receiver_name, [reason]), "waiting_for": []}


def waiting_message(session: DbSession, sequence: NumberingSequence) -> str:
    """What a draft of `sequence` waits for, naming its unsettled vouchers."""
    return _waiting_text(_blockers(session, sequence))


def _waiting_text(blockers: list[dict[str, Any]]) -> str:
    names = ", ".join(str(blocker["name"]) for blocker in blockers) or _("otro comprobante")
    return _(
        "Espera a que ARCA confirme %(vouchers)s del mismo punto de venta y tipo: lo volvemos "
        "a consultar y lo enviamos apenas se confirme.",
        vouchers=names,
    )


def _blockers(session: DbSession, sequence: NumberingSequence) -> list[dict[str, Any]]:
    """The sequence's unsettled vouchers, as the page names and links them."""
    ids = unsettled_ids(session, sequence)
    found = session.scalars(select(Invoice).where(Invoice.id.in_(ids)).order_by(Invoice.id))
    blockers = [{"id": invoice.id, "name": voucher_label(invoice)} for invoice in found]
    session.commit()
    return blockers


def voucher_label(invoice: Invoice) -> str:
    """ "Factura B 00001-00000012", as ARCA names the voucher type."""
    kind = VOUCHER_TYPES.get(invoice.invoice_type)
    name = kind.description if kind else str(invoice.invoice_type)
    number = f"{invoice.number:08d}" if invoice.number else _("(sin número)")
    return f"{name} {invoice.point_of_sale_number:05d}-{number}"


def _unsettled(invoice: Invoice) -> dict[str, Any]:
    reasons = [str(message["text"]) for message in invoice.errors] or [
        _(
            "ARCA no confirmó si lo recibió: lo consultamos antes de volver a enviarlo, nunca "
            "lo duplicamos."
        )
    ]
    return _item(invoice.id, invoice.receiver_name, reasons)


def _item(invoice_id: int, receiver: str, reasons: list[str]) -> dict[str, Any]:
    return {"id": invoice_id, "receiver": receiver, "reasons": reasons}


def _rejection(session: DbSession, invoice_id: int) -> dict[str, Any]:
    invoice = session.get_one(Invoice, invoice_id)
    reasons = [
        f"{m['code']}: {m['text']}" if m.get("code") else str(m["text"])
        for m in [*invoice.errors, *invoice.observations]
    ]
    session.commit()
    return _item(invoice_id, invoice.receiver_name, reasons or [_("ARCA no dio el motivo.")])


# --- progress in the request's row ---------------------------------------------------------------


def save_progress(session: DbSession, task_id: int, progress: BulkProgress) -> None:
    """The progress as the task's state (one UPDATE), committed: what a resumed run starts from
    and what the page reads. The first time it is saved finished, "bulk_authorization.finished"
    is emitted in the same commit."""
    task_id_woken = None
    if progress.finished:
        stored = session.scalar(select(Task.state).where(Task.id == task_id)) or {}
        if not stored.get("finished"):
            task_id_woken = emit(
                session,
                progress.organization_id,
                "bulk_authorization.finished",
                _finished_payload(task_id, progress),
            )
    session.execute(update(Task).where(Task.id == task_id).values(state=asdict(progress)))
    session.commit()
    wake_events([task_id_woken])


def _finished_payload(task_id: int, progress: BulkProgress) -> dict[str, Any]:
    return {
        "object": "bulk_authorization",
        "id": task_id,
        "total": progress.total,
        "authorized": progress.authorized,
        "authorized_ids": progress.authorized_ids,
        "rejected": [item["id"] for item in progress.rejected],
        "not_sent": [item["id"] for item in progress.not_sent],
        "skipped": [item["id"] for item in progress.skipped],
    }


def load_state(session: DbSession, task_id: int) -> BulkProgress:
    state: dict[str, Any] = session.scalars(select(Task.state).where(Task.id == task_id)).one()
    session.commit()
    return BulkProgress(**state)


def load_progress(session: DbSession, key: str, organization_id: int) -> BulkProgress:
    """The job's progress; another organization's (or an unknown) key is NotFound. Without
    Redis, a due retry runs now (`core.tasks.poke`)."""
    task_id = parse_id(key)
    task = session.get(Task, task_id) if task_id is not None else None
    if task is None or task.kind != BULK or task.organization_id != organization_id:
        raise NotFound(_("No encontramos esa autorización masiva."))
    poke(session, task)
    session.expire_all()
    task = session.get_one(Task, task.id)
    progress = BulkProgress(**task.state)
    progress.finished = not task.open
    session.commit()
    return progress
