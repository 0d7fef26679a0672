"""Tenancy is structural: every route, given another organization's ids, answers 404.

The routes come from the app's URL map, so a route added later is covered (or this test fails
until its argument has a factory below).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app import create_app
from blueprints.api.services import KeyRequest, create_api_key
from blueprints.certificates.services import generate_request
from blueprints.customers.imports import UploadedCsv, preview_import
from blueprints.customers.rules import CustomerFields
from blueprints.customers.services import create_customer
from blueprints.exports.models import Export, ExportStatus
from blueprints.invoices.bulk import start_bulk
from blueprints.invoices.services import DraftInput, save_draft
from blueprints.invoices.totals import Line
from blueprints.organizations.models import Membership, MembershipStatus, Organization, Role
from blueprints.organizations.services import hash_token
from blueprints.points_of_sale.models import PointOfSale
from core.crypto import get_keyring
from core.db import db, utcnow
from tests.conftest import base_config
from tests.factories import add_member, make_organization, make_user
from tests.web import csrf_token, htmx_headers, login
from tests.webhooks_world import endpoint_and_delivery


@dataclass
class Tenant:
    organization_id: int
    membership_id: int
    invitation_token: str
    legal_name: str
    certificate_id: int
    point_of_sale_id: int
    customer_id: int
    import_id: int
    invoice_id: int
    key: str
    export_id: int
    api_key_id: int
    endpoint_id: int
    delivery_id: int


ARGUMENTS: dict[str, Callable[[Tenant], object]] = {
    "organization_id": lambda t: t.organization_id,
    "membership_id": lambda t: t.membership_id,
    "token": lambda t: t.invitation_token,
    "certificate_id": lambda t: t.certificate_id,
    "point_of_sale_id": lambda t: t.point_of_sale_id,
    "customer_id": lambda t: t.customer_id,
    "import_id": lambda t: t.import_id,
    "invoice_id": lambda t: t.invoice_id,
    "key": lambda t: t.key,
    "export_id": lambda t: t.export_id,
    "key_id": lambda t: t.api_key_id,
    "endpoint_id": lambda t: t.endpoint_id,
    "delivery_id": lambda t: t.delivery_id,
}
# A reset or verification link carries a signed token of one account, not an organization's
# id: tests/integration/security/test_password_reset.py and test_email_verification.py check
# that a link works only for its account.
IGNORED_ENDPOINTS = {"static", "auth.reset_link", "auth.verify_email"}


def routes_with_ids() -> list[tuple[str, str, str]]:
    url_map = create_app(base_config(DATABASE_URL="sqlite://")).url_map
    return sorted(
        (rule.endpoint, rule.rule, method)
        for rule in url_map.iter_rules()
        if rule.arguments
        and rule.endpoint not in IGNORED_ENDPOINTS
        # The JSON API answers a browser session 401, never 404: its tenancy is tested with
        # keys (tests/integration/api/).
        and not rule.endpoint.startswith("api.")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    )


ROUTES = routes_with_ids()


def invitation(session: Session, organization_id: int, email: str, token: str) -> None:
    session.add(
        Membership(
            organization_id=organization_id,
            email=email,
            role=Role.MEMBER,
            status=MembershipStatus.PENDING,
            invite_token_hash=hash_token(token),
            invite_expires_at=utcnow() + dt.timedelta(days=7),
        )
    )
    session.commit()


def build_tenants(app: Flask) -> tuple[Tenant, Tenant]:
    """Ana works in 'Propia'; 'Ajena' is someone else's business with the same kinds of data."""
    with app.app_context():
        ana = make_user(email="ana@example.com")
        own = make_organization(owner=ana, legal_name="Propia SRL")
        own_colleague = add_member(own, make_user(), Role.MEMBER)
        other = make_organization(owner=make_user(), legal_name="Ajena Secreta SA")
        other_member = add_member(other, make_user(), Role.MEMBER)
        # Ana's own pending invitation comes from a third business; Ajena's is for someone else.
        third = make_organization(owner=make_user(), legal_name="Tercera SA")
        invitation(db.session, third.id, "ana@example.com", "own-token")
        invitation(db.session, other.id, "alguien@ajena.example", "other-token")
        own_certificate = pending_certificate(own)
        other_certificate = pending_certificate(other)
        own_point, other_point = point_of_sale(own), point_of_sale(other)
        return (
            Tenant(
                own.id,
                own_colleague.id,
                "own-token",
                own.legal_name,
                own_certificate,
                own_point,
                customer(own),
                customer_import(own),
                invoice(own),
                bulk_key(own),
                export(own),
                api_key(own),
                *endpoint_and_delivery(own.id),
            ),
            Tenant(
                other.id,
                other_member.id,
                "other-token",
                other.legal_name,
                other_certificate,
                other_point,
                customer(other),
                customer_import(other),
                invoice(other),
                bulk_key(other),
                export(other),
                api_key(other),
                *endpoint_and_delivery(other.id),
            ),
        )


