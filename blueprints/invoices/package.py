"""The accountant's monthly package: a ZIP with every authorized voucher's PDF, a CSV of the
month and the Libro IVA Digital sales files (REGINFO_CV_VENTAS_CBTE / _ALICUOTAS).

Vouchers the Libro IVA importer would refuse are left out of those two files and listed in
LEEME.txt with the reason, so one odd voucher never blocks the month. Monotributistas don't
file the Libro IVA Digital: their package has no such files. FCE MiPyME and Factura E
vouchers go in like any other (their PDFs, rows and Libro records; `libro_iva` knows their codes).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from arca.codes import DocumentType, IssuerCondition
from blueprints.invoices.libro_iva import (
    LibroAlicuota,
    LibroTributo,
    LibroVoucher,
    encode_libro,
    libro_ventas,
    voucher_problems,
)
from blueprints.invoices.listing import export_rows
from blueprints.invoices.models import Invoice, InvoiceStatus
from blueprints.invoices.printing import invoice_pdf
from blueprints.organizations.models import Organization
from core.db import DbSession

CBTE_FILE = "libro_iva/REGINFO_CV_VENTAS_CBTE.txt"
ALICUOTAS_FILE = "libro_iva/REGINFO_CV_VENTAS_ALICUOTAS.txt"
FILES_LIBRO = frozenset({IssuerCondition.RESPONSABLE_INSCRIPTO, IssuerCondition.IVA_EXENTO})


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def first(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last(self) -> dt.date:
        following = dt.date(self.year + self.month // 12, self.month % 12 + 1, 1)
        return following - dt.timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @classmethod
    def parse(cls, text: str | None) -> Month | None:
        """`AAAA-MM` (what `<input type="month">` sends), or None."""
        try:
            year, month = (int(part) for part in (text or "").split("-"))
        except ValueError:
            return None
        return cls(year, month) if 1 <= month <= 12 and 2000 <= year <= 2100 else None

    @classmethod
    def before(cls, day: dt.date) -> Month:
        """The last month closed on `day`."""
        previous = day.replace(day=1) - dt.timedelta(days=1)
        return cls(previous.year, previous.month)


def monthly_package(
    session: DbSession,
    organization_id: int,
    month: Month,
    progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """The ZIP's bytes. Reads only authorized vouchers dated in `month`; `progress(done,
    total)` is called after each voucher's PDF (it may commit: the vouchers are read first)."""
    organization = session.get_one(Organization, organization_id)
    invoices = month_invoices(session, organization_id, month)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for done, invoice in enumerate(invoices, start=1):
            archive.writestr(
                f"comprobantes/{pdf_file_name(invoice)}", invoice_pdf(session, invoice)
            )
            if progress is not None:
                progress(done, len(invoices))
        archive.writestr(f"comprobantes-{month}.csv", "".join(export_rows(invoices)).encode())
        notes = [f"Comprobantes autorizados de {month}: {len(invoices)}."]
        if IssuerCondition(organization.iva_condition) in FILES_LIBRO:
            notes += _write_libro(archive, invoices)
        else:
            notes.append("Monotributo: no corresponde presentar el Libro IVA Digital.")
        archive.writestr("LEEME.txt", "\r\n".join(notes) + "\r\n")
    return buffer.getvalue()


def month_invoices(session: DbSession, organization_id: int, month: Month) -> list[Invoice]:
    query = (
        select(Invoice)
        .where(
            Invoice.organization_id == organization_id,
            Invoice.status == InvoiceStatus.AUTHORIZED,
            Invoice.issue_date >= month.first,
            Invoice.issue_date <= month.last,
        )
        .order_by(
            Invoice.issue_date, Invoice.invoice_type, Invoice.point_of_sale_number, Invoice.number
        )
    )
    return list(session.scalars(query))


def _write_libro(archive: zipfile.ZipFile, invoices: list[Invoice]) -> list[str]:
    vouchers, notes = [], []
    for invoice in invoices:
        voucher = libro_voucher(invoice)
        problems = voucher_problems(voucher)
        if problems:
            notes.append(f"Fuera del Libro IVA: {pdf_file_name(invoice)}: {'; '.join(problems)}")
        else:
            vouchers.append(voucher)
    cbte, alicuotas = libro_ventas(vouchers)
    archive.writestr(CBTE_FILE, encode_libro(cbte))
    archive.writestr(ALICUOTAS_FILE, encode_libro(alicuotas))
    return [f"Libro IVA Digital, ventas: {len(vouchers)} comprobantes.", *notes]


def libro_voucher(invoice: Invoice) -> LibroVoucher:
    doc_type, doc_number = libro_buyer(invoice)
    return LibroVoucher(
        invoice_type=invoice.invoice_type,
        point_of_sale_number=invoice.point_of_sale_number,
        number=invoice.number or 0,
        issue_date=invoice.issue_date,
        receiver_doc_type=doc_type,
        receiver_doc_number=doc_number,
        receiver_name=invoice.receiver_name,
        total=invoice.total,
        untaxed=invoice.untaxed,
        net=invoice.net,
        exempt=invoice.exempt,
        vat_total=invoice.vat_total,
        other_taxes_total=invoice.other_taxes_total,
        vat_rows=tuple(LibroAlicuota(v.rate_id, v.base, v.amount) for v in invoice.vat_rows),
        tax_rows=tuple(LibroTributo(t.tax_id, t.amount) for t in invoice.tax_rows),
        currency=invoice.currency,
        currency_rate=invoice.currency_rate,
        payment_due=invoice.payment_due,
    )


def libro_buyer(invoice: Invoice) -> tuple[int, str]:
    """The buyer's document for the Libro IVA: as sent to WSFEv1, or for a Factura E the CUIT
    ARCA gives the buyer's country (§5.2: code 80 and the "CUIT país", the `Cuit_pais_cliente`
    sent to WSFEX). An export sent with only a foreign tax id has none: the Libro leaves it
    out and LEEME.txt says why."""
    if not invoice.is_export:
        return invoice.receiver_doc_type, invoice.receiver_doc_number
    return int(DocumentType.CUIT), invoice.receiver_country_cuit or "0"


def pdf_file_name(invoice: Invoice) -> str:
    number = f"{invoice.number:08d}" if invoice.number else "borrador"
    return f"{invoice.invoice_type:03d}-{invoice.point_of_sale_number:05d}-{number}.pdf"
