"""Organizations and memberships. Every function here commits its own work or none of it."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from arca.codes import IssuerCondition
from arca.cuit import is_valid_cuit, normalize_cuit
from arca.fce import TRANSFER_OPTIONS, is_valid_cbu
from blueprints.audit.services import record_event
from blueprints.auth.models import User
from blueprints.organizations.logo import prepare_logo
from blueprints.organizations.mailing import (
    MAIL_KIND,
    invitation_message,
    invitation_url,
    recipient_locale,
)
from blueprints.organizations.models import (
    MANAGER_ROLES,
    Membership,
    MembershipStatus,
    Organization,
    Role,
)
from core.db import DbSession, utcnow
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from core.mail import queue_mail
from core.rowsecurity import across_organizations
from core.tasks import wake

LOGO_MAX_BYTES = 1024 * 1024
LOGO_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
# What ARCA takes as an FCE's alias (optional 2102, 10166): 6 to 20 letters, digits, dots, dashes.
CBU_ALIAS = re.compile(r"[A-Za-z0-9.-]{6,20}")


@dataclass(frozen=True)
class OrganizationDetails:
    cuit: str
    legal_name: str
    iva_condition: str
    trade_name: str | None = None
    iibb: str | None = None
    activity_start: dt.date | None = None
    address: str | None = None
    a_with_legend: bool = False
    email_invoices: bool = False
    require_two_factor: bool = False
    # FCE MiPyME: where the buyer pays (copied onto each FCE invoice) and optional 27.
    cbu: str | None = None
    cbu_alias: str | None = None
    fce_transfer: str = "SCA"


def parse_cuit(value: str) -> str:
    """The CUIT's 11 digits, or ValidationFailed saying exactly what is wrong with it."""
    digits = normalize_cuit(value)
    if not (digits.isascii() and digits.isdigit()) or len(digits) != 11:
        raise ValidationFailed(_("El CUIT tiene que tener 11 dígitos."), field="cuit")
    if not is_valid_cuit(digits):
        raise ValidationFailed(
            _("El CUIT %(cuit)s no es válido: el dígito verificador no coincide.", cuit=value),
            field="cuit",
        )
    return digits


def build_organization(details: OrganizationDetails) -> Organization:
    organization = Organization()
    apply_details(organization, details)
    return organization


def apply_details(organization: Organization, details: OrganizationDetails) -> None:
    try:
        condition = IssuerCondition(details.iva_condition)
    except ValueError:
        raise ValidationFailed(
            _("Elegí una condición frente al IVA de la lista."), field="iva_condition"
        ) from None
    organization.cuit = parse_cuit(details.cuit)
    organization.legal_name = details.legal_name.strip()
    organization.trade_name = (details.trade_name or "").strip() or None
    organization.iva_condition = condition
    organization.iibb = (details.iibb or "").strip() or None
    organization.activity_start = details.activity_start
    organization.address = (details.address or "").strip() or None
    # Only a Responsable Inscripto issues class A at all.
    organization.a_with_legend = (
        details.a_with_legend and condition == IssuerCondition.RESPONSABLE_INSCRIPTO
    )
    organization.email_invoices = details.email_invoices
    organization.require_two_factor = details.require_two_factor
    apply_fce_details(organization, details)


def apply_fce_details(organization: Organization, details: OrganizationDetails) -> None:
    """The CBU, its alias and the transfer option, each checked as ARCA checks an FCE's."""
    cbu = parse_cbu(details.cbu)
    alias = (details.cbu_alias or "").strip() or None
    if alias is not None and not CBU_ALIAS.fullmatch(alias):
        raise ValidationFailed(
            _(
                "El alias tiene de 6 a 20 caracteres: letras sin acentos, números, puntos y "
                "guiones."
            ),
            field="cbu_alias",
        )
    if alias is not None and cbu is None:
        raise ValidationFailed(_("Cargá también el CBU del alias."), field="cbu")
    if details.fce_transfer not in TRANSFER_OPTIONS:
        raise ValidationFailed(
            _("Elegí una opción de transferencia de la lista."), field="fce_transfer"
        )
    organization.cbu, organization.cbu_alias = cbu, alias
    organization.fce_transfer = details.fce_transfer


