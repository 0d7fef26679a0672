"""`flask invoices verify` from ARCA's side, against the sandbox over real SOAP: a voucher sent
behind the app's back is named; a CAE granted after the grace period is adopted onto its draft
and the sequence it blocked is freed; the checkpoint keeps a second run to the new numbers."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app import create_app
from arca.sandbox import Sandbox, latency
from arca.wsfe import CaeRequest
from blueprints.audit.models import AuditEvent
from blueprints.certificates.connection import arca_client
from blueprints.invoices.authorization import (
    SequencePending,
    authorize_invoice,
    build_request,
    reconcile_pending,
)
from blueprints.invoices.models import AuthorizationAttempt, Invoice, InvoiceStatus
from blueprints.invoices.verify import NEEDS_ATTENTION, verify_job
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import db, utcnow
from core.tasks import run_worker
from tests.conftest import close_connections
from tests.integration.arca.conftest import factura_b
from tests.integration.arca.test_invoices_exactly_once import prepare


@pytest.fixture
def config(http_config: dict[str, Any]) -> dict[str, Any]:
    return http_config


def verify(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["invoices", "verify", *args])
    return result.exit_code, result.output


def consults(sandbox: Sandbox) -> int:
    return sum(1 for entry in sandbox.ledger.requests() if entry.operation == "FECompConsultar")


def reserved_at(invoice_id: int) -> dt.datetime:
    started = db.session.scalar(
        select(func.max(AuthorizationAttempt.started_at)).where(
            AuthorizationAttempt.invoice_id == invoice_id
        )
    )
    assert started is not None
    return started


def same_point(first_id: int, second_id: int) -> None:
    """prepare() splits drafts between points 1 and 2: put the second on the first's point."""
    first, second = db.session.get_one(Invoice, first_id), db.session.get_one(Invoice, second_id)
    second.point_of_sale_id = first.point_of_sale_id
    second.point_of_sale_number = first.point_of_sale_number
    db.session.commit()


def test_a_voucher_authorized_behind_the_app_s_back_is_named(
    app: Flask, config: dict[str, Any], sandbox: Sandbox
) -> None:
    cuit, (first, _second) = prepare(config, count=2)
    cli_app = create_app(dict(config))
    try:
        with cli_app.app_context():
            assert authorize_invoice(db.session, first, get_arca()).number == 1
            organization_id = db.session.scalar(
                select(Organization.id).where(Organization.cuit == cuit)
            )
            assert organization_id is not None
            code, output = verify(cli_app)
            assert code == 0, output
            # The organization's own certificate, straight to the sandbox's WSFE: the app never
            # hears of voucher 2 (a stranger), nor of 3 (invoice 1 sent a second time).
            again = build_request(db.session.get_one(Invoice, first), 3).details[0]
            with arca_client(db.session, organization_id, get_arca()) as arca:
                detail = factura_b(2, sandbox.clock.now().date())
                assert arca.wsfe.authorize(CaeRequest(1, 6, [detail])).approved
                assert arca.wsfe.authorize(CaeRequest(1, 6, [again])).approved
            stranger = sandbox.ledger.find_voucher(cuit, 1, 6, 2)
            assert stranger is not None

            # The scheduled check, queued in Redis and run by an RQ worker, raises it first.
            code, output = verify(cli_app, "--enqueue")
            assert code == 0 and "verification queued" in output, output
            run_worker(burst=True)
            events = db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == NEEDS_ATTENTION)
                .order_by(AuditEvent.id)
            ).all()
            assert [(event.details["kind"], event.details["number"]) for event in events] == [
                ("lost", 2),
                ("duplicate", 3),
            ]
            assert f"CAE {stranger.cae}" in str(events[0].details["arca"])
            assert events[1].subject_id == first

            code, output = verify(cli_app)
            assert code == 1, output
            assert "LOST #2" in output, output
            assert f"00001-00000002 CAE {stranger.cae}" in output, output
            assert f"DUPLICATE #3: the same voucher as invoice {first} (number 1)" in output
            assert f"app invoice {first} [authorized] 00001-00000001" in output, output
            # It stays reported (the checkpoint stays below it) until a person settles it,
            # also by the scheduled job; the event is recorded once.
            assert verify(cli_app)[0] == 1
            assert verify_job(organization_id) == 2
            flagged = select(func.count()).where(AuditEvent.action == NEEDS_ATTENTION)
            assert db.session.scalar(flagged) == 2
    finally:
        close_connections(cli_app)


