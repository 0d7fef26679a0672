"""CSV import of customers: upload -> preview (every bad row and why) -> confirm -> import.

The preview stores the decoded file with what it found; confirming parses the same text again
and imports every valid row in one transaction, matching existing customers by document (the
anonymous "Doc. (Otro)" ones by name) and skipping or updating them as the user chose. Large
files run as a background job (`core.jobs`); progress is kept in the cache so the page can show
it while the import's transaction is still open.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import insert, select, tuple_, update

from blueprints.audit.services import record_event
from blueprints.auth.models import User
from blueprints.customers import csv_io
from blueprints.customers.models import ANONYMOUS_DOC_TYPE, Customer, CustomerImport, ImportStatus
from blueprints.customers.rules import CustomerData, build_search_text, fold
from blueprints.customers.services import (
    apply_data,
    data_of,
    document_types,
    receiver_conditions,
)
from core.cache import Cache, get_cache
from core.db import DbSession, utcnow
from core.errors import Conflict, NotFound
from core.events import emit, wake_events
from core.tasks import Task, handles, submit, wake

log = logging.getLogger(__name__)
T = TypeVar("T")

Mode = Literal["skip", "update"]
MODES: tuple[Mode, ...] = ("skip", "update")
BATCH = 1000
IMPORT = "customers.import"
PROGRESS_TTL_SECONDS = 6 * 3600
# The import key: (doc type, number), or (99, folded name) for anonymous final consumers.
Key = tuple[int, str]


@dataclass(frozen=True)
class UploadedCsv:
    name: str
    data: bytes


def preview_import(
    session: DbSession, organization_id: int, actor: User | None, upload: UploadedCsv
) -> CustomerImport:
    """Check the whole file and keep it for confirmation. Commits.

    Raises `csv_io.CsvRefused` (nothing stored) when the file as a whole is unusable; bad rows
    are not an error: they are listed in the returned import's `problems`.
    """
    text = csv_io.decode_csv(upload.data)
    plan = check_file(text)
    keys = [import_key(row.customer) for row in plan.valid]
    existing = len(existing_customers(session, organization_id, keys))
    record = CustomerImport(
        organization_id=organization_id,
        created_by_id=actor.id if actor else None,
        filename=upload.name[:255] or "clientes.csv",
        content=text,
        status=ImportStatus.PREVIEWED,
        total_rows=plan.total_rows,
        valid_rows=len(plan.valid),
        new_rows=len(plan.valid) - existing,
        existing_rows=existing,
        problems=[{"row": p.row, "column": p.column, "reason": p.reason} for p in plan.problems],
    )
    session.add(record)
    session.commit()
    return record


def check_file(text: str) -> csv_io.ImportPlan:
    return csv_io.validate_rows(csv_io.read_csv(text), document_types(), receiver_conditions())


def get_import(session: DbSession, organization_id: int, import_id: int) -> CustomerImport:
    record = session.get(CustomerImport, import_id)
    if record is None or record.organization_id != organization_id:
        raise NotFound(_("No encontramos esa importación."))
    return record


def confirm_import(
    session: DbSession, record: CustomerImport, mode: Mode, actor: User | None
) -> CustomerImport:
    """Queue the import (files of `CUSTOMER_IMPORT_BACKGROUND_ROWS`+ rows go to a worker;
    smaller ones, and every one without Redis, run now). Raises `Conflict` if already confirmed.
    """
    if record.status != ImportStatus.PREVIEWED:
        raise Conflict(_("Esta importación ya se confirmó."))
    if record.valid_rows == 0:
        raise Conflict(_("El archivo no tiene filas válidas para importar."))
    record.mode = mode
    record.status = ImportStatus.QUEUED
    record.created_by_id = actor.id if actor else record.created_by_id
    import_id = record.id
    if record.total_rows < current_app.config["CUSTOMER_IMPORT_BACKGROUND_ROWS"]:
        session.commit()
        run_customer_import(session, import_id, get_cache())
    else:
        # A durable request in the same transaction (`core.tasks`): a lost job is woken again.
        task_id = submit(
            session,
            IMPORT,
            {"import_id": import_id},
            organization_id=record.organization_id,
            key=f"customer-import:{import_id}",
        )
        session.commit()
        if task_id is not None:
            wake([task_id])
    session.expire_all()
    return session.get_one(CustomerImport, import_id)


@handles(IMPORT)
def import_task(session: DbSession, task: Task) -> None:
    """The request's run; an import a killed worker left running is run again (its one
    transaction died with the worker: nothing of it was kept)."""
    run_customer_import(session, int(task.payload["import_id"]), get_cache(), take_over=True)


def run_customer_import(
    session: DbSession, import_id: int, cache: Cache, take_over: bool = False
) -> None:
    """Import a queued file in one transaction; at most once (a second run finds it claimed
    and returns, unless `take_over` says the holder is gone). On failure nothing is imported
    and the import says it failed."""
    claimable = [ImportStatus.QUEUED, *([ImportStatus.RUNNING] if take_over else [])]
    claimed = session.execute(
        update(CustomerImport)
        .where(CustomerImport.id == import_id, CustomerImport.status.in_(claimable))
        .values(status=ImportStatus.RUNNING)
    )
    session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return
    record = session.get_one(CustomerImport, import_id)
    try:
        counts = apply_plan(session, record, check_file(record.content), cache)
    except Exception:
        session.rollback()
        log.exception("customer import %s failed", import_id)
        _finish(
            session,
            import_id,
            ImportStatus.FAILED,
            _("La importación falló: no se importó nada. Probá de nuevo."),
        )
        return
    _record_counts(session, record, counts)
    task_id = emit(
        session, record.organization_id, "customer_import.finished", import_payload(record)
    )
    session.commit()
    wake_events([task_id])


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0


def apply_plan(
    session: DbSession, record: CustomerImport, plan: csv_io.ImportPlan, cache: Cache
) -> Counts:
    """Create, update or skip every valid row (not committed)."""
    counts = Counts()
    organization_id = record.organization_id
    done = 0
    for batch in _batches([row.customer for row in plan.valid], BATCH):
        known = existing_customers(session, organization_id, [import_key(c) for c in batch])
        new = [c for c in batch if import_key(c) not in known]
        _insert(session, organization_id, new)
        counts.created += len(new)
        for data in (c for c in batch if import_key(c) in known):
            customer = known[import_key(data)]
            if record.mode != "update":
                counts.skipped += 1
            elif data_of(customer) == data:
                counts.unchanged += 1
            else:
                apply_data(customer, data)
                counts.updated += 1
        session.flush()
        done += len(batch)
        cache.set(progress_key(record.id), str(done).encode(), PROGRESS_TTL_SECONDS)
    return counts


def progress(record: CustomerImport) -> int:
    """Rows processed so far by a running import (from the cache)."""
    if record.status == ImportStatus.DONE:
        return record.valid_rows
    value = get_cache().get(progress_key(record.id))
    return int(value) if value else 0


def progress_key(import_id: int) -> str:
    return f"customers:import:{import_id}:progress"


def import_key(customer: CustomerData) -> Key:
    return customer.document_key or (ANONYMOUS_DOC_TYPE, fold(customer.legal_name)[:200])


def existing_customers(
    session: DbSession, organization_id: int, keys: Iterable[Key]
) -> dict[Key, Customer]:
    """The organization's customers with these import keys."""
    keys = list(dict.fromkeys(keys))
    found: dict[Key, Customer] = {}
    documents = [key for key in keys if key[0] != ANONYMOUS_DOC_TYPE]
    names = [name for doc_type, name in keys if doc_type == ANONYMOUS_DOC_TYPE]
    for chunk in _batches(documents, BATCH):
        query = select(Customer).where(
            Customer.organization_id == organization_id,
            tuple_(Customer.doc_type, Customer.doc_number).in_(chunk),
            # A row is a customer here: one abroad shares its country's CUIT with others.
            Customer.country.is_(None),
        )
        found.update({(c.doc_type, c.doc_number): c for c in session.scalars(query)})
    for names_chunk in _batches(names, BATCH):
        query = select(Customer).where(
            Customer.organization_id == organization_id,
            Customer.doc_type == ANONYMOUS_DOC_TYPE,
            Customer.sort_name.in_(names_chunk),
        )
        found.update({(ANONYMOUS_DOC_TYPE, c.sort_name): c for c in session.scalars(query)})
    return found


