"""The Auditoría page's reading of the log: filters, text search, keyset pages (newest first),
the existing subjects to link to, and the filter's CSV. Every query is scoped to the
organization.

Pages continue after a cursor (the last row's `created_at` and `seq`): a page costs the same
however long the log is, and entries written meanwhile never shift the older pages.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, String, Text, cast, or_, select, tuple_

from blueprints.api.models import ApiKey
from blueprints.audit.labels import action_label, matching_actions
from blueprints.audit.models import AuditEvent
from blueprints.audit.services import record_event
from blueprints.auth.models import User
from blueprints.certificates.models import Certificate
from blueprints.customers.csv_io import neutralize
from blueprints.customers.models import Customer
from blueprints.invoices.models import Invoice
from blueprints.points_of_sale.models import PointOfSale
from blueprints.webhooks.models import WebhookEndpoint
from core.db import DbSession
from core.i18n import TIME_ZONE
from core.inputs import MAX_ID

PAGE_SIZE = 50
MAX_TEXT = 100
LOCAL = ZoneInfo(TIME_ZONE)
# The subjects that may still exist, by the `subject_type` their entries carry.
SUBJECT_MODELS: dict[str, Any] = {
    "invoice": Invoice,
    "customer": Customer,
    "certificate": Certificate,
    "point_of_sale": PointOfSale,
    "webhook_endpoint": WebhookEndpoint,
    "api_key": ApiKey,
}
DAY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
CSV_HEADER = (
    "numero",
    "fecha",
    "actor",
    "accion",
    "descripcion",
    "objeto",
    "id_objeto",
    "direccion",
    "navegador",
    "detalles",
    "hash",
)


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    text: str | None = None
    after: str | None = None

    def args(self) -> dict[str, str]:
        """The filter as query arguments (for links and the CSV), without the cursor."""
        names = {"actor": "actor", "action": "accion", "text": "q"}
        found = {names[key]: value for key, value in asdict(self).items() if key in names}
        days = {"desde": self.date_from, "hasta": self.date_to}
        found.update({key: day.isoformat() for key, day in days.items() if day})
        return {key: value for key, value in found.items() if value}


@dataclass(frozen=True)
class AuditPage:
    entries: Sequence[AuditEvent]
    next_cursor: str | None


def filters_from(args: Mapping[str, str]) -> AuditFilter:
    """The filters from query arguments; what does not parse is no filter."""
    return AuditFilter(
        actor=_text(args.get("actor")),
        action=_text(args.get("accion")),
        date_from=parse_day(args.get("desde")),
        date_to=parse_day(args.get("hasta")),
        text=_text(args.get("q")),
        after=_text(args.get("despues"), 200),
    )


def _text(value: str | None, limit: int = MAX_TEXT) -> str | None:
    return (value or "").strip()[:limit] or None


def parse_day(text: str | None) -> dt.date | None:
    """A day as the date input sends it (2026-12-04) or as typed in es-AR (4/12/2026)."""
    text = (text or "").strip()
    try:
        if match := DAY.match(text):
            day, month, year = (int(part) for part in match.groups())
            return dt.date(year, month, day)
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def day_start(day: dt.date) -> dt.datetime:
    """Midnight of `day` in Argentina: the log's days are the business's days."""
    return dt.datetime.combine(day, dt.time(), LOCAL)


def filtered(session: DbSession, organization_id: int, filters: AuditFilter) -> Select[Any]:
    """The organization's entries matching every given filter, unordered."""
    query = select(AuditEvent).where(AuditEvent.organization_id == organization_id)
    for condition in conditions(session, organization_id, filters):
        query = query.where(condition)
    return query


def conditions(
    session: DbSession, organization_id: int, filters: AuditFilter
) -> Iterator[ColumnElement[bool]]:
    if filters.actor:
        yield actor_condition(session, organization_id, filters.actor)
    if filters.action:
        yield AuditEvent.action == filters.action
    if filters.date_from:
        yield AuditEvent.created_at >= day_start(filters.date_from)
    if filters.date_to and filters.date_to < dt.date.max:
        yield AuditEvent.created_at < day_start(filters.date_to + dt.timedelta(days=1))
    if filters.text:
        yield text_condition(filters.text)


def actor_condition(session: DbSession, organization_id: int, actor: str) -> ColumnElement[bool]:
    """An actor picked from the list is that actor; typed text, any actor containing it."""
    known = select(AuditEvent.id).where(
        AuditEvent.organization_id == organization_id, AuditEvent.actor == actor
    )
    if session.scalar(known.limit(1)) is not None:
        return AuditEvent.actor == actor
    return AuditEvent.actor.ilike(contains(actor), escape="\\")


def text_condition(text: str) -> ColumnElement[bool]:
    """The text in the actor, the action (its code or its label), the subject or the details."""
    pattern = contains(text)
    subject = AuditEvent.subject_type + ":" + cast(AuditEvent.subject_id, String)
    matches = [
        AuditEvent.actor.ilike(pattern, escape="\\"),
        AuditEvent.action.ilike(pattern, escape="\\"),
        subject.ilike(pattern, escape="\\"),
        cast(AuditEvent.details, Text).ilike(pattern, escape="\\"),
    ]
    if actions := matching_actions(text):
        matches.append(AuditEvent.action.in_(actions))
    return or_(*matches)


