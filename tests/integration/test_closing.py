"""Closing an organization: the owner confirms with the CUIT and their password; then it is
read-only, its keys, webhooks and private keys are gone; purged once retention lets it go."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import select

from blueprints.audit.models import AuditEvent
from blueprints.certificates.connection import arca_client
from blueprints.certificates.models import AccessTicketRecord, Certificate
from blueprints.certificates.secrets import private_key_aad
from blueprints.certificates.services import load_credential
from blueprints.invoices.models import Invoice
from blueprints.organizations.closing import purge_closed
from blueprints.organizations.models import Membership, MembershipStatus, Organization, Role
from blueprints.webhooks.models import WebhookEndpoint
from blueprints.webhooks.services import create_endpoint
from core.arca import get_arca
from core.crypto import get_keyring
from core.db import db, utcnow
from core.errors import Conflict
from tests.api import Api, make_api_key
from tests.factories import PASSWORD, add_member, make_organization, make_user
from tests.integration.test_invoices import COFFEE, authorize, certified, draft
from tests.web import csrf_token, login, text_of
from tests.webhooks_world import PUBLIC_URL


def owner_email(organization_id: int) -> str:
    membership = db.session.scalars(
        select(Membership).where(
            Membership.organization_id == organization_id, Membership.role == Role.OWNER
        )
    ).one()
    return membership.email


def test_the_owner_closes_and_the_organization_becomes_read_only(app: Flask) -> None:
    with app.app_context():
        organization_id = certified()
        authorize(draft(organization_id, [COFFEE]).id)
        organization = db.session.get_one(Organization, organization_id)
        cuit, email = organization.cuit, owner_email(organization_id)
        member = make_user()
        add_member(organization, member, Role.MEMBER)
        member_email = member.email
        db.session.add(
            Membership(
                organization=organization,
                email="invitada@example.com",
                role=Role.ACCOUNTANT,
                status=MembershipStatus.PENDING,
                invite_token_hash="a" * 64,
            )
        )
        db.session.commit()
        endpoint_id = create_endpoint(
            db.session, organization_id, PUBLIC_URL, ["invoice.authorized"]
        ).id
    api = Api(app, make_api_key(app, organization_id))
    assert api.get("/api/v1/customers").status_code == 200
    member_client = app.test_client()
    login(member_client, member_email)
    assert member_client.get("/organizations/members").status_code == 200

    owner = app.test_client()
    login(owner, email)
    page = owner.get("/organizations/close")
    assert page.status_code == 200
    assert 'name="cuit"' in page.get_data(as_text=True)
    assert 'name="password"' in page.get_data(as_text=True)
    token = csrf_token(owner, "/organizations/close")

    wrong_cuit = owner.post(
        "/organizations/close",
        data={"csrf_token": token, "cuit": "20-27654321-1", "password": PASSWORD},
    )
    assert wrong_cuit.status_code == 422
    assert "El CUIT no coincide con el de la organización." in text_of(wrong_cuit)
    wrong_password = owner.post(
        "/organizations/close", data={"csrf_token": token, "cuit": cuit, "password": "otra-cosa"}
    )
    assert wrong_password.status_code == 422
    assert "La contraseña no es correcta." in text_of(wrong_password)
    with app.app_context():
        assert db.session.get_one(Organization, organization_id).closed_at is None
        assert db.session.scalar(select(sa.func.count(Membership.id))) == 3

    typed = f"{cuit[:2]}-{cuit[2:10]}-{cuit[10]}"  # as people write it
    closed = owner.post(
        "/organizations/close", data={"csrf_token": token, "cuit": typed, "password": PASSWORD}
    )
    assert closed.status_code == 303

    # Read-only: pages answer, every write is refused with the reason.
    assert "está cerrada" in text_of(owner.get("/organizations/close"))
    assert owner.get("/invoices/").status_code == 200
    refused = owner.post(
        "/organizations/settings", data={"csrf_token": token, "legal_name": "Otra SRL"}
    )
    assert refused.status_code == 403
    assert "La organización está cerrada: sólo lectura." in text_of(refused)
    refused_json = owner.post(
        "/customers/new", data={"csrf_token": token}, headers={"Accept": "application/json"}
    )
    assert refused_json.status_code == 403
    assert refused_json.get_json()["detail"] == "La organización está cerrada: sólo lectura."

    # The API key is revoked; the member is out; the webhook endpoint is off.
    assert api.get("/api/v1/customers").status_code == 401
    assert member_client.get("/organizations/members").status_code == 302
    with app.app_context():
        assert db.session.get_one(Organization, organization_id).closed_at is not None
        memberships = db.session.scalars(select(Membership)).all()
        assert [m.email for m in memberships] == [email]
        endpoint = db.session.get_one(WebhookEndpoint, endpoint_id)
        assert not endpoint.enabled and endpoint.disabled_reason == "organization closed"
        assert db.session.scalars(select(AccessTicketRecord)).all() == []
        # Crypto-shredding: the sealed key opens to nothing; no WSAA login can be signed.
        certificate = db.session.scalars(select(Certificate)).one()
        sealed = get_keyring().decrypt(certificate.private_key, private_key_aad(certificate))
        assert sealed == b""
        with pytest.raises(Conflict, match="se destruyó"):
            load_credential(db.session, certificate, get_keyring())
        client = arca_client(db.session, organization_id, get_arca())
        with pytest.raises(Conflict), client as arca:
            arca.wsfe.last_authorized(1, 6)
        db.session.rollback()
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.organization_id == organization_id)
        ).all()
        assert "organization.closed" in actions and "api_key.revoked" in actions
    verified = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    # The owner's own account is not the organization's: signing out still works.
    assert owner.post("/auth/logout", data={"csrf_token": token}).status_code in (302, 303)


def backdated_invoice(organization_id: int, issue_date: dt.date, number: int) -> None:
    """A voucher that took a number on `issue_date` (inserted as retention finds it)."""
    invoice = draft(organization_id, [COFFEE])
    db.session.execute(
        sa.update(Invoice)
        .where(Invoice.id == invoice.id)
        .values(issue_date=issue_date, number=number, cae="12345678901234")
    )
    db.session.commit()


def closed_with_vouchers(*issue_dates: dt.date) -> int:
    organization_id = certified()
    for number, issue_date in enumerate(issue_dates, start=1):
        backdated_invoice(organization_id, issue_date, number)
    db.session.get_one(Organization, organization_id).closed_at = utcnow()
    db.session.commit()
    return organization_id


def test_purge_waits_for_the_last_voucher_to_leave_retention(app: Flask) -> None:
    today = dt.date(2026, 12, 4)
    with app.app_context():
        open_one = make_organization(owner=make_user()).id
        assert purge_closed(db.session, open_one, today) is False  # not closed
        # 2018's vouchers are kept until 2025-12-31; 2020's until 2027-12-31.
        keeping = closed_with_vouchers(dt.date(2018, 3, 1), dt.date(2020, 6, 1))
        due = closed_with_vouchers(dt.date(2018, 3, 1), dt.date(2018, 11, 30))
        assert purge_closed(db.session, keeping, today) is False
        assert db.session.get(Organization, keeping) is not None
        # Whatever the caller's date says, the database keeps a voucher within retention.
        with pytest.raises(sa.exc.DBAPIError, match="kept until"):
            purge_closed(db.session, keeping, dt.date(2028, 1, 1))
        db.session.rollback()

        assert purge_closed(db.session, due, today) is True
        db.session.expire_all()
        assert db.session.get(Organization, due) is None
        left = select(sa.func.count(AuditEvent.id)).where(AuditEvent.organization_id == due)
        assert db.session.scalar(left) == 0
        assert db.session.scalar(select(sa.func.count(Invoice.id))) == 2  # keeping's
        assert db.session.get(Organization, keeping) is not None
        assert db.session.get(Organization, open_one) is not None
