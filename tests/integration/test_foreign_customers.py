"""Customers abroad (Factura E) on PostgreSQL: the customer page's country, country CUIT and tax
id; their rules; uniqueness by country and tax id (many share their country's CUIT); the audit
trail; and the list, inline edit and CSV export still working with them."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from blueprints.audit.models import AuditEvent
from blueprints.customers.csv_io import export_rows
from blueprints.customers.models import Customer
from blueprints.customers.rules import CustomerFields
from blueprints.customers.services import create_customer
from core.db import db
from tests.factories import add_member, make_organization, make_user
from tests.web import csrf_token, htmx_headers, login, post_form, text_of

USA = "212"
USA_COMPANY = "55000002126"  # ARCA's "ESTADOS UNIDOS - Persona Jurídica"
USA_PERSON = "50000002124"  # "ESTADOS UNIDOS - Persona Física"


@pytest.fixture
def shop(app: Flask) -> int:
    with app.app_context():
        organization = make_organization(legal_name="Exportadora Sur SRL")
        add_member(organization, make_user(email="ana@example.com"), "owner")
        return organization.id


@pytest.fixture
def owner(app: Flask, shop: int) -> FlaskClient:
    client = app.test_client()
    login(client, "ana@example.com")
    return client


def abroad(**changes: str) -> dict[str, str]:
    values = {
        "doc_type": "80",
        "doc_number": "",
        "legal_name": "Acme Corp",
        "iva_condition": "9",
        "address": "1 Main St, Springfield, IL",
        "country": USA,
        "foreign_cuit": USA_COMPANY,
        "foreign_tax_id": "12-3456789",
    }
    values.update(changes)
    return values


def stored(app: Flask, name: str) -> Customer:
    with app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.legal_name == name)).one()
        db.session.expunge(customer)
        return customer


def test_a_customer_abroad_through_the_page(app: Flask, owner: FlaskClient) -> None:
    page = owner.get("/customers/new")
    assert "ESTADOS UNIDOS - Persona Jurídica (55000002126)" in page.get_data(as_text=True)
    assert 'value="200"' not in page.get_data(as_text=True)  # Argentina is not "abroad"

    response = post_form(owner, "/customers/new", abroad())
    assert response.status_code == 303, text_of(response)
    customer = stored(app, "Acme Corp")
    assert (customer.doc_type, customer.doc_number) == (80, USA_COMPANY)
    assert (customer.country, customer.foreign_tax_id, customer.iva_condition) == (
        212,
        "12-3456789",
        9,
    )
    detail = text_of(owner.get(f"/customers/{customer.id}"))
    assert "ESTADOS UNIDOS" in detail and "12-3456789" in detail and "CUIT del país" in detail

    edit = owner.get(f"/customers/{customer.id}/edit").get_data(as_text=True)
    assert f'<option selected value="{USA_COMPANY}">' in edit
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "customer.create")
        ).one()
        assert event.details["country"] == 212
        assert event.details["foreign_tax_id"] == "12-3456789"


def test_many_customers_of_one_country_share_its_cuit(app: Flask, owner: FlaskClient) -> None:
    assert post_form(owner, "/customers/new", abroad()).status_code == 303
    second = abroad(legal_name="Globex LLC", foreign_tax_id="98-7654321")
    assert post_form(owner, "/customers/new", second).status_code == 303
    assert stored(app, "Globex LLC").doc_number == USA_COMPANY

    # The same tax id in the same country is the same customer, whatever the spelling.
    again = post_form(
        owner, "/customers/new", abroad(legal_name="Acme 2", foreign_tax_id="12 3456789 ")
    )
    assert again.status_code == 409 or again.status_code == 422
    assert "Ya tenés un cliente con ese documento: «Acme Corp»" in text_of(again)
    # A customer here with the country's CUIT is another matter (its index leaves them out).
    here = post_form(
        owner,
        "/customers/new",
        {"doc_type": "80", "doc_number": USA_COMPANY, "legal_name": "Local", "iva_condition": "1"},
    )
    assert here.status_code == 303, text_of(here)


def test_without_a_country_cuit_the_tax_id_identifies_it(app: Flask, owner: FlaskClient) -> None:
    missing = post_form(owner, "/customers/new", abroad(foreign_cuit="", foreign_tax_id=""))
    assert missing.status_code == 422
    assert "Sin CUIT del país, escribí la identificación tributaria" in text_of(missing)

    ok = post_form(owner, "/customers/new", abroad(foreign_cuit="", legal_name="Initech"))
    assert ok.status_code == 303, text_of(ok)
    customer = stored(app, "Initech")
    assert (customer.doc_type, customer.doc_number, customer.country) == (99, "0", 212)
    detail = text_of(owner.get(f"/customers/{customer.id}"))
    assert "Sin CUIT del país" in detail and "Consumidor final" not in detail


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"iva_condition": "1"}, "tiene la condición «Cliente del Exterior»"),
        ({"country": "200"}, "Un cliente en la Argentina no lleva país"),
        ({"country": "99999"}, "Elegí el país del cliente de la lista de ARCA"),
        ({"foreign_cuit": "20111111112"}, "se identifica con el CUIT de su país"),
        ({"foreign_tax_id": "x" * 31}, "Hasta 30 caracteres."),
    ],
)
def test_what_a_customer_abroad_cannot_be(
    owner: FlaskClient, changes: dict[str, str], message: str
) -> None:
    response = post_form(owner, "/customers/new", abroad(**changes))
    assert response.status_code == 422
    assert message in text_of(response)


def test_a_visitor_with_a_passport_stays_a_customer_here(app: Flask, owner: FlaskClient) -> None:
    """Condition 9 without a country: a foreign visitor buying here (a B or C, not an E)."""
    visitor = {
        "doc_type": "94",
        "doc_number": "AB123456",
        "legal_name": "John Smith",
        "iva_condition": "9",
        "country": "",
    }
    assert post_form(owner, "/customers/new", visitor).status_code == 303
    assert stored(app, "John Smith").country is None


def test_inline_edit_and_export_keep_a_customer_abroad(
    app: Flask, owner: FlaskClient, shop: int
) -> None:
    with app.app_context():
        fields = CustomerFields(
            "80", USA_PERSON, "Jane Doe", "9", country=USA, foreign_tax_id="123-45-6789"
        )
        customer_id = create_customer(db.session, shop, fields, None).id
    token = csrf_token(owner, "/customers/")
    prefix = f"customer-{customer_id}-"
    response = owner.post(
        f"/customers/{customer_id}/row/edit",
        data={
            "csrf_token": token,
            f"{prefix}legal_name": "Jane Q. Doe",
            f"{prefix}doc_type": "80",
            f"{prefix}doc_number": USA_PERSON,
            f"{prefix}iva_condition": "9",
            f"{prefix}emails": "jane@example.com",
        },
        headers=htmx_headers(token),
    )
    assert response.status_code == 200, text_of(response)
    edited = stored(app, "Jane Q. Doe")
    assert (edited.country, edited.foreign_tax_id) == (212, "123-45-6789")
    assert "Jane Q. Doe" in text_of(owner.get("/customers/?q=123-45"))

    with app.app_context():
        rows = "".join(export_rows([db.session.get_one(Customer, customer_id)]))
    assert "Jane Q. Doe" in rows and USA_PERSON in rows
