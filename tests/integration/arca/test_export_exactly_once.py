"""Factura E through WSFEXv1, exactly once, against the sandbox over real HTTP and SOAP:
authorized; rejected with ARCA's one error; an answer lost after ARCA granted it adopted (no
second voucher); lost before, released and sent again under a new request Id; a crash between
reserving and sending settled by the next call; `invoices verify` walking WSFEX sequences."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from arca.codes import IssuerCondition, VoucherKind
from arca.sandbox import Sandbox, drop_after, drop_before, latency, reject_next
from arca.sandbox.faults import wsfe_unavailable
from arca.sandbox.ledger import StoredExport
from arca.wsfex import ExportItem, ExportVoucher
from blueprints.certificates.connection import export_client
from blueprints.certificates.services import generate_request, issue_with_sandbox_ca
from blueprints.customers.models import Customer
from blueprints.invoices.authorization import authorize_invoice, reconcile_pending
from blueprints.invoices.cli import verify_invoices
from blueprints.invoices.contingency import contingency_offer
from blueprints.invoices.export_authorization import (
    build_export_voucher,
    next_request_id,
    reserve_export,
)
from blueprints.invoices.models import AttemptOutcome, AuthorizationAttempt, Invoice, InvoiceStatus
from blueprints.invoices.preflight_adapter import arca_today
from blueprints.invoices.services import DraftInput, ExportInput, save_draft
from blueprints.invoices.totals import Line
from blueprints.organizations.models import Organization
from blueprints.points_of_sale.models import PointOfSale
from blueprints.points_of_sale.services import ArcaCallFailed, sync_points_of_sale
from core.arca import get_arca
from core.crypto import get_keyring
from core.db import db
from tests.conftest import close_connections
from tests.factories import make_organization, make_user

USA = 212
USA_COMPANY_CUIT = "50000002124"  # FEXGetPARAM_DST_CUIT: "ESTADOS UNIDOS - Persona Física"


@pytest.fixture
def config(http_config: dict[str, Any]) -> dict[str, Any]:
    return http_config


@pytest.fixture
def http_app(app: Flask, config: dict[str, Any], sandbox: Sandbox) -> Iterator[Flask]:
    """An app over the sandbox by HTTP (`app` created the schema)."""
    app = create_app(dict(config))
    try:
        with app.app_context():
            yield app
    finally:
        close_connections(app)


def exporter() -> Organization:
    """A certified RI with its points of sale synced from the sandbox."""
    owner = make_user()
    organization = make_organization(owner, condition=IssuerCondition.RESPONSABLE_INSCRIPTO)
    request = generate_request(db.session, organization, owner, "sandbox", "expo", get_keyring())
    issue_with_sandbox_ca(db.session, organization, owner, request, get_arca())
    sync_points_of_sale(db.session, organization.id, get_arca(), owner)
    return organization


def foreign_customer(organization: Organization) -> Customer:
    customer = Customer(
        organization_id=organization.id,
        doc_type=80,
        doc_number=USA_COMPANY_CUIT,
        legal_name="Acme Imports LLC",
        iva_condition=9,
        address="100 Main St, Springfield",
        country=USA,
        foreign_tax_id="12-3456789",
        sort_name="acme imports llc",
        search_text="acme imports llc",
    )
    db.session.add(customer)
    db.session.commit()
    return customer


def export_draft(organization: Organization, customer: Customer, price: str = "1500.50") -> int:
    point = db.session.scalar(
        select(PointOfSale.id).where(
            PointOfSale.organization_id == organization.id, PointOfSale.number == 1
        )
    )
    assert point is not None
    lines = [
        Line("Vino Malbec, caja x 6", Decimal(3), Decimal(price), vat="exempt"),
        Line("Aceite de oliva 500 ml", Decimal("2.5"), Decimal("99.99"), Decimal(10), "exempt"),
    ]
    export = ExportInput(destination_country=USA, incoterms="FOB", permit_existing=False)
    draft = DraftInput(point, customer.id, arca_today(get_arca()), lines, export=export)
    invoice = save_draft(db.session, organization, draft, None)
    assert (invoice.invoice_type, invoice.letter) == (19, "E")
    return invoice.id


def stored_export(sandbox: Sandbox, cuit: str, number: int) -> StoredExport | None:
    with sandbox.ledger.transaction() as tx:
        return tx.fex_find(cuit, 1, 19, number)


def fex_last(sandbox: Sandbox, cuit: str) -> int:
    with sandbox.ledger.transaction() as tx:
        return tx.fex_last(cuit, 1, 19)[0]


def fex_authorizations(sandbox: Sandbox) -> list[Any]:
    return [e for e in sandbox.ledger.requests() if e.operation == "FEXAuthorize"]


def test_a_factura_e_is_authorized_with_its_items_and_export_data(
    http_app: Flask, sandbox: Sandbox
) -> None:
    organization = exporter()
    invoice_id = export_draft(organization, foreign_customer(organization))
    invoice = authorize_invoice(db.session, invoice_id, get_arca())
    assert invoice.status == InvoiceStatus.AUTHORIZED, invoice.errors
    assert invoice.number == 1 and invoice.cae and invoice.export_request_id == 1
    stored = stored_export(sandbox, organization.cuit, 1)
    assert stored is not None and stored.cae == invoice.cae
    assert stored.cmp["Cuit_pais_cliente"] == USA_COMPANY_CUIT
    assert stored.cmp["Incoterms"] == "FOB" and stored.cmp["Permiso_existente"] == "N"
    assert Decimal(stored.cmp["Imp_total"]) == invoice.total
    items = stored.cmp["Items"]
    assert [item["Pro_umed"] for item in items] == ["7", "7"]
    # 2.5 × 99.99 = 249.975 → 249.98 gross; 10 % off leaves the line's 224.98.
    assert Decimal(items[1]["Pro_bonificacion"]) == Decimal("25.00")
    attempt = db.session.scalars(
        select(AuthorizationAttempt).where(AuthorizationAttempt.invoice_id == invoice_id)
    ).one()
    assert attempt.outcome == AttemptOutcome.APPROVED and "FEXAuthorize" in (
        attempt.request_xml or ""
    )


def test_a_rejection_keeps_arca_s_error_and_frees_the_number(
    http_app: Flask, sandbox: Sandbox
) -> None:
    organization = exporter()
    invoice_id = export_draft(organization, foreign_customer(organization))
    sandbox.faults.add(reject_next(1513, operation="FEXAuthorize", service="wsfex"))
    invoice = authorize_invoice(db.session, invoice_id, get_arca())
    assert (invoice.status, invoice.number) == (InvoiceStatus.REJECTED, None)
    assert [error["code"] for error in invoice.errors] == [1513]
    assert stored_export(sandbox, organization.cuit, 1) is None
    # Sent again (a rejected request does not use up its number): authorized as number 1.
    again = authorize_invoice(db.session, invoice_id, get_arca())
    assert (again.status, again.number) == (InvoiceStatus.AUTHORIZED, 1)


def test_an_answer_lost_after_arca_granted_it_is_adopted_not_sent_again(
    http_app: Flask, sandbox: Sandbox
) -> None:
    organization = exporter()
    invoice_id = export_draft(organization, foreign_customer(organization))
    sandbox.faults.add(drop_after(operation="FEXAuthorize", service="wsfex"))
    invoice = authorize_invoice(db.session, invoice_id, get_arca())
    stored = stored_export(sandbox, organization.cuit, 1)
    assert invoice.status == InvoiceStatus.AUTHORIZED, invoice.errors
    assert stored is not None and stored.cae == invoice.cae
    assert len(fex_authorizations(sandbox)) == 1  # settled by FEXGetCMP, never re-sent
    assert fex_last(sandbox, organization.cuit) == 1
    outcomes = db.session.scalars(
        select(AuthorizationAttempt.outcome).where(AuthorizationAttempt.invoice_id == invoice_id)
    ).all()
    assert outcomes == [AttemptOutcome.RECONCILED]


def test_an_answer_lost_before_arca_got_it_is_released_and_sent_with_a_new_id(
    http_app: Flask, sandbox: Sandbox
) -> None:
    organization = exporter()
    invoice_id = export_draft(organization, foreign_customer(organization))
    sandbox.faults.add(drop_before(operation="FEXAuthorize", service="wsfex"))
    invoice = authorize_invoice(db.session, invoice_id, get_arca())
    assert (invoice.status, invoice.number) == (InvoiceStatus.DRAFT, None)  # grace 0: released
    first_id = invoice.export_request_id
    assert first_id == 1
    again = authorize_invoice(db.session, invoice_id, get_arca())
    assert again.status == InvoiceStatus.AUTHORIZED
    assert again.export_request_id == first_id + 1
    stored = stored_export(sandbox, organization.cuit, 1)
    assert stored is not None and stored.cae == again.cae
    assert fex_last(sandbox, organization.cuit) == 1  # one voucher at ARCA


def test_arca_down_before_sending_leaves_the_draft_as_it_was(
    http_app: Flask, sandbox: Sandbox
) -> None:
    organization = exporter()
    invoice_id = export_draft(organization, foreign_customer(organization))
    sandbox.faults.add(wsfe_unavailable(service="wsfex"))  # WSFEXv1 alone is down
    with pytest.raises(ArcaCallFailed):
        authorize_invoice(db.session, invoice_id, get_arca())
    db.session.rollback()
    invoice = db.session.get_one(Invoice, invoice_id)
    assert (invoice.status, invoice.number, invoice.attempts) == (InvoiceStatus.DRAFT, None, [])
    assert fex_authorizations(sandbox) == []
    # A 503 page in answer to FEXAuthorize itself may follow processing (arca.transport):
    # settled by FEXGetCMP, which finds nothing, so the number goes back.
    sandbox.faults.clear()
    sandbox.faults.add(wsfe_unavailable(operation="FEXAuthorize", service="wsfex", count=1))
    invoice = authorize_invoice(db.session, invoice_id, get_arca())
    assert (invoice.status, invoice.number) == (InvoiceStatus.DRAFT, None)
    assert stored_export(sandbox, organization.cuit, 1) is None


def test_a_crash_between_reserving_and_sending_is_settled_by_the_next_call(
    http_app: Flask, sandbox: Sandbox
) -> None:
    organization = exporter()
    invoice_id = export_draft(organization, foreign_customer(organization))
    # What a worker killed right after the commit of `reserve_export` leaves behind.
    reserve_export(db.session, invoice_id, 1, next_request_id(db.session, organization.id, 0))
    assert db.session.get_one(Invoice, invoice_id).status == InvoiceStatus.AUTHORIZING
    invoice = authorize_invoice(db.session, invoice_id, get_arca())
    assert (invoice.status, invoice.number) == (InvoiceStatus.AUTHORIZED, 1)
    assert invoice.export_request_id == 2  # the crashed request's Id is never reused
    outcomes = db.session.scalars(
        select(AuthorizationAttempt.outcome)
        .where(AuthorizationAttempt.invoice_id == invoice_id)
        .order_by(AuthorizationAttempt.id)
    ).all()
    assert outcomes == [AttemptOutcome.RECONCILED, AttemptOutcome.APPROVED]


def test_reconcile_adopts_a_granted_voucher_left_authorizing(
    http_app: Flask, sandbox: Sandbox
) -> None:
    """ARCA granted it, the worker died before recording: reconcile finds it by FEXGetCMP."""
    organization = exporter()
    invoice_id = export_draft(organization, foreign_customer(organization))
    voucher, _attempt = reserve_export(db.session, invoice_id, 1, 1)
    with export_client(db.session, organization.id, get_arca()) as arca:
        assert arca.wsfex.authorize(voucher).approved
    assert reconcile_pending(db.session, organization.id, get_arca()) == 1
    invoice = db.session.get_one(Invoice, invoice_id)
    stored = stored_export(sandbox, organization.cuit, 1)
    assert invoice.status == InvoiceStatus.AUTHORIZED
    assert stored is not None and stored.cae == invoice.cae


def verify(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["invoices", "verify"])
    return result.exit_code, result.output


def test_verify_agrees_then_names_an_export_voucher_the_app_does_not_hold(
    http_app: Flask, sandbox: Sandbox
) -> None:
    organization = exporter()
    invoice_id = export_draft(organization, foreign_customer(organization))
    invoice = authorize_invoice(db.session, invoice_id, get_arca())
    assert invoice.status == InvoiceStatus.AUTHORIZED
    code, output = verify(http_app)
    assert code == 0, output
    assert "type 19: ARCA last 1" in output and "0 problems" in output
    assert verify_invoices(db.session, organization.id) == (1, [])  # the app's side, by FEXGetCMP
    # Number 2, sent with the organization's certificate behind the app's back.
    stranger = ExportVoucher(
        request_id=50,
        invoice_type=19,
        point_of_sale=1,
        number=2,
        export_type=2,
        destination_country=USA,
        customer_name="Otro Cliente Inc",
        customer_address="1 Elm St",
        currency="PES",
        currency_rate=Decimal(1),
        total=Decimal("10.00"),
        items=[ExportItem("Consultoría", Decimal(1), 7, Decimal(10), Decimal(0), Decimal(10))],
        date=invoice.issue_date,
        customer_tax_id="99-999",
    )
    with export_client(db.session, organization.id, get_arca()) as arca:
        assert arca.wsfex.authorize(stranger).approved
    code, output = verify(http_app)
    assert code == 1, output
    assert "LOST #2" in output and "1 problems" in output


def test_the_built_voucher_matches_what_arca_recorded(http_app: Flask, sandbox: Sandbox) -> None:
    """`same_export_voucher` holds between ours and FEXGetCMP's (the adoption test's premise)."""
    from blueprints.invoices.export_authorization import same_export_voucher

    organization = exporter()
    invoice_id = export_draft(organization, foreign_customer(organization))
    invoice = authorize_invoice(db.session, invoice_id, get_arca())
    ours = build_export_voucher(invoice, 1, invoice.export_request_id or 0)
    with export_client(db.session, organization.id, get_arca()) as arca:
        stored = arca.wsfex.consult(19, 1, 1)
    assert stored is not None and same_export_voucher(stored.voucher, ours)
    other = build_export_voucher(invoice, 1, 0)
    changed = ExportVoucher(**{**other.__dict__, "total": other.total + 1})
    assert not same_export_voucher(stored.voucher, changed)


def test_an_export_credit_note_names_its_original_and_its_issuer(
    http_app: Flask, sandbox: Sandbox
) -> None:
    organization = exporter()
    invoice_id = export_draft(organization, foreign_customer(organization))
    invoice = authorize_invoice(db.session, invoice_id, get_arca())
    assert invoice.status == InvoiceStatus.AUTHORIZED
    lines = [Line("Devolución de una caja", Decimal(1), Decimal("1500.50"), vat="exempt")]
    draft = DraftInput(
        invoice.point_of_sale_id,
        invoice.customer_id,
        invoice.issue_date,
        lines,
        kind=VoucherKind.CREDIT_NOTE,
        associated_invoice_id=invoice_id,
    )
    note = save_draft(db.session, organization, draft, None)
    assert note.invoice_type == 21
    note = authorize_invoice(db.session, note.id, get_arca())
    assert (note.status, note.number) == (InvoiceStatus.AUTHORIZED, 1), note.errors
    assert note.export_request_id == 2  # the organization's Ids run across its sequences
    with sandbox.ledger.transaction() as tx:
        stored = tx.fex_find(organization.cuit, 1, 21, 1)
    assert stored is not None
    assert stored.cmp["Cmps_asoc"] == [
        {"Cbte_tipo": "19", "Cbte_punto_vta": "1", "Cbte_nro": "1", "Cbte_cuit": organization.cuit}
    ]
    assert not stored.cmp.get("Permiso_existente")  # goods invoices only (1510)


def test_a_factura_e_is_never_offered_the_caea(http_app: Flask, sandbox: Sandbox) -> None:
    organization = exporter()
    invoice = db.session.get_one(
        Invoice, export_draft(organization, foreign_customer(organization))
    )
    refusal = contingency_offer(db.session, invoice, get_arca())
    assert refusal is not None and "Factura E" in refusal


def test_a_late_grant_is_not_resent_and_verify_adopts_it(
    app: Flask, config: dict[str, Any], sandbox: Sandbox
) -> None:
    """The read timeout fires while ARCA is still working; ARCA then grants the CAE. Within
    the grace period FEXGetCMP's "nothing" is not taken as "never arrived"; `invoices verify`
    later settles the sequence and adopts the CAE (no second FEXAuthorize)."""
    slow = create_app({**config, "ARCA_READ_TIMEOUT": 1, "ARCA_UNKNOWN_GRACE_SECONDS": 4})
    try:
        with slow.app_context():
            organization = exporter()
            invoice_id = export_draft(organization, foreign_customer(organization))
            sandbox.faults.add(latency(2.5, operation="FEXAuthorize", service="wsfex"))
            invoice = authorize_invoice(db.session, invoice_id, get_arca())
            assert (invoice.status, invoice.number) == (InvoiceStatus.UNKNOWN, 1)
            time.sleep(4.5)  # past ARCA's late grant and the grace period
            code, output = verify(slow)
            assert code == 0, output
            invoice = db.session.get_one(Invoice, invoice_id)
            stored = stored_export(sandbox, organization.cuit, 1)
            assert invoice.status == InvoiceStatus.AUTHORIZED
            assert stored is not None and stored.cae == invoice.cae
            assert len(fex_authorizations(sandbox)) == 1
    finally:
        close_connections(slow)
