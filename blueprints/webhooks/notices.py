"""What owners and admins are told about their webhook endpoints: an endpoint disabled after
days of failures gets an email to each of them (and a banner on the dashboard, see
`disabled_endpoints`)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from blueprints.organizations.models import Organization
from blueprints.organizations.notices import Notice, notify_managers, public_url
from blueprints.webhooks.models import WebhookEndpoint
from core.db import DbSession

KIND = "webhook.disabled"


def notify_disabled(session: DbSession, endpoint: WebhookEndpoint) -> list[int]:
    """Queue the "endpoint disabled" email to each owner and admin (caller commits, wakes)."""
    url, endpoint_id = endpoint.url, endpoint.id

    def compose(organization: Organization) -> Notice:
        return Notice(
            subject=_(
                "Desactivamos un webhook de %(organization)s",
                organization=organization.display_name,
            ),
            paragraphs=[
                _(
                    "El webhook %(url)s falló durante 3 días seguidos y lo desactivamos: no le "
                    "enviamos más eventos.",
                    url=url,
                ),
                _(
                    "Cuando el receptor vuelva a responder, activalo de nuevo desde su página; "
                    "los envíos fallidos se pueden reenviar desde el registro."
                ),
            ],
            link=public_url("webhooks.show", endpoint_id=endpoint_id),
            link_text=_("Ver el webhook"),
        )

    return notify_managers(session, endpoint.organization_id, KIND, compose)


def disabled_endpoints(session: DbSession, organization_id: int) -> int:
    """How many of the organization's endpoints were disabled for failing (the banner)."""
    count = session.scalar(
        select(func.count())
        .select_from(WebhookEndpoint)
        .where(
            WebhookEndpoint.organization_id == organization_id,
            WebhookEndpoint.enabled.is_(False),
            WebhookEndpoint.disabled_reason == "failing",
        )
    )
    return int(count or 0)
