"""FCE MiPyME through WSFEv1 against the sandbox over real SOAP: an FCE A carries the CBU, the
transfer option and FchVtoPago on the wire and is authorized; its credit note carries 22 and its
original with the issuer's CUIT and date; without a CBU nothing is sent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from arca.codes import IssuerCondition, VoucherKind
from arca.sandbox import Sandbox
from blueprints.certificates.services import generate_request, issue_with_sandbox_ca
from blueprints.customers.models import Customer
from blueprints.invoices.authorization import authorize_invoice, build_request, fce_problem
from blueprints.invoices.models import AuthorizationAttempt, Invoice, InvoiceStatus
from blueprints.invoices.preflight_adapter import arca_today
from blueprints.invoices.services import DraftInput, save_draft
from blueprints.invoices.totals import Line
from blueprints.organizations.models import Organization
from blueprints.points_of_sale.models import PointOfSale
from blueprints.points_of_sale.services import sync_points_of_sale
from core.arca import get_arca
from core.crypto import get_keyring
from core.db import db
from core.errors import ValidationFailed
from tests.conftest import close_connections
from tests.factories import make_organization, make_user

CBU = "2850590940090418135201"
LARGE_COMPANY = "30500010912"  # obliged to receive FCE in the sandbox's wsfecred data


@pytest.fixture
def config(http_config: dict[str, Any]) -> dict[str, Any]:
    return http_config


@pytest.fixture
def http_app(app: Flask, config: dict[str, Any], sandbox: Sandbox) -> Iterator[Flask]:
    """An app over the sandbox by HTTP (`app` created the schema)."""
    http = create_app(dict(config))
    try:
        with http.app_context():
            yield http
    finally:
        close_connections(http)


def mipyme(cbu: str | None = CBU) -> Organization:
    owner = make_user()
    organization = make_organization(owner, condition=IssuerCondition.RESPONSABLE_INSCRIPTO)
    organization.cbu, organization.cbu_alias, organization.fce_transfer = (
        cbu,
        "mipyme.cobros",
        "SCA",
    )
    db.session.commit()
    request = generate_request(db.session, organization, owner, "sandbox", "fce", get_keyring())
    issue_with_sandbox_ca(db.session, organization, owner, request, get_arca())
    sync_points_of_sale(db.session, organization.id, get_arca(), owner)
    return organization


def large_company(organization: Organization) -> Customer:
    customer = Customer(
        organization_id=organization.id,
        doc_type=80,
        doc_number=LARGE_COMPANY,
        legal_name="Gran Empresa SA",
        iva_condition=1,
        address="Av. Corrientes 1000, CABA",
        sort_name="gran empresa sa",
        search_text="gran empresa sa 30500010912",
    )
    db.session.add(customer)
    db.session.commit()
    return customer


def fce_invoice(organization: Organization, customer: Customer) -> int:
    point = db.session.scalar(
        select(PointOfSale.id).where(
            PointOfSale.organization_id == organization.id, PointOfSale.number == 1
        )
    )
    assert point is not None
    today = arca_today(get_arca())
    lines = [Line("Servicio de mantenimiento", Decimal(1), Decimal("5000000.00"), vat=5)]
    draft = DraftInput(point, customer.id, today, lines, payment_due=today + dt.timedelta(30))
    draft = DraftInput(**{**draft.__dict__, "fce": True})
    invoice = save_draft(db.session, organization, draft, None)
    assert invoice.invoice_type == 201
    return invoice.id


def wire(invoice_id: int) -> str:
    """The last request sent for the invoice, as stored with its attempt (Token/Sign redacted)."""
    attempt = db.session.scalars(
        select(AuthorizationAttempt)
        .where(AuthorizationAttempt.invoice_id == invoice_id)
        .order_by(AuthorizationAttempt.id.desc())
    ).first()
    assert attempt is not None
    return attempt.request_xml or ""


def test_an_fce_a_and_its_credit_note_are_authorized_with_their_optionals(
    http_app: Flask, sandbox: Sandbox
) -> None:
    organization = mipyme()
    invoice_id = fce_invoice(organization, large_company(organization))
    invoice = authorize_invoice(db.session, invoice_id, get_arca())
    assert invoice.status == InvoiceStatus.AUTHORIZED, invoice.errors
    sent = wire(invoice_id)
    for optional, value in (("2101", CBU), ("2102", "mipyme.cobros"), ("27", "SCA")):
        assert f"<ns0:Id>{optional}</ns0:Id><ns0:Valor>{value}</ns0:Valor>" in sent.replace(
            "\n", ""
        ).replace(" ", ""), optional
    due = (invoice.payment_due or dt.date.min).strftime("%Y%m%d")
    assert f"<ns0:FchVtoPago>{due}</ns0:FchVtoPago>" in sent
    stored = sandbox.ledger.find_voucher(organization.cuit, 1, 201, 1)
    assert stored is not None and stored.cae == invoice.cae

    point = invoice.point_of_sale_id
    lines = [Line("Bonificación", Decimal(1), Decimal("1000.00"), vat=5)]
    note_draft = DraftInput(
        point,
        invoice.customer_id,
        invoice.issue_date,
        lines,
        kind=VoucherKind.CREDIT_NOTE,
        associated_invoice_id=invoice_id,
    )
    note_draft = DraftInput(**{**note_draft.__dict__, "fce_cancels_rejected": False})
    note = save_draft(db.session, organization, note_draft, None)
    assert note.invoice_type == 203
    note = authorize_invoice(db.session, note.id, get_arca())
    assert note.status == InvoiceStatus.AUTHORIZED, note.errors
    sent = wire(note.id).replace("\n", "").replace(" ", "")
    assert "<ns0:Id>22</ns0:Id><ns0:Valor>N</ns0:Valor>" in sent
    assert f"<ns0:Cuit>{organization.cuit}</ns0:Cuit>" in sent  # the original's issuer
    assert "2101" not in sent
    # The request as rebuilt for a lost answer is the voucher ARCA holds (same_voucher holds).
    detail = build_request(note, note.number or 0).details[0]
    assert [(a.cuit, a.date) for a in detail.associated] == [
        (organization.cuit, invoice.issue_date)
    ]


def test_an_fce_invoice_without_a_cbu_is_refused_before_anything_is_sent(
    http_app: Flask, sandbox: Sandbox
) -> None:
    organization = mipyme(cbu=None)
    invoice_id = fce_invoice(organization, large_company(organization))
    assert fce_problem(db.session.get_one(Invoice, invoice_id)) is not None
    with pytest.raises(ValidationFailed, match="CBU"):
        authorize_invoice(db.session, invoice_id, get_arca())
    db.session.rollback()
    invoice = db.session.get_one(Invoice, invoice_id)
    assert (invoice.status, invoice.attempts) == (InvoiceStatus.DRAFT, [])
    assert not [e for e in sandbox.ledger.requests() if e.operation == "FECAESolicitar"]
