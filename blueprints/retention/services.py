"""The retention run: remove what is due, archiving first what must outlive the database.

`run_retention(session, today, dry_run)` works in this order, each step committing its own
short transactions (no long lock on tables the app writes to all the time):

1. operational records older than 90 days (`policy.operational_cutoff`): webhook log (its own
   `prune`, held to the 90-day ceiling), finished tasks, customer-import files, ended
   sessions, sent or failed mail, expired exports;
2. per organization, audit entries of whole months older than a year: written to the archive,
   then deleted (`SET LOCAL talonario.audit_purge`) and the organization's `AuditAnchor`
   moved to the last removed entry, in one transaction, so `verify_chain` still holds;
3. per organization, vouchers past `fiscal_retention_end`: JSONL (with lines, VAT, taxes,
   attempts and their XML) and PDF archived, then deleted;
4. closed organizations whose vouchers are all gone: their whole audit chain archived, then
   `blueprints.organizations.closing.purge_closed`.

Rows are deleted only after their archive files and manifest are fsynced. A voucher is judged
by the earlier of `today` and the database's own date, the one its trigger checks: the run
never tries a delete the database would refuse. `dry_run` counts the same and changes nothing
(no file either). Safe beside another run: a PostgreSQL advisory lock lets one through.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    delete,
    exists,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.orm import aliased

from blueprints.audit.chain import entry_fields
from blueprints.audit.models import AuditAnchor, AuditEvent, AuditHead
from blueprints.auth.models import UserSession
from blueprints.customers.models import CustomerImport
from blueprints.customers.privacy import anonymize_expired_snapshots
from blueprints.exports.models import Export
from blueprints.invoices.models import (
    AuthorizationAttempt,
    Invoice,
    InvoiceLine,
    InvoiceTax,
    InvoiceVat,
)
from blueprints.invoices.printing import invoice_pdf
from blueprints.organizations.closing import purge_closed
from blueprints.organizations.models import Organization
from blueprints.retention import archive, policy
from blueprints.webhooks import retention as webhook_log
from blueprints.webhooks.models import WebhookAttempt, WebhookDelivery
from core.db import DbSession, db, utcnow
from core.events import Event
from core.mail import MailMessage, MailStatus
from core.rowsecurity import across_organizations
from core.scheduler import scheduled
from core.tasks import Task, TaskStatus

BATCH = 1000
LOCK_KEY = 0x7A2E  # pg_try_advisory_lock: one retention run at a time
FINISHED_TASKS = (TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELLED)
FINISHED_MAIL = (MailStatus.SENT, MailStatus.FAILED)
CATEGORIES = (
    "webhook_attempts",
    "webhook_deliveries",
    "events",
    "tasks",
    "customer_imports",
    "user_sessions",
    "mail_messages",
    "exports",
    "audit_entries",
    "invoices",
    "organizations",
    "erased_customers",
)


@dataclass
class Report:
    """What a run removed (or, dry, would remove): rows per category, and per organization
    (CUIT) where the rows belong to one."""

    today: dt.date
    dry_run: bool
    counts: Counter[str] = field(default_factory=Counter)
    by_organization: dict[str, Counter[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, category: str, rows: int, cuit: str | None = None) -> None:
        if not rows:
            return
        self.counts[category] += rows
        if cuit is not None:
            self.by_organization.setdefault(cuit, Counter())[category] += rows

    def lines(self) -> list[str]:
        verb = "would remove" if self.dry_run else "removed"
        lines = [f"retention {self.today.isoformat()}: {verb} {sum(self.counts.values())} rows"]
        lines += [f"  {name}: {self.counts[name]}" for name in CATEGORIES if self.counts[name]]
        for cuit, counts in sorted(self.by_organization.items()):
            detail = ", ".join(f"{name} {counts[name]}" for name in CATEGORIES if counts[name])
            lines.append(f"  organization {cuit}: {detail}")
        lines += [f"  note: {note}" for note in self.notes]
        return lines


@scheduled("retention", cron="0 4 * * *")  # daily, at night (the scheduler's local time)
def retention_chore(session: DbSession, now: dt.datetime) -> str:
    """The scheduler's daily job (a second run at once finds the lock held: nothing done)."""
    report = run_retention(session, now.astimezone(dt.UTC).date())
    return report.lines()[0] if not report.notes else report.notes[0]


