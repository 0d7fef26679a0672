"""Exactly once, at scale: 500 authorizations from 4 worker processes while the sandbox drops,
fails or loses 20 % of FECAESolicitar calls. Afterwards the app's database and ARCA's ledger
hold the same vouchers (numbers, CAEs, totals): no duplicate, no gap. Then `invoices verify`
agrees, over real HTTP and SOAP.
"""

from __future__ import annotations

import multiprocessing
import time
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from arca.codes import IssuerCondition
from arca.sandbox import Sandbox, drop_after, drop_before, http_500, latency
from blueprints.certificates.services import generate_request, issue_with_sandbox_ca
from blueprints.invoices.authorization import (
    SequencePending,
    authorize_invoice,
    reconcile_pending,
)
from blueprints.invoices.cli import verify_invoices
from blueprints.invoices.models import Invoice, InvoiceStatus
from blueprints.invoices.preflight_adapter import arca_today
from blueprints.invoices.services import DraftInput, save_draft
from blueprints.invoices.totals import Line
from blueprints.organizations.models import Organization
from blueprints.points_of_sale.models import PointOfSale
from blueprints.points_of_sale.services import sync_points_of_sale
from core.arca import get_arca
from core.crypto import get_keyring
from core.db import db
from core.errors import DomainError
from tests.conftest import close_connections
from tests.factories import make_organization, make_user

INVOICES, PROCESSES = 500, 4
TRIES = 6


@pytest.fixture
def config(http_config: dict[str, Any]) -> dict[str, Any]:
    return http_config


def prepare(config: dict[str, Any], count: int = INVOICES) -> tuple[str, list[int]]:
    """A certified RI with points 1 and 2, and `count` Factura B drafts split between them."""
    app = create_app(dict(config))
    try:
        with app.app_context():
            owner = make_user()
            organization = make_organization(owner, condition=IssuerCondition.RESPONSABLE_INSCRIPTO)
            request = generate_request(
                db.session, organization, owner, "sandbox", "masivo", get_keyring()
            )
            issue_with_sandbox_ca(db.session, organization, owner, request, get_arca())
            sync_points_of_sale(db.session, organization.id, get_arca(), owner)
            points = db.session.scalars(
                select(PointOfSale.id)
                .where(PointOfSale.organization_id == organization.id, PointOfSale.number <= 2)
                .order_by(PointOfSale.number)
            ).all()
            today = arca_today(get_arca())
            ids = []
            for index in range(count):
                price = Decimal(100 + index) + Decimal(index % 100) / 100
                line = Line(f"Artículo {index}", Decimal(1 + index % 3), price, vat=5)
                draft = DraftInput(points[index % 2], None, today, [line], prices_include_vat=True)
                ids.append(save_draft(db.session, organization, draft, None).id)
            return organization.cuit, ids
    finally:
        close_connections(app)


def work(config: dict[str, Any], invoice_ids: list[int]) -> int:
    """One worker process: authorize each invoice, trying again while it is not settled (a
    failure before sending, or an outcome settled back to draft)."""
    app = create_app(config)
    calls = 0
    try:
        with app.app_context():
            for invoice_id in invoice_ids:
                for _try in range(TRIES):
                    calls += 1
                    try:
                        invoice = authorize_invoice(db.session, invoice_id, get_arca())
                    except DomainError:
                        db.session.rollback()
                        continue
                    if invoice.status == InvoiceStatus.AUTHORIZED:
                        break
                db.session.remove()
    finally:
        close_connections(app)
    return calls