def pending_certificate(organization: Organization) -> int:
    keyring = get_keyring()
    return generate_request(db.session, organization, None, "sandbox", "tenancy", keyring).id


def point_of_sale(organization: Organization) -> int:
    point = PointOfSale(organization_id=organization.id, number=1)
    db.session.add(point)
    db.session.commit()
    return point.id


def customer(organization: Organization) -> int:
    fields = CustomerFields("80", "20-11111111-2", "Cliente de prueba", "1")
    return create_customer(db.session, organization.id, fields, None).id


def customer_import(organization: Organization) -> int:
    upload = UploadedCsv("c.csv", b"tipo_documento;numero_documento;razon_social;condicion_iva\n")
    upload = UploadedCsv(upload.name, upload.data + b"96;30111222;Ana;5\n")
    return preview_import(db.session, organization.id, None, upload).id


def invoice(organization: Organization) -> int:
    point = db.session.scalars(
        select(PointOfSale).where(PointOfSale.organization_id == organization.id)
    ).first()
    assert point is not None
    lines = [Line("Servicio", Decimal("1"), Decimal("100"))]
    draft = DraftInput(point.id, None, dt.date.today(), lines)
    return save_draft(db.session, organization, draft, None).id


def bulk_key(organization: Organization) -> str:
    return start_bulk(db.session, organization.id, [])


def export(organization: Organization) -> int:
    """A built export (its file downloadable)."""
    record = Export(
        organization_id=organization.id,
        kind="invoices_csv",
        parameters={},
        status=ExportStatus.DONE,
        filename="comprobantes.csv",
        mimetype="text/csv",
        content=organization.legal_name.encode(),
        size=len(organization.legal_name),
        expires_at=utcnow() + dt.timedelta(days=1),
    )
    db.session.add(record)
    db.session.commit()
    return record.id


def api_key(organization: Organization) -> int:
    request = KeyRequest("Tienda", ("organization:read",), None, 120)
    key, _secret = create_api_key(db.session, organization.id, None, request, "sandbox")
    return key.id


def url_for_tenant(app: Flask, endpoint: str, tenant: Tenant) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {name: ARGUMENTS[name](tenant) for name in rule.arguments}
    return app.url_map.bind("localhost").build(endpoint, values)


def request_as_ana(app: Flask, endpoint: str, method: str, tenant: Tenant) -> TestResponse:
    client = app.test_client()
    login(client, "ana@example.com")
    headers = htmx_headers(csrf_token(client, "/")) if method != "GET" else {}
    url = url_for_tenant(app, endpoint, tenant)
    return client.open(url, method=method, headers=headers, data={"role": "member"})


def test_every_route_argument_has_a_factory() -> None:
    assert ROUTES, "the URL map has routes with ids"
    url_map = create_app(base_config(DATABASE_URL="sqlite://")).url_map
    for rule in url_map.iter_rules():
        if rule.endpoint not in IGNORED_ENDPOINTS and not rule.endpoint.startswith("api."):
            assert set(rule.arguments) <= ARGUMENTS.keys(), f"add a factory for {rule.rule}"


@pytest.mark.parametrize(("endpoint", "rule", "method"), ROUTES)
def test_other_organizations_ids_answer_404(
    app: Flask, endpoint: str, rule: str, method: str
) -> None:
    own, other = build_tenants(app)
    response = request_as_ana(app, endpoint, method, other)
    assert response.status_code == 404, f"{method} {rule} -> {response.status_code}"
    assert other.legal_name not in response.get_data(as_text=True)
    # The same route with Ana's own ids is not a 404: the refusal is about whose data it is.
    response_own = request_as_ana(app, endpoint, method, own)
    assert response_own.status_code != 404, f"{method} {rule} with own ids"
