"""The invoice editor for a customer abroad (Factura E): the letter, the export panel as page and
fragment, what a save stores, the export preflight on review, autosave and the list."""

from __future__ import annotations

import re
from decimal import Decimal

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from blueprints.customers.rules import CustomerFields
from blueprints.customers.services import create_customer
from blueprints.invoices.models import Invoice
from blueprints.invoices.preflight_adapter import arca_today
from core.arca import get_arca
from core.db import db
from tests.integration.test_invoices import point_id
from tests.web import csrf_token, htmx_headers, text_of

USA_COMPANY = "55000002126"


def customer_abroad(organization_id: int, **changes: str) -> int:
    values = {
        "doc_type": "80",
        "doc_number": USA_COMPANY,
        "legal_name": "Acme Corp",
        "iva_condition": "9",
        "address": "1 Main St, Springfield",
        "country": "212",
        "foreign_tax_id": "12-3456789",
    }
    values.update(changes)
    return create_customer(db.session, organization_id, CustomerFields(**values), None).id


def editor_fields(
    app: Flask, organization_id: int, customer_id: int, **changes: str
) -> dict[str, str]:
    with app.app_context():
        point = point_id(organization_id)
        today = arca_today(get_arca())
    values = {
        "point_of_sale_id": str(point),
        "customer_id": str(customer_id),
        "customer_label": "Acme Corp",
        "concept": "2",
        "issue_date": today.isoformat(),
        "service_from": today.replace(day=1).isoformat(),
        "service_to": today.isoformat(),
        "payment_due": today.isoformat(),
        "currency": "DOL",
        "currency_rate": "1.000",
        "lines-0-description": "Desarrollo de software",
        "lines-0-quantity": "10",
        "lines-0-unit_price": "150",
        "lines-0-discount_percent": "0",
        "lines-0-vat": "5",
        "export_customer": str(customer_id),
        "export_country": "212",
        "export_language": "2",
        "export_payment_terms": "Transferencia a 30 días",
        "export_incoterms": "",
        "export_incoterms_detail": "",
        "export_permit_existing": "",
    }
    values.update(changes)
    return values


def only_invoice(app: Flask, organization_id: int) -> Invoice:
    with app.app_context():
        invoice = db.session.scalars(
            select(Invoice).where(Invoice.organization_id == organization_id)
        ).one()
        invoice.lines  # noqa: B018  # loaded before the session closes
        db.session.expunge(invoice)
        return invoice


def test_a_customer_abroad_makes_a_factura_e(app: Flask, cashier: tuple[FlaskClient, int]) -> None:
    client, organization_id = cashier
    with app.app_context():
        customer_id = customer_abroad(organization_id)
    page = client.get(f"/invoices/new?customer_id={customer_id}")
    html = page.get_data(as_text=True)
    assert re.search(r'class="letter-box"[^>]*>E<', html)
    assert "Factura E: el cliente está en el exterior" in text_of(page)
    assert 'id="export-fields"' in html
    assert re.search(r'<option selected value="212">ESTADOS UNIDOS</option>', html)

    token = csrf_token(client, "/invoices/new")
    fields = editor_fields(app, organization_id, customer_id)
    # The panel as a fragment: services have no Incoterms or permits; goods do.
    panel = client.post(
        "/invoices/export-panel", data=fields, headers=htmx_headers(token)
    ).get_data(as_text=True)
    assert panel.lstrip().startswith('<div id="export-panel"')
    assert "export_incoterms" not in panel
    goods = client.post(
        "/invoices/export-panel", data={**fields, "concept": "1"}, headers=htmx_headers(token)
    ).get_data(as_text=True)
    assert 'name="export_incoterms"' in goods and 'name="export_permits-4-permit_id"' in goods
    # Another customer abroad brings its own country as the destination.
    with app.app_context():
        chile = customer_abroad(
            organization_id, legal_name="Andes SpA", country="208", doc_number="", doc_type="99"
        )
    moved = client.post(
        "/invoices/export-panel",
        data={**fields, "customer_id": str(chile)},
        headers=htmx_headers(token),
    ).get_data(as_text=True)
    assert '<option selected value="208">' in moved

    totals = client.post("/invoices/totals", data=fields, headers=htmx_headers(token))
    assert re.search(r'class="letter-box"[^>]*>E<', totals.get_data(as_text=True))
    assert "IVA" not in text_of(totals) and "1.500,00" in text_of(totals)

    saved = client.post("/invoices/new", data={"csrf_token": token, **fields, "then": "authorize"})
    assert saved.status_code == 303, text_of(saved)
    invoice = only_invoice(app, organization_id)
    assert (invoice.letter, invoice.invoice_type, invoice.export_type) == ("E", 19, 2)
    assert (invoice.destination_country, invoice.language) == (212, 2)
    assert invoice.export_payment_terms == "Transferencia a 30 días"
    assert (invoice.receiver_country_cuit, invoice.receiver_tax_id) == (USA_COMPANY, "12-3456789")
    assert (invoice.currency, invoice.currency_rate) == ("DOL", Decimal("1000"))
    assert (invoice.vat_total, invoice.total) == (Decimal("0"), Decimal("1500.00"))

    review = client.get(f"/invoices/{invoice.id}")
    assert 'id="preflight-problems"' not in review.get_data(as_text=True), text_of(review)
    facts = text_of(review)
    assert "CUIT del país 55-00000212-6" in facts and "País de destino ESTADOS UNIDOS" in facts
    assert "Consumidor final" not in facts
    assert "Factura de Exportación" in text_of(client.get("/invoices/"))

    edit = client.get(f"/invoices/{invoice.id}/edit").get_data(as_text=True)
    assert '<option selected value="2">' in edit  # the language, as saved
    assert 'value="Transferencia a 30 días"' in edit


