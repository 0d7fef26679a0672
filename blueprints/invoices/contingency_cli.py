"""`flask --app app invoices caea request|inform|status [--organization CUIT]`: the contingency
from a terminal or a cron, the same services the page and the chores call."""

from __future__ import annotations

from collections.abc import Callable

import click
from sqlalchemy import func, select

from blueprints.invoices.contingency import (
    caeas_of,
    inform_pending,
    pending_summary,
    request_caeas,
)
from blueprints.invoices.models import CaeaReport
from blueprints.organizations.lookup import organization_option
from blueprints.points_of_sale.models import PointOfSale
from core.arca import get_arca
from core.db import DbSession, db
from core.errors import DomainError
from core.rowsecurity import tenant_scope

caea_cli = click.Group("caea", help="CAEA contingency: ask for the fortnight's CAEA, inform ARCA.")


@caea_cli.command("request")
@organization_option
def request_command(organization_id: int | None) -> None:
    """FECAESolicitar for the current fortnight (and the next one, within 5 days of it)."""

    def request(org_id: int) -> list[str]:
        return [
            f"{code.period} order {code.fortnight} CAEA {code.code}"
            f" valid {code.valid_from}..{code.valid_to}, inform by {code.report_deadline}"
            for code in request_caeas(db.session, org_id, get_arca())
        ]

    _for_each_organization(organization_id, request)


@caea_cli.command("inform")
@organization_option
def inform_command(organization_id: int | None) -> None:
    """Inform the vouchers issued with the CAEA (FECAEARegInformativo) and the points of sale
    without movement of the fortnights that ended. Exit 1 while ARCA does not answer."""

    def inform(org_id: int) -> list[str]:
        outcome = inform_pending(db.session, org_id, get_arca())
        return [
            f"{len(outcome.informed)} informed, {len(outcome.rejected)} rejected,"
            f" {len(outcome.no_movement)} without movement"
        ]

    _for_each_organization(organization_id, inform)


def _for_each_organization(organization_id: int | None, work: Callable[[int], list[str]]) -> None:
    """Run `work` for the organization given (already in its scope) or for each one that uses
    the contingency, each confined to its own rows; print its lines; exit 1 if any failed (the
    others still run)."""
    failed = False
    for org_id in _organizations(db.session, organization_id):
        try:
            with tenant_scope(org_id, db.session):
                lines = work(org_id)
        except DomainError as error:
            db.session.rollback()
            click.echo(f"organization {org_id}: {error.message}", err=True)
            failed = True
            continue
        for line in lines:
            click.echo(f"organization {org_id}: {line}")
    if failed:
        raise SystemExit(1)


@caea_cli.command("status")
@organization_option
def status_command(organization_id: int | None) -> None:
    """The CAEAs held and how many contingency vouchers wait (or were refused)."""
    for org_id in _organizations(db.session, organization_id):
        summary = pending_summary(db.session, org_id)
        codes = ", ".join(
            f"{c.period}/{c.fortnight}:{c.code}" for c in caeas_of(db.session, org_id)
        )
        click.echo(
            f"organization {org_id}: {summary.pending} pending, {summary.rejected} rejected;"
            f" CAEA {codes or 'none'}"
        )


def _organizations(session: DbSession, organization_id: int | None) -> list[int]:
    """The one given, or every organization that uses the contingency (a CAEA point of sale,
    or vouchers issued with a CAEA)."""
    if organization_id is not None:
        return [organization_id]
    with_points = select(PointOfSale.organization_id).where(
        func.upper(PointOfSale.emission_type).like("CAEA%")
    )
    ids = set(session.scalars(with_points.distinct()).all())
    ids |= set(session.scalars(select(CaeaReport.organization_id).distinct()).all())
    session.commit()
    return sorted(ids)
