"""A customer's data-subject requests (issue #16, Ley 25.326): owners and admins export
everything held about a customer, and erase it — a customer without vouchers is deleted; one
with vouchers keeps them untouched and loses the fields no voucher carries."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from blueprints.audit.models import AuditEvent
from blueprints.customers.models import Customer
from blueprints.customers.privacy import anonymize_expired_snapshots
from blueprints.customers.rules import CustomerFields
from blueprints.customers.services import create_customer
from blueprints.invoices.mailing import email_invoice
from blueprints.invoices.models import Invoice
from blueprints.organizations.models import Organization, Role
from core.db import db
from core.mail import MailMessage
from tests.api import Api, make_api_key
from tests.factories import add_member, make_organization, make_user, next_cuit
from tests.integration.test_invoices import COFFEE, authorize, certified, draft
from tests.web import csrf_token, login, text_of

ADMIN = "admin@example.com"
EMAIL = "compras@cliente.example.com"


def make_customer(organization_id: int, name: str, emails: str = EMAIL) -> int:
    fields = CustomerFields(
        "80",
        next_cuit("30"),
        name,
        "1",
        emails=emails,
        phone="11 4444-5555",
        notes="Paga con cheque",
        payment_terms_days="30",
    )
    return create_customer(db.session, organization_id, fields, None).id


@pytest.fixture
def shop(app: Flask) -> int:
    with app.app_context():
        organization_id = certified()
        organization = db.session.get_one(Organization, organization_id)
        add_member(organization, make_user(ADMIN), Role.ADMIN)
        add_member(organization, make_user("caja@example.com"), Role.MEMBER)
        return organization_id


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    login(client, email)
    return client


def invoiced_customer(app: Flask, organization_id: int) -> tuple[int, int, int]:
    """A customer with an authorized invoice (emailed to them) and a draft: (customer,
    invoice, draft)."""
    with app.test_request_context():
        customer_id = make_customer(organization_id, "Cliente Con Facturas SA")
        invoice = authorize(draft(organization_id, [COFFEE], customer_id=customer_id).id)
        email_invoice(db.session, invoice, None)
        pending = draft(organization_id, [COFFEE], customer_id=customer_id)
        # Someone else's email is not theirs.
        other = authorize(draft(organization_id, [COFFEE]).id)
        email_invoice(db.session, other, ["otra@example.com"])
        return customer_id, invoice.id, pending.id


def actions(app: Flask, customer_id: int) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.subject_type == "customer", AuditEvent.subject_id == customer_id)
                .order_by(AuditEvent.seq)
            )
        )


def test_the_export_holds_everything_about_the_customer(app: Flask, shop: int) -> None:
    customer_id, invoice_id, draft_id = invoiced_customer(app, shop)
    admin = signed_in(app, ADMIN)
    page = admin.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert 'id="customer-privacy-export"' in page
    response = admin.post(
        f"/customers/{customer_id}/privacy/export",
        data={"csrf_token": csrf_token(admin, f"/customers/{customer_id}")},
    )
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    document = json.loads(archive.read("customer.json"))
    assert document["customer"]["id"] == customer_id
    assert document["customer"]["emails"] == EMAIL
    assert document["customer"]["phone"] == "11 4444-5555"

    api = Api(app, make_api_key(app, shop, ["invoices:read"]))
    assert [invoice["id"] for invoice in document["invoices"]] == [invoice_id, draft_id]
    for invoice in document["invoices"]:
        assert invoice == api.get(f"/api/v1/invoices/{invoice['id']}").get_json()
    assert [mail["invoice_id"] for mail in document["mails"]] == [invoice_id]
    assert document["mails"][0]["to"] == EMAIL and document["mails"][0]["text"]
    assert "customer.create" in {entry["action"] for entry in document["audit"]}
    assert any(entry["subject_type"] == "invoice" for entry in document["audit"])
    pdfs = [name for name in archive.namelist() if name.startswith("invoices/")]
    assert len(pdfs) == 1 and archive.read(pdfs[0]).startswith(b"%PDF")

    exported = [event for event in actions(app, customer_id) if event.action == "customer.exported"]
    assert len(exported) == 1 and exported[0].actor == ADMIN
    assert exported[0].details["invoices"] == 2


def test_a_customer_without_vouchers_is_deleted(app: Flask, shop: int) -> None:
    with app.app_context():
        customer_id = make_customer(shop, "Sin Facturas SRL")
        pending = draft(shop, [COFFEE], customer_id=customer_id).id
    owner_page = f"/customers/{customer_id}"
    admin = signed_in(app, ADMIN)
    token = csrf_token(admin, owner_page)
    response = admin.post(
        f"/customers/{customer_id}/privacy/erase", data={"csrf_token": token, "confirm": "Borrar"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/customers/"
    with app.app_context():
        assert db.session.get(Customer, customer_id) is None
        assert db.session.get(Invoice, pending) is None  # the unsent draft went with it
    erased = [event for event in actions(app, customer_id) if event.action == "customer.erased"]
    assert len(erased) == 1
    assert erased[0].details["deleted"] is True
    assert erased[0].details["drafts_deleted"] == 1


def test_a_customer_with_vouchers_keeps_them_and_loses_the_rest(app: Flask, shop: int) -> None:
    customer_id, invoice_id, draft_id = invoiced_customer(app, shop)
    api = Api(app, make_api_key(app, shop, ["invoices:read", "customers:read"]))
    before = api.get(f"/api/v1/invoices/{invoice_id}").get_json()
    admin = signed_in(app, ADMIN)
    page = f"/customers/{customer_id}"

    # Without the confirmation word nothing happens.
    refused = admin.post(
        f"{page}/privacy/erase", data={"csrf_token": csrf_token(admin, page), "confirm": "si"}
    )
    assert refused.status_code == 422
    assert "Escribí «borrar» para confirmar el borrado." in text_of(refused)
    with app.app_context():
        assert db.session.get_one(Customer, customer_id).emails == EMAIL

    response = admin.post(
        f"{page}/privacy/erase", data={"csrf_token": csrf_token(admin, page), "confirm": "borrar"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == page
    with app.app_context():
        customer = db.session.get_one(Customer, customer_id)
        assert (customer.emails, customer.phone, customer.notes) == ("", None, None)
        assert customer.payment_terms_days is None
        assert customer.erased_at is not None and customer.archived
        assert "compras" not in customer.search_text and "cheque" not in customer.search_text
        assert customer.legal_name == "Cliente Con Facturas SA"  # it is on the voucher
        assert db.session.get(Invoice, draft_id) is None
        assert db.session.get(Invoice, invoice_id) is not None
    assert api.get(f"/api/v1/invoices/{invoice_id}").get_json() == before
    reflected = api.get(f"/api/v1/customers/{customer_id}").get_json()
    assert reflected["emails"] == [] and reflected["phone"] is None and reflected["archived"]

    erased = [event for event in actions(app, customer_id) if event.action == "customer.erased"]
    assert len(erased) == 1
    details = erased[0].details
    assert details["deleted"] is False and details["invoices_kept"] == 1
    assert details["erased_fields"] == ["emails", "phone", "notes", "payment_terms_days"]
    assert EMAIL not in json.dumps(details) and "cheque" not in json.dumps(details)
    # The pages say so: nobody fills the data back in without noticing.
    assert f'id="customer-{customer_id}-erased"' in admin.get(page).get_data(as_text=True)
    edit = admin.get(f"{page}/edit").get_data(as_text=True)
    assert f'id="customer-{customer_id}-erased"' in edit


def test_when_retention_removed_the_vouchers_the_erased_customer_goes_too(
    app: Flask, shop: int
) -> None:
    """No invoice refers to an erased customer any more (retention deleted them): the row
    left, with its name and document, is deleted; a customer with vouchers stays."""
    customer_id, _invoice_id, _draft_id = invoiced_customer(app, shop)
    admin = signed_in(app, ADMIN)
    page = f"/customers/{customer_id}"
    admin.post(
        f"{page}/privacy/erase", data={"csrf_token": csrf_token(admin, page), "confirm": "borrar"}
    )
    with app.app_context():
        leftover = db.session.get_one(Customer, customer_id)
        gone = Customer(
            organization_id=shop,
            doc_type=80,
            doc_number=next_cuit("30"),
            legal_name="Ya Sin Comprobantes SA",
            iva_condition=1,
            sort_name="ya sin comprobantes sa",
            search_text="ya sin comprobantes sa",
            erased_at=leftover.erased_at,
        )
        db.session.add(gone)
        db.session.commit()
        gone_id = gone.id
        today = leftover.erased_at.date() if leftover.erased_at else None
        assert today is not None
        assert anonymize_expired_snapshots(db.session, today) == 1
        assert db.session.get(Customer, gone_id) is None
        assert db.session.get(Customer, customer_id) is not None


@pytest.mark.parametrize("path", ["privacy/export", "privacy/erase"])
def test_members_may_not_and_other_organizations_do_not_find_it(
    app: Flask, shop: int, path: str
) -> None:
    with app.app_context():
        customer_id = make_customer(shop, "Ajeno SA")
        make_organization(make_user("otra@example.com"))
    member = signed_in(app, "caja@example.com")
    assert 'id="customer-privacy-export"' not in member.get(f"/customers/{customer_id}").get_data(
        as_text=True
    )
    data = {"csrf_token": csrf_token(member, "/"), "confirm": "borrar"}
    assert member.post(f"/customers/{customer_id}/{path}", data=data).status_code == 403
    stranger = signed_in(app, "otra@example.com")
    data = {"csrf_token": csrf_token(stranger, "/"), "confirm": "borrar"}
    assert stranger.post(f"/customers/{customer_id}/{path}", data=data).status_code == 404
    with app.app_context():
        assert db.session.get_one(Customer, customer_id).emails == EMAIL
        assert not db.session.scalars(
            select(MailMessage).where(MailMessage.organization_id == shop)
        ).all()