def test_500_authorizations_from_4_processes_with_faults_match_arca_s_ledger(
    app: Flask, config: dict[str, Any], sandbox: Sandbox
) -> None:
    cuit, ids = prepare(config)
    # 20 % of FECAESolicitar calls fail: lost before processing, lost after (CAE granted),
    # or HTTP 500. The ticket and the other calls are left alone.
    for fault in (
        drop_before(operation="FECAESolicitar", count=None, every=15),
        drop_after(count=None, every=15),
        http_500(operation="FECAESolicitar", count=None, every=15),
    ):
        sandbox.faults.add(fault)
    shares = [ids[start::PROCESSES] for start in range(PROCESSES)]
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        calls = sum(pool.starmap(work, [(config, share) for share in shares]))
    sandbox.faults.clear()
    faulted = [
        entry
        for entry in sandbox.ledger.requests()
        if entry.operation == "FECAESolicitar" and entry.outcome not in ("A", "R")
    ]
    assert len(faulted) >= INVOICES // 10, "the faults really hit"

    with app.app_context():
        invoices = db.session.scalars(select(Invoice).where(Invoice.id.in_(ids))).all()
        assert {invoice.status for invoice in invoices} == {InvoiceStatus.AUTHORIZED}, calls
        for point in (1, 2):
            ours = {
                invoice.number: invoice
                for invoice in invoices
                if invoice.point_of_sale_number == point
            }
            assert sorted(ours) == list(range(1, INVOICES // 2 + 1))  # no gap, no duplicate
            assert sandbox.ledger.last_voucher(cuit, point, 6)[0] == INVOICES // 2
            for number, invoice in ours.items():
                stored = sandbox.ledger.find_voucher(cuit, point, 6, number)
                assert stored is not None and stored.cae == invoice.cae, number
                assert Decimal(str(stored.detail["ImpTotal"])) == invoice.total, number
        organization_id = db.session.scalar(
            select(Organization.id).where(Organization.cuit == cuit)
        )
    verify_app = create_app(dict(config))
    try:
        with verify_app.app_context():
            checked, mismatches = verify_invoices(db.session, organization_id)
            assert (checked, mismatches) == (INVOICES, [])
    finally:
        close_connections(verify_app)


def test_a_timed_out_authorization_processed_late_is_adopted_not_resent(
    app: Flask, config: dict[str, Any], sandbox: Sandbox
) -> None:
    """The read timeout fires while ARCA is still working; ARCA then grants the CAE. Asked at
    once, ARCA has nothing yet: within the grace period that is not taken as "never arrived",
    the sequence takes no new number, and reconciling later adopts the CAE (NOTES §12.1)."""
    config = {**config, "ARCA_READ_TIMEOUT": 1, "ARCA_UNKNOWN_GRACE_SECONDS": 4}
    cuit, (late, after) = prepare(config, count=2)
    http_app = create_app(dict(config))
    try:
        with http_app.app_context():
            # Both drafts are on point of sale 1 for this test: move the second there.
            second = db.session.get_one(Invoice, after)
            first = db.session.get_one(Invoice, late)
            second.point_of_sale_id, second.point_of_sale_number = (
                first.point_of_sale_id,
                first.point_of_sale_number,
            )
            db.session.commit()
            sandbox.faults.add(latency(2.5, operation="FECAESolicitar"))
            invoice = authorize_invoice(db.session, late, get_arca())
            assert (invoice.status, invoice.number) == (InvoiceStatus.UNKNOWN, 1)
            with pytest.raises(SequencePending):
                authorize_invoice(db.session, after, get_arca())
            time.sleep(4.5)  # past ARCA's late answer and the grace period
            assert reconcile_pending(db.session, None, get_arca()) == 1
            invoice = db.session.get_one(Invoice, late)
            stored = sandbox.ledger.find_voucher(cuit, 1, 6, 1)
            assert invoice.status == InvoiceStatus.AUTHORIZED
            assert stored is not None and stored.cae == invoice.cae
            second = authorize_invoice(db.session, after, get_arca())
            assert (second.status, second.number) == (InvoiceStatus.AUTHORIZED, 2)
            assert sandbox.ledger.last_voucher(cuit, 1, 6)[0] == 2
    finally:
        close_connections(http_app)
