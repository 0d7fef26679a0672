"""FCE MiPyME in the pages (real PostgreSQL, Redis and the in-process sandbox's wsfecred): the
organization's CBU settings, the editor's offer for a large company above ARCA's amount, the
FCE panel, saving, the review's checks and warning, and the printed FCE."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from arca.codes import VoucherKind
from arca.sandbox.faults import http_500
from arca.sandbox.wsfecred_data import FCE_THRESHOLD
from blueprints.audit.models import AuditEvent
from blueprints.invoices.fce import cached_obligation, failure_key, fce_obligation
from blueprints.invoices.models import Invoice
from blueprints.invoices.preflight_adapter import arca_today, preflight_problems, preflight_warnings
from blueprints.invoices.services import note_from
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.cache import get_cache
from core.db import db
from tests.factories import add_member, make_organization, make_user
from tests.integration.test_invoices import certified, customer, point_id
from tests.pdf_tools import pdf_text, words
from tests.web import csrf_token, htmx_headers, login, post_form, text_of

BIG_COMPANY = "30500010912"  # obligated in the sandbox's wsfecred
SMALL_COMPANY = "30712345671"
CBU = "2850590940090418135201"


@pytest.fixture
def shop(app: Flask) -> tuple[FlaskClient, int]:
    """The owner of a certified Responsable Inscripto, signed in: (client, organization)."""
    with app.app_context():
        organization_id = certified()
        user = make_user(email="fce@example.com")
        add_member(db.session.get_one(Organization, organization_id), user, "owner")
    client = app.test_client()
    login(client, "fce@example.com")
    return client, organization_id


def settings_fields(app: Flask, organization_id: int, **fce: str) -> dict[str, str]:
    with app.app_context():
        organization = db.session.get_one(Organization, organization_id)
        fields = {
            "cuit": organization.cuit,
            "legal_name": organization.legal_name,
            "iva_condition": str(organization.iva_condition),
            "fce_transfer": "SCA",
        }
    return {**fields, **fce}


def editor_form(client: FlaskClient, point: int, customer_id: int, price: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_token(client, "/invoices/new"),
        "point_of_sale_id": str(point),
        "customer_id": str(customer_id),
        "concept": "1",
        "currency": "PES",
        "currency_rate": "1",
        "lines-0-description": "Bobinas de acero",
        "lines-0-quantity": "1",
        "lines-0-unit_price": price,
        "lines-0-discount_percent": "0",
        "lines-0-vat": "5",
    }


def test_settings_keep_a_checked_cbu_alias_and_transfer_option(app, shop):
    client, organization_id = shop
    wrong = post_form(
        client, "/organizations/settings", settings_fields(app, organization_id, cbu=CBU[:-1] + "2")
    )
    assert wrong.status_code == 422
    assert "sus dígitos verificadores no coinciden" in text_of(wrong)
    short = post_form(
        client, "/organizations/settings", settings_fields(app, organization_id, cbu="123")
    )
    assert "El CBU tiene que tener 22 dígitos." in text_of(short)
    alias = settings_fields(app, organization_id, cbu=CBU, cbu_alias="mi alias!")
    assert "El alias tiene de 6 a 20 caracteres" in text_of(
        post_form(client, "/organizations/settings", alias)
    )
    transfer = settings_fields(app, organization_id, cbu=CBU, fce_transfer="XYZ")
    assert post_form(client, "/organizations/settings", transfer).status_code == 422
    good = settings_fields(
        app,
        organization_id,
        cbu="2850590-9400904181352-01",
        cbu_alias="acero.sur",
        fce_transfer="ADC",
    )
    assert post_form(client, "/organizations/settings", good).status_code == 303
    with app.app_context():
        organization = db.session.get_one(Organization, organization_id)
        assert (organization.cbu, organization.cbu_alias, organization.fce_transfer) == (
            CBU,
            "acero.sur",
            "ADC",
        )
        event = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.organization_id == organization_id,
                AuditEvent.action == "organization.settings_changed",
            )
        ).one()
        assert event.details["changes"]["cbu"] == [None, CBU]
        assert event.details["changes"]["fce_transfer"] == ["SCA", "ADC"]
    page = text_of(client.get("/organizations/settings"))
    assert "Agente de Depósito Colectivo" in page


def test_wsfecred_is_asked_once_a_day_and_failures_do_not_break(app, shop):
    _client, organization_id = shop
    with app.test_request_context():
        today = arca_today(get_arca())
        environment = get_arca().environment_name
        assert cached_obligation(environment, organization_id, BIG_COMPANY, today) is None
        logins = get_arca().sandbox().login_count()
        first = fce_obligation(db.session, organization_id, BIG_COMPANY, today, get_arca())
        assert first is not None and first.obligated and first.amount_from == FCE_THRESHOLD
        assert get_arca().sandbox().login_count() == logins + 1  # a wsfecred ticket
        again = fce_obligation(db.session, organization_id, BIG_COMPANY, today, get_arca())
        assert again == first and get_arca().sandbox().login_count() == logins + 1
        assert cached_obligation(environment, organization_id, BIG_COMPANY, today) == first
        small = fce_obligation(db.session, organization_id, SMALL_COMPANY, today, get_arca())
        assert small is not None and not small.obligated
        assert fce_obligation(db.session, organization_id, "20111222", today, get_arca()) is None
        # No certificate: no answer, no error.
        bare = make_organization(owner=make_user()).id
        assert fce_obligation(db.session, bare, BIG_COMPANY, today, get_arca()) is None


def test_when_wsfecred_fails_the_editor_goes_on_without_the_offer(app, shop, faults):
    """ARCA down: no offer, no error page, and no second question within the minute."""
    client, organization_id = shop
    with app.test_request_context():
        point = point_id(organization_id)
        big = customer(organization_id, BIG_COMPANY, "1", "Gran Empresa SA")
        today = arca_today(get_arca())
        get_arca().sandbox().faults.add(http_500(service="wsfecred"))
        assert fce_obligation(db.session, organization_id, BIG_COMPANY, today, get_arca()) is None
        # The fault is used up, but the failure is remembered for a minute: not asked again.
        assert fce_obligation(db.session, organization_id, BIG_COMPANY, today, get_arca()) is None
        assert (
            cached_obligation(get_arca().environment_name, organization_id, BIG_COMPANY, today)
            is None
        )
    form = editor_form(client, point, big, "5.000.000")
    page = client.post("/invoices/new", data={**form, "action": "add_line"})
    assert page.status_code == 200 and "gran empresa" not in text_of(page)
    with app.test_request_context():
        get_cache().delete(failure_key(get_arca().environment_name, organization_id))
    offer = client.post("/invoices/fce", data=form, headers=htmx_headers())
    assert "gran empresa" in text_of(offer)  # asked again once the minute is over


def test_the_editor_offers_fce_and_saves_it(app, shop, tmp_path: Path):
    client, organization_id = shop
    with app.app_context():
        point = point_id(organization_id)
        big = customer(organization_id, BIG_COMPANY, "1", "Gran Empresa SA")
        small = customer(organization_id, SMALL_COMPANY, "1", "Talleres SA")
        today = arca_today(get_arca())
    # Below ARCA's amount, or to a company that need not receive FCE: no offer.
    below = editor_form(client, point, big, "1.000.000")
    assert "gran empresa" not in text_of(
        client.post("/invoices/fce", data=below, headers=htmx_headers())
    )
    not_big = editor_form(client, point, small, "5.000.000")
    assert "gran empresa" not in text_of(
        client.post("/invoices/fce", data=not_big, headers=htmx_headers())
    )
    form = editor_form(client, point, big, "5.000.000")
    offer = text_of(client.post("/invoices/fce", data=form, headers=htmx_headers()))
    assert (
        "Este cliente es una gran empresa: por este monto corresponde Factura de Crédito "
        "Electrónica MiPyME (FCE)" in offer
    )
    assert "$ 3.958.316,00" in offer
    # Accepting shows the panel; without a CBU it says where to set one.
    accepted = client.post("/invoices/new", data={**form, "action": "fce_on"})
    html = accepted.get_data(as_text=True)
    assert accepted.status_code == 200 and 'id="fce-panel"' in html
    assert re.search(r'name="fce"[^>]*value="1"', html) or re.search(
        r'value="1"[^>]*name="fce"', html
    )
    assert "Sin CBU cargado." in text_of(accepted)
    assert html.count('name="payment_due"') == 1  # the panel's, not also the services' one
    lacking = text_of(
        client.post("/invoices/fce", data={**form, "fce": "1"}, headers=htmx_headers())
    )
    assert "necesita la fecha de vencimiento del pago" in lacking and "(10163)" in lacking
    post_form(client, "/organizations/settings", settings_fields(app, organization_id, cbu=CBU))
    due = today.isoformat()
    saved = client.post("/invoices/new", data={**form, "fce": "1", "payment_due": due})
    assert saved.status_code == 303
    with app.app_context():
        invoice = db.session.scalars(
            select(Invoice).where(Invoice.organization_id == organization_id)
        ).one()
        assert (invoice.invoice_type, invoice.letter, invoice.fce_cbu) == (201, "A", CBU)
        assert invoice.payment_due == today and invoice.fce_transfer == "SCA"
        assert preflight_problems(db.session, invoice, get_arca()) == []
        invoice_id = invoice.id
    # The editor opens it as FCE; autosave keeps it FCE; undoing goes back to a plain A.
    edit = client.get(f"/invoices/{invoice_id}/edit").get_data(as_text=True)
    assert 'id="fce-panel"' in edit and CBU in edit
    autosaved = client.post(
        f"/invoices/{invoice_id}/autosave",
        data={**form, "fce": "1", "payment_due": due},
        headers=htmx_headers(),
    )
    assert autosaved.status_code == 200 and "no se pudo guardar" not in text_of(autosaved)
    review = text_of(client.get(f"/invoices/{invoice_id}"))
    assert "Factura de Crédito electrónica MiPyMEs (FCE) A" in review
    listed = client.get("/invoices/?tipo=201")
    assert listed.status_code == 200 and "Gran Empresa SA" in text_of(listed)
    assert 'value="201"' in listed.get_data(as_text=True)  # the type filter offers FCE
    pdf = client.get(f"/invoices/{invoice_id}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    printed = words(pdf_text(pdf.data, tmp_path)[0])
    assert "FACTURA DE CRÉDITO ELECTRÓNICA MiPyMEs (FCE)" in printed
    assert "Código 201" in printed and f"CBU del emisor: {CBU}" in printed
    assert f"Fecha de vencimiento del pago: {today.strftime('%d/%m/%Y')}" in printed
    assert "Opción de transferencia: Transferencia al Sistema de Circulación Abierta" in printed
    undone = client.post(
        f"/invoices/{invoice_id}/edit", data={**form, "fce": "1", "action": "fce_off"}
    )
    assert 'id="fce-panel"' not in undone.get_data(as_text=True)
    plain = client.post(f"/invoices/{invoice_id}/edit", data={**form, "fce": ""})
    assert plain.status_code == 303
    with app.app_context():
        invoice = db.session.get_one(Invoice, invoice_id)
        assert invoice.invoice_type == 1 and invoice.fce_cbu is None and invoice.payment_due is None
        # A plain A where ARCA calls for FCE: warned (ARCA's 10188), not refused.
        [warning] = preflight_warnings(invoice)
        assert warning.code == 10188 and warning.field == "fce"
        assert preflight_problems(db.session, invoice, get_arca()) == []
    assert "por este monto corresponde Factura de Crédito" in text_of(
        client.get(f"/invoices/{invoice_id}")
    )


def test_an_fce_draft_without_due_date_or_cbu_is_stopped_at_review(app, shop):
    client, organization_id = shop
    with app.app_context():
        point = point_id(organization_id)
        big = customer(organization_id, BIG_COMPANY, "1", "Gran Empresa SA")
    form = editor_form(client, point, big, "5.000.000")
    assert client.post("/invoices/new", data={**form, "fce": "1"}).status_code == 303
    with app.app_context():
        invoice = db.session.scalars(
            select(Invoice).where(Invoice.organization_id == organization_id)
        ).one()
        problems = {(p.field, p.code) for p in preflight_problems(db.session, invoice, get_arca())}
        assert problems == {("fce_cbu", 10168), ("payment_due", 10163)}
        invoice_id = invoice.id
    review = text_of(client.get(f"/invoices/{invoice_id}"))
    assert "lleva el CBU de la organización" in review


def test_an_fce_note_says_whether_it_cancels_a_rejected_fce(app, shop, tmp_path: Path):
    client, organization_id = shop
    with app.app_context():
        organization = db.session.get_one(Organization, organization_id)
        organization.cbu = CBU
        db.session.commit()
        point = point_id(organization_id)
        big = customer(organization_id, BIG_COMPANY, "1", "Gran Empresa SA")
    form = editor_form(client, point, big, "5.000.000")
    with app.app_context():
        today_iso = arca_today(get_arca()).isoformat()
    client.post("/invoices/new", data={**form, "fce": "1", "payment_due": today_iso})
    with app.app_context():
        original = db.session.scalars(
            select(Invoice).where(Invoice.organization_id == organization_id)
        ).one()
        # A note needs an authorized original: mark it so directly (authorization is not
        # what this test is about).
        original.status, original.number, original.cae = "authorized", 1, "12345678901234"
        db.session.commit()
        organization = db.session.get_one(Organization, organization_id)
        note = note_from(
            db.session,
            organization,
            original,
            VoucherKind.CREDIT_NOTE,
            arca_today(get_arca()),
            None,
        )
        assert note.invoice_type == 203 and note.fce_cancels_rejected is False
        note_id = note.id
    page = client.get(f"/invoices/{note_id}/edit").get_data(as_text=True)
    assert "Anula una FCE rechazada por el comprador" in page
    fields = {k: v for k, v in form.items() if k != "customer_id"}
    saved = client.post(f"/invoices/{note_id}/edit", data={**fields, "fce_cancels_rejected": "y"})
    assert saved.status_code == 303
    with app.app_context():
        assert db.session.get_one(Invoice, note_id).fce_cancels_rejected is True
    printed = words(pdf_text(client.get(f"/invoices/{note_id}/pdf").data, tmp_path)[0])
    assert "NOTA DE CRÉDITO ELECTRÓNICA MiPyMEs (FCE)" in printed
    assert "Anula una FCE rechazada por el comprador: Sí" in printed
    assert Decimal("5000000") > FCE_THRESHOLD  # the amounts above are above ARCA's