def parse_cbu(value: str | None) -> str | None:
    """The CBU's 22 digits (spaces and dashes dropped), None when blank, or ValidationFailed
    saying what is wrong."""
    digits = "".join((value or "").replace("-", "").split())
    if not digits:
        return None
    if not (digits.isascii() and digits.isdigit()) or len(digits) != 22:
        raise ValidationFailed(_("El CBU tiene que tener 22 dígitos."), field="cbu")
    if not is_valid_cbu(digits):
        raise ValidationFailed(
            _(
                "El CBU %(cbu)s no es válido: sus dígitos verificadores no coinciden. Copialo "
                "de tu banco.",
                cbu=digits,
            ),
            field="cbu",
        )
    return digits


def ensure_cuit_free(session: DbSession, cuit: str, except_id: int | None = None) -> None:
    query = select(Organization.id).where(Organization.cuit == cuit)
    if except_id is not None:
        query = query.where(Organization.id != except_id)
    if session.scalar(query) is not None:
        raise Conflict(
            _(
                "Ya hay una organización registrada con el CUIT %(cuit)s. "
                "Pedile a su dueño/a que te invite.",
                cuit=cuit,
            ),
            field="cuit",
        )


def add_owner(session: DbSession, organization: Organization, user: User) -> Membership:
    membership = Membership(
        organization=organization,
        user=user,
        email=user.email,
        role=Role.OWNER,
        status=MembershipStatus.ACTIVE,
        accepted_at=utcnow(),
    )
    session.add(membership)
    return membership


@across_organizations
def create_organization(session: DbSession, user: User, details: OrganizationDetails) -> Membership:
    """A further organization for an existing user, who becomes its owner. Commits."""
    organization = build_organization(details)
    ensure_cuit_free(session, organization.cuit)
    session.add(organization)
    membership = add_owner(session, organization, user)
    commit_or_conflict(session, field="cuit")
    return membership


def update_organization(
    session: DbSession,
    organization: Organization,
    details: OrganizationDetails,
    logo: bytes | None = None,
    actor: User | None = None,
) -> None:
    """New details and, if given, a new logo: both saved or, on any error, neither. What
    changed is recorded in the audit log (a new logo as "changed", not its bytes)."""
    before = settings_snapshot(organization)
    try:
        apply_details(organization, details)
        ensure_cuit_free(session, organization.cuit, except_id=organization.id)
        if logo:
            apply_logo(organization, logo)
    except Exception:
        session.rollback()
        raise
    record_settings_changes(session, organization, before, actor, logo_changed=bool(logo))
    commit_or_conflict(session, field="cuit")


SETTINGS_FIELDS = (
    "cuit",
    "legal_name",
    "trade_name",
    "iva_condition",
    "iibb",
    "activity_start",
    "address",
    "a_with_legend",
    "email_invoices",
    "cbu",
    "cbu_alias",
    "fce_transfer",
)


def settings_snapshot(organization: Organization) -> dict[str, object]:
    fields = (*SETTINGS_FIELDS, "require_two_factor")
    return {name: getattr(organization, name) for name in fields}


def record_settings_changes(
    session: DbSession,
    organization: Organization,
    before: dict[str, object],
    actor: User | None,
    logo_changed: bool,
) -> None:
    """`organization.settings_changed` with each changed field's [old, new]; the two-factor
    requirement, a security policy, gets an entry of its own."""
    after = settings_snapshot(organization)
    changes: dict[str, object] = {
        name: [before[name], after[name]] for name in SETTINGS_FIELDS if before[name] != after[name]
    }
    if logo_changed:
        changes["logo"] = "changed"
    subject = ("organization", organization.id)
    if changes:
        details = {"changes": changes}
        record_event(
            session, organization.id, "organization.settings_changed", actor, subject, details
        )
    if before["require_two_factor"] != after["require_two_factor"]:
        policy = {"require_two_factor": [before["require_two_factor"], after["require_two_factor"]]}
        record_event(
            session, organization.id, "organization.two_factor_policy", actor, subject, policy
        )


def apply_logo(organization: Organization, data: bytes) -> None:
    """A PNG or JPEG logo; the bytes are checked, not the file name. Stored shrunk to at most
    600×600 and without metadata (`logo.prepare_logo`): PDFs and emails embed it as is."""
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationFailed(_("El logo no puede superar 1 MB."), field="logo")
    if not any(data.startswith(signature) for signature in LOGO_SIGNATURES):
        raise ValidationFailed(_("El logo tiene que ser una imagen PNG o JPEG."), field="logo")
    logo = prepare_logo(data)
    organization.logo = logo.data
    organization.logo_mime = logo.mime


