"""`flask --app app invoices reconcile` and `flask --app app invoices verify`.

`verify` is the accountant's audit against ARCA and the proof of the exactly-once claim: every
authorized invoice is looked up with FECompConsultar and compared field by field.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from arca.cuit import normalize_cuit
from arca.errors import ArcaError
from blueprints.certificates.connection import arca_client
from blueprints.invoices.authorization import build_request, reconcile_pending, same_voucher
from blueprints.invoices.models import Invoice, InvoiceStatus
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import DbSession, db

invoices_cli = click.Group("invoices", help="Invoices and ARCA: settle unknown outcomes, audit.")


@invoices_cli.command("reconcile")
@click.option("--organization", "cuit", help="Only this organization (CUIT).")
@click.option("--every", type=int, default=0, help="Repeat every N seconds (a periodic process).")
@with_appcontext
def reconcile_command(cuit: str | None, every: int) -> None:
    """Settle invoices left `authorizing` or `unknown` by asking ARCA (FECompConsultar)."""
    organization_id = _organization_id(db.session, cuit)
    while True:
        settled = reconcile_pending(db.session, organization_id, get_arca())
        click.echo(f"{settled} invoices settled")
        if not every:
            return
        time.sleep(every)


@dataclass(frozen=True)
class Mismatch:
    invoice: Invoice
    problem: str


@invoices_cli.command("verify")
@click.option("--organization", "cuit", help="Only this organization (CUIT).")
@with_appcontext
def verify_command(cuit: str | None) -> None:
    """Compare every authorized invoice with ARCA's record; exit 1 listing any mismatch."""
    organization_id = _organization_id(db.session, cuit)
    checked, mismatches = verify_invoices(db.session, organization_id)
    for mismatch in mismatches:
        invoice = mismatch.invoice
        click.echo(
            f"MISMATCH invoice {invoice.id} (type {invoice.invoice_type}, "
            f"{invoice.point_of_sale_number:05d}-{invoice.number:08d}): {mismatch.problem}"
        )
    click.echo(f"{checked} authorized invoices checked against ARCA, {len(mismatches)} mismatches")
    if mismatches:
        raise SystemExit(1)


def verify_invoices(session: DbSession, organization_id: int | None) -> tuple[int, list[Mismatch]]:
    query = select(Invoice).where(Invoice.status == InvoiceStatus.AUTHORIZED)
    if organization_id is not None:
        query = query.where(Invoice.organization_id == organization_id)
    invoices = list(session.scalars(query.order_by(Invoice.organization_id, Invoice.id)))
    mismatches: list[Mismatch] = []
    for organization in sorted({invoice.organization_id for invoice in invoices}):
        own = [invoice for invoice in invoices if invoice.organization_id == organization]
        mismatches += _verify_organization(session, organization, own)
    return len(invoices), mismatches


def _verify_organization(
    session: DbSession, organization_id: int, invoices: list[Invoice]
) -> list[Mismatch]:
    expected = [
        (invoice, build_request(invoice, invoice.number or 0).details[0]) for invoice in invoices
    ]
    found: list[Mismatch] = []
    with arca_client(session, organization_id, get_arca()) as arca:
        for invoice, ours in expected:
            try:
                stored = arca.wsfe.consult(
                    invoice.point_of_sale_number, invoice.invoice_type, invoice.number or 0
                )
            except ArcaError as error:
                found.append(Mismatch(invoice, f"ARCA could not be asked: {error}"))
                continue
            if stored is None:
                found.append(Mismatch(invoice, "ARCA has no such voucher"))
            elif stored.authorization_code != invoice.cae:
                found.append(
                    Mismatch(
                        invoice, f"CAE {invoice.cae} here, {stored.authorization_code} at ARCA"
                    )
                )
            elif not same_voucher(stored, ours):
                found.append(
                    Mismatch(invoice, "receiver, date or amounts differ from ARCA's record")
                )
    return found


def _organization_id(session: DbSession, cuit: str | None) -> int | None:
    if not cuit:
        return None
    organization_id = session.scalar(
        select(Organization.id).where(Organization.cuit == normalize_cuit(cuit))
    )
    if organization_id is None:
        raise click.BadParameter(f"no organization has CUIT {cuit}", param_hint="--organization")
    return organization_id
