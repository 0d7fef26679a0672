"""Retention (issue #16): with the clock moved forward the job removes exactly what is due and
nothing fiscal; a dry run counts the same and changes nothing; and a voucher cannot be removed
before its seventh year by any path (the job, the delete service, the web page, the API, raw
SQL, the organization's cascade)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import func, select, update

from blueprints.audit.models import AuditEvent
from blueprints.auth.models import UserSession
from blueprints.customers.models import CustomerImport
from blueprints.exports.models import Export
from blueprints.invoices.models import (
    AuthorizationAttempt,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
)
from blueprints.invoices.services import delete_draft
from blueprints.organizations.models import Organization, Role
from blueprints.retention import policy
from blueprints.retention.archive import INVOICES_FILE, read_jsonl
from blueprints.retention.services import Report, run_retention
from core.db import db, utcnow
from core.errors import Conflict
from core.events import Event
from core.mail import MailMessage, MailStatus
from core.tasks import Task, TaskStatus
from tests.api import Api, make_api_key
from tests.factories import add_member, make_user
from tests.integration.test_invoices import COFFEE, certified, draft
from tests.web import login, post_form

# The clock moved a month forward: ages are counted from here.
TODAY = utcnow().date() + dt.timedelta(days=30)
# Vouchers of this year are past retention; of KEPT_YEAR, kept until Dec 31 of this year.
DUE_YEAR = utcnow().year - 9
KEPT_YEAR = utcnow().year - 7


@pytest.fixture
def retention_app(app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """The app with its archive in a fresh folder."""
    app.config["ARCHIVE_PATH"] = str(tmp_path / "archive")
    yield app
    app.config.pop("ARCHIVE_PATH", None)


def ago(days: int) -> dt.datetime:
    return policy.start_of_day(TODAY) - dt.timedelta(days=days)


def voucher(organization_id: int, issue_date: dt.date, number: int) -> int:
    """An authorized Factura B of `issue_date`, with an attempt holding its XML (made a draft,
    then authorized by a plain UPDATE: what the sandbox would refuse to date back)."""
    invoice = draft(organization_id, [COFFEE])
    db.session.add(
        AuthorizationAttempt(
            invoice_id=invoice.id,
            number=number,
            outcome="approved",
            request_xml=f"<FECAESolicitar>{number}</FECAESolicitar>",
            response_xml=f"<CAE>7{number:013d}</CAE>",
            finished_at=utcnow(),
        )
    )
    db.session.execute(
        update(Invoice)
        .where(Invoice.id == invoice.id)
        .values(
            status=InvoiceStatus.AUTHORIZED,
            number=number,
            cae=f"7{number:013d}",
            cae_due=issue_date + dt.timedelta(days=10),
            authorized_at=policy.start_of_day(issue_date),
            issue_date=issue_date,
        )
    )
    db.session.commit()
    return invoice.id


def count_where(condition: Any) -> int:
    return int(db.session.scalar(select(func.count()).where(condition)) or 0)


def operational_rows(organization_id: int, user_id: int) -> dict[str, set[int]]:
    """One row due and one or two kept of each operational kind; returns the due ids."""
    due: dict[str, set[int]] = {}

    def add(category: str, row: object, is_due: bool) -> None:
        db.session.add(row)
        db.session.flush()
        if is_due:
            due.setdefault(category, set()).add(row.id)  # type: ignore[attr-defined]

    def task(status: TaskStatus, finished: dt.datetime | None) -> Task:
        return Task(
            kind="test",
            organization_id=organization_id,
            status=status,
            finished_at=finished,
            created_at=ago(200),
        )

    add("tasks", task(TaskStatus.DONE, ago(100)), True)
    add("tasks", task(TaskStatus.FAILED, ago(91)), True)
    add("tasks", task(TaskStatus.DONE, ago(80)), False)
    add("tasks", task(TaskStatus.PENDING, None), False)

    def imported(status: str, finished: dt.datetime | None) -> CustomerImport:
        return CustomerImport(
            organization_id=organization_id,
            filename="clientes.csv",
            content="a;b\n",
            status=status,
            total_rows=1,
            valid_rows=1,
            new_rows=1,
            existing_rows=0,
            finished_at=finished,
            created_at=ago(120),
        )

    add("customer_imports", imported("done", ago(100)), True)
    add("customer_imports", imported("previewed", None), True)
    add("customer_imports", imported("done", ago(10)), False)
    add("customer_imports", imported("running", None), False)

    def login_session(token: str, seen: dt.datetime, revoked: dt.datetime | None) -> UserSession:
        return UserSession(
            user_id=user_id,
            token_hash=token * 64,
            last_seen_at=seen,
            revoked_at=revoked,
            created_at=ago(300),
        )

    add("user_sessions", login_session("a", ago(95), None), True)
    add("user_sessions", login_session("b", ago(10), ago(91)), True)
    add("user_sessions", login_session("c", ago(1), None), False)
    add("user_sessions", login_session("d", ago(5), ago(60)), False)

    def mail(status: MailStatus, sent: dt.datetime | None) -> MailMessage:
        return MailMessage(
            organization_id=organization_id,
            to="a@example.com",
            subject="x",
            kind="invoice",
            status=status,
            sent_at=sent,
            mime=b"x",
            created_at=ago(150),
        )

    add("mail_messages", mail(MailStatus.SENT, ago(100)), True)
    add("mail_messages", mail(MailStatus.SENT, ago(30)), False)
    add("mail_messages", mail(MailStatus.PENDING, None), False)

    def export(expires: dt.datetime) -> Export:
        return Export(organization_id=organization_id, kind="invoices", expires_at=expires)

    add("exports", export(ago(1)), True)
    add("exports", export(ago(-3)), False)

    def event(key: str | None, created: dt.datetime) -> Event:
        return Event(
            organization_id=organization_id,
            type="invoice.created",
            key=key,
            payload={},
            created_at=created,
        )

    add("events", event(None, ago(100)), True)
    add("events", event("certificate.expiring:1:7", ago(100)), False)  # emit_once's memory
    add("events", event(None, ago(10)), False)
    db.session.commit()
    return due


MODELS: dict[str, type[Task | CustomerImport | UserSession | MailMessage | Export | Event]] = {
    "tasks": Task,
    "customer_imports": CustomerImport,
    "user_sessions": UserSession,
    "mail_messages": MailMessage,
    "exports": Export,
    "events": Event,
}


def snapshot() -> dict[str, set[int]]:
    ids = {name: select(model.id) for name, model in MODELS.items()}
    ids |= {"invoices": select(Invoice.id), "audit_events": select(AuditEvent.id)}
    return {name: set(db.session.scalars(query)) for name, query in ids.items()}


def test_the_job_removes_exactly_what_is_due_and_nothing_fiscal(retention_app: Flask) -> None:
    with retention_app.app_context():
        organization_id = certified()
        organization = db.session.get_one(Organization, organization_id)
        user = make_user()
        add_member(organization, user, Role.MEMBER)
        due = operational_rows(organization_id, user.id)
        old = voucher(organization_id, dt.date(DUE_YEAR, 3, 15), 1)
        kept = voucher(organization_id, dt.date(KEPT_YEAR, 6, 1), 2)
        old_draft = draft(organization_id, [COFFEE]).id
        db.session.execute(
            update(Invoice)
            .where(Invoice.id == old_draft)
            .values(issue_date=dt.date(DUE_YEAR, 1, 2))
        )
        db.session.commit()
        before = snapshot()

        dry = run_retention(db.session, TODAY, dry_run=True)
        assert snapshot() == before
        assert not (Path(retention_app.config["ARCHIVE_PATH"])).exists()

        report = run_retention(db.session, TODAY)
        assert report.counts == dry.counts
        expected = {category: len(ids) for category, ids in due.items()} | {"invoices": 1}
        assert dict(report.counts) == expected
        assert report.by_organization[organization.cuit]["invoices"] == 1
        after = snapshot()
        for category in MODELS:
            assert after[category] == before[category] - due[category], category
        assert after["invoices"] == before["invoices"] - {old}
        assert {kept, old_draft} <= after["invoices"]
        assert (
            db.session.scalar(select(func.count()).where(AuthorizationAttempt.invoice_id == kept))
            == 1
        )
        assert after["audit_events"] == before["audit_events"]  # nothing a year old

        archived = archived_invoices(retention_app, organization.cuit, f"{DUE_YEAR}-03")
        assert [record["id"] for record in archived] == [old]
        assert archived[0]["attempts"][0]["request_xml"] == "<FECAESolicitar>1</FECAESolicitar>"
        assert archived[0]["lines"][0]["description"] == COFFEE.description
        pdf = month(retention_app, organization.cuit, f"{DUE_YEAR}-03") / "pdf" / "6-1-1.pdf"
        assert pdf.read_bytes().startswith(b"%PDF")

        # Run again: nothing more is due, and the archive is as it was.
        assert sum(run_retention(db.session, TODAY).counts.values()) == 0


def month(app: Flask, cuit: str, name: str) -> Path:
    return Path(app.config["ARCHIVE_PATH"]) / cuit / name


def archived_invoices(app: Flask, cuit: str, name: str) -> list[dict[str, Any]]:
    return read_jsonl(month(app, cuit, name) / INVOICES_FILE)


def test_the_job_judges_vouchers_by_the_database_date(retention_app: Flask) -> None:
    """Ten years ahead every voucher looks due to the job's clock; the database's own date
    (the one its trigger checks) still keeps the ones within retention, and the job never
    tries to delete them."""
    with retention_app.app_context():
        organization_id = certified()
        kept = voucher(organization_id, dt.date(KEPT_YEAR, 12, 31), 7)
        report: Report = run_retention(db.session, TODAY.replace(year=TODAY.year + 10))
        assert report.counts["invoices"] == 0
        assert any("database's date" in note for note in report.notes)
        assert db.session.get(Invoice, kept) is not None


def test_the_delete_service_and_page_refuse_an_authorized_voucher(retention_app: Flask) -> None:
    with retention_app.app_context():
        organization_id = certified()
        kept = voucher(organization_id, dt.date(KEPT_YEAR, 2, 1), 3)
        invoice = db.session.get_one(Invoice, kept)
        with pytest.raises(Conflict):
            delete_draft(db.session, invoice, None)
        db.session.rollback()
        user = make_user()
        add_member(db.session.get_one(Organization, organization_id), user, Role.ADMIN)
        email = user.email
    client = retention_app.test_client()
    login(client, email)
    response = post_form(client, f"/invoices/{kept}/delete", {}, token_from=f"/invoices/{kept}")
    assert response.status_code == 409
    with retention_app.app_context():
        assert db.session.get(Invoice, kept) is not None


def test_the_api_has_no_way_to_delete_a_voucher(retention_app: Flask) -> None:
    with retention_app.app_context():
        organization_id = certified()
        kept = voucher(organization_id, dt.date(KEPT_YEAR, 2, 1), 4)
    api = Api(retention_app, make_api_key(retention_app, organization_id))
    assert api.get(f"/api/v1/invoices/{kept}").status_code == 200
    assert api.delete(f"/api/v1/invoices/{kept}").status_code == 405
    with retention_app.app_context():
        assert db.session.get(Invoice, kept) is not None


def test_raw_sql_cannot_delete_a_voucher_its_lines_or_attempts(retention_app: Flask) -> None:
    with retention_app.app_context():
        organization_id = certified()
        kept = voucher(organization_id, dt.date(KEPT_YEAR, 2, 1), 5)
        statements = (
            "DELETE FROM invoices WHERE id = :id",
            "DELETE FROM authorization_attempts WHERE invoice_id = :id",
            "DELETE FROM invoice_lines WHERE invoice_id = :id",
        )
        for statement in statements:
            with pytest.raises(sa.exc.DBAPIError, match=r"kept until|cannot"):
                db.session.execute(sa.text(statement), {"id": kept})
            db.session.rollback()
        assert db.session.get(Invoice, kept) is not None
        assert (
            db.session.scalar(select(func.count()).where(AuthorizationAttempt.invoice_id == kept))
            == 1
        )
        assert db.session.scalar(select(func.count()).where(InvoiceLine.invoice_id == kept)) == 1


def test_deleting_the_organization_cannot_cascade_over_a_voucher(retention_app: Flask) -> None:
    with retention_app.app_context():
        organization_id = certified()
        kept = voucher(organization_id, dt.date(KEPT_YEAR, 2, 1), 6)
        with pytest.raises(sa.exc.DBAPIError, match=r"kept until|cannot be deleted"):
            db.session.execute(
                sa.text("DELETE FROM organizations WHERE id = :id"), {"id": organization_id}
            )
        db.session.rollback()
        assert db.session.get(Organization, organization_id) is not None
        assert db.session.get(Invoice, kept) is not None


def test_a_closed_organization_goes_once_its_last_voucher_is_past_retention(
    retention_app: Flask,
) -> None:
    """Its due vouchers and whole audit chain are archived, then it is purged; a closed one
    still keeping a voucher stays, whole."""
    with retention_app.app_context():
        gone_id, kept_id = certified(), certified()
        old = voucher(gone_id, dt.date(DUE_YEAR, 5, 2), 1)
        kept = voucher(kept_id, dt.date(KEPT_YEAR, 5, 2), 1)
        db.session.execute(
            update(Organization)
            .where(Organization.id.in_([gone_id, kept_id]))
            .values(closed_at=utcnow() - dt.timedelta(days=400))
        )
        db.session.commit()
        gone_cuit = db.session.get_one(Organization, gone_id).cuit
        kept_cuit = db.session.get_one(Organization, kept_id).cuit
        entries = count_where(AuditEvent.organization_id == gone_id)

        dry = run_retention(db.session, TODAY, dry_run=True)
        assert dry.by_organization[gone_cuit]["organizations"] == 1
        assert kept_cuit not in dry.by_organization
        assert db.session.get(Organization, gone_id) is not None

        report = run_retention(db.session, TODAY)
        assert report.counts == dry.counts
        db.session.expire_all()
        assert db.session.get(Organization, gone_id) is None
        assert db.session.get(Invoice, old) is None
        assert db.session.get(Organization, kept_id) is not None
        assert db.session.get(Invoice, kept) is not None
    archived = archived_invoices(retention_app, gone_cuit, f"{DUE_YEAR}-05")
    assert [record["id"] for record in archived] == [old]
    root = Path(retention_app.config["ARCHIVE_PATH"]) / gone_cuit
    chain = [e for path in sorted(root.glob("*/audit.jsonl.gz")) for e in read_jsonl(path)]
    assert [e["seq"] for e in chain] == list(range(1, entries + 1))
