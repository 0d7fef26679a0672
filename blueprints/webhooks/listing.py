"""The delivery log the endpoint's page reads: its deliveries, newest first, and each
delivery's attempts, a page at a time ("Más antiguos": keyset on the id, so a page costs the
same however long the log is). Every query is scoped to the organization."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import select

from blueprints.webhooks.models import WebhookAttempt, WebhookDelivery
from core.db import DbSession

PAGE_SIZE = 50
Row = TypeVar("Row", WebhookDelivery, WebhookAttempt)


@dataclass(frozen=True)
class Page(Generic[Row]):
    """A slice of the log, and the id to continue after (None: nothing older)."""

    rows: Sequence[Row]
    next_cursor: int | None


def _page(rows: list[Row], size: int) -> Page[Row]:
    """`rows`: up to `size` + 1, newest first; the extra one says whether there is more."""
    if len(rows) <= size:
        return Page(rows, None)
    return Page(rows[:size], rows[size - 1].id)


def list_deliveries(
    session: DbSession,
    organization_id: int,
    endpoint_id: int,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> Page[WebhookDelivery]:
    """The endpoint's deliveries, newest first, older than the delivery `after` when given."""
    query = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.organization_id == organization_id,
            WebhookDelivery.endpoint_id == endpoint_id,
        )
        .order_by(WebhookDelivery.id.desc())
    )
    if after is not None:
        query = query.where(WebhookDelivery.id < after)
    return _page(list(session.scalars(query.limit(size + 1))), size)


def list_attempts(
    session: DbSession,
    delivery: WebhookDelivery,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> Page[WebhookAttempt]:
    """The delivery's attempts, the last one first, older than the attempt `after` when given."""
    query = (
        select(WebhookAttempt)
        .where(
            WebhookAttempt.delivery_id == delivery.id,
            WebhookAttempt.organization_id == delivery.organization_id,
        )
        .order_by(WebhookAttempt.id.desc())
    )
    if after is not None:
        query = query.where(WebhookAttempt.id < after)
    return _page(list(session.scalars(query.limit(size + 1))), size)
