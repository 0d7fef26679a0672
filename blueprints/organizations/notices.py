"""Notices: short emails to an organization's people (owners and admins) about something they
must act on — a certificate about to expire, a webhook endpoint disabled. Each recipient gets
the message in their own language, with the organization's logo and a link to the page
where to act. Queued in the caller's transaction (`core.mail`); the caller commits and wakes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import url_for
from flask_babel import force_locale
from markupsafe import Markup
from sqlalchemy import select

from blueprints.auth.models import User
from blueprints.organizations.models import (
    MANAGER_ROLES,
    Membership,
    MembershipStatus,
    Organization,
)
from core.db import DbSession
from core.mail import InlineImage, build_message, queue_mail
from core.web import url_context

LOGO_CID = "logo@talonario"


@dataclass(frozen=True)
class Notice:
    subject: str
    paragraphs: list[str]
    link: str  # an absolute URL
    link_text: str


Compose = Callable[[Organization], Notice]
"""Builds the notice's words; called once per recipient inside their language."""


def managers(session: DbSession, organization_id: int) -> list[User]:
    """The organization's active owners and admins (who hold its certificates and settings)."""
    return list(
        session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.organization_id == organization_id,
                Membership.status == MembershipStatus.ACTIVE,
                Membership.role.in_([str(role) for role in MANAGER_ROLES]),
            )
            .order_by(User.id)
        )
    )


def notify_managers(
    session: DbSession,
    organization_id: int,
    kind: str,
    compose: Compose,
    event_id: int | None = None,
) -> list[int]:
    """One message per owner/admin (not one to all: each in their language, and nobody sees
    the others' addresses). Returns the sending tasks' ids."""
    organization = session.get_one(Organization, organization_id)
    task_ids = []
    for user in managers(session, organization_id):
        with force_locale(user.locale or "es"):
            notice = compose(organization)
            message = build_message(
                to=[user.email],
                subject=notice.subject,
                text=notice_text(notice),
                html=notice_html(notice, organization),
                images=logo_images(organization),
            )
        queued = queue_mail(session, organization_id, message, kind, event_id=event_id)
        if queued.task_id is not None:
            task_ids.append(queued.task_id)
    return task_ids


def notice_text(notice: Notice) -> str:
    return "\n\n".join([*notice.paragraphs, f"{notice.link_text}: {notice.link}"]) + "\n"


def notice_html(notice: Notice, organization: Organization) -> str:
    """The same words as the text part, each paragraph escaped whole."""
    body = Markup("").join(Markup("<p>{}</p>").format(text) for text in notice.paragraphs)
    link = Markup('<p><a href="{}">{}</a></p>').format(notice.link, notice.link_text)
    page = Markup('<!doctype html><html><body style="font-family:sans-serif">{}{}{}</body></html>')
    return str(page.format(logo_html(organization), body, link))


def logo_html(organization: Organization) -> Markup:
    if not organization.logo or not organization.logo_mime:
        return Markup("")
    return Markup('<p><img src="cid:{}" alt="{}" style="max-height:64px"></p>').format(
        LOGO_CID, organization.display_name
    )


def logo_images(organization: Organization) -> tuple[InlineImage, ...]:
    if not organization.logo or not organization.logo_mime:
        return ()
    return (InlineImage(LOGO_CID, organization.logo, organization.logo_mime),)


def public_url(endpoint: str, **values: Any) -> str:
    """An absolute link to a page: the request's own host in a request; `PUBLIC_URL` in a
    worker (no request to take it from)."""
    with url_context():
        return url_for(endpoint, _external=True, **values)
