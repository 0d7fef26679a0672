"""Every security- and fiscal-relevant action leaves its audit entry: driven through the web
pages, the API or the services the jobs run, then read back (action, actor, address, details)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from typing import Any

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from arca.sandbox import reject_next
from blueprints.audit.models import AuditEvent
from blueprints.auth.models import User
from blueprints.auth.recovery import reset_token
from blueprints.auth.two_factor import enrolment_secret
from blueprints.invoices.authorization import authorize_invoice
from blueprints.organizations.models import Membership, MembershipStatus, Organization, Role
from blueprints.webhooks.delivery import GIVE_UP, disable_and_tell
from blueprints.webhooks.models import WebhookEndpoint
from core.arca import get_arca
from core.crypto import get_keyring
from core.db import db, utcnow
from tests.api import Api, make_api_key
from tests.batches import certified_drafts, send_batch
from tests.exports import exported
from tests.factories import PASSWORD, add_member, make_organization, make_user
from tests.web import csrf_token, htmx_headers, post_form, text_of
from tests.webhooks_world import PUBLIC_URL

ADDRESS = "203.0.113.5"
AGENT = "Pruebas/1.0 (auditoría)"
FROM = {"environ_base": {"REMOTE_ADDR": ADDRESS}, "headers": {"User-Agent": AGENT}}
NEW_PASSWORD = "tres-tigres-tragan-trigo"
INVITE_LINK = re.compile(r'value="http://localhost(/organizations/invitations/[^"]+)"')


def entries(app: Flask, organization_id: int, action: str | None = None) -> list[dict[str, Any]]:
    """The organization's entries (of `action`), oldest first, as plain dicts."""
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.organization_id == organization_id)
        if action:
            query = query.where(AuditEvent.action == action)
        return [
            {
                "action": row.action,
                "actor": row.actor,
                "user_id": row.user_id,
                "subject": (row.subject_type, row.subject_id),
                "details": row.details,
                "address": row.address,
                "user_agent": row.user_agent,
            }
            for row in db.session.scalars(query.order_by(AuditEvent.seq))
        ]


def only(app: Flask, organization_id: int, action: str) -> dict[str, Any]:
    found = entries(app, organization_id, action)
    assert len(found) == 1, (action, found)
    return found[0]


def owner_of_new_organization(app: Flask, email: str = "duena@example.com") -> tuple[int, int]:
    with app.app_context():
        user = make_user(email=email)
        return make_organization(owner=user).id, user.id


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    signing_in = post_form(client, "/auth/login", {"email": email, "password": PASSWORD}, **FROM)
    assert signing_in.status_code == 303, text_of(signing_in)
    return client


def test_sign_in_failures_and_sign_out_go_to_each_organization_of_the_person(app: Flask) -> None:
    with app.app_context():
        ana = make_user(email="ana@example.com")
        first, second = make_organization(owner=ana), make_organization()
        add_member(second, ana, Role.ACCOUNTANT)
        pending = make_organization()
        held = add_member(pending, ana, Role.MEMBER)
        held.status = MembershipStatus.PENDING
        db.session.commit()
        mine, pending_id, user_id = (first.id, second.id), pending.id, ana.id
    client = app.test_client()
    wrong = {"email": "ana@example.com", "password": "no-es-esta"}
    assert post_form(client, "/auth/login", wrong, **FROM).status_code == 422
    unknown = {"email": "nadie@example.com", "password": "no-es-esta"}
    assert post_form(client, "/auth/login", unknown, **FROM).status_code == 422
    for organization_id in mine:
        failed = only(app, organization_id, "auth.login_failed")
        assert failed["actor"] == "ana@example.com" and failed["user_id"] == user_id
        assert (failed["address"], failed["user_agent"]) == (ADDRESS, AGENT)
        assert failed["details"] == {} and failed["subject"] == ("user", user_id)
    assert entries(app, pending_id) == []  # not a member yet; the unknown email: nowhere

    client = signed_in(app, "ana@example.com")
    for organization_id in mine:
        signed = only(app, organization_id, "auth.login")
        assert (signed["actor"], signed["address"]) == ("ana@example.com", ADDRESS)
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/")}, **FROM)
    for organization_id in mine:
        assert only(app, organization_id, "auth.logout")["address"] == ADDRESS
    assert entries(app, pending_id) == []


