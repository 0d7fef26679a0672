"""Closing an organization: its owner ends it; its fiscal records stay, read-only, until the
law lets them go, then `purge_closed` deletes everything.

Closing, in one transaction: every other member and pending invitation removed, API keys
revoked, webhook endpoints disabled, the certificates' private keys destroyed (crypto-shredding:
the sealed key is replaced by a sealed empty one, so nothing can sign a WSAA login again; the
certificate itself stays as a record), access tickets deleted, pending tasks and emails
cancelled, `closed_at` set and `organization.closed` audited. From then on the owner may read
and export; every other write in the organization is refused (`refuse_writes_while_closed`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from flask import g, request
from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select, text, update

from arca.cuit import normalize_cuit
from blueprints.api.models import ApiKey
from blueprints.api.services import cache_key
from blueprints.audit.services import record_event
from blueprints.auth.models import User
from blueprints.certificates.models import AccessTicketRecord, Certificate
from blueprints.certificates.secrets import access_ticket_cache_key, private_key_aad
from blueprints.invoices.models import Invoice
from blueprints.organizations.models import Membership, MembershipStatus, Organization, Role
from blueprints.retention.policy import fiscal_retention_end
from blueprints.webhooks.models import WebhookEndpoint
from core.cache import Cache
from core.crypto import KeyRing
from core.db import DbSession
from core.errors import Forbidden, ValidationFailed
from core.mail import MailMessage, MailStatus
from core.security import verify_password
from core.tasks import Task, TaskStatus

CLOSED_REASON = "organization closed"
# Requests a closed organization's owner may still send: their own account, leaving, moving to
# another organization, and exporting the organization's data.
OPEN_BLUEPRINTS = frozenset({"auth", "account", "two_factor", "exports"})
OPEN_ENDPOINTS = frozenset(
    {"organizations.switch", "organizations.new", "organizations.invitation"}
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class OrganizationClosed(Forbidden):
    """A write in an organization its owner closed."""


def closed_message() -> str:
    return _("La organización está cerrada: sólo lectura.")


@dataclass(frozen=True)
class ClosingSummary:
    """What closing took away (the counts go into the audit entry)."""

    members: int
    invitations: int
    api_keys: int
    webhook_endpoints: int
    private_keys: int
    access_tickets: int
    tasks: int
    emails: int


def request_closing(
    session: DbSession,
    organization: Organization,
    owner: User,
    typed_cuit: str,
    password: str,
    keyring: KeyRing,
    cache: Cache,
    now: dt.datetime,
) -> ClosingSummary:
    """Close after the owner confirmed with the organization's CUIT and their own password.

    Raises ValidationFailed (field `cuit` or `password`; nothing changed) on a wrong one,
    Forbidden when `owner` is not an active owner, OrganizationClosed when already closed.
    """
    ensure_owner(session, organization, owner)
    if normalize_cuit(typed_cuit or "") != organization.cuit:
        raise ValidationFailed(_("El CUIT no coincide con el de la organización."), field="cuit")
    if not verify_password(owner.password_hash, password or ""):
        raise ValidationFailed(_("La contraseña no es correcta."), field="password")
    return close_organization(session, organization, owner, now, keyring, cache)


def ensure_owner(session: DbSession, organization: Organization, owner: User) -> None:
    if organization.closed_at is not None:
        raise OrganizationClosed(closed_message())
    role = session.scalar(
        select(Membership.role).where(
            Membership.organization_id == organization.id,
            Membership.user_id == owner.id,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )
    if role != Role.OWNER:
        raise Forbidden(_("Sólo el dueño/a puede cerrar la organización."))


def close_organization(
    session: DbSession,
    organization: Organization,
    owner: User,
    now: dt.datetime,
    keyring: KeyRing,
    cache: Cache,
) -> ClosingSummary:
    """Close `organization` in one commit (see the module's docstring); the cached API keys and
    access tickets are dropped from `cache` after the commit. `owner` keeps their membership."""
    org_id = organization.id
    members, invitations = remove_others(session, org_id, owner)
    keys = revoke_keys(session, org_id, owner, now)
    tickets = list(
        session.scalars(
            select(AccessTicketRecord).where(AccessTicketRecord.organization_id == org_id)
        )
    )
    stale = [cache_key(key.secret_hash) for key in keys]
    stale += [access_ticket_cache_key(ticket) for ticket in tickets]
    summary = ClosingSummary(
        members=members,
        invitations=invitations,
        api_keys=len(keys),
        webhook_endpoints=disable_webhooks(session, org_id),
        private_keys=destroy_private_keys(session, org_id, keyring),
        access_tickets=len(tickets),
        tasks=cancel_tasks(session, org_id, now),
        emails=cancel_emails(session, org_id),
    )
    for ticket in tickets:
        session.delete(ticket)
    organization.closed_at = now
    details = asdict(summary)
    record_event(session, org_id, "organization.closed", owner, ("organization", org_id), details)
    session.commit()
    for key in stale:
        cache.delete(key)
    return summary


def remove_others(session: DbSession, organization_id: int, owner: User) -> tuple[int, int]:
    """Delete every membership but the owner's: (active members, pending invitations)."""
    others = list(
        session.scalars(
            select(Membership).where(
                Membership.organization_id == organization_id,
                or_(Membership.user_id.is_(None), Membership.user_id != owner.id),
            )
        )
    )
    for membership in others:
        session.delete(membership)
    pending = sum(1 for m in others if m.status == MembershipStatus.PENDING)
    return len(others) - pending, pending


def revoke_keys(
    session: DbSession, organization_id: int, owner: User, now: dt.datetime
) -> list[ApiKey]:
    keys = list(
        session.scalars(
            select(ApiKey).where(
                ApiKey.organization_id == organization_id, ApiKey.revoked_at.is_(None)
            )
        )
    )
    for key in keys:
        key.revoked_at = now
        details = {
            "api_key_id": key.id,
            "name": key.name,
            "prefix": key.prefix,
            "reason": CLOSED_REASON,
        }
        record_event(
            session, organization_id, "api_key.revoked", owner, ("api_key", key.id), details
        )
    return keys


def disable_webhooks(session: DbSession, organization_id: int) -> int:
    result = session.execute(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.organization_id == organization_id, WebhookEndpoint.enabled.is_(True)
        )
        .values(enabled=False, disabled_reason=CLOSED_REASON)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def destroy_private_keys(session: DbSession, organization_id: int, keyring: KeyRing) -> int:
    """Crypto-shredding: each sealed private key is replaced by a sealed empty key (the column
    is NOT NULL and `flask keys rotate` must still open every token). Nothing signs again."""
    certificates = list(
        session.scalars(select(Certificate).where(Certificate.organization_id == organization_id))
    )
    for certificate in certificates:
        certificate.private_key = keyring.encrypt(b"", private_key_aad(certificate))
    return len(certificates)


def cancel_tasks(session: DbSession, organization_id: int, now: dt.datetime) -> int:
    result = session.execute(
        update(Task)
        .where(Task.organization_id == organization_id, Task.status == TaskStatus.PENDING)
        .values(status=TaskStatus.CANCELLED, last_error=CLOSED_REASON, finished_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def cancel_emails(session: DbSession, organization_id: int) -> int:
    result = session.execute(
        update(MailMessage)
        .where(
            MailMessage.organization_id == organization_id, MailMessage.status == MailStatus.PENDING
        )
        .values(status=MailStatus.FAILED, error=CLOSED_REASON)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# Read-only while closed -----------------------------------------------------------------------


def refuse_writes_while_closed() -> None:
    """`before_request`: a closed organization's context takes no write (403, or problem+json
    for the API), bar the owner's own account, switching and exporting."""
    if request.method in SAFE_METHODS:
        return
    membership = g.get("membership")
    if membership is None or membership.organization.closed_at is None:
        return
    if request.blueprint in OPEN_BLUEPRINTS or request.endpoint in OPEN_ENDPOINTS:
        return
    raise OrganizationClosed(closed_message())


def refuse_api_write_while_closed(session: DbSession, organization_id: int) -> None:
    """For the API's authentication (after the key resolved its organization): the same rule."""
    if request.method in SAFE_METHODS:
        return
    closed_at = session.scalar(
        select(Organization.closed_at).where(Organization.id == organization_id)
    )
    if closed_at is not None:
        raise OrganizationClosed(closed_message())


# Purge when retention ends --------------------------------------------------------------------


def purge_closed(session: DbSession, organization_id: int, today: dt.date) -> bool:
    """Delete a closed organization once every voucher that took a number or a CAE is past its
    retention (or it has none); True when deleted (committed). False, changing nothing, for an
    open organization or one still keeping a voucher. The database's triggers refuse a voucher
    within retention whatever `today` says. Runs across organizations (the retention job)."""
    organization = session.get(Organization, organization_id)
    if organization is None or organization.closed_at is None:
        return False
    newest = session.scalar(
        select(func.max(Invoice.issue_date)).where(
            Invoice.organization_id == organization_id,
            or_(Invoice.number.is_not(None), Invoice.cae.is_not(None)),
        )
    )
    if newest is not None and today <= fiscal_retention_end(newest):
        return False
    if session.get_bind().dialect.name == "postgresql":
        # The audit log's trigger lets entries go only when asked to, for this transaction.
        session.execute(text("SET LOCAL talonario.audit_purge = 'on'"))
    session.execute(delete(Organization).where(Organization.id == organization_id))
    session.commit()
    return True
