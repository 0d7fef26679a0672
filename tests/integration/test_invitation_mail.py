"""Invitations by email (issue 14, item 4), against a real SMTP server on loopback (aiosmtpd):
the invitee gets one message whose link accepts the invitation; "Reenviar invitación" mails a
fresh link and kills the old one; a refused invitation sends nothing; the invitee's language
and the organization's logo are honoured."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from blueprints.auth.models import User
from blueprints.organizations.models import Membership, MembershipStatus, Organization, Role
from blueprints.organizations.services import invite_member
from core.db import db
from core.mail import DEFAULT_FROM, MailMessage, MailStatus
from core.tasks import Task
from tests.factories import PASSWORD, add_member, make_user
from tests.integration.security.account_mail import confirm_email_of
from tests.integration.test_mail import Inbox, free_port, mail_url, smtp_server
from tests.integration.test_organizations import INVITE_LINK, invite, owner_with_organization
from tests.tasks import run_until_settled
from tests.web import csrf_token, htmx_headers, login, post_form, text_of

ORIGIN = "http://localhost"
MAILED_LINK = re.compile(r"http://localhost/organizations/invitations/[A-Za-z0-9_-]+")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def owner(app: Flask) -> FlaskClient:
    """Ana, owner of Almacén Demo SRL, signed in."""
    owner_with_organization(app)
    client = app.test_client()
    login(client, "ana@example.com")
    return client


@pytest.fixture
def inbox(app: Flask) -> Iterator[Inbox]:
    port = free_port()
    with smtp_server(port) as received, mail_url(app, f"smtp://127.0.0.1:{port}"):
        yield received


def deliver(app: Flask) -> None:
    with app.app_context():
        run_until_settled()


def shown_link(response: object) -> str:
    match = INVITE_LINK.search(response.get_data(as_text=True))  # type: ignore[attr-defined]
    assert match is not None, "the page does not show the invitation link"
    return match.group(1)


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and the HTML part's contents."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def mailed_link(message: EmailMessage) -> str:
    text, html = parts(message)
    (link,) = set(MAILED_LINK.findall(text))
    assert f'href="{link}"' in html
    return link


def pending_id(app: Flask, email: str) -> int:
    with app.app_context():
        membership_id = db.session.scalar(
            select(Membership.id).where(
                Membership.email == email, Membership.status == MembershipStatus.PENDING
            )
        )
        db.session.commit()
    assert membership_id is not None
    return membership_id


def resend(client: FlaskClient, membership_id: int):  # type: ignore[no-untyped-def]
    """The members page's "Reenviar invitación" button, as htmx posts it."""
    token = csrf_token(client, "/organizations/members")
    return client.post(
        f"/organizations/members/{membership_id}/resend", headers=htmx_headers(token)
    )


def mail_count(app: Flask) -> tuple[int, int]:
    """(mail rows, mail.send tasks)."""
    with app.app_context():
        mails = db.session.scalar(select(func.count()).select_from(MailMessage))
        tasks = db.session.scalar(
            select(func.count()).select_from(Task).where(Task.kind == "mail.send")
        )
        db.session.commit()
    return int(mails or 0), int(tasks or 0)


def test_the_invitee_gets_one_email_whose_link_accepts_the_invitation(
    app: Flask, owner: FlaskClient, inbox: Inbox
) -> None:
    response = invite(owner, "Contadora@Example.com", "accountant")
    assert response.status_code == 200
    assert "Le enviamos la invitación a contadora@example.com." in text_of(response)
    link = shown_link(response)  # still there to be copied
    deliver(app)

    assert len(inbox.received) == 1
    _sender, recipients, message = inbox.received[0]
    assert recipients == ["contadora@example.com"]
    assert message["From"] == DEFAULT_FROM and message["To"] == "contadora@example.com"
    assert message["Subject"] == "Ana te invitó a Almacén Demo SRL en Talonario"
    text, html = parts(message)
    for words in ("Ana (ana@example.com)", "Almacén Demo SRL", "Contador/a (ver y exportar)"):
        assert words in text and words in html
    assert re.search(r"vence el \d\d/\d\d/\d{4} \d\d:\d\d", text)
    assert mailed_link(message) == link
    with app.app_context():
        mail = db.session.scalars(select(MailMessage)).one()
        assert (mail.kind, mail.status, mail.to) == (
            "invitation",
            MailStatus.SENT,
            "contadora@example.com",
        )
        db.session.commit()

    guest = app.test_client()
    path = link.removeprefix(ORIGIN)
    assert "Te invitaron a Almacén Demo SRL" in text_of(guest.get(path))
    signup = f"/auth/signup?invitation={path.rsplit('/', 1)[1]}"
    answer = post_form(
        guest, signup, {"name": "Carla", "email": "contadora@example.com", "password": PASSWORD}
    )
    assert answer.status_code == 303
    confirm_email_of(app, guest, "contadora@example.com", PASSWORD)  # joins once confirmed
    with app.app_context():
        membership = db.session.scalar(
            select(Membership)
            .join(User, Membership.user_id == User.id)
            .where(User.email == "contadora@example.com")
        )
        assert membership is not None and membership.status == MembershipStatus.ACTIVE
        db.session.commit()