def _insert(session: DbSession, organization_id: int, customers: list[CustomerData]) -> None:
    if not customers:
        return
    now = utcnow()
    session.execute(insert(Customer), [customer_row(organization_id, c, now) for c in customers])


def customer_row(
    organization_id: int,
    customer: CustomerData,
    created: dt.datetime,
    archived_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """A customers row for a bulk INSERT (no ORM object per row): the derived columns as
    `services.apply_data` fills them."""
    return {
        "organization_id": organization_id,
        "doc_type": customer.doc_type,
        "doc_number": customer.doc_number,
        "legal_name": customer.legal_name,
        "iva_condition": customer.iva_condition,
        "emails": ",".join(customer.emails),
        "address": customer.address,
        "phone": customer.phone,
        "notes": customer.notes,
        "payment_terms_days": customer.payment_terms_days,
        "archived_at": archived_at,
        "sort_name": fold(customer.legal_name)[:200],
        "search_text": build_search_text(customer),
        "created_at": created,
        "updated_at": created,
    }


def _record_counts(session: DbSession, record: CustomerImport, counts: Counts) -> None:
    record.created, record.updated = counts.created, counts.updated
    record.unchanged, record.skipped = counts.unchanged, counts.skipped
    record.status = ImportStatus.DONE
    record.finished_at = utcnow()
    actor = session.get(User, record.created_by_id) if record.created_by_id else None
    record_event(
        session,
        record.organization_id,
        "customers.import",
        actor,
        subject=("customer_import", record.id),
        details={
            "file": record.filename,
            "mode": record.mode,
            "created": counts.created,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
            "skipped": counts.skipped,
            "bad_rows": record.bad_rows,
        },
    )


def _finish(session: DbSession, import_id: int, status: ImportStatus, error: str) -> None:
    record = session.get_one(CustomerImport, import_id)
    record.status, record.error, record.finished_at = status, error, utcnow()
    task_id = emit(
        session, record.organization_id, "customer_import.finished", import_payload(record)
    )
    session.commit()
    wake_events([task_id])


def import_payload(record: CustomerImport) -> dict[str, object]:
    """The finished import, for the "customer_import.finished" event."""
    return {
        "object": "customer_import",
        "id": record.id,
        "status": str(record.status),
        "file": record.filename,
        "mode": record.mode,
        "total_rows": record.total_rows,
        "created": record.created,
        "updated": record.updated,
        "unchanged": record.unchanged,
        "skipped": record.skipped,
        "bad_rows": record.bad_rows,
        "error": record.error,
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
    }


def _batches(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