def commit_or_conflict(session: DbSession, field: str) -> None:
    """Commit; a unique constraint lost to a concurrent request becomes a Conflict, not a 500."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(_("Otro registro acaba de tomar ese dato. Revisalo."), field=field) from None


def active_memberships(session: DbSession, user: User) -> list[Membership]:
    query = (
        select(Membership)
        .join(Organization)
        .where(Membership.user_id == user.id, Membership.status == MembershipStatus.ACTIVE)
        .order_by(func.lower(Organization.legal_name), Organization.id)
    )
    return list(session.scalars(query))


def resolve_membership(
    session: DbSession, user: User, organization_id: int | None
) -> Membership | None:
    """The active membership to work in: the one asked for if the user has it, else the first."""
    memberships = active_memberships(session, user)
    chosen = next((m for m in memberships if m.organization_id == organization_id), None)
    return chosen or (memberships[0] if memberships else None)


def switch_organization(session: DbSession, user: User, organization_id: int) -> Membership:
    """The user's active membership in that organization; NotFound for any other organization."""
    membership = session.scalar(
        select(Membership).where(
            Membership.user_id == user.id,
            Membership.organization_id == organization_id,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )
    if membership is None:
        raise NotFound(_("No encontramos esa organización."))
    return membership


# Invitations ---------------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_email(email: str) -> str:
    return email.strip().lower()


def invite_member(
    session: DbSession,
    organization_id: int,
    inviter: User,
    inviter_role: Role,
    email: str,
    role: Role,
    valid_days: int,
) -> tuple[Membership, str]:
    """A pending membership and its one-time token (returned once; only its hash is stored),
    emailed to the invitee. The membership and its email commit together, then the sending is
    woken. Conflict if the email is already a member or invited; nothing is sent then. Builds
    the absolute link, so it needs a request (or SERVER_NAME)."""
    email = normalize_email(email)
    if role == Role.OWNER and inviter_role != Role.OWNER:
        raise Forbidden(_("Solo un dueño/a puede invitar a otro dueño/a."), field="role")
    ensure_not_member(session, organization_id, email)
    membership = Membership(
        organization_id=organization_id,
        email=email,
        role=role,
        status=MembershipStatus.PENDING,
        invited_by_id=inviter.id,
    )
    token = issue_token(membership, valid_days)
    session.add(membership)
    send_invitation(session, membership, inviter, token)
    return membership, token


def resend_invitation(
    session: DbSession, membership: Membership, sender: User, acting_role: Role, valid_days: int
) -> str:
    """A fresh token and expiry for a pending invitation, emailed again by `sender`, who
    becomes its inviter; the old link stops working. Returns the new token. Commits."""
    ensure_may_manage(membership, acting_role, membership.role)
    if membership.status != MembershipStatus.PENDING:
        raise Conflict(_("%(email)s ya aceptó la invitación.", email=membership.email))
    token = issue_token(membership, valid_days)
    membership.invited_by_id = sender.id
    send_invitation(session, membership, sender, token)
    return token


def issue_token(membership: Membership, valid_days: int) -> str:
    """A new one-time token for the membership (only its hash is kept), valid `valid_days`."""
    token = secrets.token_urlsafe(32)
    membership.invite_token_hash = hash_token(token)
    membership.invite_expires_at = utcnow() + dt.timedelta(days=valid_days)
    return token


def send_invitation(session: DbSession, membership: Membership, inviter: User, token: str) -> None:
    """Queue the invitation email in the membership's transaction, commit both, then wake the
    sending. A concurrent invitation for the same email loses at the flush, before any mail."""
    email = membership.email
    try:
        session.flush()
        details = {"email": email, "role": membership.role}
        subject = ("membership", membership.id)
        record_event(
            session, membership.organization_id, "membership.invited", inviter, subject, details
        )
        organization = session.get_one(Organization, membership.organization_id)
        locale = recipient_locale(session, membership.email)
        url = invitation_url(token)
        message = invitation_message(membership, organization, inviter, url, locale)
        queued = queue_mail(session, organization.id, message, MAIL_KIND)
        session.commit()
    except IntegrityError:
        session.rollback()
        why = _("Ya hay una invitación pendiente para %(email)s.", email=email)
        raise Conflict(why, field="email") from None
    except Exception:
        session.rollback()
        raise
    if queued.task_id is not None:
        wake([queued.task_id])


def ensure_not_member(session: DbSession, organization_id: int, email: str) -> None:
    existing = session.scalar(
        select(Membership)
        .outerjoin(User, Membership.user_id == User.id)
        .where(Membership.organization_id == organization_id)
        .where((func.lower(Membership.email) == email) | (User.email == email))
    )
    if existing is None:
        return
    if existing.status == MembershipStatus.PENDING:
        message = _("Ya hay una invitación pendiente para %(email)s.", email=email)
    else:
        message = _("%(email)s ya es integrante de esta organización.", email=email)
    raise Conflict(message, field="email")


@across_organizations
def find_invitation(session: DbSession, token: str) -> Membership:
    """The pending, unexpired invitation for that token, or NotFound."""
    membership = session.scalar(
        select(Membership).where(
            Membership.invite_token_hash == hash_token(token),
            Membership.status == MembershipStatus.PENDING,
        )
    )
    if membership is None or (membership.invite_expires_at or utcnow()) <= utcnow():
        raise NotFound(_("La invitación no existe, ya se usó o venció. Pedí una nueva."))
    return membership


@across_organizations
def accept_invitation(session: DbSession, token: str, user: User) -> Membership:
    """Activates the invitation for `user`, whose email must be the invited one. Commits."""
    membership = find_invitation(session, token)
    bind_invitation(membership, user)
    if user.email_verified_at is None:  # joins once the address is confirmed (auth/recovery.py)
        membership.status = MembershipStatus.PENDING
        membership.accepted_at = None
    else:
        subject = ("membership", membership.id)
        record_event(session, membership.organization_id, "membership.accepted", user, subject)
    commit_or_conflict(session, field="email")
    return membership


def bind_invitation(membership: Membership, user: User) -> None:
    if normalize_email(user.email) != membership.email:
        # Someone else's link: as far as this user is concerned, it does not exist.
        raise NotFound(_("La invitación no existe, ya se usó o venció. Pedí una nueva."))
    membership.user = user
    membership.status = MembershipStatus.ACTIVE
    membership.invite_token_hash = None
    membership.accepted_at = utcnow()


# Member management ----------------------------------------------------------------------------


def list_members(session: DbSession, organization_id: int) -> list[Membership]:
    query = (
        select(Membership)
        .where(Membership.organization_id == organization_id)
        .order_by(Membership.status, Membership.email)
    )
    return list(session.scalars(query))


def change_role(
    session: DbSession,
    membership: Membership,
    new_role: Role,
    acting_role: Role,
    actor: User | None = None,
) -> None:
    ensure_may_manage(membership, acting_role, new_role)
    if membership.role == Role.OWNER and new_role != Role.OWNER:
        ensure_other_owner(session, membership)
    details = {"email": membership.email, "role": [membership.role, new_role]}
    if membership.role != new_role:
        subject = ("membership", membership.id)
        record_event(
            session, membership.organization_id, "membership.role_changed", actor, subject, details
        )
    membership.role = new_role
    session.commit()


def remove_member(
    session: DbSession, membership: Membership, acting_role: Role, actor: User | None = None
) -> None:
    """Remove a member, or revoke a pending invitation. Commits."""
    ensure_may_manage(membership, acting_role, membership.role)
    if membership.role == Role.OWNER:
        ensure_other_owner(session, membership)
    pending = membership.status == MembershipStatus.PENDING
    action = "membership.invitation_revoked" if pending else "membership.removed"
    details = {"email": membership.email, "role": membership.role}
    record_event(
        session, membership.organization_id, action, actor, ("membership", membership.id), details
    )
    session.delete(membership)
    session.commit()


def ensure_may_manage(membership: Membership, acting_role: Role, new_role: Role) -> None:
    if acting_role not in MANAGER_ROLES:
        raise Forbidden(_("Tu rol en esta organización no permite esta acción."))
    touches_owner = Role.OWNER in (membership.role, new_role)
    if touches_owner and acting_role != Role.OWNER:
        raise Forbidden(_("Solo un dueño/a puede cambiar a otro dueño/a."))


def ensure_other_owner(session: DbSession, membership: Membership) -> None:
    owners = session.scalar(
        select(func.count(Membership.id)).where(
            Membership.organization_id == membership.organization_id,
            Membership.role == Role.OWNER,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )
    if (owners or 0) <= 1:
        raise Conflict(_("La organización tiene que conservar al menos un dueño/a."))