@across_organizations  # every organization's rows, by design (the maintenance role)
def run_retention(session: DbSession, today: dt.date, dry_run: bool = False) -> Report:
    """Remove (or count, `dry_run`) everything due on `today`; see the module's docstring.
    Commits as it goes; archive files are written before the rows they hold are deleted."""
    report = Report(today, dry_run)
    with retention_lock() as held:
        if not held:
            report.notes.append("another retention run is under way: nothing done")
            return report
        prune_operational(session, today, report)
        fiscal_today = fiscal_date(session, today, report)
        for organization in organizations_to_sweep(session):
            archive_audit(session, organization, today, report)
            archive_invoices(session, organization, fiscal_today, report)
        purge_closed_organizations(session, fiscal_today, report)
        if not dry_run:
            # Erased customers' last traces go with their last vouchers.
            report.add("erased_customers", anonymize_expired_snapshots(session, fiscal_today))
    return report


@dataclass(frozen=True)
class Tenant:
    id: int
    cuit: str


def organizations_to_sweep(session: DbSession, closed: bool = False) -> list[Tenant]:
    """Every organization, or the closed ones (cross-tenant: the one place the run lists
    them; what it does per organization is then scoped to that one)."""
    query = select(Organization.id, Organization.cuit).order_by(Organization.id)
    if closed:
        query = query.where(Organization.closed_at.is_not(None))
    tenants = [Tenant(row.id, row.cuit) for row in session.execute(query)]
    session.commit()
    return tenants


@contextlib.contextmanager
def retention_lock() -> Iterator[bool]:
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        held = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}))
        try:
            yield held
        finally:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})


def fiscal_date(session: DbSession, today: dt.date, report: Report) -> dt.date:
    """`today`, unless the database's date is earlier: its trigger decides by that one."""
    if session.get_bind().dialect.name != "postgresql":
        return today
    database_today = session.scalar(text("SELECT current_date"))
    session.commit()
    if isinstance(database_today, dt.date) and database_today < today:
        report.notes.append(f"vouchers judged by the database's date, {database_today}")
        return database_today
    return today


# --- 1. operational records ----------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    category: str
    table: Table
    condition: ColumnElement[bool]


def operational_rules(today: dt.date) -> list[Rule]:
    cutoff = policy.operational_cutoff(today)
    now = policy.start_of_day(today)
    finished_import = or_(
        CustomerImport.status.in_(("done", "failed"))
        & (func.coalesce(CustomerImport.finished_at, CustomerImport.created_at) < cutoff),
        (CustomerImport.status == "previewed") & (CustomerImport.created_at < cutoff),
    )
    return [
        Rule(
            "tasks",
            Task.__table__,
            Task.status.in_(FINISHED_TASKS)
            & (func.coalesce(Task.finished_at, Task.created_at) < cutoff),
        ),
        Rule("customer_imports", CustomerImport.__table__, finished_import),
        Rule(
            "user_sessions",
            UserSession.__table__,
            (UserSession.revoked_at < cutoff) | (UserSession.last_seen_at < cutoff),
        ),
        Rule(
            "mail_messages",
            MailMessage.__table__,
            MailMessage.status.in_(FINISHED_MAIL)
            & (func.coalesce(MailMessage.sent_at, MailMessage.created_at) < cutoff),
        ),
        Rule("exports", Export.__table__, Export.expires_at < now),
    ]


