"""The scheduler's nightly padrón refresh (`customers.padron_refresh`).

The invoice review warns when a receiver's IVA condition differs from ARCA's padrón, but it only
reads the cache (it never calls ARCA while someone waits), and a lookup is kept a day. So every
night, before the day's first invoices, each organization with an active certificate asks again
for the CUITs it is invoicing: receivers of its open drafts and of what it issued in the last
`RECENT_DAYS`, at most `PER_ORGANIZATION` of them, most recent first. One sign-in per
organization; a CUIT ARCA does not know (or reports inactive) is skipped, an organization whose
certificate or ARCA fails is named in the run's error after the others are done.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select

from arca.cuit import is_valid_cuit, normalize_cuit
from arca.errors import ArcaError
from arca.padron import TaxpayerInactive
from blueprints.certificates.connection import NoActiveCertificate
from blueprints.customers.padron import (
    PadronUnavailable,
    TaxpayerUnknown,
    ask_and_remember,
    padron_client,
)
from blueprints.invoices.models import Invoice, InvoiceStatus
from blueprints.invoices.preflight import PADRON_DOCUMENTS
from blueprints.invoices.preflight_adapter import arca_today
from core.arca import ArcaGateway, get_arca
from core.db import DbSession
from core.errors import DomainError
from core.scheduler import scheduled

RECENT_DAYS = 45  # invoiced within a month and a half: a customer still being invoiced
PER_ORGANIZATION = 300  # CUITs asked per organization and night (one SOAP call each)


@dataclass
class Refresh:
    refreshed: int = 0
    skipped: int = 0  # unknown to ARCA, or inactive
    without_certificate: int = 0  # organizations
    failed: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.refreshed} CUITs refreshed, {self.skipped} unknown or inactive, "
            f"{self.without_certificate} organizations without a certificate"
        )


def receivers_to_refresh(session: DbSession, today: dt.date) -> dict[int, list[str]]:
    """Per organization, the valid CUITs of its drafts and recent invoices, latest first."""
    since = today - dt.timedelta(days=RECENT_DAYS)
    latest = func.max(Invoice.id)
    rows = session.execute(
        select(Invoice.organization_id, Invoice.receiver_doc_number)
        .where(
            Invoice.receiver_doc_type.in_(PADRON_DOCUMENTS),
            or_(Invoice.status == InvoiceStatus.DRAFT, Invoice.issue_date >= since),
        )
        .group_by(Invoice.organization_id, Invoice.receiver_doc_number)
        .order_by(Invoice.organization_id, latest.desc())
    ).all()
    session.commit()
    wanted: dict[int, list[str]] = defaultdict(list)
    for organization_id, number in rows:
        digits = normalize_cuit(number)
        cuits = wanted[organization_id]
        if is_valid_cuit(digits) and digits not in cuits and len(cuits) < PER_ORGANIZATION:
            cuits.append(digits)
    return dict(wanted)


def refresh_organization(
    session: DbSession, organization_id: int, cuits: list[str], gateway: ArcaGateway
) -> tuple[int, int]:
    """Ask ARCA for each CUIT with one sign-in: (refreshed, skipped). Raises
    `NoActiveCertificate`, or `PadronUnavailable` when ARCA fails for reasons not the CUIT's."""
    refreshed = skipped = 0
    with padron_client(session, organization_id, gateway) as client:
        for cuit in cuits:
            try:
                ask_and_remember(client, organization_id, cuit, gateway)
            except TaxpayerUnknown:
                skipped += 1
                continue
            except PadronUnavailable as error:
                if not is_inactive(error):
                    raise
                skipped += 1
                continue
            refreshed += 1
    return refreshed, skipped


def is_inactive(error: PadronUnavailable) -> bool:
    return isinstance(error.__cause__, TaxpayerInactive)


@scheduled("customers.padron_refresh", cron="0 2 * * *")  # nightly (the scheduler's local time)
def padron_refresh_chore(session: DbSession, now: dt.datetime) -> str:
    """Refresh the padrón cache for the CUITs each organization is invoicing."""
    gateway = get_arca()
    report = Refresh()
    for organization_id, cuits in receivers_to_refresh(session, arca_today(gateway)).items():
        try:
            refreshed, skipped = refresh_organization(session, organization_id, cuits, gateway)
        except NoActiveCertificate:
            session.rollback()
            report.without_certificate += 1
            continue
        except (DomainError, ArcaError) as error:  # PadronUnavailable, a WSAA refusal…
            session.rollback()
            report.failed.append(f"organization {organization_id}: {error}")
            continue
        report.refreshed += refreshed
        report.skipped += skipped
    if report.failed:
        raise RuntimeError(f"{report.line()}; not refreshed: {'; '.join(report.failed)}")
    return report.line()
