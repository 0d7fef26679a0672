"""The stored invoice and what the app knows (certificate, point of sale, last authorized date)
as the pure preflight's input. Reads the database only; never calls ARCA.

The padrón warning reads only the padrón answer already in the cache (a lookup from the customer
form or the API within the last day): the preflight runs on every invoice page and before every
authorization, in batches of 250, and a SOAP call each time would make it slow and make it fail
when ARCA is down, for a warning that never blocks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from arca.codes import IssuerCondition, VoucherKind
from arca.wsfe import AssociatedVoucher, VatAmount
from blueprints.certificates.services import has_active_certificate
from blueprints.customers.padron import cached_lookup, lookup_day
from blueprints.invoices.export_preflight import export_checks
from blueprints.invoices.fce import cached_obligation
from blueprints.invoices.models import Invoice, InvoiceStatus
from blueprints.invoices.preflight import (
    PADRON_DOCUMENTS,
    PreflightInput,
    Problem,
    fce_warnings,
    padron_warnings,
    run_preflight,
)
from blueprints.invoices.services import credited_so_far, stored_line
from blueprints.invoices.totals import Line, Totals, compute_totals
from blueprints.organizations.models import Organization
from blueprints.points_of_sale.models import PointOfSale
from core.arca import ArcaGateway, get_arca
from core.db import DbSession

ARGENTINA = ZoneInfo("America/Argentina/Buenos_Aires")


def arca_today(gateway: ArcaGateway) -> dt.date:
    """The date ARCA judges `CbteFch` by: Argentina's, on ARCA's clock (NOTES §9)."""
    return gateway.now().astimezone(ARGENTINA).date()


def preflight_problems(session: DbSession, invoice: Invoice, gateway: ArcaGateway) -> list[Problem]:
    """Every reason ARCA would refuse the invoice as stored; [] when it should pass."""
    if invoice.is_export:  # WSFEXv1's rules, not WSFEv1's
        return export_checks(preflight_input(session, invoice, gateway), invoice)
    return run_preflight(preflight_input(session, invoice, gateway))


def preflight_warnings(invoice: Invoice, gateway: ArcaGateway | None = None) -> list[Problem]:
    """What deserves a look but does not stop the invoice: the receiver's IVA condition
    against ARCA's padrón, and a plain invoice where ARCA's wsfecred calls for FCE MiPyME,
    both as cached (never calls ARCA)."""
    return _fce_warnings(invoice, gateway or get_arca()) + _padron_warnings(invoice)


def _fce_warnings(invoice: Invoice, gateway: ArcaGateway) -> list[Problem]:
    obligation = cached_obligation(
        gateway.environment_name,
        invoice.organization_id,
        invoice.receiver_doc_number,
        invoice.issue_date,
    )
    return fce_warnings(
        invoice.invoice_type,
        VoucherKind(invoice.kind),
        invoice.receiver_doc_type,
        invoice.total * invoice.currency_rate,
        obligation,
    )


def _padron_warnings(invoice: Invoice) -> list[Problem]:
    if invoice.receiver_doc_type not in PADRON_DOCUMENTS:
        return []
    lookup = cached_lookup(invoice.organization_id, invoice.receiver_doc_number)
    if lookup is None:
        return []
    return padron_warnings(
        invoice.receiver_doc_type,
        invoice.receiver_doc_number,
        invoice.receiver_condition,
        lookup.taxpayer,
        lookup_day(lookup),
    )


def preflight_input(session: DbSession, invoice: Invoice, gateway: ArcaGateway) -> PreflightInput:
    organization = session.get_one(Organization, invoice.organization_id)
    point = session.get(PointOfSale, invoice.point_of_sale_id)
    lines = [stored_line(line) for line in invoice.lines]
    original = invoice.associated_invoice
    return PreflightInput(
        issuer_cuit=organization.cuit,
        issuer_condition=IssuerCondition(organization.iva_condition),
        a_with_legend=organization.a_with_legend,
        point_of_sale=invoice.point_of_sale_number,
        invoice_type=invoice.invoice_type,
        kind=VoucherKind(invoice.kind),
        concept=invoice.concept,
        issue_date=invoice.issue_date,
        today=arca_today(gateway),
        doc_type=invoice.receiver_doc_type,
        doc_number=invoice.receiver_doc_number,
        receiver_condition_id=invoice.receiver_condition,
        lines=lines,
        totals=stored_totals(invoice, lines),
        certificate_active=has_active_certificate(
            session, organization.id, gateway.environment_name
        ),
        point_of_sale_known=point is not None and point.synced_at is not None,
        point_of_sale_usable=point is not None and point.usable,
        emission_type=point.emission_type if point else "",
        last_authorized_date=_last_authorized_date(session, invoice),
        service_from=invoice.service_from,
        service_to=invoice.service_to,
        payment_due=invoice.payment_due,
        currency=invoice.currency,
        currency_rate=invoice.currency_rate,
        same_currency_payment=invoice.same_currency_payment,
        associated=_associated(original),
        credit_remaining=_credit_remaining(session, invoice, original),
        consumer_threshold=Decimal(str(current_app.config["CONSUMER_IDENTIFICATION_THRESHOLD"])),
        fce_cbu=invoice.fce_cbu,
    )


def _associated(original: Invoice | None) -> list[AssociatedVoucher]:
    if original is None:
        return []
    number = original.number or 0
    return [AssociatedVoucher(original.invoice_type, original.point_of_sale_number, number)]


def _credit_remaining(
    session: DbSession, invoice: Invoice, original: Invoice | None
) -> Decimal | None:
    if original is None or invoice.kind != str(VoucherKind.CREDIT_NOTE):
        return None
    return original.total - credited_so_far(session, original)


def stored_totals(invoice: Invoice, lines: list[Line]) -> Totals:
    """The amounts as stored (what would be sent), so a tampered or stale row is caught."""
    computed = compute_totals(lines, invoice.letter, invoice.prices_include_vat)  # type: ignore[arg-type]
    return Totals(
        lines=computed.lines,
        untaxed=invoice.untaxed,
        net=invoice.net,
        exempt=invoice.exempt,
        vat=tuple(_vat(invoice)),
        vat_total=invoice.vat_total,
        other_taxes=computed.other_taxes,
        other_taxes_total=invoice.other_taxes_total,
        total=invoice.total,
    )


def _vat(invoice: Invoice) -> list[VatAmount]:
    return [VatAmount(row.rate_id, row.base, row.amount) for row in invoice.vat_rows]


def _last_authorized_date(session: DbSession, invoice: Invoice) -> dt.date | None:
    return session.scalar(
        select(func.max(Invoice.issue_date)).where(
            Invoice.organization_id == invoice.organization_id,
            Invoice.point_of_sale_number == invoice.point_of_sale_number,
            Invoice.invoice_type == invoice.invoice_type,
            Invoice.status == InvoiceStatus.AUTHORIZED,
        )
    )