def prune_operational(session: DbSession, today: dt.date, report: Report) -> None:
    prune_webhook_log(session, today, report)
    cuits = {
        row.id: row.cuit for row in session.execute(select(Organization.id, Organization.cuit))
    }
    for rule in operational_rules(today):
        for organization_id, rows in count_rows(session, rule):
            report.add(rule.category, rows, cuits.get(organization_id or 0))
        if not report.dry_run:
            delete_in_batches(session, rule)
    session.commit()


def count_rows(session: DbSession, rule: Rule) -> list[tuple[int | None, int]]:
    organization = rule.table.c.get("organization_id")
    if organization is None:
        total = session.scalar(select(func.count()).select_from(rule.table).where(rule.condition))
        return [(None, int(total or 0))]
    query = select(organization, func.count()).where(rule.condition).group_by(organization)
    return [(row[0], int(row[1])) for row in session.execute(query)]


def delete_in_batches(session: DbSession, rule: Rule) -> None:
    """BATCH ids at a time, one commit each (the condition again in the DELETE: a row may have
    changed since it was read)."""
    key = rule.table.c.id
    while True:
        query = select(key).where(rule.condition).order_by(key).limit(BATCH)
        ids: list[int] = list(session.scalars(query))
        if ids:
            session.execute(delete(rule.table).where(key.in_(ids), rule.condition))
        session.commit()
        if len(ids) < BATCH:
            return


def prune_webhook_log(session: DbSession, today: dt.date, report: Report) -> None:
    """The webhook log keeps its own (shorter) WEBHOOK_LOG_DAYS; retention holds it to the
    90-day ceiling whatever that setting says."""
    days = min(webhook_log.log_days(), policy.operational_days())
    now = policy.start_of_day(today)
    if not report.dry_run:
        pruned = webhook_log.prune(session, now, days)
        report.add("webhook_attempts", pruned.attempts)
        report.add("webhook_deliveries", pruned.deliveries)
        report.add("events", pruned.events)
        return
    cutoff = now - dt.timedelta(days=days)
    attempts = webhook_log._old_attempts(cutoff)
    deliveries = webhook_log._old_deliveries(cutoff)
    # The events whose every delivery goes in this run too (prune deletes those first).
    kept_delivery = exists().where(WebhookDelivery.event_id == Event.id, ~deliveries)
    events = (Event.created_at < cutoff) & Event.key.is_(None) & ~kept_delivery
    keep = webhook_log._pending_fan_out_events(session)
    report.add("webhook_attempts", count_where(session, WebhookAttempt.id, attempts))
    report.add("webhook_deliveries", count_where(session, WebhookDelivery.id, deliveries))
    event_ids = session.scalars(select(Event.id).where(events))
    report.add("events", sum(1 for event_id in event_ids if event_id not in keep))
    session.commit()


def count_where(session: DbSession, key: Any, condition: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count(key)).where(condition)) or 0)


# --- 2. the audit log ----------------------------------------------------------------------------


def archive_audit(session: DbSession, organization: Tenant, today: dt.date, report: Report) -> None:
    """Archive and remove the organization's entries of whole months past the online year,
    never its newest entry; one transaction deletes them and moves the anchor."""
    last_seq = archivable_through(session, organization.id, policy.audit_cutoff(today))
    anchor = session.get(AuditAnchor, organization.id)
    first_seq = anchor.seq + 1 if anchor else 1
    if last_seq is None or last_seq < first_seq:
        session.commit()
        return
    report.add("audit_entries", last_seq - first_seq + 1, organization.cuit)
    if report.dry_run:
        session.commit()
        return
    location, last_hash = write_audit_months(session, organization, first_seq, last_seq)
    remove_audit_entries(session, organization.id, last_seq, last_hash, location)


