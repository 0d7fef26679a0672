"""Bulk authorization: many drafts sent in batches (FECAESolicitar with CantReg up to ARCA's
limit, FECompTotXRequest) as one background job, with progress the page polls.

Per voucher the exactly-once rules of `authorization` hold: each batch is one
`authorize_batch`. A voucher refused only because an earlier one of its batch was (10016) goes
into a later batch, up to `ROUNDS` times. The job degrades, never dies: every ARCA call goes
through the typed handling of single authorization, one sequence's failure ends that sequence
only, and every draft ends with an outcome the page lists (`BulkProgress`).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import select, update

from arca.codes import VOUCHER_TYPES
from blueprints.certificates.connection import arca_client
from blueprints.invoices.authorization import (
    UNSETTLED,
    ask_arca,
    authorize_batch,
    sequence_of,
    unsettled_ids,
)
from blueprints.invoices.locks import Sequence as NumberingSequence
from blueprints.invoices.models import (
    EDITABLE,
    AttemptOutcome,
    AuthorizationAttempt,
    Invoice,
    InvoiceStatus,
)
from blueprints.invoices.preflight_adapter import preflight_problems
from core.arca import ArcaGateway, get_arca
from core.cache import get_cache
from core.db import DbSession, db
from core.errors import DomainError, NotFound, ValidationFailed
from core.jobs import enqueue

log = logging.getLogger(__name__)
T = TypeVar("T")
ROUNDS = 3
BATCH_CEILING = 250  # never more per request, whatever ARCA allows
PROGRESS_TTL_SECONDS = 24 * 3600


@dataclass
class BulkProgress:
    """A bulk job's progress, then its outcome: each draft sent ends in exactly one group."""

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
    # Not sent: another voucher of their sequence is unsettled (`waiting_for` names it).
    waiting: list[dict[str, Any]] = field(default_factory=list)
    # Sent, and ARCA has not said whether it got them: settled by FECompConsultar, never resent.
    unsettled: list[dict[str, Any]] = field(default_factory=list)
    # Not sent (back to a draft, or never left), with why: they can be sent again.
    not_sent: list[dict[str, Any]] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.done / self.total)

    @property
    def unauthorized(self) -> int:
        return len(self.rejected) + len(self.waiting) + len(self.unsettled) + len(self.not_sent)

    def accounted(self) -> set[int]:
        """The drafts that already have their outcome."""
        groups = (self.rejected, self.waiting, self.unsettled, self.not_sent)
        return {*self.authorized_ids, *(item["id"] for group in groups for item in group)}

    def add(self, group: str, item: dict[str, Any]) -> None:
        getattr(self, group).append(item)
        self.done += 1

    def add_authorized(self, invoice_ids: list[int]) -> None:
        self.authorized_ids += invoice_ids
        self.authorized += len(invoice_ids)
        self.done += len(invoice_ids)


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
    return key, load_progress(key, organization_id)


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
    """Queue the organization's editable drafts among `invoice_ids`; returns the job's key.
    `skipped` (drafts left out, with their problems) is kept with the progress for the page;
    with nothing to send, nothing is queued."""
    ids = editable_ids(session, organization_id, invoice_ids)
    key = uuid.uuid4().hex
    progress = BulkProgress(organization_id, total=len(ids), skipped=list(skipped))
    progress.finished = not ids
    save_progress(key, progress)
    if ids:
        enqueue(bulk_job, organization_id, ids, key, description=f"bulk authorize {len(ids)}")
    return key


def editable_ids(session: DbSession, organization_id: int, invoice_ids: list[int]) -> list[int]:
    query = select(Invoice.id).where(
        Invoice.organization_id == organization_id,
        Invoice.id.in_(invoice_ids),
        Invoice.status.in_(EDITABLE),
    )
    return sorted(session.scalars(query))


def bulk_job(organization_id: int, invoice_ids: list[int], key: str) -> None:
    """The RQ entry point (also run inline without Redis). Whatever happens, the progress ends
    `finished`: if the job itself crashes, the failure is written there instead of raised
    (raised only when even that cannot be done, e.g. with Redis gone)."""
    try:
        run_bulk(db.session, organization_id, invoice_ids, get_arca(), key)
    except Exception:
        log.exception("bulk authorization %s crashed", key)
        if not _finish_crashed(key, organization_id):
            raise
    finally:
        db.session.remove()


def run_bulk(
    session: DbSession, organization_id: int, invoice_ids: list[int], gateway: ArcaGateway, key: str
) -> BulkProgress:
    """Send the drafts sequence by sequence and give every one an outcome in the progress:
    authorized, rejected (ARCA's reasons), waiting for an unsettled voucher (which), sent but
    unconfirmed, or not sent (why, also written on the draft). ARCA's failures and one
    sequence's errors end that sequence only; the progress always ends `finished`."""
    progress = load_progress(key, organization_id)
    try:
        _run_sequences(session, organization_id, invoice_ids, gateway, key, progress)
    except Exception:
        log.exception("bulk authorization %s failed", key)
        session.rollback()
        progress.failure = progress.failure or _("Falló la autorización masiva; probá de nuevo.")
    _account_for(session, invoice_ids, progress, progress.failure)
    progress.finished = True
    save_progress(key, progress)
    return progress


