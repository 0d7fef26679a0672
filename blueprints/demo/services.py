"""The demo data: one user who owns two organizations, each with a certificate and points of sale.

Sandbox only: the certificates come from the sandbox's CA and the points of sale from its
WSFEv1. Every step is skipped when its result is already there, so a second run changes
nothing; `reset` first deletes the demo organizations (everything of theirs goes with them).
An organization that holds a demo CUIT but is not the demo user's is never touched.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from arca.codes import IssuerCondition
from arca.environments import SANDBOX
from blueprints.auth.models import User
from blueprints.auth.services import AccountDetails, build_user
from blueprints.certificates.connection import arca_client
from blueprints.certificates.models import Certificate, CertificateState
from blueprints.certificates.services import (
    active_certificate,
    generate_request,
    issue_with_sandbox_ca,
)
from blueprints.organizations.models import Membership, Organization, Role
from blueprints.organizations.services import OrganizationDetails, create_organization
from blueprints.points_of_sale.services import list_points_of_sale, merge_points_of_sale
from core.arca import ArcaGateway
from core.crypto import KeyRing
from core.db import DbSession
from core.errors import Conflict
from core.security import hash_password

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-talonario"  # noqa: S105 - a published login for sandbox demo data
DEMO_NAME = "Demo"


@dataclass(frozen=True)
class DemoOrganization:
    details: OrganizationDetails
    points_of_sale: tuple[int, ...]


DEMO_ORGANIZATIONS = (
    DemoOrganization(
        OrganizationDetails(
            cuit="30712345671",
            legal_name="Almacén Demo SRL",
            trade_name="Almacén Demo",
            iva_condition=IssuerCondition.RESPONSABLE_INSCRIPTO,
            iibb="901-712345-6",
            activity_start=dt.date(2019, 3, 1),
            address="Av. Corrientes 1234, C1043AAZ Ciudad Autónoma de Buenos Aires",
        ),
        points_of_sale=(1, 2),
    ),
    DemoOrganization(
        OrganizationDetails(
            cuit="20276543211",
            legal_name="Ana Demo",
            iva_condition=IssuerCondition.MONOTRIBUTO,
            activity_start=dt.date(2021, 8, 16),
            address="Calle 7 N° 845, B1900 La Plata, Buenos Aires",
        ),
        points_of_sale=(1,),
    ),
)


class DemoRefused(Conflict):
    """The demo cannot be made here (not the sandbox, or a demo CUIT taken by someone else)."""


@dataclass(frozen=True)
class DemoReport:
    organization: Organization
    certificate: Certificate
    points_of_sale: list[int]
    created: bool


def create_demo(
    session: DbSession, gateway: ArcaGateway, keyring: KeyRing, reset: bool = False
) -> tuple[User, list[DemoReport]]:
    """Make whatever part of the demo data is missing (all of it again with `reset`). Commits.

    Raises `DemoRefused` outside the sandbox, before touching anything; ARCA errors from the
    sandbox's WSFEv1 propagate (the parts made before stay, and a rerun completes them).
    """
    if gateway.environment_name != SANDBOX:
        raise DemoRefused(
            f"The demo needs the sandbox; TALONARIO_ARCA_ENVIRONMENT is {gateway.environment_name}"
        )
    if reset:
        delete_demo(session)
    user = ensure_user(session, reset)
    reports = [ensure_organization(session, gateway, keyring, user, d) for d in DEMO_ORGANIZATIONS]
    return user, reports


def delete_demo(session: DbSession) -> int:
    """Delete the demo user's organizations with a demo CUIT (cascading). Commits."""
    owned = (
        select(Membership.organization_id)
        .join(User, Membership.user_id == User.id)
        .where(User.email == DEMO_EMAIL, Membership.role == Role.OWNER)
    )
    cuits = [demo.details.cuit for demo in DEMO_ORGANIZATIONS]
    query = select(Organization).where(Organization.cuit.in_(cuits), Organization.id.in_(owned))
    organizations = list(session.scalars(query))
    for organization in organizations:
        session.delete(organization)
    session.commit()
    return len(organizations)


def ensure_user(session: DbSession, reset: bool) -> User:
    """The demo user; with `reset`, its name and password set back to the demo's. Commits."""
    user = session.scalar(select(User).where(User.email == DEMO_EMAIL))
    if user is None:
        user = build_user(session, AccountDetails(DEMO_NAME, DEMO_EMAIL, DEMO_PASSWORD))
        session.add(user)
    elif reset:
        user.name, user.password_hash = DEMO_NAME, hash_password(DEMO_PASSWORD)
    session.commit()
    return user


def ensure_organization(
    session: DbSession, gateway: ArcaGateway, keyring: KeyRing, user: User, demo: DemoOrganization
) -> DemoReport:
    """The organization, its active certificate and its points of sale. Commits."""
    cuit = demo.details.cuit
    organization = session.scalar(select(Organization).where(Organization.cuit == cuit))
    created = organization is None
    if organization is None:
        organization = create_organization(session, user, demo.details).organization
    elif not is_owner(session, organization, user):
        raise DemoRefused(
            f"CUIT {cuit} belongs to «{organization.legal_name}», which is not demo data: "
            "the demo leaves it alone (delete it first to use the demo)."
        )
    certificate = ensure_certificate(session, gateway, keyring, organization)
    numbers = ensure_points_of_sale(session, gateway, organization.id, demo.points_of_sale)
    return DemoReport(organization, certificate, numbers, created)


def is_owner(session: DbSession, organization: Organization, user: User) -> bool:
    membership = session.scalar(
        select(Membership).where(
            Membership.organization_id == organization.id, Membership.user_id == user.id
        )
    )
    return membership is not None and membership.role == Role.OWNER


def ensure_certificate(
    session: DbSession, gateway: ArcaGateway, keyring: KeyRing, organization: Organization
) -> Certificate:
    """The active sandbox certificate, issued by the sandbox's CA when there is none usable."""
    current = active_certificate(session, organization.id, SANDBOX)
    if current is not None and current.state(gateway.now()) != CertificateState.EXPIRED:
        return current
    # A new alias each time: WSAA keys tickets by the certificate's subject, so a remade demo
    # certificate with the old subject would be refused a ticket while the old one is valid.
    alias = f"demo-{gateway.now():%Y%m%d}-{secrets.token_hex(3)}"
    # No actor: a command-line operation, as the audit trail records it.
    request = generate_request(session, organization, None, SANDBOX, alias, keyring)
    return issue_with_sandbox_ca(session, organization, None, request, gateway)


def ensure_points_of_sale(
    session: DbSession, gateway: ArcaGateway, organization_id: int, numbers: tuple[int, ...]
) -> list[int]:
    """Those of `numbers` the sandbox lists (FEParamGetPtosVenta), recorded. Commits."""
    known = {point.number for point in list_points_of_sale(session, organization_id)}
    if not set(numbers) <= known:
        with arca_client(session, organization_id, gateway) as arca:
            found = arca.wsfe.points_of_sale()
        wanted = [point for point in found if point.number in numbers]
        merge_points_of_sale(session, organization_id, wanted, gateway.now())
        session.commit()
    return [point.number for point in list_points_of_sale(session, organization_id)]
