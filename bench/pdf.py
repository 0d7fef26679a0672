"""Voucher PDF rendering speed, single process: a 5-line Factura B and a 40-line Factura A.

Target (issue): at least 50 single-page PDFs per second on one core. Pure: no database, no app.

    .venv/bin/python bench/pdf.py            # or with counts: bench/pdf.py 300 50
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arca.codes import VOUCHER_TYPES
from arca.qr import build_qr_payload, build_qr_url
from blueprints.invoices.letters import VoucherLetter
from blueprints.invoices.pdf import (
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
from blueprints.invoices.totals import Line, OtherTax, compute_totals

ISSUER = PdfIssuer(
    legal_name="Panadería La Espiga S.R.L.",
    cuit="30712345679",
    iva_condition="IVA Responsable Inscripto",
    address="Av. Corrientes 1234, Ciudad Autónoma de Buenos Aires",
    trade_name="La Espiga",
    iibb="901-123456-7",
    activity_start=dt.date(2015, 4, 1),
)
CONSUMER = PdfReceiver("Juana Muñoz", "DNI", "30.123.456", "Consumidor Final", "Calle Falsa 123")
COMPANY = PdfReceiver(
    "Ferretería El Tornillo S.A.", "CUIT", "30-71234567-9", "IVA Responsable Inscripto", "Mitre 9"
)


def voucher(
    letter: VoucherLetter, lines: list[Line], condition: int, taxes: tuple[OtherTax, ...] = ()
) -> PdfVoucher:
    code = {"A": 1, "B": 6}[letter]
    totals = compute_totals(lines, letter, prices_include_vat=letter == "B", other_taxes=taxes)
    doc = (96, "30123456") if letter == "B" else (80, "30712345679")
    payload = build_qr_payload(
        date=dt.date(2025, 3, 14),
        cuit=ISSUER.cuit,
        point_of_sale=3,
        invoice_type=code,
        number=4521,
        total=totals.total,
        currency="PES",
        currency_rate=Decimal(1),
        doc_type=doc[0],
        doc_number=doc[1],
        cae="75123456789012",
    )
    return PdfVoucher(
        invoice_type=code,
        letter=letter,
        voucher_name=VOUCHER_TYPES[code].description,
        point_of_sale=3,
        number=4521,
        issue_date=dt.date(2025, 3, 14),
        lines=tuple(
            PdfLine(
                line.description,
                line.quantity,
                line.unit_price,
                amount.net if letter == "A" else amount.total,
                "u",
                line.discount_percent,
                line_vat_label(str(line.vat)),
            )
            for line, amount in zip(lines, totals.lines, strict=True)
        ),
        total=totals.total,
        payment_terms="Cuenta corriente 30 días",
        untaxed=totals.untaxed,
        net=totals.net,
        exempt=totals.exempt,
        vat_rows=tuple(PdfVatRow(vat_rate_label(r.rate_id), r.base, r.amount) for r in totals.vat),
        other_taxes=tuple(
            PdfTaxRow(t.description or "Percepción IIBB", t.amount, t.tax_id)
            for t in totals.other_taxes
        ),
        vat_total=totals.vat_total,
        other_taxes_total=totals.other_taxes_total,
        cae="75123456789012",
        cae_due=dt.date(2025, 3, 24),
        qr_url=build_qr_url(payload),
        legends=voucher_legends(letter, condition),
        receiver_is_final_consumer=condition == 5,
    )


FACTURA_B = voucher(
    "B",
    [
        Line("Pan de campo", Decimal(2), Decimal("1500.00")),
        Line("Facturas de manteca (docena)", Decimal(1), Decimal("4200.50"), Decimal(10)),
        Line("Torta de ricota", Decimal(1), Decimal("9800.00")),
        Line("Café en grano 250 g", Decimal("1.5"), Decimal("6350.40"), vat=4),
        Line("Medialunas", Decimal(12), Decimal("450.00")),
    ],
    condition=5,
)
FACTURA_A = voucher(
    "A",
    [
        Line(
            f"Artículo {index:02d}: tornillo hexagonal galvanizado M{index % 12 + 4}"
            + (", caja por 100 unidades con arandelas" if index % 5 == 0 else ""),
            Decimal(index % 4 + 1),
            Decimal("1000.00") + index,
            Decimal(5) if index % 7 == 0 else Decimal(0),
            vat=4 if index % 6 == 0 else 5,
        )
        for index in range(1, 41)
    ],
    condition=1,
    taxes=(OtherTax(7, "Percepción IIBB CABA", Decimal("100000.00"), Decimal("3")),),
)


def measure(label: str, voucher: PdfVoucher, receiver: PdfReceiver, count: int) -> None:
    pdf = render_invoice_pdf(voucher, ISSUER, receiver)  # warm-up
    pages = len(re.findall(rb"/Type /Page\b(?!s)", pdf))
    timings = []
    for _ in range(count):
        start = time.perf_counter()
        render_invoice_pdf(voucher, ISSUER, receiver)
        timings.append((time.perf_counter() - start) * 1000)
    median = statistics.median(timings)
    print(
        f"{label:<22} n={count:<4} {len(pdf) / 1024:5.1f} KiB  median {median:6.2f} ms  "
        f"{1000 / median:6.1f} PDFs/s  ({pages} page(s) each)"
    )


def main() -> None:
    counts = [int(arg) for arg in sys.argv[1:3]] or [300, 50]
    single, multi = [*counts, 50][:2]
    measure("Factura B, 5 lines", FACTURA_B, CONSUMER, single)
    measure("Factura A, 40 lines", FACTURA_A, COMPANY, multi)


if __name__ == "__main__":
    main()