def test_password_sessions_and_two_factor_changes_are_recorded(app: Flask) -> None:
    organization_id, user_id = owner_of_new_organization(app)
    client = signed_in(app, "duena@example.com")
    changed = post_form(
        client,
        "/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD},
        **FROM,
    )
    assert changed.status_code == 303, text_of(changed)
    entry = only(app, organization_id, "auth.password_changed")
    assert entry["actor"] == "duena@example.com" and entry["address"] == ADDRESS
    assert PASSWORD not in json.dumps(entry) and NEW_PASSWORD not in json.dumps(entry)

    ended = post_form(client, "/account/sessions/end-others", {}, token_from="/account/sessions")
    assert ended.status_code in (200, 303)
    assert only(app, organization_id, "auth.sessions_revoked")["details"] == {"all_sessions": False}

    settings = "/account/two-factor"
    assert post_form(client, f"{settings}/start", {}, token_from=settings).status_code == 303
    with app.app_context():
        secret = enrolment_secret(get_keyring(), db.session.get_one(User, user_id))
    assert secret is not None
    code = pyotp.TOTP(secret).at(utcnow())
    confirmed = post_form(client, f"{settings}/confirm", {"code": code}, token_from=settings)
    assert confirmed.status_code == 200, text_of(confirmed)
    assert only(app, organization_id, "auth.two_factor_enabled")["details"] == {}
    recovery = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", confirmed.get_data(as_text=True))
    off = post_form(
        client,
        f"{settings}/disable",
        {"password": NEW_PASSWORD, "code": recovery[0]},
        token_from=settings,
    )
    assert off.status_code == 303, text_of(off)
    entry = only(app, organization_id, "auth.two_factor_disabled")
    assert recovery[0] not in json.dumps(entry) and secret not in json.dumps(entry)

    with app.app_context():
        token = reset_token(db.session.get_one(User, user_id))
    person = app.test_client()
    person.get(f"/auth/password/reset/{token}")
    chosen = {"password": PASSWORD, "confirm": PASSWORD}
    reset = post_form(person, "/auth/password/reset", chosen, **FROM)
    assert reset.status_code == 303, text_of(reset)
    entry = only(app, organization_id, "auth.password_reset")
    assert entry["actor"] == "duena@example.com" and entry["address"] == ADDRESS


def test_invitations_roles_and_removals_are_recorded(app: Flask) -> None:
    organization_id, _owner_id = owner_of_new_organization(app)
    with app.app_context():
        make_user(email="carla@example.com")
    owner = signed_in(app, "duena@example.com")

    def invite(email: str) -> str:
        token = csrf_token(owner, "/organizations/members")
        response = owner.post(
            "/organizations/members/invite",
            data={"email": email, "role": "accountant"},
            headers=htmx_headers(token),
        )
        assert response.status_code == 200, text_of(response)
        found = INVITE_LINK.search(response.get_data(as_text=True))
        assert found
        return found.group(1)

    def membership_id(email: str) -> int:
        with app.app_context():
            query = select(Membership.id).where(
                Membership.organization_id == organization_id, Membership.email == email
            )
            return db.session.scalars(query).one()

    def post(path: str, data: dict[str, str] | None = None) -> None:
        token = csrf_token(owner, "/organizations/members")
        response = owner.post(
            path, data=data or {}, headers=htmx_headers(token), environ_base=FROM["environ_base"]
        )
        assert response.status_code == 200, text_of(response)

    link = invite("beto@example.com")
    beto = membership_id("beto@example.com")
    invited = only(app, organization_id, "membership.invited")
    assert invited["actor"] == "duena@example.com" and invited["subject"] == ("membership", beto)
    assert invited["details"] == {"email": "beto@example.com", "role": "accountant"}
    assert link.rsplit("/", 1)[1] not in json.dumps(invited)  # the token is a secret
    post(f"/organizations/members/{beto}/remove")
    revoked = only(app, organization_id, "membership.invitation_revoked")
    assert revoked["details"]["email"] == "beto@example.com"

    carla_link = invite("carla@example.com")
    carla_client = signed_in(app, "carla@example.com")
    accepted = post_form(carla_client, carla_link, {})
    assert accepted.status_code == 303, text_of(accepted)
    carla = membership_id("carla@example.com")
    entry = only(app, organization_id, "membership.accepted")
    assert (entry["actor"], entry["subject"]) == ("carla@example.com", ("membership", carla))

    post(f"/organizations/members/{carla}/role", {"role": "member"})
    changed = only(app, organization_id, "membership.role_changed")
    assert changed["details"] == {"email": "carla@example.com", "role": ["accountant", "member"]}
    assert changed["address"] == ADDRESS
    post(f"/organizations/members/{carla}/remove")
    removed = only(app, organization_id, "membership.removed")
    assert removed["details"] == {"email": "carla@example.com", "role": "member"}


def test_settings_changes_are_a_diff_without_the_logo_bytes(app: Flask) -> None:
    organization_id, _owner_id = owner_of_new_organization(app)
    with app.app_context():
        organization = db.session.get_one(Organization, organization_id)
        cuit, old_name = organization.cuit, organization.legal_name
    client = signed_in(app, "duena@example.com")
    picture = io.BytesIO()
    Image.new("RGB", (40, 20), (0, 120, 200)).save(picture, "PNG")
    saved = post_form(
        client,
        "/organizations/settings",
        {
            "cuit": cuit,
            "legal_name": "Nombre Nuevo SRL",
            "iva_condition": "responsable_inscripto",
            "require_two_factor": "y",
            "logo": (io.BytesIO(picture.getvalue()), "logo.png"),
        },
        **FROM,
    )
    assert saved.status_code == 303, text_of(saved)
    entry = only(app, organization_id, "organization.settings_changed")
    assert entry["details"] == {
        "changes": {"legal_name": [old_name, "Nombre Nuevo SRL"], "logo": "changed"}
    }
    assert entry["actor"] == "duena@example.com" and entry["address"] == ADDRESS
    policy = only(app, organization_id, "organization.two_factor_policy")
    assert policy["details"] == {"require_two_factor": [False, True]}


