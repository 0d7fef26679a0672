"""Plain factory functions with sequences: each call makes a distinct, valid object."""

from __future__ import annotations

import itertools

from arca.codes import IssuerCondition
from arca.cuit import compute_check_digit
from blueprints.auth.models import User
from blueprints.organizations.models import Membership, MembershipStatus, Organization, Role
from core.db import db, utcnow
from core.security import hash_password

PASSWORD = "correcto-caballo-bateria"
_sequence = itertools.count(1)
_hashed = hash_password(PASSWORD)


def next_cuit(prefix: str = "30") -> str:
    """A valid CUIT, different on every call (skipping numbers whose check digit would be 10)."""
    while True:
        body = f"{prefix}{next(_sequence) + 71000000:08d}"
        digit = compute_check_digit(body)
        if digit is not None:
            return f"{body}{digit}"


def make_user(
    email: str | None = None, name: str = "Persona de Prueba", verified: bool = True
) -> User:
    """An account as the ones that work today: its email confirmed, unless `verified=False`."""
    user = User(
        email=email or f"persona{next(_sequence)}@example.com",
        name=name,
        password_hash=_hashed,
        email_verified_at=utcnow() if verified else None,
    )
    db.session.add(user)
    db.session.commit()
    return user


def make_organization(
    owner: User | None = None,
    legal_name: str | None = None,
    condition: IssuerCondition = IssuerCondition.RESPONSABLE_INSCRIPTO,
) -> Organization:
    organization = Organization(
        cuit=next_cuit(),
        legal_name=legal_name or f"Comercio {next(_sequence)} SRL",
        iva_condition=condition,
    )
    db.session.add(organization)
    if owner is not None:
        add_member(organization, owner, Role.OWNER)
    db.session.commit()
    return organization


def add_member(organization: Organization, user: User, role: Role) -> Membership:
    membership = Membership(
        organization=organization,
        user=user,
        email=user.email,
        role=role,
        status=MembershipStatus.ACTIVE,
    )
    db.session.add(membership)
    db.session.commit()
    return membership
