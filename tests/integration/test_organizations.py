"""Organizations: switching, settings and logo, members, invitations; pages and htmx fragments."""

from __future__ import annotations

import datetime as dt
import io
import re

from flask import Flask
from PIL import Image
from sqlalchemy import func, select

from blueprints.auth.models import User
from blueprints.organizations.models import Membership, MembershipStatus, Organization, Role
from core.db import db
from tests.factories import PASSWORD, add_member, make_organization, make_user
from tests.integration.security.account_mail import confirm_email_of
from tests.web import csrf_token, htmx_headers, login, post_form, text_of


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (0, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


PNG = _png()
INVITE_LINK = re.compile(r'value="(http://localhost/organizations/invitations/[^"]+)"')


def owner_with_organization(app: Flask, role: Role = Role.OWNER) -> int:
    with app.app_context():
        ana = make_user(email="ana@example.com", name="Ana")
        organization = make_organization(legal_name="Almacén Demo SRL")
        add_member(organization, ana, role)
        if role != Role.OWNER:
            add_member(organization, make_user(), Role.OWNER)
        return organization.id


def invite(client, email: str, role: str = "accountant", htmx: bool = True):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/organizations/members")
    headers = htmx_headers(token) if htmx else {}
    data = {"email": email, "role": role, "csrf_token": token}
    return client.post("/organizations/members/invite", data=data, headers=headers)


def set_role(client, membership_id: int, role: str):  # type: ignore[no-untyped-def]
    """Changes a role the way the page's select does: an htmx POST."""
    token = csrf_token(client, "/organizations/members")
    return client.post(
        f"/organizations/members/{membership_id}/role",
        data={"role": role},
        headers=htmx_headers(token),
    )


def test_members_page_and_fragment(app: Flask) -> None:
    owner_with_organization(app)
    client = app.test_client()
    login(client, "ana@example.com")
    page = client.get("/organizations/members")
    assert page.status_code == 200
    assert "<html" in page.get_data(as_text=True)
    assert "HX-Request" in page.headers["Vary"]
    fragment = client.get("/organizations/members", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="members"')
    assert "ana@example.com" in body
    boosted = client.get(
        "/organizations/members", headers={"HX-Request": "true", "HX-Boosted": "true"}
    )
    assert "<html" in boosted.get_data(as_text=True)


def test_invitation_link_is_shown_once_and_only_its_hash_is_stored(app: Flask) -> None:
    owner_with_organization(app)
    client = app.test_client()
    login(client, "ana@example.com")
    response = invite(client, "Contadora@Example.com")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body  # an htmx swap of the members region
    link = INVITE_LINK.search(body).group(1)
    token = link.rsplit("/", 1)[1]
    assert "Invitación pendiente" in text_of(response)
    with app.app_context():
        pending = db.session.scalar(select(Membership).where(Membership.status == "pending"))
        assert pending.email == "contadora@example.com"
        assert pending.invite_token_hash and token not in pending.invite_token_hash
    assert token not in client.get("/organizations/members").get_data(as_text=True)


def test_invite_without_htmx_renders_the_page(app: Flask) -> None:
    owner_with_organization(app)
    client = app.test_client()
    login(client, "ana@example.com")
    response = invite(client, "juan@example.com", htmx=False)
    assert "<html" in response.get_data(as_text=True)
    assert INVITE_LINK.search(response.get_data(as_text=True))


def test_invited_person_signs_up_and_joins_without_creating_an_organization(app: Flask) -> None:
    organization_id = owner_with_organization(app)
    owner = app.test_client()
    login(owner, "ana@example.com")
    link = INVITE_LINK.search(invite(owner, "contadora@example.com").get_data(as_text=True)).group(
        1
    )
    path = link.removeprefix("http://localhost")
    guest = app.test_client()
    landing = guest.get(path)
    assert "Te invitaron a Almacén Demo SRL" in text_of(landing)
    token = path.rsplit("/", 1)[1]
    signup = f"/auth/signup?invitation={token}"
    response = post_form(
        guest, signup, {"name": "Carla", "email": "contadora@example.com", "password": PASSWORD}
    )
    assert response.status_code == 303
    # The membership waits for the address to be confirmed (security/test_email_verification).
    confirm_email_of(app, guest, "contadora@example.com", PASSWORD)
    assert "Almacén Demo SRL" in text_of(guest.get("/"))
    with app.app_context():
        carla = db.session.scalar(select(User).where(User.email == "contadora@example.com"))
        membership = db.session.scalar(select(Membership).where(Membership.user_id == carla.id))
        assert (membership.organization_id, membership.role) == (organization_id, Role.ACCOUNTANT)
        assert membership.status == MembershipStatus.ACTIVE
        assert membership.invite_token_hash is None
        assert db.session.scalar(select(func.count()).select_from(Organization)) == 1
    # One-time: the link is dead now.
    assert app.test_client().get(path).status_code == 404


def test_existing_user_accepts_with_the_invited_email_only(app: Flask) -> None:
    owner_with_organization(app)
    with app.app_context():
        make_organization(owner=make_user(email="beto@example.com"), legal_name="Beto SA")
        make_user(email="intruso@example.com")
    owner = app.test_client()
    login(owner, "ana@example.com")
    link = INVITE_LINK.search(invite(owner, "beto@example.com", "member").get_data(as_text=True))
    path = link.group(1).removeprefix("http://localhost")
    intruder = app.test_client()
    login(intruder, "intruso@example.com")
    assert intruder.get(path).status_code == 404
    beto = app.test_client()
    login(beto, "beto@example.com")
    accepted = beto.post(path, data={"csrf_token": csrf_token(beto, path)})
    assert accepted.status_code == 303
    assert "Almacén Demo SRL" in text_of(beto.get("/"))  # now working in the new organization


def test_expired_invitation_is_refused(app: Flask) -> None:
    owner_with_organization(app)
    owner = app.test_client()
    login(owner, "ana@example.com")
    link = INVITE_LINK.search(invite(owner, "tarde@example.com").get_data(as_text=True))
    with app.app_context():
        pending = db.session.scalar(select(Membership).where(Membership.status == "pending"))
        pending.invite_expires_at = pending.invite_expires_at - dt.timedelta(days=8)
        db.session.commit()
    response = app.test_client().get(link.group(1).removeprefix("http://localhost"))
    assert response.status_code == 404
    assert "La invitación no existe, ya se usó o venció." in text_of(response)


def test_duplicate_invitation_and_existing_member_are_refused(app: Flask) -> None:
    owner_with_organization(app)
    client = app.test_client()
    login(client, "ana@example.com")
    invite(client, "carla@example.com")
    again = invite(client, "carla@example.com")
    assert again.status_code == 422
    assert "Ya hay una invitación pendiente para carla@example.com." in text_of(again)
    myself = invite(client, "ana@example.com")
    assert "ana@example.com ya es integrante de esta organización." in text_of(myself)


def test_plain_members_cannot_invite_and_admins_cannot_make_owners(app: Flask) -> None:
    owner_with_organization(app, role=Role.MEMBER)
    client = app.test_client()
    login(client, "ana@example.com")
    refused = invite(client, "x@example.com")
    assert refused.status_code == 403
    assert "Tu rol en esta organización no permite esta acción." in text_of(refused)
    assert refused.headers["HX-Retarget"] == "#flashes"
    with app.app_context():
        db.session.execute(
            Membership.__table__.update()
            .where(Membership.email == "ana@example.com")
            .values(role="admin")
        )
        db.session.commit()
    as_admin = invite(client, "y@example.com", role="owner")
    assert as_admin.status_code == 422  # shown next to the role field, the form kept
    assert "Solo un dueño/a puede invitar a otro dueño/a." in text_of(as_admin)


def test_the_last_owner_cannot_step_down(app: Flask) -> None:
    owner_with_organization(app)
    client = app.test_client()
    login(client, "ana@example.com")
    with app.app_context():
        mine_id = db.session.scalar(
            select(Membership.id).where(Membership.email == "ana@example.com")
        )
    response = set_role(client, mine_id, "member")
    assert response.status_code == 409
    assert "La organización tiene que conservar al menos un dueño/a." in text_of(response)
    with app.app_context():
        assert db.session.get(Membership, mine_id).role == Role.OWNER


def test_role_change_and_removal_swap_the_members_region(app: Flask) -> None:
    organization_id = owner_with_organization(app)
    with app.app_context():
        carla_id = add_member(
            db.session.get(Organization, organization_id), make_user(), Role.MEMBER
        ).id
    client = app.test_client()
    login(client, "ana@example.com")
    changed = set_role(client, carla_id, "accountant")
    assert changed.status_code == 200
    assert changed.get_data(as_text=True).lstrip().startswith('<div id="members"')
    token = csrf_token(client, "/organizations/members")
    removed = client.post(f"/organizations/members/{carla_id}/remove", headers=htmx_headers(token))
    assert removed.status_code == 200
    with app.app_context():
        assert db.session.get(Membership, carla_id) is None


def test_switching_between_organizations(app: Flask) -> None:
    with app.app_context():
        ana = make_user(email="ana@example.com")
        make_organization(owner=ana, legal_name="Almacén Uno SRL")
        second = make_organization(owner=ana, legal_name="Kiosco Dos SA")
        second_id = second.id
    client = app.test_client()
    login(client, "ana@example.com")
    assert "Almacén Uno SRL" in text_of(client.get("/"))
    token = csrf_token(client, "/")
    switched = client.post(f"/organizations/{second_id}/switch", data={"csrf_token": token})
    assert switched.status_code == 303
    page = text_of(client.get("/"))
    assert page.index("Kiosco Dos SA") < page.index("Primeros pasos")


def test_creating_another_organization(app: Flask) -> None:
    owner_with_organization(app)
    client = app.test_client()
    login(client, "ana@example.com")
    response = post_form(
        client,
        "/organizations/new",
        {"cuit": "20-11111111-2", "legal_name": "Ana Servicios", "iva_condition": "monotributo"},
    )
    assert response.status_code == 303
    dashboard = text_of(client.get("/"))
    assert "Ana Servicios" in dashboard
    assert "Responsable Monotributo" in dashboard


def test_settings_update_details_and_logo_together(app: Flask) -> None:
    organization_id = owner_with_organization(app)
    client = app.test_client()
    login(client, "ana@example.com")
    with app.app_context():
        cuit = db.session.get(Organization, organization_id).cuit
    fields = {
        "cuit": cuit,
        "legal_name": "Almacén Nuevo SRL",
        "iva_condition": "responsable_inscripto",
    }
    bad_logo = post_form(
        client,
        "/organizations/settings",
        {**fields, "logo": (io.BytesIO(b"GIF89a..."), "logo.png")},
    )
    assert bad_logo.status_code == 422
    assert "El logo tiene que ser una imagen PNG o JPEG." in text_of(bad_logo)
    with app.app_context():
        assert db.session.get(Organization, organization_id).legal_name == "Almacén Demo SRL"
    good = post_form(
        client, "/organizations/settings", {**fields, "logo": (io.BytesIO(PNG), "logo.png")}
    )
    assert good.status_code == 303
    logo = client.get("/organizations/logo")
    assert logo.status_code == 200
    assert logo.content_type == "image/png"
    with Image.open(io.BytesIO(logo.data)) as stored:
        assert stored.format == "PNG" and stored.size == (40, 20)  # re-encoded at upload


def test_accountants_cannot_edit_the_organization(app: Flask) -> None:
    owner_with_organization(app, role=Role.ACCOUNTANT)
    client = app.test_client()
    login(client, "ana@example.com")
    response = client.get("/organizations/settings")
    assert response.status_code == 403
    assert "Tu rol en esta organización no permite esta acción." in text_of(response)
