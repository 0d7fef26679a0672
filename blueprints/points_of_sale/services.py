"""Points of sale: synced from ARCA or added by hand, with the last number ARCA authorized.

Every function that writes commits its own work or none of it. The two that ask ARCA
(`sync_points_of_sale`, `refresh_counters`) end the session's transaction before the first SOAP
call and write only after every answer is in: a failed call leaves the database as it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from flask_babel import gettext as _
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from arca import wsfe
from arca.codes import VOUCHER_TYPES, IssuerCondition, VoucherType
from arca.errors import ArcaError
from blueprints.audit.services import record_event
from blueprints.auth.models import User
from blueprints.organizations.models import Organization
from blueprints.points_of_sale.models import PointOfSale, VoucherCounter
from core.arca import ArcaGateway
from core.db import DbSession, insert_missing
from core.errors import DomainError, ValidationFailed

if TYPE_CHECKING:
    from blueprints.certificates.connection import ArcaSession

T = TypeVar("T")

NUMBER_MIN, NUMBER_MAX = 1, 99999

# The everyday vouchers of each class: invoice, debit note and credit note. FCE MiPyMEs, receipts
# and the rest are rare for a small business; the invoices slice asks ARCA about those on use.
EVERYDAY_TYPES: dict[str, tuple[int, ...]] = {"A": (1, 2, 3), "B": (6, 7, 8), "C": (11, 12, 13)}


class ArcaCallFailed(DomainError):
    """ARCA did not answer, or refused; `message` says why in the user's words. Nothing saved."""

    status = 502


@dataclass(frozen=True)
class PointDetails:
    name: str | None
    address: str | None


@dataclass(frozen=True)
class SyncResult:
    listed: int
    added: int


def list_points_of_sale(session: DbSession, organization_id: int) -> list[PointOfSale]:
    query = (
        select(PointOfSale)
        .where(PointOfSale.organization_id == organization_id)
        .options(selectinload(PointOfSale.counters))
        .order_by(PointOfSale.number)
    )
    return list(session.scalars(query))


def has_usable_point_of_sale(session: DbSession, organization_id: int) -> bool:
    """The dashboard's setup step: at least one point neither blocked nor closed."""
    query = select(
        exists().where(
            PointOfSale.organization_id == organization_id,
            PointOfSale.blocked.is_(False),
            PointOfSale.closed_on.is_(None),
        )
    )
    return bool(session.scalar(query))


def last_synced_at(points: list[PointOfSale]) -> dt.datetime | None:
    """When ARCA last listed any of them: a point not listed then is not in ARCA (any more)."""
    return max((point.synced_at for point in points if point.synced_at), default=None)


def invoice_types_for(condition: IssuerCondition | str) -> list[VoucherType]:
    """The voucher types whose last number we keep for an issuer in this IVA condition."""
    classes = IssuerCondition(condition).voucher_classes
    return [VOUCHER_TYPES[code] for letter in classes for code in EVERYDAY_TYPES[letter]]


def merge_points_of_sale(
    session: DbSession, organization_id: int, found: list[wsfe.PointOfSale], now: dt.datetime
) -> list[PointOfSale]:
    """Record what FEParamGetPtosVenta listed: new numbers added, known ones updated (their
    name and printed address are the user's and stay). Does not commit; returns every point."""
    known = {point.number for point in list_points_of_sale(session, organization_id)}
    new = [{"organization_id": organization_id, "number": item.number} for item in found]
    insert_missing(
        session,
        PointOfSale,
        [row for row in new if row["number"] not in known],
        ("organization_id", "number"),
    )
    points = {point.number: point for point in list_points_of_sale(session, organization_id)}
    for item in found:
        point = points[item.number]
        point.emission_type = item.emission_type or "CAE"
        point.blocked = item.blocked
        point.closed_on = item.closed_on
        point.synced_at = now
    return sorted(points.values(), key=lambda point: point.number)


def sync_points_of_sale(
    session: DbSession, organization_id: int, gateway: ArcaGateway, actor: User | None
) -> SyncResult:
    """Ask ARCA for the organization's points (FEParamGetPtosVenta), merge them and commit.

    Ends `session`'s transaction before calling ARCA. Raises `NoActiveCertificate` before any
    call, `ArcaCallFailed` when ARCA fails; in both cases nothing is written.
    """
    with arca_session(session, organization_id, gateway) as arca:
        found = ask_arca(arca.wsfe.points_of_sale)
    before = {point.number for point in list_points_of_sale(session, organization_id)}
    merge_points_of_sale(session, organization_id, found, gateway.now())
    added = len({item.number for item in found} - before)
    details = {"listed": len(found), "added": added}
    record_event(session, organization_id, "points_of_sale.sync", actor, details=details)
    session.commit()
    return SyncResult(listed=len(found), added=added)


