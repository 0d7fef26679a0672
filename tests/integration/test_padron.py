"""The customer form's padrón lookup through the app (real PostgreSQL, Redis and the in-process
sandbox speaking SOAP), the day-long cache, and the preflight's warning."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from arca.padron import CONSTANCIA_SERVICE
from arca.sandbox import http_500
from blueprints.auth.models import User
from blueprints.certificates.services import generate_request, issue_with_sandbox_ca
from blueprints.customers.padron import cached_lookup, lookup_taxpayer
from blueprints.customers.rules import CustomerFields
from blueprints.customers.services import create_customer
from blueprints.invoices.models import Invoice, InvoiceStatus
from blueprints.invoices.preflight import padron_warnings
from blueprints.invoices.preflight_adapter import arca_today, preflight_problems, preflight_warnings
from blueprints.invoices.services import DraftInput, save_draft
from blueprints.invoices.totals import Line
from blueprints.organizations.models import Organization
from blueprints.points_of_sale.models import PointOfSale
from blueprints.points_of_sale.services import sync_points_of_sale
from core.arca import get_arca
from core.crypto import get_keyring
from core.db import db
from tests.api import Api, make_api_key
from tests.factories import make_organization, make_user
from tests.web import csrf_token, htmx_headers, login, text_of

RI_COMPANY = "30712345671"
MONOTRIBUTISTA = "20123456786"


def certified(email: str) -> int:
    owner = make_user(email=email)
    organization = make_organization(owner=owner)
    request = generate_request(db.session, organization, owner, "sandbox", "padron", get_keyring())
    issue_with_sandbox_ca(db.session, organization, owner, request, get_arca())
    return organization.id


@pytest.fixture
def shop(app: Flask) -> int:
    with app.app_context():
        return certified("ana@example.com")


@pytest.fixture
def owner(app: Flask, shop: int) -> FlaskClient:
    client = app.test_client()
    login(client, "ana@example.com")
    return client


def lookup(client: FlaskClient, doc_number: str, auto: bool = False) -> tuple[int, str]:
    token = csrf_token(client, "/customers/new")
    data = {"csrf_token": token, "doc_type": "80", "doc_number": doc_number, "legal_name": ""}
    if auto:
        data["auto"] = "1"
    response = client.post("/customers/padron", data=data, headers=htmx_headers(token))
    return response.status_code, response.get_data(as_text=True)


def test_the_form_fills_name_address_and_condition(owner):
    status, html = lookup(owner, "30-71234567-1")
    assert status == 200
    assert 'value="TALLERES DEL PLATA S.A."' in html
    assert "AV CORRIENTES 1234" in html
    assert '<option selected value="1">' in html or 'value="1" selected' in html
    assert "Datos del padrón de ARCA al" in html


def test_typing_asks_only_for_a_whole_valid_cuit(owner):
    assert lookup(owner, "30-7123", auto=True)[0] == 204
    assert lookup(owner, "30712345672", auto=True)[0] == 204  # wrong check digit
    status, html = lookup(owner, MONOTRIBUTISTA, auto=True)
    assert status == 200 and "PEREYRA JUAN CARLOS" in html


def test_unknown_inactive_and_deceased_are_explained(owner):
    status, html = lookup(owner, "20301112220")
    assert status == 200 and "ARCA no tiene a nadie con la CUIT 20301112220" in html
    html = lookup(owner, "20234567897")[1]
    assert "está inactiva" in html
    html = lookup(owner, "27298765433")[1]
    assert "falleció el 15/03/2024" in html


def test_without_a_certificate_the_form_says_so(app):
    with app.app_context():
        make_organization(owner=make_user(email="sin@example.com"))
    client = app.test_client()
    login(client, "sin@example.com")
    status, html = lookup(client, RI_COMPANY)
    assert status == 200
    assert "Todavía no hay un certificado activo" in html
    assert lookup(client, RI_COMPANY, auto=True)[0] == 204  # typing stays quiet


def test_the_answer_is_cached_for_a_day(app, shop):
    with app.test_request_context():
        first = lookup_taxpayer(db.session, shop, RI_COMPANY, get_arca())
        logins = get_arca().sandbox().login_count()
        again = lookup_taxpayer(db.session, shop, RI_COMPANY, get_arca())
        assert not first.from_cache and again.from_cache
        assert again.taxpayer == first.taxpayer and again.looked_up_at == first.looked_up_at
        assert get_arca().sandbox().login_count() == logins
        cached = cached_lookup(shop, RI_COMPANY)
        assert cached is not None and cached.taxpayer.name == "TALLERES DEL PLATA S.A."


def test_preflight_warns_when_the_condition_disagrees(app, shop):
    with app.test_request_context():
        lookup_taxpayer(db.session, shop, MONOTRIBUTISTA, get_arca())
        lookup = cached_lookup(shop, MONOTRIBUTISTA)
        taxpayer = lookup.taxpayer if lookup else None
        warnings = padron_warnings(80, MONOTRIBUTISTA, 1, taxpayer)
        assert len(warnings) == 1 and "Responsable Monotributo" in warnings[0].message
        assert padron_warnings(80, MONOTRIBUTISTA, 6, taxpayer) == []
        assert padron_warnings(80, MONOTRIBUTISTA, 1, None) == []


def test_the_invoice_page_shows_the_padron_warning(app, owner, shop):
    """A customer saved as RI whose padrón answer (cached) says monotributo: the invoice's
    review shows the warning, and the invoice can still be authorized (no blocking problem)."""
    with app.test_request_context():
        organization = db.session.get_one(Organization, shop)
        owner_user = db.session.scalars(select(User).where(User.email == "ana@example.com")).one()
        sync_points_of_sale(db.session, shop, get_arca(), owner_user)
        fields = CustomerFields(
            doc_type="80",
            doc_number=MONOTRIBUTISTA,
            legal_name="Pereyra",
            iva_condition="1",
        )
        customer = create_customer(db.session, shop, fields, owner_user)
        point = db.session.scalars(
            select(PointOfSale.id).where(
                PointOfSale.organization_id == shop, PointOfSale.number == 1
            )
        ).one()
        lines = [Line("Servicio", Decimal(1), Decimal("1210.00"), vat=5)]
        draft = DraftInput(point, customer.id, arca_today(get_arca()), lines)
        invoice = save_draft(db.session, organization, draft, None)
        assert preflight_warnings(invoice) == []  # nothing cached yet: no call to ARCA
        lookup_taxpayer(db.session, shop, MONOTRIBUTISTA, get_arca())
        invoice = db.session.get_one(Invoice, invoice.id)
        warnings = preflight_warnings(invoice)
        assert preflight_problems(db.session, invoice, get_arca()) == []
        invoice_id = invoice.id
    assert len(warnings) == 1
    page = text_of(owner.get(f"/invoices/{invoice_id}"))
    assert "el cliente figura como «Responsable Monotributo»" in page
    # The API's preflight carries the same warning, apart from the (empty) problems.
    api = Api(app, make_api_key(app, shop, ["invoices:read"]))
    preflight = api.post(f"/api/v1/invoices/{invoice_id}/preflight").get_json()
    assert preflight["ok"] is True and preflight["problems"] == []
    assert [w["message"] for w in preflight["warnings"]] == [warnings[0].message]


UNKNOWN, INACTIVE, LONG_AGO = "20301112220", "20234567897", "27298765433"


def drafts_for(shop: int, cuits: tuple[str, ...]) -> dict[str, int]:
    """A Factura draft to a new customer for each CUIT, saved as Responsable Inscripto (the
    padrón's answer disagrees for the monotributista); their ids by CUIT."""
    organization = db.session.get_one(Organization, shop)
    ana = db.session.scalars(select(User).where(User.email == "ana@example.com")).one()
    sync_points_of_sale(db.session, shop, get_arca(), ana)
    point = db.session.scalars(
        select(PointOfSale.id).where(PointOfSale.organization_id == shop)
    ).first()
    assert point is not None
    drafts = {}
    for cuit in cuits:
        fields = CustomerFields(
            doc_type="80", doc_number=cuit, legal_name=f"Cliente {cuit}", iva_condition="1"
        )
        customer = create_customer(db.session, shop, fields, ana)
        lines = [Line("Servicio", Decimal(1), Decimal("1210.00"), vat=5)]
        draft = DraftInput(point, customer.id, arca_today(get_arca()), lines)
        drafts[cuit] = save_draft(db.session, organization, draft, None).id
    return drafts


def test_the_nightly_refresh_asks_again_for_the_cuits_being_invoiced(app, shop):
    """`customers.padron_refresh`: the receivers of drafts and of recent invoices get a fresh
    padrón answer in the cache (one sign-in), an inactive one included (the review warns of
    it); one invoiced long ago does not; an unknown CUIT is counted, not fatal. The preflight
    warns from what the job cached."""
    with app.test_request_context():
        drafts = drafts_for(shop, (MONOTRIBUTISTA, RI_COMPANY, UNKNOWN, INACTIVE, LONG_AGO))
        today = arca_today(get_arca())
        # Rejected 60 days ago: no draft any more, and older than the refresh looks back.
        old = db.session.get_one(Invoice, drafts[LONG_AGO])
        old.status, old.issue_date = InvoiceStatus.REJECTED, today - dt.timedelta(days=60)
        db.session.commit()
        assert preflight_warnings(db.session.get_one(Invoice, drafts[MONOTRIBUTISTA])) == []
        logins = get_arca().sandbox().login_count()

        answer = app.test_cli_runner().invoke(args=["scheduler", "run", "customers.padron_refresh"])

        assert answer.exit_code == 0, answer.output
        assert (
            "customers.padron_refresh: ok: 3 CUITs refreshed, 1 unknown or inactive, "
            "0 organizations without a certificate" in answer.output
        ), answer.output
        assert get_arca().sandbox().login_count() <= logins + 1
        refreshed = {cuit for cuit in drafts if cached_lookup(shop, cuit) is not None}
        assert refreshed == {MONOTRIBUTISTA, RI_COMPANY, INACTIVE}  # its warning is news too
        warnings = preflight_warnings(db.session.get_one(Invoice, drafts[MONOTRIBUTISTA]))
        assert len(warnings) == 1 and "Responsable Monotributo" in warnings[0].message


def test_the_refresh_names_an_organization_it_could_not_refresh(app, shop):
    """ARCA failing for one organization fails the run, naming it, and caches nothing."""
    with app.test_request_context():
        drafts_for(shop, (RI_COMPANY,))
        get_arca().sandbox().faults.add(http_500(CONSTANCIA_SERVICE, "getPersona_v2"))
        answer = app.test_cli_runner().invoke(args=["scheduler", "run", "customers.padron_refresh"])
        assert answer.exit_code == 0, answer.output
        assert "customers.padron_refresh: failed: RuntimeError: 0 CUITs refreshed" in answer.output
        assert f"not refreshed: organization {shop}: " in answer.output
        assert cached_lookup(shop, RI_COMPANY) is None