def contains(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_page(session: DbSession, organization_id: int, filters: AuditFilter) -> AuditPage:
    """A page of matching entries, newest first, older than the cursor when there is one."""
    query = filtered(session, organization_id, filters)
    if cursor := decode_cursor(filters.after):
        query = query.where(older_than(cursor))
    query = query.order_by(AuditEvent.created_at.desc(), AuditEvent.seq.desc())
    rows = list(session.scalars(query.limit(PAGE_SIZE + 1)))
    if len(rows) <= PAGE_SIZE:
        return AuditPage(rows, None)
    return AuditPage(rows[:PAGE_SIZE], encode_cursor(rows[PAGE_SIZE - 1]))


def older_than(cursor: tuple[dt.datetime, int]) -> ColumnElement[bool]:
    """Entries after `cursor` in the log's order (newest first; `seq` tells apart entries
    written at one moment)."""
    return tuple_(AuditEvent.created_at, AuditEvent.seq) < cursor


def encode_cursor(entry: AuditEvent) -> str:
    raw = json.dumps([entry.created_at.isoformat(), entry.seq]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[dt.datetime, int] | None:
    """None for a missing or foreign cursor: the log starts again from the newest."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, seq = json.loads(base64.urlsafe_b64decode(padded.encode()))
        when = dt.datetime.fromisoformat(str(moment))
        if type(seq) is not int or not 0 < seq <= 2**62 or when.tzinfo is None:
            return None
        return when, seq
    except (ValueError, TypeError, OverflowError):
        return None


def seen_actors(session: DbSession, organization_id: int) -> list[str]:
    query = select(AuditEvent.actor).where(AuditEvent.organization_id == organization_id)
    return sorted(session.scalars(query.distinct()))


def seen_actions(session: DbSession, organization_id: int) -> list[str]:
    query = select(AuditEvent.action).where(AuditEvent.organization_id == organization_id)
    return sorted(session.scalars(query.distinct()), key=action_label)


def existing_subjects(
    session: DbSession, organization_id: int, entries: Iterable[AuditEvent]
) -> set[tuple[str, int]]:
    """The (type, id) of the entries' subjects that still exist in the organization."""
    wanted: dict[str, set[int]] = {}
    for entry in entries:
        kind, subject_id = entry.subject_type, entry.subject_id
        if kind in SUBJECT_MODELS and subject_id and 0 < subject_id <= MAX_ID:
            wanted.setdefault(kind, set()).add(subject_id)
    found: set[tuple[str, int]] = set()
    for kind, ids in wanted.items():
        model = SUBJECT_MODELS[kind]
        query = select(model.id).where(model.organization_id == organization_id, model.id.in_(ids))
        existing: list[int] = list(session.scalars(query))
        found.update((kind, found_id) for found_id in existing)
    return found


def start_csv(
    session: DbSession, organization_id: int, filters: AuditFilter, actor: User
) -> Iterator[str]:
    """Record that the filtered log was exported (committed now, before the first byte), then
    the rows, newest first, as CSV text in chunks."""
    record_event(session, organization_id, "audit.exported", actor, details=filters.args())
    session.commit()
    return export_rows(all_entries(session, organization_id, filters))


def all_entries(
    session: DbSession, organization_id: int, filters: AuditFilter, chunk: int = 1000
) -> Iterator[AuditEvent]:
    """Every matching entry, newest first, read a keyset chunk at a time (no cursor held open
    while the response streams)."""
    query = filtered(session, organization_id, filters).order_by(
        AuditEvent.created_at.desc(), AuditEvent.seq.desc()
    )
    after: tuple[dt.datetime, int] | None = None
    while True:
        older = query if after is None else query.where(older_than(after))
        rows = list(session.scalars(older.limit(chunk)))
        yield from rows
        if len(rows) < chunk:
            return
        after = (rows[-1].created_at, rows[-1].seq)
        session.expunge_all()


def export_rows(entries: Iterable[AuditEvent]) -> Iterator[str]:
    """CSV for a spreadsheet (UTF-8 with BOM, `;`) in Argentina time; free text neutralised
    against formulas like the customers' export."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    yield "\ufeff" + drain(buffer)
    for count, entry in enumerate(entries, 1):
        writer.writerow(csv_cells(entry))
        if count % 200 == 0:
            yield drain(buffer)
    yield drain(buffer)


def csv_cells(entry: AuditEvent) -> list[str]:
    details = json.dumps(entry.details or {}, ensure_ascii=False, sort_keys=True)
    return [
        str(entry.seq),
        entry.created_at.astimezone(LOCAL).strftime("%d/%m/%Y %H:%M:%S"),
        neutralize(entry.actor),
        entry.action,
        neutralize(action_label(entry.action, spanish=True)),
        entry.subject_type or "",
        str(entry.subject_id) if entry.subject_id is not None else "",
        entry.address or "",
        neutralize(entry.user_agent or ""),
        neutralize(details),
        entry.hash,
    ]


def drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