def add_point_of_sale(
    session: DbSession, organization_id: int, number: int, details: PointDetails, actor: User | None
) -> PointOfSale:
    """A point the user knows about and ARCA may not list yet (emission type CAE). Commits.

    Raises `ValidationFailed` on the `number` field for an out-of-range or repeated number.
    """
    if not NUMBER_MIN <= number <= NUMBER_MAX:
        raise ValidationFailed(_("El número va de 1 a 99999."), field="number")
    ensure_number_free(session, organization_id, number)
    point = PointOfSale(organization_id=organization_id, number=number)
    apply_details(point, details)
    session.add(point)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise duplicate_number(number) from None
    audit(session, point, actor, "point_of_sale.add")
    session.commit()
    return point


def ensure_number_free(session: DbSession, organization_id: int, number: int) -> None:
    """Friendlier than the unique constraint, which still guards against a race."""
    query = select(PointOfSale.id).where(
        PointOfSale.organization_id == organization_id, PointOfSale.number == number
    )
    if session.scalar(query) is not None:
        raise duplicate_number(number)


def duplicate_number(number: int) -> ValidationFailed:
    return ValidationFailed(
        _("El punto de venta %(number)s ya está en la lista.", number=f"{number:05d}"),
        field="number",
    )


def update_point_of_sale(
    session: DbSession, point: PointOfSale, details: PointDetails, actor: User | None
) -> PointOfSale:
    """Change the name and the address printed on invoices (ARCA's fields stay). Commits."""
    apply_details(point, details)
    audit(session, point, actor, "point_of_sale.update")
    session.commit()
    return point


def apply_details(point: PointOfSale, details: PointDetails) -> None:
    point.name = (details.name or "").strip() or None
    point.address = (details.address or "").strip() or None


def audit(session: DbSession, point: PointOfSale, actor: User | None, action: str) -> None:
    subject = ("point_of_sale", point.id)
    details = {"number": point.number, "name": point.name, "address": point.address}
    record_event(session, point.organization_id, action, actor, subject, details)


def refresh_counters(
    session: DbSession, point: PointOfSale, gateway: ArcaGateway
) -> list[VoucherCounter]:
    """Ask ARCA the last authorized number (FECompUltimoAutorizado) of each everyday voucher
    type of the organization's class, and store them with the time asked. Commits.

    Ends `session`'s transaction before calling ARCA and writes only once every type answered.
    Raises `NoActiveCertificate` or `ArcaCallFailed` (e.g. a point ARCA does not enable for
    web services) with nothing written.
    """
    organization_id, number = point.organization_id, point.number
    organization = session.get_one(Organization, organization_id)
    codes = [voucher.code for voucher in invoice_types_for(organization.iva_condition)]
    last: dict[int, int] = {}
    with arca_session(session, organization_id, gateway) as arca:
        for code in codes:
            last[code] = ask_arca(partial(arca.wsfe.last_authorized, number, code))
    return store_counters(session, point, last, gateway.now())


def store_counters(
    session: DbSession, point: PointOfSale, last: dict[int, int], now: dt.datetime
) -> list[VoucherCounter]:
    rows = [
        {
            "organization_id": point.organization_id,
            "point_of_sale_id": point.id,
            "invoice_type": invoice_type,
            "last_number": 0,
        }
        for invoice_type in last
    ]
    insert_missing(session, VoucherCounter, rows, ("point_of_sale_id", "invoice_type"))
    session.refresh(point, ["counters"])
    known = {counter.invoice_type: counter for counter in point.counters}
    for invoice_type, last_number in last.items():
        counter = known[invoice_type]
        counter.last_number = last_number
        counter.checked_at = now
    session.commit()
    return list(point.counters)


@contextmanager
def arca_session(
    session: DbSession, organization_id: int, gateway: ArcaGateway
) -> Iterator[ArcaSession]:
    # Imported here because blueprints.certificates.connection imports this module (to merge
    # the points its connection test finds).
    from blueprints.certificates.connection import arca_client

    with arca_client(session, organization_id, gateway) as arca:
        yield arca


def ask_arca(call: Callable[[], T]) -> T:
    """Run one ARCA call; its failure becomes `ArcaCallFailed` with the user's explanation."""
    from blueprints.certificates.connection import describe_arca_error

    try:
        return call()
    except ArcaError as error:
        raise ArcaCallFailed(describe_arca_error(error)) from error