def test_resending_mails_a_fresh_link_and_kills_the_old_one(
    app: Flask, owner: FlaskClient, inbox: Inbox
) -> None:
    first = shown_link(invite(owner, "juan@example.com", "member"))
    members = owner.get("/organizations/members")
    assert "Reenviar invitación" in text_of(members)

    response = resend(owner, pending_id(app, "juan@example.com"))
    assert response.status_code == 200
    assert "<html" not in response.get_data(as_text=True)  # the members region, swapped
    assert "el enlace anterior ya no sirve" in text_of(response)
    assert "Le enviamos la invitación a juan@example.com." in text_of(response)
    second = shown_link(response)
    assert second != first
    deliver(app)

    assert [message["To"] for _s, _r, message in inbox.received] == ["juan@example.com"] * 2
    assert mailed_link(inbox.received[0][2]) == first
    assert mailed_link(inbox.received[1][2]) == second
    guest = app.test_client()
    assert guest.get(first.removeprefix(ORIGIN)).status_code == 404
    assert "Te invitaron a Almacén Demo SRL" in text_of(guest.get(second.removeprefix(ORIGIN)))


def test_a_refused_invitation_sends_nothing(app: Flask, owner: FlaskClient, inbox: Inbox) -> None:
    with app.app_context():
        organization = db.session.scalars(select(Organization)).one()
        add_member(organization, make_user(email="beto@example.com"), "member")

    refused = invite(owner, "beto@example.com")
    assert refused.status_code in (409, 422)
    assert "ya es integrante de esta organización" in text_of(refused)
    assert INVITE_LINK.search(refused.get_data(as_text=True)) is None
    assert mail_count(app) == (0, 0)

    invite(owner, "carla@example.com")
    again = invite(owner, "Carla@example.com")
    assert "Ya hay una invitación pendiente para carla@example.com." in text_of(again)
    with app.app_context():
        beto = db.session.scalar(
            select(Membership.id).where(Membership.email == "beto@example.com")
        )
        db.session.commit()
    assert resend(owner, int(beto or 0)).status_code == 409  # accepted already: nothing to resend
    assert mail_count(app) == (1, 1)
    deliver(app)
    assert [message["To"] for _s, _r, message in inbox.received] == ["carla@example.com"]


def test_a_member_cannot_resend(app: Flask, inbox: Inbox) -> None:
    owner_with_organization(app)
    with app.app_context():
        organization = db.session.scalars(select(Organization)).one()
        add_member(organization, make_user(email="eva@example.com"), "member")
    ana = app.test_client()
    login(ana, "ana@example.com")
    invite(ana, "nuevo@example.com")
    eva = app.test_client()
    login(eva, "eva@example.com")
    assert "Reenviar invitación" not in text_of(eva.get("/organizations/members"))
    assert resend(eva, pending_id(app, "nuevo@example.com")).status_code == 403
    assert mail_count(app) == (1, 1)


def test_english_for_an_account_in_english_with_the_logo_inline(
    app: Flask, owner: FlaskClient, inbox: Inbox
) -> None:
    """An invitee who already reads Talonario in English gets English words (the role, here;
    every string once translated); the logo rides inline; names are escaped in the HTML."""
    with app.app_context():
        organization = db.session.scalars(select(Organization)).one()
        organization.trade_name = "Almacén <Demo>"
        organization.logo, organization.logo_mime = PNG, "image/png"
        user = make_user(email="john@example.com", name="John")
        user.locale = "en"
        db.session.commit()
    invite(owner, "john@example.com", "member")
    invite(owner, "maria@example.com", "member")
    deliver(app)

    by_recipient = {message["To"]: message for _s, _r, message in inbox.received}
    english, spanish = by_recipient["john@example.com"], by_recipient["maria@example.com"]
    assert "Member" in parts(english)[0] and "Integrante" not in parts(english)[0]
    assert "Integrante" in parts(spanish)[0]
    related = english.get_body(preferencelist=("related",))
    assert related is not None and related.get_content_type() == "multipart/related"
    image = next(part for part in related.walk() if part.get_content_type() == "image/png")
    assert image["Content-ID"] == "<logo@talonario>" and image.get_content() == PNG
    html = parts(english)[1]
    assert 'src="cid:logo@talonario"' in html
    assert "Almacén &lt;Demo&gt;" in html and "<Demo>" not in html
    assert "Almacén <Demo>" in parts(english)[0]  # the text part is plain text


def test_outside_a_request_the_link_uses_the_public_url(app: Flask, inbox: Inbox) -> None:
    """A CLI or worker has no request host: the mailed link is built on PUBLIC_URL."""
    owner_with_organization(app)
    with app.app_context():
        organization = db.session.scalars(select(Organization)).one()
        ana = db.session.scalars(select(User).where(User.email == "ana@example.com")).one()
        _membership, token = invite_member(
            db.session, organization.id, ana, Role.OWNER, "lejos@example.com", Role.MEMBER, 7
        )
        public = str(app.config["PUBLIC_URL"]).rstrip("/")
    deliver(app)
    (message,) = [message for _s, _r, message in inbox.received]
    text, html = parts(message)
    assert f"{public}/organizations/invitations/{token}" in text
    assert f'href="{public}/organizations/invitations/{token}"' in html
