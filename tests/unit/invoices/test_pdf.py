"""The printed voucher: read back with pdftotext, its QR decoded with zbarimg (pure, no app).

Needs the Debian packages poppler-utils (pdftotext, pdftoppm) and zbar-tools (zbarimg), which
`make test` installs; tests that need them skip, saying so, only where they are missing.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import segno
from PIL import Image

from arca.codes import VOUCHER_TYPES
from arca.qr import QR_BASE_URL, build_qr_payload, build_qr_url
from blueprints.invoices.letters import MONOTRIBUTO_LEGEND, VoucherLetter
from blueprints.invoices.pdf import (
    ALEY_LEGEND,
    PdfIssuer,
    PdfLine,
    PdfReceiver,
    PdfTaxRow,
    PdfVatRow,
    PdfVoucher,
    _image_size,
    _logo,
    amount_in_words,
    format_amount,
    format_money,
    line_vat_label,
    national_indirect_taxes,
    number_to_words,
    render_invoice_pdf,
    vat_rate_label,
    voucher_legends,
)
from blueprints.invoices.totals import Line, OtherTax, compute_totals
from core.i18n import format_money as ui_format_money
from tests.pdf_tools import decode_qr, pdf_text, words

ISSUE_DATE = dt.date(2025, 3, 14)
CAE = "75123456789012"
CAE_DUE = dt.date(2025, 3, 24)
ISSUER = PdfIssuer(
    legal_name="Panadería «La Espiga» S.R.L.",
    cuit="30712345679",
    iva_condition="IVA Responsable Inscripto",
    address="Av. Corrientes 1234, Piso 3º, Ciudad Autónoma de Buenos Aires",
    trade_name="La Espiga",
    iibb="901-123456-7",
    activity_start=dt.date(2015, 4, 1),
)
CONSUMER = PdfReceiver(
    name="Juana Muñoz Ñandú",
    doc_type="DNI",
    doc_number="30.123.456",
    iva_condition="Consumidor Final",
    address="Calle Falsa 123, Córdoba",
)
MONOTRIBUTISTA = PdfReceiver(
    name="Ferretería El Tornillo",
    doc_type="CUIT",
    doc_number="20-11111111-2",
    iva_condition="Responsable Monotributo",
    address="San Martín 45, Rosario",
)
ANONYMOUS = PdfReceiver(
    name="Consumidor final",
    doc_type="Doc. (Otro)",
    doc_number="0",
    iva_condition="Consumidor Final",
    anonymous=True,
)
RECEIVER_DOCS = {"DNI": (96, "30123456"), "CUIT": (80, "20111111112"), "Doc. (Otro)": (99, "0")}


def build(
    letter: VoucherLetter,
    lines: list[Line],
    receiver: PdfReceiver = CONSUMER,
    *,
    receiver_condition: int = 5,
    other_taxes: tuple[OtherTax, ...] = (),
    currency: str = "PES",
    rate: D = D("1"),
    **overrides: Any,
) -> tuple[PdfVoucher, dict[str, Any]]:
    """A voucher as the app would build it from a stored invoice, with its QR payload. B
    prices include VAT (final prices), A prices do not."""
    code = {"A": 1, "B": 6, "C": 11, "ALEY": 51}[letter]
    totals = compute_totals(
        lines, letter, prices_include_vat=letter == "B", other_taxes=other_taxes
    )
    doc_type, doc_number = RECEIVER_DOCS[receiver.doc_type]
    payload = build_qr_payload(
        date=ISSUE_DATE,
        cuit=ISSUER.cuit,
        point_of_sale=1,
        invoice_type=code,
        number=123,
        total=totals.total,
        currency=currency,
        currency_rate=rate,
        doc_type=doc_type,
        doc_number=doc_number,
        cae=CAE,
    )
    class_a = letter in ("A", "ALEY")
    voucher = PdfVoucher(
        invoice_type=code,
        letter=letter,
        voucher_name=VOUCHER_TYPES[code].description,
        point_of_sale=1,
        number=123,
        issue_date=ISSUE_DATE,
        lines=tuple(
            PdfLine(
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=amount.net if class_a else amount.total,
                unit="u",
                discount_percent=line.discount_percent,
                vat=line_vat_label(str(line.vat)),
            )
            for line, amount in zip(lines, totals.lines, strict=True)
        ),
        total=totals.total,
        currency=currency,
        currency_rate=rate,
        payment_terms="Contado",
        untaxed=totals.untaxed,
        net=totals.net,
        exempt=totals.exempt,
        vat_rows=tuple(
            PdfVatRow(vat_rate_label(row.rate_id), row.base, row.amount) for row in totals.vat
        ),
        other_taxes=tuple(
            PdfTaxRow(tax.description or "Percepción IIBB", tax.amount, tax.tax_id)
            for tax in totals.other_taxes
        ),
        vat_total=totals.vat_total,
        other_taxes_total=totals.other_taxes_total,
        cae=CAE,
        cae_due=CAE_DUE,
        qr_url=build_qr_url(payload),
        legends=voucher_legends(letter, receiver_condition),
        receiver_is_final_consumer=receiver_condition == 5,
    )
    return replace(voucher, **overrides), payload


FIVE_LINES = [
    Line("Pan de campo", D(2), D("1500.00")),
    Line("Facturas de manteca (docena)", D(1), D("4200.50"), D(10)),
    Line("Torta de ricota", D(1), D("9800.00")),
    Line("Café en grano 250 g", D("1.5"), D("6350.40"), vat=4),
    Line("Medialunas", D(12), D("450.00")),
]


def forty_lines() -> list[Line]:
    return [
        Line(f"Item {index:02d} tornillo hexagonal", D(index % 4 + 1), D("1000.00") + index)
        for index in range(1, 41)
    ]


# --- Helpers: reading the PDF back -----------------------------------------------------------


def money(value: D) -> str:
    return re.escape(ui_format_money(value))


# --- Amounts in words -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (0, "cero"),
        (1, "uno"),
        (15, "quince"),
        (16, "dieciséis"),
        (21, "veintiuno"),
        (22, "veintidós"),
        (31, "treinta y uno"),
        (100, "cien"),
        (101, "ciento uno"),
        (115, "ciento quince"),
        (500, "quinientos"),
        (999, "novecientos noventa y nueve"),
        (1000, "mil"),
        (1001, "mil uno"),
        (2000, "dos mil"),
        (21000, "veintiún mil"),
        (31000, "treinta y un mil"),
        (100000, "cien mil"),
        (101000, "ciento un mil"),
        (121000, "ciento veintiún mil"),
        (999999, "novecientos noventa y nueve mil novecientos noventa y nueve"),
        (1000000, "un millón"),
        (1000001, "un millón uno"),
        (1001000, "un millón mil"),
        (2500000, "dos millones quinientos mil"),
        (21000000, "veintiún millones"),
        (1000000000, "mil millones"),
        (21500000000, "veintiún mil quinientos millones"),
        (1000000000000, "un billón"),
        (2000000000001, "dos billones uno"),
    ],
)
def test_number_to_words(number: int, expected: str) -> None:
    assert number_to_words(number) == expected


@pytest.mark.parametrize("number", [-1, 10**18])
def test_number_to_words_refuses_out_of_range(number: int) -> None:
    with pytest.raises(ValueError):
        number_to_words(number)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (D("0"), "PES", "Son pesos cero con 00/100"),
        (D("1"), "PES", "Son pesos uno con 00/100"),
        (D("15"), "PES", "Son pesos quince con 00/100"),
        (D("21"), "PES", "Son pesos veintiuno con 00/100"),
        (D("100"), "PES", "Son pesos cien con 00/100"),
        (D("101"), "PES", "Son pesos ciento uno con 00/100"),
        (D("1000"), "PES", "Son pesos mil con 00/100"),
        (D("1001"), "PES", "Son pesos mil uno con 00/100"),
        (D("21000"), "PES", "Son pesos veintiún mil con 00/100"),
        (D("1000000"), "PES", "Son pesos un millón con 00/100"),
        (D("2500000.50"), "PES", "Son pesos dos millones quinientos mil con 50/100"),
        (D("121000.5"), "PES", "Son pesos ciento veintiún mil con 50/100"),
        (D("0.07"), "PES", "Son pesos cero con 07/100"),
        (D("10.005"), "PES", "Son pesos diez con 00/100"),  # half-even, as ARCA rounds
        (D("10.015"), "PES", "Son pesos diez con 02/100"),
        (D("1500.25"), "DOL", "Son dólares estadounidenses mil quinientos con 25/100"),
        (D("99.99"), "060", "Son euros noventa y nueve con 99/100"),
        (D("3"), "XYZ", "Son XYZ tres con 00/100"),
    ],
)
def test_amount_in_words(amount: D, currency: str, expected: str) -> None:
    assert amount_in_words(amount, currency) == expected


def test_amount_in_words_refuses_negative_amounts() -> None:
    with pytest.raises(ValueError):
        amount_in_words(D("-1"))


@pytest.mark.parametrize(
    "value", [D(0), D("0.5"), D("1234.56"), D("1000000"), D("-1234.5"), D("98765432.1")]
)
def test_amounts_print_as_the_ui_prints_them(value: D) -> None:
    assert format_money(value) == ui_format_money(value)
    assert format_money(value, "DOL") == "US$ " + format_amount(value)
    assert format_money(value, "060") == "€ " + format_amount(value)


def test_labels_and_legends() -> None:
    assert [vat_rate_label(rate) for rate in (3, 4, 5, 6, 8, 9)] == [
        *("0%", "10,5%", "21%", "27%", "5%", "2,5%"),
    ]
    assert line_vat_label("5") == "21%"
    assert line_vat_label("exempt") == "Exento"
    assert line_vat_label("untaxed") == "No gravado"
    assert voucher_legends("A", 6) == (MONOTRIBUTO_LEGEND,)
    assert voucher_legends("A", 1) == ()
    assert voucher_legends("ALEY", 13) == (ALEY_LEGEND, MONOTRIBUTO_LEGEND)
    assert voucher_legends("B", 5) == ()
    assert voucher_legends("C", 6) == ()


def test_only_national_and_internal_taxes_count_as_indirect() -> None:
    voucher, _payload = build(
        "B",
        FIVE_LINES,
        other_taxes=(
            OtherTax(4, "Impuestos internos", D("1000.00"), D("8")),
            OtherTax(1, "Impuestos nacionales", D("1000.00"), D("1")),
            OtherTax(7, "Percepción IIBB", D("1000.00"), D("3")),
        ),
    )
    assert national_indirect_taxes(voucher) == D("90.00")


# --- The printed voucher -----------------------------------------------------------------------


def test_factura_b_to_a_consumer(tmp_path: Path) -> None:
    voucher, _payload = build("B", FIVE_LINES)
    pdf = render_invoice_pdf(voucher, ISSUER, CONSUMER)
    assert pdf.startswith(b"%PDF-")
    [page] = pdf_text(pdf, tmp_path)
    flat = words(page)
    for expected in (
        "ORIGINAL",
        "FACTURA B",
        "Código 006",
        "Punto de venta: 00001 Comp. Nro: 00000123",
        "Fecha de emisión: 14/03/2025",
        "La Espiga",
        "Razón social: Panadería «La Espiga» S.R.L.",
        "Domicilio comercial: Av. Corrientes 1234, Piso 3º",
        "CUIT: 30-71234567-9",
        "Ingresos Brutos: 901-123456-7",
        "Inicio de actividades: 01/04/2015",
        "Condición frente al IVA: IVA Responsable Inscripto",
        "Apellido y nombre / Razón social: Juana Muñoz Ñandú",
        "DNI: 30.123.456",
        "Condición frente al IVA: Consumidor Final",
        "Condición de venta: Contado",
        "Domicilio: Calle Falsa 123, Córdoba",
        f"CAE N°: {CAE}",
        "Fecha de Vto. de CAE: 24/03/2025",
        "Hoja 1 de 1",
    ):
        assert expected in flat, expected
    assert "DUPLICADO" not in flat
    assert "Transporte" not in flat
    # B: final prices, VAT included, no IVA column, no per-rate VAT.
    assert "IVA 21%" not in flat
    assert re.search(r"Cantidad\s+Precio unit\.\s+Bonif\. %\s+Importe", page)
    assert re.search(
        r"Facturas de manteca \(docena\)\s+1,00 u\s+4\.200,50\s+10,00\s+3\.780,45", page
    )
    assert re.search(r"Café en grano 250 g\s+1,50 u\s+6\.350,40\s+0,00\s+9\.525,60", page)
    total = voucher.total
    assert total == D("3000.00") + D("3780.45") + D("9800.00") + D("9525.60") + D("5400.00")
    assert re.search(rf"Subtotal:\s+{money(total)}", page)
    assert re.search(rf"Importe Total:\s+{money(total)}", page)
    assert "Importe Otros Tributos" not in flat
    assert "Son pesos treinta y un mil quinientos seis con 05/100" in flat
    # Ley 27.743: class B to a final consumer.
    assert "Régimen de Transparencia Fiscal al Consumidor (Ley 27.743)" in flat
    assert f"IVA Contenido: {ui_format_money(voucher.vat_total)}" in flat
    assert voucher.vat_total > 0
    assert "Otros Impuestos Nacionales Indirectos: $ 0,00" in flat


def test_qr_encodes_the_arca_url_with_the_invoice_fields(tmp_path: Path) -> None:
    voucher, payload = build("B", FIVE_LINES)
    pdf = render_invoice_pdf(voucher, ISSUER, CONSUMER)
    [decoded] = decode_qr(pdf, tmp_path)
    assert decoded == build_qr_url(payload) == voucher.qr_url
    assert decoded.startswith(QR_BASE_URL)
    fields = json.loads(base64.b64decode(decoded.removeprefix(QR_BASE_URL), validate=True))
    assert fields == {
        "ver": 1,
        "fecha": "2025-03-14",
        "cuit": 30712345679,
        "ptoVta": 1,
        "tipoCmp": 6,
        "nroCmp": 123,
        "importe": 31506.05,
        "moneda": "PES",
        "ctz": 1,
        "tipoDocRec": 96,
        "nroDocRec": 30123456,
        "tipoCodAut": "E",
        "codAut": 75123456789012,
    }
    assert D(str(fields["importe"])) == voucher.total


def test_anonymous_final_consumer(tmp_path: Path) -> None:
    voucher, _payload = build("B", FIVE_LINES[:1], ANONYMOUS)
    pdf = render_invoice_pdf(voucher, ISSUER, ANONYMOUS)
    flat = words(pdf_text(pdf, tmp_path)[0])
    assert "A CONSUMIDOR FINAL" in flat
    assert "Doc. (Otro)" not in flat
    assert "Condición frente al IVA: Consumidor Final" in flat
    [decoded] = decode_qr(pdf, tmp_path)
    fields = json.loads(base64.b64decode(decoded.removeprefix(QR_BASE_URL)))
    assert (fields["tipoDocRec"], fields["nroDocRec"]) == (99, 0)


def test_forty_line_factura_a_runs_over_pages_carrying_the_subtotal(tmp_path: Path) -> None:
    lines = forty_lines()
    voucher, payload = build(
        "A",
        lines,
        MONOTRIBUTISTA,
        receiver_condition=6,
        other_taxes=(OtherTax(7, "Percepción IIBB Santa Fe", D("1000.00"), D("2.5")),),
        notes="Entrega en depósito. Horario de 8 a 16.",
    )
    pdf = render_invoice_pdf(voucher, ISSUER, MONOTRIBUTISTA)
    pages = pdf_text(pdf, tmp_path)
    count = len(pages)
    assert count >= 2
    printed_so_far = D(0)
    seen: list[int] = []
    for number, page in enumerate(pages, start=1):
        flat = words(page)
        # The header on every page.
        for expected in ("ORIGINAL", "FACTURA A", "Código 001", "Comp. Nro: 00000123"):
            assert expected in flat, (number, expected)
        assert "Ferretería El Tornillo" in flat
        assert f"Hoja {number} de {count}" in flat
        transports = [
            D(text.replace(".", "").replace(",", "."))
            for text in re.findall(r"Transporte\s+\$ ([\d.]+,\d\d)", page)
        ]
        if number > 1:  # the incoming subtotal at the top
            assert transports.pop(0) == printed_so_far
        on_page = [int(found) for found in re.findall(r"Item (\d\d) tornillo", page)]
        assert on_page, number
        seen.extend(on_page)
        printed_so_far += sum(voucher.lines[index - 1].amount for index in on_page)
        if number < count:  # the outgoing one at the bottom, no totals yet
            assert transports == [printed_so_far]
            assert "CAE" not in flat
            assert "Importe Total" not in flat
        else:
            assert transports == []
    assert seen == list(range(1, 41))
    assert printed_so_far == voucher.net  # A: the lines print their net amounts
    last = pages[-1]
    flat = words(last)
    assert re.search(rf"Importe Neto Gravado:\s+{money(voucher.net)}", last)
    [vat_row] = voucher.vat_rows
    assert re.search(rf"IVA 21%:\s+{money(vat_row.amount)}", last)
    assert re.search(rf"Importe Otros Tributos:\s+{money(D('25.00'))}", last)
    assert "Percepción IIBB Santa Fe" in flat
    assert re.search(rf"Importe Total:\s+{money(voucher.total)}", last)
    assert voucher.total == voucher.net + vat_row.amount + D("25.00")
    assert amount_in_words(voucher.total) in flat
    assert MONOTRIBUTO_LEGEND in flat
    assert "Transparencia Fiscal" not in flat
    assert "Observaciones: Entrega en depósito. Horario de 8 a 16." in flat
    assert f"CAE N°: {CAE}" in flat
    assert re.search(r"IVA\s+Importe", pages[0])  # A has the IVA column
    assert re.search(
        r"Item 01 tornillo hexagonal\s+2,00 u\s+1\.001,00\s+0,00\s+21%\s+2\.002,00", pages[0]
    )
    assert decode_qr(pdf, tmp_path, page=count) == [build_qr_url(payload)]
    assert decode_qr(pdf, tmp_path, page=1) == []


def test_original_and_duplicado_each_with_their_own_pages(tmp_path: Path) -> None:
    voucher, _payload = build("B", FIVE_LINES)
    pages = pdf_text(
        render_invoice_pdf(voucher, ISSUER, CONSUMER, ("ORIGINAL", "DUPLICADO")), tmp_path
    )
    assert len(pages) == 2
    original, duplicate = (words(page) for page in pages)
    assert "ORIGINAL" in original and "DUPLICADO" not in original
    assert "DUPLICADO" in duplicate and "ORIGINAL" not in duplicate
    for flat in (original, duplicate):
        assert "Hoja 1 de 1" in flat
        assert f"CAE N°: {CAE}" in flat
    assert original.replace("ORIGINAL", "") == duplicate.replace("DUPLICADO", "")

    long_voucher, _payload = build("A", forty_lines(), MONOTRIBUTISTA, receiver_condition=6)
    pdf = render_invoice_pdf(long_voucher, ISSUER, MONOTRIBUTISTA, ("ORIGINAL", "DUPLICADO"))
    pages = pdf_text(pdf, tmp_path)
    count = len(pages) // 2
    assert len(pages) == 2 * count and count >= 2
    labels = [("ORIGINAL" if "ORIGINAL" in page else "DUPLICADO") for page in pages]
    assert labels == ["ORIGINAL"] * count + ["DUPLICADO"] * count
    numbers = [re.findall(r"Hoja (\d+) de (\d+)", page) for page in pages]
    assert numbers == [[(str(n), str(count))] for n in range(1, count + 1)] * 2


def test_markup_and_odd_characters_print_literally(tmp_path: Path) -> None:
    lines = [
        Line("<img src=x onerror=alert(1)>", D(1), D("100.00")),
        Line("<b>negrita</b> & \"comillas\" 'simples' (paréntesis) \\ barra", D(1), D("1.00")),
        Line("Emoji 🍞 y chino 面包 y ligadura ﬁn\ttab\x00nul", D(1), D("1.00")),
        Line("Guión – largo “curvas” € ü ç", D(1), D("1.00")),
    ]
    voucher, _payload = build("C", lines, CONSUMER)
    pdf = render_invoice_pdf(voucher, ISSUER, CONSUMER)
    page = pdf_text(pdf, tmp_path)[0]
    assert "<img src=x onerror=alert(1)>" in page
    assert "<b>negrita</b> & \"comillas\" 'simples' (paréntesis) \\ barra" in page
    assert "Emoji ? y chino ?? y ligadura fin tabnul" in page
    assert "Guión – largo “curvas” € ü ç" in page
    flat = words(page)
    assert "FACTURA C" in flat and "Código 011" in flat
    assert "Transparencia" not in flat  # class C: not asked for (see NOTES §15)


def test_long_words_and_descriptions_wrap_inside_their_column(tmp_path: Path) -> None:
    word = "Supercalifragilístico" * 8
    lines = [Line(word, D(1), D("5.00")), Line("palabra " * 60, D(1), D("5.00"))]
    voucher, _payload = build("B", lines)
    page = pdf_text(render_invoice_pdf(voucher, ISSUER, CONSUMER), tmp_path)[0]
    assert words(page).count("palabra") == 60
    # The long word is cut into pieces, each at the start of a row of the description column.
    firsts = "".join(line.split()[0] for line in page.splitlines() if line.strip())
    assert word in firsts
    assert max(len(line.split()[0]) for line in page.splitlines() if line.strip()) < len(word)


def test_foreign_currency(tmp_path: Path) -> None:
    voucher, payload = build("B", FIVE_LINES[:2], currency="DOL", rate=D("1050.5"))
    pdf = render_invoice_pdf(voucher, ISSUER, CONSUMER)
    page = pdf_text(pdf, tmp_path)[0]
    flat = words(page)
    assert "Moneda: Dólar estadounidense (DOL)" in flat
    assert "Tipo de cambio: $ 1.050,50" in flat
    assert re.search(rf"Importe Total:\s+US\$ {re.escape(format_amount(voucher.total))}", page)
    assert amount_in_words(voucher.total, "DOL").startswith("Son dólares estadounidenses ")
    assert amount_in_words(voucher.total, "DOL") in flat
    [decoded] = decode_qr(pdf, tmp_path)
    fields = json.loads(base64.b64decode(decoded.removeprefix(QR_BASE_URL)))
    assert (fields["moneda"], fields["ctz"]) == ("DOL", 1050.5)
    assert decoded == build_qr_url(payload)


def test_long_labels_and_large_amounts_keep_apart(tmp_path: Path) -> None:
    receiver = replace(
        MONOTRIBUTISTA, iva_condition="Monotributo Trabajador Independiente Promovido"
    )
    voucher, _payload = build(
        "A",
        [Line("Maquinaria", D(1), D("8264462809.91"))],
        receiver,
        receiver_condition=16,
        currency="DOL",
        rate=D("1050.5"),
        payment_terms="Cuenta corriente a 30 días fecha de factura",
    )
    page = pdf_text(render_invoice_pdf(voucher, ISSUER, receiver), tmp_path)[0]
    lines = [line.strip() for line in page.splitlines()]
    assert "Condición frente al IVA: Monotributo Trabajador Independiente Promovido" in lines
    assert "Condición de venta: Cuenta corriente a 30 días fecha de factura" in lines
    assert voucher.total == D("9999999999.99")
    assert re.search(r"Importe Total:\s+US\$ 9\.999\.999\.999,99", page)
    assert re.search(r"Importe Neto Gravado:\s+US\$ 8\.264\.462\.809,91", page)
    assert amount_in_words(voucher.total, "DOL") == (
        "Son dólares estadounidenses nueve mil novecientos noventa y nueve millones "
        "novecientos noventa y nueve mil novecientos noventa y nueve con 99/100"
    )
    assert amount_in_words(voucher.total, "DOL") in words(page)


def test_services_period_and_associated_voucher(tmp_path: Path) -> None:
    voucher, _payload = build(
        "B",
        FIVE_LINES[:1],
        concept=2,
        service_from=dt.date(2025, 3, 1),
        service_to=dt.date(2025, 3, 31),
        payment_due=dt.date(2025, 4, 10),
        invoice_type=8,
        voucher_name="Nota de Crédito B",
        associated_voucher="Factura B 00001-00000100 del 10/03/2025",
    )
    flat = words(pdf_text(render_invoice_pdf(voucher, ISSUER, CONSUMER), tmp_path)[0])
    assert "NOTA DE CRÉDITO B" in flat and "Código 008" in flat
    assert "Período facturado desde: 01/03/2025 Hasta: 31/03/2025" in flat
    assert "Fecha de vto. para el pago: 10/04/2025" in flat
    assert "Comprobante asociado: Factura B 00001-00000100 del 10/03/2025" in flat


def test_aley_prints_letter_a_and_its_legend(tmp_path: Path) -> None:
    voucher, _payload = build("ALEY", FIVE_LINES[:1], MONOTRIBUTISTA, receiver_condition=1)
    flat = words(pdf_text(render_invoice_pdf(voucher, ISSUER, MONOTRIBUTISTA), tmp_path)[0])
    assert "Código 051" in flat
    assert ALEY_LEGEND in flat
    assert MONOTRIBUTO_LEGEND not in flat
    assert re.search(r"\bA\b", flat)


def test_long_notes_flow_onto_further_pages(tmp_path: Path) -> None:
    notes = "\n".join(f"Nota número {index:03d}." for index in range(1, 151))
    voucher, _payload = build("B", FIVE_LINES, notes=notes)
    pages = pdf_text(render_invoice_pdf(voucher, ISSUER, CONSUMER), tmp_path)
    assert len(pages) >= 3
    found = [int(n) for page in pages for n in re.findall(r"Nota número (\d{3})\.", page)]
    assert found == list(range(1, 151))
    assert f"CAE N°: {CAE}" in pages[-1]
    assert all("CAE N°" not in page for page in pages[:-1])
    for page in pages[1:]:  # the carried subtotal is the lines' sum once they are all printed
        assert re.search(rf"Transporte\s+{money(voucher.total)}", page)


def test_unauthorized_preview_says_so_without_qr(tmp_path: Path) -> None:
    voucher, _payload = build("B", FIVE_LINES[:1], cae=None, cae_due=None, qr_url=None)
    pdf = render_invoice_pdf(voucher, ISSUER, CONSUMER)
    flat = words(pdf_text(pdf, tmp_path)[0])
    assert "Comprobante no autorizado: sin CAE" in flat
    assert "CAE N°" not in flat
    assert decode_qr(pdf, tmp_path) == []


def test_logo_is_embedded_and_a_broken_one_is_left_out() -> None:
    png = io.BytesIO()
    segno.make("logo").save(png, kind="png", scale=4)
    voucher, _payload = build("B", FIVE_LINES[:1])
    with_logo = render_invoice_pdf(voucher, replace(ISSUER, logo=png.getvalue()), CONSUMER)
    assert b"/Subtype /Image" in with_logo
    corrupt = png.getvalue()[:40] + b"\x00" * 40
    for broken in (b"\x89PNG\r\n\x1a\nnot really", b"GIF89a...", b"<svg/>", corrupt, b""):
        pdf = render_invoice_pdf(voucher, replace(ISSUER, logo=broken), CONSUMER)
        assert b"/Subtype /Image" not in pdf


@pytest.mark.parametrize(("size", "kind"), [((400, 100), "PNG"), ((90, 240), "JPEG")])
def test_logo_size_comes_from_the_image_header(size: tuple[int, int], kind: str) -> None:
    image = io.BytesIO()
    Image.new("RGB", size, "navy").save(image, format=kind)
    assert _image_size(image.getvalue()) == size
    logo = _logo(replace(ISSUER, logo=image.getvalue()), 10, 20, 45, 14)
    assert logo is not None
    assert (logo.x, logo.y) == (10, 20)  # left-aligned in its box
    assert logo.w <= 45 and logo.h <= 14
    assert logo.w == pytest.approx(45) or logo.h == pytest.approx(14)  # as large as fits
    assert logo.w / logo.h == pytest.approx(size[0] / size[1])


def test_no_copies_is_an_error() -> None:
    voucher, _payload = build("B", FIVE_LINES[:1])
    with pytest.raises(ValueError):
        render_invoice_pdf(voucher, ISSUER, CONSUMER, copies=())