def test_the_export_preflight_on_review(app: Flask, cashier: tuple[FlaskClient, int]) -> None:
    client, organization_id = cashier
    with app.app_context():
        customer_id = customer_abroad(organization_id, address="")
    token = csrf_token(client, "/invoices/new")
    fields = editor_fields(
        app, organization_id, customer_id, concept="1", export_permit_existing="S"
    )
    saved = client.post("/invoices/new", data={"csrf_token": token, **fields})
    assert saved.status_code == 303, text_of(saved)
    invoice = only_invoice(app, organization_id)
    assert invoice.export_type == 1
    review = text_of(client.get(f"/invoices/{invoice.id}"))
    assert "Una exportación de bienes lleva Incoterms." in review
    assert "Escribí el número de al menos un permiso de embarque." in review
    assert "Una Factura E lleva el domicilio del cliente" in review

    token = csrf_token(client, f"/invoices/{invoice.id}/edit")
    fixed = {
        **fields,
        "export_incoterms": "FOB",
        "export_incoterms_detail": "Puerto Buenos Aires",
        "export_permits-0-permit_id": "24001ec01000123a",
        "export_permits-0-destination_country": "212",
    }
    autosave = client.post(
        f"/invoices/{invoice.id}/autosave", data=fixed, headers=htmx_headers(token)
    )
    assert "no se pudo guardar" not in text_of(autosave), text_of(autosave)
    invoice = only_invoice(app, organization_id)
    assert (invoice.incoterms, invoice.incoterms_detail) == ("FOB", "Puerto Buenos Aires")
    assert invoice.permit_existing is True
    assert invoice.permits == [{"permit_id": "24001EC01000123A", "destination_country": 212}]
    review = text_of(client.get(f"/invoices/{invoice.id}"))
    assert "Una exportación de bienes lleva Incoterms." not in review
    assert "permiso de embarque" not in review
    assert "Una Factura E lleva el domicilio del cliente" in review  # still: on the customer


def test_the_panel_refuses_what_it_did_not_offer(
    app: Flask, cashier: tuple[FlaskClient, int]
) -> None:
    client, organization_id = cashier
    with app.app_context():
        customer_id = customer_abroad(organization_id)
    token = csrf_token(client, "/invoices/new")
    bad = editor_fields(
        app,
        organization_id,
        customer_id,
        concept="1",
        export_country="200",
        export_incoterms="XYZ",
        export_payment_terms="x" * 51,
        **{"export_permits-0-permit_id": "123"},
    )
    response = client.post("/invoices/new", data={"csrf_token": token, **bad})
    assert response.status_code == 422
    text = text_of(response)
    assert "Elegí una opción de la lista." in text
    assert "Hasta 50 caracteres." in text
    assert "Un permiso de embarque tiene 16 letras y números" in text
    with app.app_context():
        assert db.session.scalars(select(Invoice)).first() is None


def test_a_customer_here_gets_no_export_panel(app: Flask, cashier: tuple[FlaskClient, int]) -> None:
    client, organization_id = cashier
    with app.app_context():
        local = create_customer(
            db.session,
            organization_id,
            CustomerFields("80", "30-70000000-8", "Distribuidora Norte SA", "1"),
            None,
        ).id
    html = client.get(f"/invoices/new?customer_id={local}").get_data(as_text=True)
    assert 'id="export-panel"' in html and 'id="export-fields"' not in html
    assert re.search(r'class="letter-box"[^>]*>A<', html)