def archivable_through(session: DbSession, organization_id: int, cutoff: dt.datetime) -> int | None:
    """The last `seq` that may go: entries before `cutoff`, and before the month of the newest
    entry (so the head stays and every month leaves whole). None: nothing may."""
    head = session.get(AuditHead, organization_id)
    if head is None or head.seq == 0:
        return None
    newest = session.scalar(
        select(AuditEvent.created_at).where(
            AuditEvent.organization_id == organization_id, AuditEvent.seq == head.seq
        )
    )
    if newest is not None:
        cutoff = min(cutoff, policy.start_of_month(newest))
    first_kept = session.scalar(
        select(func.min(AuditEvent.seq)).where(
            AuditEvent.organization_id == organization_id, AuditEvent.created_at >= cutoff
        )
    )
    through = head.seq - 1 if first_kept is None else min(first_kept - 1, head.seq - 1)
    return through if through >= 1 else None


def audit_record(entry: AuditEvent) -> archive.Record:
    return {
        **entry_fields(entry),
        "id": entry.id,
        "user_id": entry.user_id,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def write_audit_months(
    session: DbSession, organization: Tenant, first_seq: int, last_seq: int
) -> tuple[str, str]:
    """Write entries `first_seq`..`last_seq` into their months' files, a month at a time;
    returns the last month's file (relative to the archive's root) and the last hash."""
    query = (
        select(AuditEvent)
        .where(
            AuditEvent.organization_id == organization.id,
            AuditEvent.seq.between(first_seq, last_seq),
        )
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=1000)
    )
    month, records = "", list[archive.Record]()
    for entry in session.scalars(query):
        # A month is the running maximum of the entries' months: entries chained out of time
        # order at a month's edge stay in one file with their neighbours (files hold seq runs).
        entry_month = max(month, policy.month_of(entry.created_at))
        if records and entry_month != month:
            archive.write_month(policy.archive_root(), organization.cuit, month, audit=records)
            records = []
        month = entry_month
        records.append(audit_record(entry))
    archive.write_month(policy.archive_root(), organization.cuit, month, audit=records)
    return f"{organization.cuit}/{month}/{archive.AUDIT_FILE}", str(records[-1]["hash"])


def remove_audit_entries(
    session: DbSession, organization_id: int, last_seq: int, last_hash: str, location: str
) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # The append-only trigger lets this transaction delete (migration 0016).
        session.execute(text("SET LOCAL talonario.audit_purge = 'on'"))
    session.execute(
        delete(AuditEvent).where(
            AuditEvent.organization_id == organization_id, AuditEvent.seq <= last_seq
        )
    )
    anchor = session.get(AuditAnchor, organization_id)
    if anchor is None:
        anchor = AuditAnchor(organization_id=organization_id)
        session.add(anchor)
    anchor.seq, anchor.hash, anchor.archived_at, anchor.location = (
        last_seq,
        last_hash,
        utcnow(),
        location,
    )
    session.commit()


# --- 3. vouchers ---------------------------------------------------------------------------------


def numbered() -> ColumnElement[bool]:
    return Invoice.number.is_not(None) | Invoice.cae.is_not(None)


def due_invoice_ids(session: DbSession, organization_id: int, today: dt.date) -> list[int]:
    """The organization's vouchers past their retention on `today`, but those a kept voucher
    (a later note) still points at."""
    before = policy.fiscal_issued_before(today)
    note = aliased(Invoice)
    kept_note = exists().where(
        note.associated_invoice_id == Invoice.id,
        ~((note.number.is_not(None) | note.cae.is_not(None)) & (note.issue_date < before)),
    )
    query = select(Invoice.id).where(
        Invoice.organization_id == organization_id,
        numbered(),
        Invoice.issue_date < before,
        ~kept_note,
    )
    return list(session.scalars(query.order_by(Invoice.id)))


