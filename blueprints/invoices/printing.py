"""The stored invoice as `pdf`'s input. Only the snapshot is read (receiver, lines, amounts,
CAE), so an authorized invoice prints the same forever; the issuer's data is the
organization's as it is now (RG 1415 asks for its current address and condition)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from arca.codes import (
    DOCUMENT_TYPES,
    ISSUER_CONDITION_LABELS,
    RECEIVER_CONDITIONS,
    VOUCHER_TYPES,
    IssuerCondition,
)
from arca.export_codes import country_name, export_codes
from arca.qr import build_qr_payload, build_qr_url
from blueprints.customers.models import Customer
from blueprints.customers.services import display_document
from blueprints.invoices.models import Invoice, InvoiceLine, InvoiceStatus
from blueprints.invoices.pdf import (
    PdfExport,
    PdfIssuer,
    PdfLine,
    PdfReceiver,
    PdfTaxRow,
    PdfVatRow,
    PdfVoucher,
    line_vat_label,
    render_invoice_pdf,
    vat_rate_label,
    voucher_legends,
)
from blueprints.invoices.totals import rate_percent
from blueprints.organizations.models import Organization
from blueprints.points_of_sale.models import PointOfSale
from core.db import DbSession

CENT = Decimal("0.01")
UNIT = Decimal("0.0001")  # unit prices carry up to 4 decimals
CONSUMIDOR_FINAL = 5


def invoice_pdf(
    session: DbSession, invoice: Invoice, copies: tuple[str, ...] = ("ORIGINAL",)
) -> bytes:
    organization = session.get_one(Organization, invoice.organization_id)
    point = session.get(PointOfSale, invoice.point_of_sale_id)
    return render_invoice_pdf(
        pdf_voucher(session, invoice),
        pdf_issuer(organization, point),
        pdf_receiver(invoice),
        copies,
    )


def pdf_issuer(organization: Organization, point: PointOfSale | None) -> PdfIssuer:
    # The point of sale's own address, when it has one, is where these vouchers are issued.
    address = (point.address if point and point.address else organization.address) or ""
    return PdfIssuer(
        legal_name=organization.legal_name,
        cuit=organization.cuit,
        iva_condition=ISSUER_CONDITION_LABELS[IssuerCondition(organization.iva_condition)],
        address=address,
        trade_name=organization.trade_name,
        iibb=organization.iibb,
        activity_start=organization.activity_start,
        logo=organization.logo,
        logo_mime=organization.logo_mime,
    )


def pdf_receiver(invoice: Invoice) -> PdfReceiver:
    condition = RECEIVER_CONDITIONS.get(invoice.receiver_condition)
    if invoice.is_export:
        return export_receiver(invoice, condition.description if condition else "")
    return PdfReceiver(
        name=invoice.receiver_name,
        doc_type=DOCUMENT_TYPES.get(invoice.receiver_doc_type, str(invoice.receiver_doc_type)),
        doc_number=display_document(invoice.receiver_doc_type, invoice.receiver_doc_number),
        iva_condition=condition.description if condition else str(invoice.receiver_condition),
        address=invoice.receiver_address,
        anonymous=invoice.receiver_doc_type == 99,
    )


def export_receiver(invoice: Invoice, condition: str) -> PdfReceiver:
    """A Factura E's receiver is identified by its country's CUIT or, without one, by its tax
    id abroad (never "a consumidor final", whatever document is stored)."""
    cuit = invoice.receiver_country_cuit
    return PdfReceiver(
        name=invoice.receiver_name,
        doc_type="CUIT país" if cuit else "Id. impositivo",
        doc_number=display_document(80, cuit) if cuit else invoice.receiver_tax_id or "-",
        iva_condition=condition,
        address=invoice.receiver_address,
    )


def pdf_export(session: DbSession, invoice: Invoice) -> PdfExport | None:
    if not invoice.is_export:
        return None
    return PdfExport(
        receiver_country=receiver_country(session, invoice),
        destination_country=country_name(invoice.destination_country),
        # Beside the country CUIT; without one the tax id is the receiver's document line.
        receiver_tax_id=invoice.receiver_tax_id if invoice.receiver_country_cuit else None,
        incoterms=invoice.incoterms,
        incoterms_detail=invoice.incoterms_detail,
        permits=tuple(
            f"{p['permit_id']} ({country_name(int(p['destination_country']))})"
            for p in invoice.permits
        ),
    )


def receiver_country(session: DbSession, invoice: Invoice) -> str:
    """The receiver's country as its country CUIT names it ("ESTADOS UNIDOS - Persona
    Jurídica"), which the invoice keeps; without one, the customer's country."""
    cuit = invoice.receiver_country_cuit
    if cuit and cuit in export_codes().foreign_cuits:
        return export_codes().foreign_cuits[cuit].split(" - ")[0]
    customer = session.get(Customer, invoice.customer_id) if invoice.customer_id else None
    return country_name(customer.country if customer else invoice.destination_country)


