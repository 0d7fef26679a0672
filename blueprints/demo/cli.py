"""`flask --app app demo [--reset]`: a demo user, two organizations, certificates, points of sale,
customers and invoices authorized by the sandbox.

Prints what it made and the login; never a key or a ticket.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from arca.cuit import format_cuit
from arca.errors import ArcaError
from blueprints.demo.services import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DemoReport,
    InvoiceCounts,
    create_demo,
)
from core.arca import get_arca
from core.crypto import get_keyring
from core.db import db
from core.errors import DomainError
from core.i18n import iva_label


@click.command("demo")
@click.option("--reset", is_flag=True, help="Delete the demo organizations first, then remake.")
@with_appcontext
def demo_command(reset: bool) -> None:
    """Demo data in the sandbox: demo@example.com owning two organizations ready to invoice
    (the first with 52 customers and 202 invoices, an FCE MiPyME and a Factura E among them;
    the second with 10)."""
    try:
        _user, reports = create_demo(db.session, get_arca(), get_keyring(), reset)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    except ArcaError as error:
        raise click.ClickException(f"The sandbox's ARCA failed: {error}") from error
    for report in reports:
        click.echo(describe(report))
    click.echo(f"Log in as {DEMO_EMAIL} / {DEMO_PASSWORD}")


def describe(report: DemoReport) -> str:
    organization, certificate = report.organization, report.certificate
    expiry = certificate.not_valid_after.date().isoformat() if certificate.not_valid_after else "?"
    points = ", ".join(str(number) for number in report.points_of_sale) or "none"
    return (
        f"{organization.legal_name} (CUIT {format_cuit(organization.cuit)}, "
        f"{iva_label(organization.iva_condition)}): "
        f"{'created' if report.created else 'already there'}\n"
        f"  certificate {certificate.alias}: {certificate.status}, valid until {expiry}\n"
        f"  points of sale: {points}\n"
        f"  customers: {report.customers}\n"
        f"  invoices: {describe_invoices(report.invoices)}"
    )


def describe_invoices(counts: InvoiceCounts) -> str:
    """E.g. "202 authorized (1 FCE MiPyME, 1 Factura E), 3 drafts, 1 rejected, 1 credit
    note": after the authorized invoices, only the kinds there are."""
    special = [
        f"{count} {name}"
        for count, name in ((counts.fce, "FCE MiPyME"), (counts.export, "Factura E"))
        if count
    ]
    parts = [f"{counts.authorized} authorized" + (f" ({', '.join(special)})" if special else "")]
    for count, one, many in (
        (counts.drafts, "draft", "drafts"),
        (counts.rejected, "rejected", "rejected"),
        (counts.credit_notes, "credit note", "credit notes"),
    ):
        if count:
            parts.append(f"{count} {one if count == 1 else many}")
    return ", ".join(parts)