def _run_sequences(
    session: DbSession,
    organization_id: int,
    invoice_ids: list[int],
    gateway: ArcaGateway,
    key: str,
    progress: BulkProgress,
) -> None:
    try:
        size = batch_size(session, organization_id, gateway)
    except DomainError as error:  # nothing was sent: every draft is "not sent", saying why
        session.rollback()
        progress.failure = error.message
        return
    for ids in by_sequence(session, invoice_ids).values():
        reason = None
        try:
            _run_sequence(session, ids, gateway, size, progress, key)
        except DomainError as error:
            session.rollback()
            reason = error.message
        except Exception:  # one sequence's bug or outage never stops the others
            log.exception("bulk authorization %s: a sequence failed", key)
            session.rollback()
            reason = _("Falló el envío a ARCA de este punto de venta y tipo; probá de nuevo.")
        _account_for(session, ids, progress, reason)
        save_progress(key, progress)


def _run_sequence(
    session: DbSession,
    ids: list[int],
    gateway: ArcaGateway,
    size: int,
    progress: BulkProgress,
    key: str,
) -> None:
    """Up to `ROUNDS` passes; what is left afterwards gets its outcome from `_account_for`."""
    queue = ids
    for _round in range(ROUNDS):
        again: list[int] = []
        for chunk in chunks(queue, size):
            outcome = authorize_batch(session, chunk, gateway)
            progress.batches += 1
            progress.add_authorized(outcome.authorized)
            for invoice_id in outcome.rejected:
                progress.add("rejected", _rejection(session, invoice_id))
            again += outcome.retry + outcome.unknown
            save_progress(key, progress)
        if not again:
            return
        queue = again


def batch_size(session: DbSession, organization_id: int, gateway: ArcaGateway) -> int:
    """ARCA's limit per FECAESolicitar (FECompTotXRequest), capped. Raises `ArcaCallFailed`
    (nothing sent) or `NoActiveCertificate`."""
    with arca_client(session, organization_id, gateway) as arca:
        return max(1, min(BATCH_CEILING, ask_arca(arca.wsfe.max_batch_size)))


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


# --- one outcome per draft ---------------------------------------------------------------------


def _account_for(
    session: DbSession, invoice_ids: list[int], progress: BulkProgress, reason: str | None
) -> None:
    """An outcome for each of `invoice_ids` not given one yet, from its state now. A draft not
    sent gets `reason` (else why it came back), written on it too if it is still a draft."""
    seen = progress.accounted()
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
            group, item = _not_sent(session, invoice, reason, blockers[sequence])
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
    session: DbSession, invoice: Invoice, reason: str | None, blockers: list[dict[str, Any]]
) -> tuple[str, dict[str, Any]]:
    """A draft that went back (or never left): waiting behind an unsettled voucher, or why."""
    if blockers:
        names = ", ".join(str(blocker["name"]) for blocker in blockers)
        text = _(
            "Espera a que ARCA confirme %(vouchers)s: lo volvemos a consultar; después podés "
            "enviarlo.",
            vouchers=names,
        )
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
            _(
                "ARCA no le dio número porque rechazó otro comprobante del mismo envío: "
                "probá de nuevo."
            )
            if last == AttemptOutcome.REJECTED
            else _("ARCA no respondió: probá de nuevo.")
        )
    return "not_sent", _item(invoice.id, invoice.receiver_name, [reason])


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


def _finish_crashed(key: str, organization_id: int) -> bool:
    """Mark a crashed job's progress finished with the failure; False if that failed too."""
    try:
        progress = load_progress(key, organization_id)
        progress.failure = progress.failure or _("Falló la autorización masiva; probá de nuevo.")
        progress.finished = True
        save_progress(key, progress)
    except Exception:
        log.exception("bulk authorization %s: its progress could not be finished", key)
        return False
    return True


# --- progress in the cache -----------------------------------------------------------------------


def progress_key(key: str) -> str:
    return f"invoices:bulk:{key}"


def save_progress(key: str, progress: BulkProgress) -> None:
    get_cache().set(progress_key(key), json.dumps(asdict(progress)).encode(), PROGRESS_TTL_SECONDS)


def load_progress(key: str, organization_id: int) -> BulkProgress:
    """The job's progress; another organization's (or an unknown) key is NotFound."""
    raw = get_cache().get(progress_key(key))
    progress = BulkProgress(**json.loads(raw)) if raw else None
    if progress is None or progress.organization_id != organization_id:
        raise NotFound(_("No encontramos esa autorización masiva."))
    return progress