def test_a_late_grant_is_adopted_onto_its_draft_and_frees_the_sequence(
    app: Flask, config: dict[str, Any], sandbox: Sandbox
) -> None:
    """ARCA processes draft A's request after the grace period: the app had released A (back
    to draft), and B took number 1 meanwhile, so B is stuck `unknown` ("ARCA has another
    voucher under 1") and the sequence blocked. `verify` adopts 1 onto A and releases B."""
    config = {**config, "ARCA_READ_TIMEOUT": 1, "ARCA_UNKNOWN_GRACE_SECONDS": 1.5}
    cuit, (late, blocked, waiting) = prepare(config, count=3)
    cli_app = create_app(dict(config))
    try:
        with cli_app.app_context():
            same_point(late, blocked)
            same_point(late, waiting)
            sandbox.faults.add(latency(4, operation="FECAESolicitar"))
            invoice = authorize_invoice(db.session, late, get_arca())  # times out at ~1 s
            assert (invoice.status, invoice.number) == (InvoiceStatus.UNKNOWN, 1)
            # Timed from when the number was reserved (the grace period counts from there).
            start = time.monotonic() - (utcnow() - reserved_at(late)).total_seconds()
            time.sleep(max(0.0, start + 1.7 - time.monotonic()))  # past the grace period
            reconcile_pending(db.session, None, get_arca())
            assert db.session.get_one(Invoice, late).status == InvoiceStatus.DRAFT
            sandbox.faults.add(latency(4, operation="FECAESolicitar"))
            invoice = authorize_invoice(db.session, blocked, get_arca())  # also late
            assert (invoice.status, invoice.number) == (InvoiceStatus.UNKNOWN, 1)
            assert time.monotonic() - start < 3.5, "A's late grant must come after B's reserve"
            time.sleep(max(0.0, start + 6.5 - time.monotonic()))  # both processed by ARCA
            granted = sandbox.ledger.find_voucher(cuit, 1, 6, 1)
            assert granted is not None and sandbox.ledger.last_voucher(cuit, 1, 6)[0] == 1
            reconcile_pending(db.session, None, get_arca())
            assert db.session.get_one(Invoice, blocked).status == InvoiceStatus.UNKNOWN
            assert db.session.get_one(Invoice, late).status == InvoiceStatus.DRAFT
            with pytest.raises(SequencePending):
                authorize_invoice(db.session, waiting, get_arca())

            code, output = verify(cli_app)
            assert code == 0, output
            assert "ADOPTED #1" in output and "RELEASED #1" in output, output
            assert f"app invoice {late} [draft] 00001-(no number)" in output, output
            assert f"app invoice {blocked} [unknown] 00001-00000001" in output, output
            db.session.expire_all()
            adopted = db.session.get_one(Invoice, late)
            assert (adopted.status, adopted.number, adopted.cae) == (
                InvoiceStatus.AUTHORIZED,
                1,
                granted.cae,
            )
            released = db.session.get_one(Invoice, blocked)
            assert (released.status, released.number) == (InvoiceStatus.DRAFT, None)
            assert "podés enviarlo de nuevo" in released.errors[0]["text"].lower()
            actions = set(db.session.scalars(select(AuditEvent.action)))
            assert {"invoice.adopted_by_verify", "invoice.released_by_verify"} <= actions
            assert NEEDS_ATTENTION not in actions

            # Clean afterwards, without asking ARCA about number 1 again.
            before = consults(sandbox)
            code, output = verify(cli_app)
            assert code == 0, output
            assert consults(sandbox) == before
            # The sequence is free: the next authorization goes through at once.
            second = authorize_invoice(db.session, waiting, get_arca())
            assert (second.status, second.number) == (InvoiceStatus.AUTHORIZED, 2)
            third = authorize_invoice(db.session, blocked, get_arca())
            assert (third.status, third.number) == (InvoiceStatus.AUTHORIZED, 3)
            before = consults(sandbox)
            code, output = verify(cli_app)
            assert code == 0, output
            assert consults(sandbox) - before == 2  # only the new numbers 2 and 3
            assert "verified through 3" in output, output
            assert "2 authorized invoices checked against ARCA, 0 mismatches" in output, output
            # --full walks from 1 again: ARCA's 3 numbers, which are the app's 3 invoices.
            before = consults(sandbox)
            code, output = verify(cli_app, "--full")
            assert code == 0, output
            assert "3 authorized invoices checked against ARCA, 0 mismatches" in output, output
            assert consults(sandbox) - before == 3
    finally:
        close_connections(cli_app)
