"""Domain events: what happened in an organization ("invoice.authorized"), recorded as an
`events` row in the transaction that made it happen, with one durable request
(`core.tasks`, kind "events.fan_out") that hands it to whoever listens (webhooks). The
caller commits both together, then `wake`s the task: an event is never lost nor invented.
Listeners (the webhooks slice) register with `listen`; the fan-out calls each in one
transaction and wakes the requests they made.

Payloads are JSON snapshots of the object at the time of the event; they are built by the
caller (see blueprints/webhooks/payloads.py) and never re-read later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import JSON, ColumnElement, ForeignKey, Index, String, func, insert, literal, select
from sqlalchemy.orm import Mapped, mapped_column

from core.db import DbSession, TimestampMixin, db, utcnow
from core.jobs import job_queue
from core.tasks import Task, TaskStatus, handles, submit, wake

FAN_OUT = "events.fan_out"

EVENT_TYPES = (
    "invoice.created",
    "invoice.authorized",
    "invoice.rejected",
    "customer.created",
    "customer.updated",
    "bulk_authorization.finished",
)


class Event(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_organization_id_id", "organization_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


def emit(
    session: DbSession, organization_id: int, type: str, payload: dict[str, Any]
) -> int | None:
    """Add the event and its fan-out request to the caller's transaction (no commit); returns
    the task's id, for `wake_events` after the commit."""
    return emit_many(session, organization_id, type, [payload])


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
    unknown = {type for type, _payload in rows if type not in EVENT_TYPES}
    if unknown:
        raise ValueError(f"unknown event types {sorted(unknown)!r}")
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
    """After the commit: wake the fan-out requests. Without Redis they are not run inline (the
    caller may itself be a task, and a nested run would end its session): `flask tasks
    dispatch` or the next worker delivers them."""
    ids = [task_id for task_id in task_ids if task_id is not None]
    if ids and job_queue() is not None:
        wake(ids)


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
    task_ids = [task_id for listener in LISTENERS.values() for task_id in listener(session, events)]
    session.commit()
    if task_ids:
        wake(task_ids)
