"""The invitation email: who invited whom to which organization, with what role, until when,
and the one-time link that accepts it. Text and HTML parts from templates/mail/invitation.*,
the organization's logo inline when it has one. Spanish unless the invitee already has an
account set to English (an invitee without one has never told us their language).

The message is built here and queued by the invitation services (`core.mail`), in the same
transaction as the membership it announces.
"""

from __future__ import annotations

from email.message import EmailMessage

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from blueprints.auth.models import User
from blueprints.organizations.models import Membership, Organization
from blueprints.organizations.notices import LOGO_CID, logo_images, public_url
from core.db import DbSession
from core.i18n import DEFAULT_LOCALE, LANGUAGES, format_moment
from core.mail import build_message

MAIL_KIND = "invitation"


def invitation_url(token: str) -> str:
    """The absolute accept link: the request's host, or PUBLIC_URL outside a request."""
    return public_url("organizations.invitation", token=token)


def recipient_locale(session: DbSession, email: str) -> str:
    """The language of the account that already uses this email, else Spanish."""
    locale = session.scalar(select(User.locale).where(func.lower(User.email) == email.lower()))
    return locale if locale in LANGUAGES else DEFAULT_LOCALE


def invitation_message(
    membership: Membership, organization: Organization, inviter: User, url: str, locale: str
) -> EmailMessage:
    """The email for a pending invitation, in `locale`."""
    # A local import: forms imports services, which imports this module.
    from blueprints.organizations.forms import role_label

    with force_locale(locale):
        facts = {
            "inviter": inviter.name,
            "inviter_email": inviter.email,
            "organization": organization.display_name,
            "role": role_label(membership.role),
            "expires": format_moment(membership.invite_expires_at),
            "url": url,
            "logo_cid": LOGO_CID if logo_images(organization) else None,
        }
        return build_message(
            to=[membership.email],
            subject=_(
                "%(inviter)s te invitó a %(organization)s en Talonario",
                inviter=inviter.name,
                organization=organization.display_name,
            ),
            text=render_template("mail/invitation.txt", **facts),
            html=render_template("mail/invitation.html", **facts),
            images=logo_images(organization),
        )
