"""`flask --app app invoices reconcile` and `flask --app app invoices verify`, and the same two as
jobs of the scheduler (`core.scheduler`): reconcile every 5 minutes, verify every night.

`verify` is the accountant's audit against ARCA and the proof of the exactly-once claim, from
both sides (blueprints/invoices/verify.py): every number ARCA used since the sequence's checkpoint
is looked up with FECompConsultar and matched to the invoice holding it, so every authorized
invoice above the checkpoint is compared field by field in the same walk (`--full`: from 1).
`verify_invoices` is the app-side walk alone, for tests and scripts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from arca.errors import ArcaError
from blueprints.certificates.connection import arca_client, export_client
from blueprints.invoices.authorization import (
    UNSETTLED,
    build_request,
    reconcile_pending,
    same_voucher,
)
from blueprints.invoices.contingency_cli import caea_cli
from blueprints.invoices.export_authorization import build_export_voucher, same_export_voucher
from blueprints.invoices.models import Invoice, InvoiceStatus
from blueprints.invoices.verify import SequenceReport, verify_all, verify_job
from blueprints.organizations.lookup import organization_option
from core.arca import get_arca
from core.db import DbSession, db
from core.errors import DomainError
from core.jobs import enqueue
from core.scheduler import scheduled

Ours = TypeVar("Ours")
Stored = TypeVar("Stored")

invoices_cli = click.Group("invoices", help="Invoices and ARCA: settle unknown outcomes, audit.")
invoices_cli.add_command(caea_cli)  # `invoices caea request|inform|status`


@invoices_cli.command("reconcile")
@organization_option
@with_appcontext
def reconcile_command(organization_id: int | None) -> None:
    """Settle invoices left `authorizing` or `unknown` by asking ARCA (FECompConsultar); the
    scheduler does it every 5 minutes."""
    settled = reconcile_pending(db.session, organization_id, get_arca())
    click.echo(f"{settled} invoices settled")


@scheduled("invoices.reconcile", every=dt.timedelta(minutes=5))
def reconcile_chore(session: DbSession, now: dt.datetime) -> str:
    """Settle what lost answers left behind that nobody asks about again, one organization at
    a time: one without a usable certificate does not hold up the others (it fails the run,
    named, after they are done)."""
    organizations = sorted(
        set(session.scalars(select(Invoice.organization_id).where(Invoice.status.in_(UNSETTLED))))
    )
    session.commit()
    settled, failed = 0, []
    for organization_id in organizations:
        try:
            settled += reconcile_pending(session, organization_id, get_arca())
        except (DomainError, ArcaError) as error:
            session.rollback()
            failed.append(f"organization {organization_id}: {error}")
    if failed:
        raise RuntimeError(f"{settled} invoices settled; not settled: {'; '.join(failed)}")
    return f"{settled} invoices settled"


@scheduled("invoices.verify", cron="30 3 * * *")  # every night (the scheduler's local time)
def verify_chore(session: DbSession, now: dt.datetime) -> str:
    """ARCA's numbers of every sequence against the app (`verify_job`: late CAEs adopted, what
    needs a person recorded as `invoice.needs_attention`)."""
    return f"{verify_job()} problems"


@dataclass(frozen=True)
class Mismatch:
    invoice: Invoice
    problem: str


@invoices_cli.command("verify")
@organization_option
@click.option("--full", is_flag=True, help="Walk every number from 1, ignoring the checkpoints.")
@click.option("--enqueue", "queue", is_flag=True, help="Queue the check for an RQ worker.")
@with_appcontext
def verify_command(organization_id: int | None, full: bool, queue: bool) -> None:
    """Walk ARCA's numbers of every sequence and match the app: lost CAEs, duplicates, gaps,
    mismatches (exit 1 on any). Late CAEs are adopted onto their draft, sequences blocked by
    them freed; what needs a person is recorded as `invoice.needs_attention`. The scheduler
    runs it every night."""
    if queue:
        job = enqueue(verify_job, organization_id, description="verify invoices against ARCA")
        click.echo(f"verification queued (job {job})" if job else "verification done inline")
        return
    reports = verify_all(db.session, organization_id, get_arca(), full)
    problems = print_reports(reports)
    _print_app_side(reports)
    if problems:
        raise SystemExit(1)


def print_reports(reports: list[SequenceReport]) -> int:
    """A line per sequence ARCA or the app used, each finding under it with both sides."""
    empty = 0
    for report in reports:
        if not report.last and not report.findings:
            empty += 1
            continue
        healed = len(report.findings) - len(report.problems)
        click.echo(
            f"{report.label()}: ARCA last {report.last}, asked {report.queries} "
            f"(from {report.start + 1}), verified through {report.verified_through}; "
            f"{len(report.problems)} problems, {healed} healed"
        )
        for finding in report.findings:
            number = f"#{finding.number}" if finding.number is not None else "-"
            click.echo(f"  {finding.kind.upper()} {number}: {finding.text}")
            for side in (finding.arca, finding.app):
                if side:
                    click.echo(f"      {side}")
    problems = sum(len(report.problems) for report in reports)
    click.echo(
        f"{len(reports)} sequences verified against ARCA ({empty} empty), {problems} problems"
    )
    return problems


def _print_app_side(reports: list[SequenceReport]) -> None:
    """The app's side: each authorized invoice the walk compared, and what differed."""
    mismatches = 0
    for report in reports:
        for finding in report.problems:
            if finding.kind not in ("gap", "mismatch") or finding.invoice_id is None:
                continue
            mismatches += 1
            sequence, number = report.sequence, finding.number or 0
            click.echo(
                f"MISMATCH invoice {finding.invoice_id} (type {sequence.invoice_type}, "
                f"{sequence.point_of_sale:05d}-{number:08d}): {finding.text}"
            )
    checked = sum(report.authorized_checked for report in reports)
    click.echo(f"{checked} authorized invoices checked against ARCA, {mismatches} mismatches")


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
    """Each authorized invoice looked up at ARCA and compared: FECompConsultar (WSFEv1) for
    A/B/C and FCE, FEXGetCMP (WSFEXv1) for Factura E."""
    exports = [invoice for invoice in invoices if invoice.is_export]
    found: list[Mismatch] = []
    if exports:
        with export_client(session, organization_id, get_arca()) as exporting:
            found += _compare_each(
                [(i, build_export_voucher(i, i.number or 0, 0)) for i in exports],
                lambda _, ours: exporting.wsfex.consult(
                    ours.invoice_type, ours.point_of_sale, ours.number
                ),
                lambda stored: stored.cae,
                lambda stored, ours: same_export_voucher(stored.voucher, ours),
            )
    domestic = [invoice for invoice in invoices if not invoice.is_export]
    if domestic:
        with arca_client(session, organization_id, get_arca()) as arca:
            found += _compare_each(
                [(i, build_request(i, i.number or 0).details[0]) for i in domestic],
                lambda invoice, _: arca.wsfe.consult(
                    invoice.point_of_sale_number, invoice.invoice_type, invoice.number or 0
                ),
                lambda stored: stored.authorization_code,
                same_voucher,
            )
    return found


def _compare_each(
    expected: list[tuple[Invoice, Ours]],
    consult: Callable[[Invoice, Ours], Stored | None],
    cae_of: Callable[[Stored], str | None],
    same: Callable[[Stored, Ours], bool],
) -> list[Mismatch]:
    """Each (invoice, what we sent) against what ARCA stores: missing, another CAE, or another
    receiver, date or amounts."""
    found: list[Mismatch] = []
    for invoice, ours in expected:
        try:
            stored = consult(invoice, ours)
        except ArcaError as error:
            found.append(Mismatch(invoice, f"ARCA could not be asked: {error}"))
            continue
        if stored is None:
            found.append(Mismatch(invoice, "ARCA has no such voucher"))
        elif cae_of(stored) != invoice.cae:
            found.append(Mismatch(invoice, f"CAE {invoice.cae} here, {cae_of(stored)} at ARCA"))
        elif not same(stored, ours):
            found.append(Mismatch(invoice, "receiver, date or amounts differ from ARCA's record"))
    return found
