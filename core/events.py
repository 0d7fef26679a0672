"""Domain events: what happened in an organization ("invoice.authorized"), recorded as an
`events` row in the transaction that made it happen, with one durable request
(`core.tasks`, kind "events.fan_out") that hands it to whoever listens (webhooks). The
caller commits both together, then `wake`s the task: an event is never lost nor invented.
Listeners (the webhooks slice) register with `listen`; the fan-out calls each in one
transaction and wakes the requests they made.

Payloads are the object as the JSON API serializes it. Single events are complete when
written; a batch's (250 authorizations in one INSERT) are thin snapshots marked
`"complete": false` with the facts of the moment (status, number, CAE, errors), which the
fan-out completes once from the database — an enricher per object — keeping those facts, and
stores on the event: every delivery and resend sends the same bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from flask import current_app
from sqlalchemy import JSON, ColumnElement, ForeignKey, Index, String, func, insert, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from core.db import DbSession, TimestampMixin, db, utcnow
from core.jobs import job_queue
from core.tasks import Task, TaskStatus, handles, submit, wake

FAN_OUT = "events.fan_out"

EVENT_TYPES = (
    "invoice.created",
    "invoice.authorized",
    "invoice.rejected",
    "invoice.needs_attention",
    "customer.created",
    "customer.updated",
    "customer_import.finished",
    "bulk_authorization.finished",
    "certificate.expiring",
    "certificate.expired",
)


class Event(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_organization_id_id", "organization_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    # Set for an event that must happen once whatever runs it ("certificate.expiring:<id>:7").
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


def emit(
    session: DbSession, organization_id: int, type: str, payload: dict[str, Any]
) -> int | None:
    """Add the event and its fan-out request to the caller's transaction (no commit); returns
    the task's id, for `wake_events` after the commit."""
    return emit_many(session, organization_id, type, [payload])


def emit_once(
    session: DbSession, organization_id: int, type: str, payload: dict[str, Any], key: str
) -> int | None:
    """An event that happens once whatever asks for it twice (two schedulers, a rerun): the
    row is inserted unless one with `key` exists. Returns the fan-out task's id, or None when
    the event was already there."""
    _check_types([type])
    table = Event.__table__
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    row = {
        "organization_id": organization_id,
        "type": type,
        "key": key,
        "payload": payload,
        "created_at": utcnow(),
    }
    statement = (
        dialect_insert(table).values(row).on_conflict_do_nothing(index_elements=["key"])
    ).returning(table.c.id)
    event_id = session.execute(statement).scalar()
    if event_id is None:
        return None
    return submit(session, FAN_OUT, {"event_ids": [event_id]}, organization_id=organization_id)


def _check_types(types: Iterable[str]) -> None:
    unknown = {type for type in types if type not in EVENT_TYPES}
    if unknown:
        raise ValueError(f"unknown event types {sorted(unknown)!r}")


def emit_many(
    session: DbSession,
    organization_id: int | ColumnElement[int],
    type: str,
    payloads: Sequence[dict[str, Any]],
) -> int | None:
    """Many events of one type: see `emit_rows`."""
    return emit_rows(session, organization_id, [(type, payload) for payload in payloads])


def emit_rows(
    session: DbSession,
    organization_id: int | ColumnElement[int],
    rows: Sequence[tuple[str, dict[str, Any]]],
) -> int | None:
    """Events of any types in two statements, whatever their number: one multi-row INSERT and
    one fan-out request (a batch of 250 authorizations stays set-based). `organization_id` may
    be a scalar subquery (the batch's invoices know it; no SELECT first). Returns the task's id
    (None when there are no rows)."""
    if not rows:
        return None
    _check_types(type for type, _payload in rows)
    now: dt.datetime = utcnow()
    table = Event.__table__
    values = [
        {"organization_id": organization_id, "type": type, "payload": payload, "created_at": now}
        for type, payload in rows
    ]
    if session.get_bind().dialect.name == "postgresql":
        return _emit_in_one_statement(session, values)
    event_ids = list(session.scalars(insert(table).values(values).returning(table.c.id)))
    return submit(session, FAN_OUT, {"event_ids": event_ids}, organization_id=organization_id)


def _emit_in_one_statement(session: DbSession, values: list[dict[str, Any]]) -> int | None:
    """PostgreSQL: the events and their fan-out request in ONE statement (a data-modifying
    CTE), so a batch's recording grows by a single round trip."""
    table, tasks = Event.__table__, Task.__table__
    new_events = (insert(table).values(values).returning(table.c.id, table.c.organization_id)).cte(
        "new_events"
    )
    now = utcnow()
    request = select(
        literal(FAN_OUT),
        func.min(new_events.c.organization_id),
        func.json_build_object("event_ids", func.json_agg(new_events.c.id)),
        literal({}, JSON),
        literal(TaskStatus.PENDING.value),
        literal(0),
        literal(now),
        literal(now),
    )
    columns = [
        "kind",
        "organization_id",
        "payload",
        "state",
        "status",
        "attempts",
        "run_after",
        "created_at",
    ]
    statement = insert(tasks).from_select(columns, request).returning(tasks.c.id)
    return session.execute(statement).scalar()


def wake_events(task_ids: Sequence[int | None]) -> None:
    """After the commit: wake the fan-out requests. Without Redis they run now, in an app
    context of their own (a session of their own: the caller's objects, and a task that
    emits, keep theirs)."""
    ids = [task_id for task_id in task_ids if task_id is not None]
    if not ids:
        return
    if job_queue() is not None:
        wake(ids)
        return
    with current_app.app_context():
        wake(ids)


Enricher = Callable[[DbSession, list[Event]], None]
"""`enricher(session, events)`: completes the payloads of its object's events (thin snapshots
written by set-based code) before any listener reads them; stores them on the events."""

ENRICHERS: dict[str, Enricher] = {}


def enriches(object_name: str) -> Callable[[Enricher], Enricher]:
    def register(function: Enricher) -> Enricher:
        ENRICHERS[object_name] = function
        return function

    return register


def _enrich(session: DbSession, events: list[Event]) -> None:
    by_object: dict[str, list[Event]] = {}
    for event in events:
        if event.payload.get("complete") is False:
            by_object.setdefault(str(event.payload.get("object")), []).append(event)
    for object_name, group in by_object.items():
        enricher = ENRICHERS.get(object_name)
        if enricher is not None:
            enricher(session, group)


Listener = Callable[[DbSession, list[Event]], list[int]]
"""`listener(session, events)`: adds its own requests for the events (no commit); returns
their task ids. Must add nothing for an event it already handled (the fan-out may run twice)."""

LISTENERS: dict[str, Listener] = {}


def listen(name: str) -> Callable[[Listener], Listener]:
    def register(function: Listener) -> Listener:
        LISTENERS[name] = function
        return function

    return register


@handles(FAN_OUT)
def fan_out(session: DbSession, task: Task) -> None:
    event_ids = [int(event_id) for event_id in task.payload["event_ids"]]
    events = list(
        session.scalars(
            select(Event)
            .where(Event.id.in_(event_ids), Event.organization_id == task.organization_id)
            .order_by(Event.id)
        )
    )
    _enrich(session, events)
    task_ids = [task_id for listener in LISTENERS.values() for task_id in listener(session, events)]
    session.commit()
    if task_ids:
        wake(task_ids)
