"""The delivery log is kept `WEBHOOK_LOG_DAYS` (30) days: `prune_log` deletes what is older,
in batches of `BATCH` rows, each its own short transaction (no long lock on tables that
workers write to all the time), and `flask webhooks prune` runs it from a shell.

What goes, older than the cut-off:
- attempts of deliveries that are finished (a pending delivery keeps its whole log);
- finished deliveries (delivered or failed) with no attempt since the cut-off;
- events no delivery references any more, that no pending fan-out still has to hand out
  (`core.events`, kind "events.fan_out": their ids are in the task's payload), and that carry
  no `key`: a keyed event is how `emit_once` knows it already happened, and deleting it would
  let the alert go out again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import ColumnElement, delete, exists, select

from blueprints.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from core.db import DbSession, db, utcnow
from core.events import FAN_OUT, Event
from core.scheduler import scheduled
from core.tasks import Task, TaskStatus

BATCH = 1000
DEFAULT_DAYS = 30
FINISHED = (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)
Model = type[WebhookAttempt] | type[WebhookDelivery] | type[Event]


@dataclass(frozen=True)
class Pruned:
    attempts: int
    deliveries: int
    events: int

    @property
    def total(self) -> int:
        return self.attempts + self.deliveries + self.events


@scheduled("webhooks.prune", every=dt.timedelta(hours=1))
def prune_chore(session: DbSession, now: dt.datetime) -> str:
    """The scheduler's hourly job: the log older than WEBHOOK_LOG_DAYS goes."""
    return f"pruned {prune_log(session, now)} rows"


def prune_log(session: DbSession, now: dt.datetime, days: int | None = None) -> int:
    """Delete the log older than `days` (default: the WEBHOOK_LOG_DAYS setting, 30) before
    `now`; returns how many rows went. Commits after each batch; safe to run while workers
    deliver and beside another prune (each batch re-checks its conditions as it deletes)."""
    return prune(session, now, days).total


def prune(session: DbSession, now: dt.datetime, days: int | None = None) -> Pruned:
    """`prune_log`, counted per table."""
    cutoff = now - dt.timedelta(days=log_days() if days is None else days)
    return Pruned(
        attempts=_delete_in_batches(session, WebhookAttempt, _old_attempts(cutoff)),
        deliveries=_delete_in_batches(session, WebhookDelivery, _old_deliveries(cutoff)),
        events=_delete_in_batches(
            session, Event, _old_events(cutoff), keep=_pending_fan_out_events(session)
        ),
    )


def log_days() -> int:
    return int(current_app.config.get("WEBHOOK_LOG_DAYS", DEFAULT_DAYS))


def _old_attempts(cutoff: dt.datetime) -> ColumnElement[bool]:
    finished = exists().where(
        WebhookDelivery.id == WebhookAttempt.delivery_id, WebhookDelivery.status.in_(FINISHED)
    )
    return (WebhookAttempt.created_at < cutoff) & finished


def _old_deliveries(cutoff: dt.datetime) -> ColumnElement[bool]:
    recent_attempt = exists().where(
        WebhookAttempt.delivery_id == WebhookDelivery.id, WebhookAttempt.created_at >= cutoff
    )
    return (
        WebhookDelivery.status.in_(FINISHED)
        & (WebhookDelivery.created_at < cutoff)
        & ~recent_attempt
    )


def _old_events(cutoff: dt.datetime) -> ColumnElement[bool]:
    delivered = exists().where(WebhookDelivery.event_id == Event.id)
    return (Event.created_at < cutoff) & Event.key.is_(None) & ~delivered


def _pending_fan_out_events(session: DbSession) -> frozenset[int]:
    """The events that pending fan-outs still have to hand to the listeners."""
    payloads: Iterable[dict[str, Any]] = session.scalars(
        select(Task.payload).where(Task.kind == FAN_OUT, Task.status == TaskStatus.PENDING)
    )
    ids = frozenset(int(i) for payload in payloads for i in payload.get("event_ids", []))
    session.commit()
    return ids


def _delete_in_batches(
    session: DbSession,
    model: Model,
    condition: ColumnElement[bool],
    keep: frozenset[int] = frozenset(),
) -> int:
    """Delete `model`'s rows matching `condition`, but `keep`, BATCH ids at a time in id order
    (a keyset: rows kept are never looked at twice); one commit per batch."""
    deleted, after = 0, 0
    while True:
        ids = list(
            session.scalars(
                select(model.id).where(condition, model.id > after).order_by(model.id).limit(BATCH)
            )
        )
        doomed = [row_id for row_id in ids if row_id not in keep]
        if doomed:
            # The condition again: a row may have changed since it was read (a resend).
            statement = delete(model).where(model.id.in_(doomed), condition)
            result = session.execute(statement.execution_options(synchronize_session=False))
            deleted += int(getattr(result, "rowcount", 0))
        session.commit()
        if len(ids) < BATCH:
            return deleted
        after = ids[-1]


@click.command("prune")
@click.option("--days", type=click.IntRange(min=1), help="Keep this many days (default: 30).")
@with_appcontext
def prune_command(days: int | None) -> None:
    """Delete webhook attempts, finished deliveries and spent events older than the log keeps."""
    pruned = prune(db.session, utcnow(), days)
    click.echo(
        f"pruned {pruned.total} rows: {pruned.attempts} attempts, "
        f"{pruned.deliveries} deliveries, {pruned.events} events"
    )