def pdf_voucher(session: DbSession, invoice: Invoice) -> PdfVoucher:
    voucher = VOUCHER_TYPES.get(invoice.invoice_type)
    authorized = invoice.status == InvoiceStatus.AUTHORIZED
    return PdfVoucher(
        invoice_type=invoice.invoice_type,
        letter=invoice.letter,
        voucher_name=voucher.description if voucher else str(invoice.invoice_type),
        point_of_sale=invoice.point_of_sale_number,
        number=invoice.number or 0,
        issue_date=invoice.issue_date,
        lines=tuple(pdf_line(invoice, line) for line in invoice.lines),
        total=invoice.total,
        concept=invoice.concept,
        service_from=invoice.service_from,
        service_to=invoice.service_to,
        payment_due=invoice.payment_due,
        currency=invoice.currency,
        currency_rate=invoice.currency_rate,
        untaxed=invoice.untaxed,
        net=invoice.net,
        exempt=invoice.exempt,
        vat_rows=tuple(
            PdfVatRow(vat_rate_label(v.rate_id), v.base, v.amount) for v in invoice.vat_rows
        ),
        other_taxes=tuple(PdfTaxRow(t.description, t.amount, t.tax_id) for t in invoice.tax_rows),
        vat_total=invoice.vat_total,
        other_taxes_total=invoice.other_taxes_total,
        cae=invoice.cae if authorized else None,
        cae_due=invoice.cae_due if authorized else None,
        qr_url=qr_url(session, invoice) if authorized else None,
        notes=invoice.notes,
        legends=voucher_legends(invoice.letter, invoice.receiver_condition),  # type: ignore[arg-type]
        associated_voucher=_associated(invoice),
        receiver_is_final_consumer=invoice.receiver_condition == CONSUMIDOR_FINAL,
        authorization_kind="CAEA" if invoice.by_caea else "CAE",
        fce_cbu=invoice.fce_cbu,
        fce_alias=invoice.fce_alias,
        fce_transfer=invoice.fce_transfer,
        fce_cancels_rejected=invoice.fce_cancels_rejected,
        payment_terms=invoice.export_payment_terms,
        export=pdf_export(session, invoice),
    )


def pdf_line(invoice: Invoice, line: InvoiceLine) -> PdfLine:
    """Class A prints net prices and the VAT rate; B and C the final prices. (The invoice's
    page shows its lines through this too, so that both agree.)"""
    rate = rate_percent(int(line.vat) if line.vat.isdigit() else line.vat) or Decimal(0)  # type: ignore[arg-type]
    if invoice.letter in ("A", "ALEY"):
        price, amount = line.unit_price, line.net
        if invoice.prices_include_vat:  # typed with VAT: shown net, like the amount beside it
            price = (price * 100 / (100 + rate)).quantize(UNIT, ROUND_HALF_EVEN)
    elif invoice.prices_include_vat or invoice.letter in ("C", "E"):
        price, amount = line.unit_price, line.total
    else:
        gross = line.unit_price * (1 + rate / 100)
        price, amount = gross.quantize(CENT, ROUND_HALF_EVEN), line.total
    return PdfLine(
        description=line.description,
        quantity=line.quantity,
        unit_price=price,
        amount=amount,
        unit=line.unit,
        discount_percent=line.discount_percent,
        vat=line_vat_label(line.vat),
    )


def qr_url(session: DbSession, invoice: Invoice) -> str:
    """RG 4892: the URL the QR encodes, from the authorized voucher's data."""
    organization = session.get_one(Organization, invoice.organization_id)
    digits = "".join(ch for ch in invoice.receiver_doc_number if ch.isdigit()) or "0"
    doc_type: int | None = invoice.receiver_doc_type
    if invoice.is_export:  # the country CUIT when there is one; else no receiver fields
        cuit = invoice.receiver_country_cuit
        doc_type, digits = (80, cuit) if cuit else (None, "0")
    payload = build_qr_payload(
        date=invoice.issue_date,
        cuit=organization.cuit,
        point_of_sale=invoice.point_of_sale_number,
        invoice_type=invoice.invoice_type,
        number=invoice.number or 0,
        total=invoice.total,
        currency=invoice.currency,
        currency_rate=invoice.currency_rate,
        doc_type=doc_type,
        doc_number=digits,
        cae=invoice.cae or "0",
        authorization_type="A" if invoice.by_caea else "E",  # RG 4892: tipoCodAut
    )
    return build_qr_url(payload)


def _associated(invoice: Invoice) -> str | None:
    original = invoice.associated_invoice
    if original is None or original.number is None:
        return None
    voucher = VOUCHER_TYPES.get(original.invoice_type)
    name = voucher.description if voucher else str(original.invoice_type)
    day = original.issue_date.strftime("%d/%m/%Y")
    return f"{name} {original.point_of_sale_number:05d}-{original.number:08d} del {day}"