def test_arca_outcomes_are_recorded_with_the_voucher(app: Flask, faults: None) -> None:
    with app.app_context():
        organization_id, _cuit, ids = certified_drafts(3)
        get_arca().sandbox().faults.add(reject_next(10048))
        assert authorize_invoice(db.session, ids[0], get_arca()).status == "rejected"
        authorized = authorize_invoice(db.session, ids[0], get_arca())
        number, cae, total = authorized.number, authorized.cae, str(authorized.total)
        outcome, _statements = send_batch(organization_id, ids[1:])
        assert outcome.authorized == ids[1:]
    rejected = only(app, organization_id, "invoice.rejected")
    assert rejected["subject"] == ("invoice", ids[0]) and 10048 in rejected["details"]["codes"]
    assert rejected["details"]["kind"] == "invoice"
    found = entries(app, organization_id, "invoice.authorized")
    assert [entry["subject"] for entry in found] == [("invoice", i) for i in ids]
    assert found[0]["details"] == {
        "kind": "invoice",
        "point_of_sale": 1,
        "number": number,
        "cae": cae,
        "total": total,
    }
    assert [entry["details"]["number"] for entry in found] == [1, 2, 3]


def test_webhook_endpoints_by_page_and_by_api_key(app: Flask) -> None:
    organization_id, _owner_id = owner_of_new_organization(app)
    client = signed_in(app, "duena@example.com")
    events = ["invoice.authorized"]
    made = post_form(client, "/webhooks/", {"url": PUBLIC_URL, "events": events}, **FROM)
    assert made.status_code == 303, text_of(made)
    page = made.headers["Location"]
    endpoint_id = int(page.rstrip("/").rsplit("/", 1)[1])
    changed = {"url": PUBLIC_URL + "/v2", "events": events, "description": "ERP"}
    assert post_form(client, page, changed).status_code == 303  # unchecked: disabled
    assert post_form(client, f"{page}/rotate", {}, token_from=page).status_code == 200
    assert post_form(client, f"{page}/delete", {}, token_from="/webhooks/").status_code == 303
    created = only(app, organization_id, "webhook.created")
    assert created["actor"] == "duena@example.com" and created["address"] == ADDRESS
    assert created["subject"] == ("webhook_endpoint", endpoint_id)
    updated = only(app, organization_id, "webhook.updated")["details"]
    assert updated["changes"] == {"url": [PUBLIC_URL, PUBLIC_URL + "/v2"], "enabled": [True, False]}
    only(app, organization_id, "webhook.secret_rotated")
    only(app, organization_id, "webhook.deleted")

    api = Api(app, make_api_key(app, organization_id, ["webhooks:manage"], name="ERP"))
    body = api.post("/api/v1/webhooks", {"url": PUBLIC_URL, "events": events}).get_json()
    hook = f"/api/v1/webhooks/{body['id']}"
    assert api.patch(hook, {"description": "otro"}).status_code == 200
    rotated = api.post(f"{hook}/rotate-secret").get_json()
    with app.app_context():
        endpoint = db.session.get_one(WebhookEndpoint, body["id"])
        endpoint.failing_since = utcnow() - GIVE_UP - dt.timedelta(minutes=1)
        disable_and_tell(db.session, endpoint, utcnow())
        db.session.commit()
    assert api.delete(hook).status_code == 204
    by_key = [entry for entry in entries(app, organization_id) if entry["user_id"] is None]
    by_key = [entry for entry in by_key if entry["action"].startswith("webhook.")]
    actions = [entry["action"] for entry in by_key]
    assert actions == [
        "webhook.created",
        "webhook.updated",
        "webhook.secret_rotated",
        "webhook.disabled",
        "webhook.deleted",
    ]
    for entry in by_key:
        if entry["action"] != "webhook.disabled":  # the delivery job disables: no key
            assert entry["actor"].startswith("API: ERP") and "api_key_id" in entry["details"]
    everything = json.dumps(entries(app, organization_id))
    assert body["secret"] not in everything and rotated["secret"] not in everything
    assert "whsec_" not in everything


def test_an_export_download_is_recorded(app: Flask) -> None:
    organization_id, _owner_id = owner_of_new_organization(app)
    client = signed_in(app, "duena@example.com")
    exported(app, client, "/customers/export", {}, token_from="/customers/")
    entry = only(app, organization_id, "export.downloaded")
    assert entry["actor"] == "duena@example.com" and entry["subject"][0] == "export"
    assert entry["details"]["kind"] and entry["details"]["file"].endswith(".csv")
