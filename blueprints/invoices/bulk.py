"""Bulk authorization: many drafts sent in batches (FECAESolicitar with CantReg up to ARCA's
limit, FECompTotXRequest) as one background job, with progress the page polls.

Per voucher the exactly-once rules of `authorization` hold: each batch is one
`authorize_batch`. A voucher refused only because an earlier one of its batch was (10016) goes
into a later batch, up to `ROUNDS` times.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import select

from blueprints.certificates.connection import arca_client
from blueprints.invoices.authorization import authorize_batch, sequence_of
from blueprints.invoices.locks import Sequence as NumberingSequence
from blueprints.invoices.models import EDITABLE, Invoice
from blueprints.invoices.preflight_adapter import preflight_problems
from core.arca import ArcaGateway, get_arca
from core.cache import get_cache
from core.db import DbSession, db
from core.errors import DomainError, NotFound, ValidationFailed
from core.jobs import enqueue

T = TypeVar("T")
ROUNDS = 3
BATCH_CEILING = 250  # never more per request, whatever ARCA allows
PROGRESS_TTL_SECONDS = 24 * 3600


@dataclass
class BulkProgress:
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

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.done / self.total)


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
    """The RQ entry point (also run inline without Redis)."""
    try:
        run_bulk(db.session, organization_id, invoice_ids, get_arca(), key)
    finally:
        db.session.remove()


def run_bulk(
    session: DbSession, organization_id: int, invoice_ids: list[int], gateway: ArcaGateway, key: str
) -> BulkProgress:
    progress = load_progress(key, organization_id)
    try:
        size = batch_size(session, organization_id, gateway)
        for ids in by_sequence(session, invoice_ids).values():
            _run_sequence(session, ids, gateway, size, progress, key)
    except DomainError as error:
        progress.failure = error.message
    progress.finished = True
    save_progress(key, progress)
    return progress


def _run_sequence(
    session: DbSession,
    ids: list[int],
    gateway: ArcaGateway,
    size: int,
    progress: BulkProgress,
    key: str,
) -> None:
    queue = ids
    for _round in range(ROUNDS):
        again: list[int] = []
        for chunk in chunks(queue, size):
            outcome = authorize_batch(session, chunk, gateway)
            progress.batches += 1
            progress.authorized += len(outcome.authorized)
            progress.done += len(outcome.authorized) + len(outcome.rejected)
            progress.rejected += [_rejection(session, i) for i in outcome.rejected]
            again += outcome.retry + outcome.unknown
            save_progress(key, progress)
        if not again:
            return
        queue = again
    progress.done += len(queue)
    progress.rejected += [_rejection(session, i) for i in queue]


def batch_size(session: DbSession, organization_id: int, gateway: ArcaGateway) -> int:
    """ARCA's limit per FECAESolicitar (FECompTotXRequest), capped."""
    with arca_client(session, organization_id, gateway) as arca:
        return max(1, min(BATCH_CEILING, arca.wsfe.max_batch_size()))


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


def _rejection(session: DbSession, invoice_id: int) -> dict[str, Any]:
    invoice = session.get_one(Invoice, invoice_id)
    reasons = [
        f"{m['code']}: {m['text']}" if m.get("code") else str(m["text"])
        for m in [*invoice.errors, *invoice.observations]
    ]
    session.commit()
    return {
        "id": invoice_id,
        "receiver": invoice.receiver_name,
        "reasons": reasons or [_("Sin confirmar")],
    }


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
