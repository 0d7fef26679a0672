"""The audit log's hash chain: each organization's entries commit to the one before.

An entry's hash covers its content (who, what, on what, when, from where) and the previous
entry's hash, so editing, removing or reordering any entry breaks every hash after it, and
`audit_heads` (moved in the same commit) tells when the newest entries are missing. Entries
are chained as they are flushed, under the organization's head row lock, so two concurrent
transactions never take the same `seq`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from blueprints.audit.models import AuditAnchor, AuditEvent, AuditHead
from core.db import DbSession, insert_missing, utcnow

GENESIS = "0" * 64
HASH_VERSION = 1


def entry_fields(entry: AuditEvent) -> dict[str, Any]:
    """What the hash covers (not `id` nor `user_id`: the user may be deleted, the name stays)."""
    return {
        "organization_id": entry.organization_id,
        "seq": entry.seq,
        "created_at": utc_iso(entry.created_at),
        "actor": entry.actor,
        "action": entry.action,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "details": entry.details or {},
        "address": entry.address,
        "user_agent": entry.user_agent,
    }


def entry_hash(fields: dict[str, Any], prev_hash: str) -> str:
    # Version 1 is frozen in migration 0016 (which chained the entries written before it).
    payload = dict(fields, v=HASH_VERSION, prev_hash=prev_hash)
    data = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()


def utc_iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def plain_details(details: dict[str, Any]) -> dict[str, Any]:
    """`details` as it reads back from the JSON column (tuples become lists, dates text), so
    the hash computed now is the hash verified later."""
    return json.loads(json.dumps(details, default=str))


@event.listens_for(Session, "before_flush")
def _chain_new_entries(session: Session, _context: Any, _instances: Any) -> None:
    new = [item for item in session.new if isinstance(item, AuditEvent)]
    if not new:
        return
    by_organization: dict[int, list[AuditEvent]] = {}
    for entry in new:
        by_organization.setdefault(entry.organization_id, []).append(entry)
    # Heads are locked in one order, so two transactions never wait on each other crosswise.
    for organization_id in sorted(by_organization):
        append(session, organization_id, by_organization[organization_id])


def append(session: DbSession, organization_id: int, entries: list[AuditEvent]) -> None:
    """Chain `entries` (in order) after the organization's head, and move the head."""
    seq, prev = locked_head(session, organization_id)
    for entry in entries:
        if entry.created_at is None:
            entry.created_at = utcnow()
        seq += 1
        entry.seq = seq
        entry.prev_hash = prev
        entry.hash = prev = entry_hash(entry_fields(entry), entry.prev_hash)
    session.connection().execute(
        text("UPDATE audit_heads SET seq = :seq, hash = :hash WHERE organization_id = :id"),
        {"seq": seq, "hash": prev, "id": organization_id},
    )


def locked_head(session: DbSession, organization_id: int) -> tuple[int, str]:
    """The organization's last `seq` and hash, its head row locked until commit."""
    connection = session.connection()
    query = select(AuditHead.seq, AuditHead.hash).where(
        AuditHead.organization_id == organization_id
    )
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).first()
    if row is None:
        insert_missing(
            session,
            AuditHead,
            [{"organization_id": organization_id, "seq": 0, "hash": GENESIS}],
            ("organization_id",),
        )
        row = connection.execute(query).first()
    if row is None:  # only if the organization itself is gone
        raise LookupError(f"organization {organization_id} has no audit head")
    return int(row.seq), str(row.hash)


@dataclass(frozen=True)
class Break:
    """One place where the chain does not hold."""

    organization_id: int
    seq: int
    entry_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"entry #{self.seq}" + (f" (id {self.entry_id})" if self.entry_id else "")
        return f"organization {self.organization_id}, {where}: {self.problem}"


def verify_chain(session: DbSession, organization_id: int) -> list[Break]:
    """Every break in the organization's online chain, oldest first (empty: it holds)."""
    anchor = session.get(AuditAnchor, organization_id)
    expected_seq, prev = (anchor.seq + 1, anchor.hash) if anchor else (1, GENESIS)
    breaks: list[Break] = []
    for entry in entries_in_order(session, organization_id):
        breaks.extend(entry_breaks(entry, expected_seq, prev))
        expected_seq, prev = entry.seq + 1, entry.hash
    head = session.get(AuditHead, organization_id)
    last = (expected_seq - 1, prev)
    if head is not None and (head.seq, head.hash) != last and head.seq >= expected_seq:
        problem = f"the newest entries are missing: the chain ends at #{last[0]}, its head is "
        problem += f"#{head.seq}"
        breaks.append(Break(organization_id, head.seq, None, problem))
    elif head is not None and (head.seq, head.hash) != last:
        problem = f"the chain's head (#{head.seq}) does not match its last entry (#{last[0]})"
        breaks.append(Break(organization_id, last[0], None, problem))
    return breaks


def entry_breaks(entry: AuditEvent, expected_seq: int, prev: str) -> Iterator[Break]:
    org = entry.organization_id
    if entry.seq > expected_seq:
        missing = f"#{expected_seq}"
        if entry.seq - 1 > expected_seq:
            missing += f"–#{entry.seq - 1}"
        yield Break(org, entry.seq, entry.id, f"entries {missing} before it were removed")
    elif entry.prev_hash != prev:
        yield Break(org, entry.seq, entry.id, "it does not follow the entry before it (reordered)")
    if entry_hash(entry_fields(entry), entry.prev_hash) != entry.hash:
        yield Break(org, entry.seq, entry.id, "its content was changed after it was written")


def entries_in_order(session: DbSession, organization_id: int) -> Iterable[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.organization_id == organization_id)
        .order_by(AuditEvent.seq, AuditEvent.id)
        .execution_options(yield_per=1000)
    )
    return session.scalars(query)


def chain_heads(session: DbSession) -> dict[int, tuple[int, str]]:
    """Every organization's head (`seq`, hash): what a restored backup must still have."""
    rows = session.execute(select(AuditHead.organization_id, AuditHead.seq, AuditHead.hash))
    return {row.organization_id: (int(row.seq), str(row.hash)) for row in rows}


def allow_audit_purge(session: DbSession) -> None:
    """Let this transaction delete audit entries (retention after archiving them, purging a
    closed organization, the demo's reset): the PostgreSQL trigger refuses otherwise."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL talonario.audit_purge = 'on'"))