def archive_invoices(
    session: DbSession, organization: Tenant, today: dt.date, report: Report
) -> None:
    """Archive (JSONL and PDF) and delete the vouchers past retention, a month at a time,
    newest month first (a note goes before the voucher it corrects)."""
    ids = due_invoice_ids(session, organization.id, today)
    report.add("invoices", len(ids), organization.cuit)
    if report.dry_run or not ids:
        session.commit()
        return
    invoices = list(session.scalars(select(Invoice).where(Invoice.id.in_(ids))))
    by_month: dict[str, list[Invoice]] = {}
    for invoice in invoices:
        by_month.setdefault(policy.month_of(invoice.issue_date), []).append(invoice)
    for month in sorted(by_month, reverse=True):
        # Checked again right before the delete, by the rule the database enforces too.
        group = [i for i in by_month[month] if policy.fiscal_due(i.issue_date, today)]
        archive.write_month(
            policy.archive_root(),
            organization.cuit,
            month,
            invoices=invoice_records(session, [invoice.id for invoice in group]),
            pdfs={pdf_name(invoice): invoice_pdf(session, invoice) for invoice in group},
        )
        group_ids = [invoice.id for invoice in group]
        session.execute(
            delete(Invoice)
            .where(Invoice.organization_id == organization.id, Invoice.id.in_(group_ids))
            .execution_options(synchronize_session=False)
        )
        session.commit()
        for invoice in group:  # gone from the database: from the session too
            session.expunge(invoice)


def pdf_name(invoice: Invoice) -> str:
    return f"{invoice.invoice_type}-{invoice.point_of_sale_number}-{invoice.number or 0}.pdf"


def invoice_records(session: DbSession, ids: list[int]) -> list[archive.Record]:
    """Each voucher's every column, with its lines, VAT, taxes and attempts (XML included)."""
    records = {row["id"]: dict(row) for row in rows_of(session, Invoice.__table__, "id", ids)}
    children = {
        "lines": InvoiceLine.__table__,
        "vat": InvoiceVat.__table__,
        "taxes": InvoiceTax.__table__,
        "attempts": AuthorizationAttempt.__table__,
    }
    for name, table in children.items():
        for record in records.values():
            record[name] = []
        for row in rows_of(session, table, "invoice_id", ids):
            records[row["invoice_id"]][name].append(dict(row))
    return [records[key] for key in sorted(records)]


def rows_of(session: DbSession, table: Table, column: str, ids: list[int]) -> list[Any]:
    query = select(table).where(table.c[column].in_(ids)).order_by(table.c.id)
    return list(session.execute(query).mappings())


# --- 4. closed organizations ---------------------------------------------------------------------


def purge_closed_organizations(session: DbSession, today: dt.date, report: Report) -> None:
    """Closed organizations left with no voucher within retention: their whole audit chain
    archived, then `purge_closed` (blueprints/organizations/closing.py) deletes them."""
    closed = list(session.scalars(select(Organization).where(Organization.closed_at.is_not(None))))
    session.commit()
    for organization in closed:
        if not all_vouchers_due(session, organization.id, today):
            continue
        if report.dry_run:
            report.add("organizations", 1, organization.cuit)
            continue
        archive_whole_chain(session, organization)
        if purge_closed(session, organization.id, today):
            report.add("organizations", 1, organization.cuit)


def all_vouchers_due(session: DbSession, organization_id: int, today: dt.date) -> bool:
    kept = select(Invoice.id).where(
        Invoice.organization_id == organization_id,
        numbered(),
        Invoice.issue_date >= policy.fiscal_issued_before(today),
    )
    return session.scalar(kept.limit(1)) is None


def archive_whole_chain(session: DbSession, organization: Tenant) -> None:
    """Every online entry, the newest too (the organization goes with them)."""
    head = session.get(AuditHead, organization.id)
    anchor = session.get(AuditAnchor, organization.id)
    first_seq = anchor.seq + 1 if anchor else 1
    if head is not None and head.seq >= first_seq:
        write_audit_months(session, organization, first_seq, head.seq)
    session.commit()
