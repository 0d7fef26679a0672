"""The printed voucher: PDF bytes from plain data (RG 1415 Annex II, RG 4892 QR, Ley 27.743).

Pure: frozen dataclasses in, `bytes` out; no Flask app, no database, no network, no files. The
caller builds `PdfVoucher`, `PdfIssuer` and `PdfReceiver` from a stored invoice (NOTES §15 lists
what the voucher must show) and computes `PdfVoucher.qr_url` with `arca.qr.build_qr_url`; this
module only lays it out. All printed text is Spanish whatever the UI language: it is a legal
document, so nothing here goes through gettext.

Layout (A4, portrait): on every page the copy label (ORIGINAL / DUPLICADO), the header (issuer
left, the letter box with "Código NNN" in the middle, voucher name, number, date, CUIT, IIBB
and start of activities right), the service period and payment due row when there is one, the
receiver block (with currency and associated voucher), the lines table, and "Hoja x de n".
The notes ("Observaciones") follow the lines and flow over pages like them. When they do not
fit on one page, every page but the last ends with "Transporte" (the sum of the line amounts
printed so far) and the next one starts with it. The last page ends with the totals, the
consumer transparency block (class B to a final consumer, Ley 27.743), the amount in words,
the legends and the authorization: QR, "CAE N°" and its due date.

Text uses the PDF core font Helvetica with the WinAnsi (cp1252) encoding, which holds every
Spanish letter, «», “”, – and €; any other character is decomposed ("ﬁ" -> "fi") or printed
as "?". Text is never interpreted: markup in a description prints literally.
"""

from __future__ import annotations

import datetime as dt
import struct
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from io import BytesIO
from typing import Final, Literal, TypeAlias

import segno
from fpdf import FPDF
from fpdf.enums import RenderStyle
from fpdf.fonts import CORE_FONTS_CHARWIDTHS

from arca.codes import VAT_RATES
from arca.cuit import format_cuit
from blueprints.invoices.letters import (
    MONOTRIBUTO_LEGEND,
    VoucherLetter,
    requires_monotributo_legend,
)

# --- Input ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PdfIssuer:
    """The issuing taxpayer. `cuit` in any form (printed as 20-12345678-6); `iva_condition` is
    the label to print (`arca.codes.ISSUER_CONDITION_LABELS`); `iibb` is the gross income tax
    number or condition ("Exento", "Convenio Multilateral 901-…"); `logo` is PNG or JPEG bytes
    (anything else, or an unreadable image, is left out and the name printed instead)."""

    legal_name: str
    cuit: str
    iva_condition: str
    address: str
    trade_name: str | None = None
    iibb: str | None = None
    activity_start: dt.date | None = None
    logo: bytes | None = None
    logo_mime: str | None = None


@dataclass(frozen=True)
class PdfReceiver:
    """The receiver snapshot, as printed: `doc_type` is the label ("CUIT", "DNI",
    `arca.codes.DOCUMENT_TYPES`), `doc_number` already formatted (format_cuit for a CUIT),
    `iva_condition` the label (`arca.codes.RECEIVER_CONDITIONS[id].description`).
    `anonymous` is the unidentified final consumer (DocTipo 99, DocNro 0): the block then
    reads "A CONSUMIDOR FINAL" instead of a name and document."""

    name: str
    doc_type: str
    doc_number: str
    iva_condition: str
    address: str | None = None
    anonymous: bool = False


@dataclass(frozen=True)
class PdfLine:
    """A line as printed. On class A, `unit_price` and `amount` are before VAT and `vat` is
    the rate label ("21%", "Exento", see `line_vat_label`); on B and C they are final prices
    (VAT included on B) and `vat` is not printed. `amount` is what the line adds to the
    "Transporte" subtotal."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    unit: str | None = None
    discount_percent: Decimal = Decimal("0")
    vat: str = ""


@dataclass(frozen=True)
class PdfVatRow:
    """One `AlicIva`: `label` like "21%" (see `vat_rate_label`), the base and the VAT."""

    label: str
    base: Decimal
    amount: Decimal


@dataclass(frozen=True)
class PdfTaxRow:
    """One `Tributo`. `tax_id` (`arca.codes.TAX_TYPES`) decides whether the amount counts as
    "Otros Impuestos Nacionales Indirectos" in the transparency block (ids 1 and 4)."""

    description: str
    amount: Decimal
    tax_id: int | None = None


@dataclass(frozen=True)
class PdfVoucher:
    """The voucher. `letter` is the class (A, B, C or ALEY, printed "A"); `voucher_name` the
    heading, e.g. "Factura B" (`arca.codes.VOUCHER_TYPES[code].description`); amounts in the
    voucher currency, named as in `blueprints.invoices.models.Invoice`. `payment_terms` is the
    sale condition ("Contado"); `associated_voucher` the text naming the voucher a note refers
    to ("Factura B 00001-00000012 del 01/03/2025"); `legends` are printed verbatim (see
    `voucher_legends`). `cae`, `cae_due` and `qr_url` are None only for an unauthorized
    preview, which then says so in place of the authorization block."""

    invoice_type: int
    letter: str
    voucher_name: str
    point_of_sale: int
    number: int
    issue_date: dt.date
    lines: tuple[PdfLine, ...]
    total: Decimal
    concept: int = 1
    service_from: dt.date | None = None
    service_to: dt.date | None = None
    payment_due: dt.date | None = None
    currency: str = "PES"
    currency_rate: Decimal = Decimal("1")
    payment_terms: str | None = None
    untaxed: Decimal = Decimal("0")
    net: Decimal = Decimal("0")
    exempt: Decimal = Decimal("0")
    vat_rows: tuple[PdfVatRow, ...] = ()
    other_taxes: tuple[PdfTaxRow, ...] = ()
    vat_total: Decimal = Decimal("0")
    other_taxes_total: Decimal = Decimal("0")
    cae: str | None = None
    cae_due: dt.date | None = None
    qr_url: str | None = None
    notes: str | None = None
    legends: tuple[str, ...] = ()
    associated_voucher: str | None = None
    receiver_is_final_consumer: bool = False
    # "CAE", or "CAEA" for a contingency voucher: the code printed is then the fortnight's
    # CAEA and its date the CAEA's last valid day (RG 5782).
    authorization_kind: str = "CAE"
    # FCE MiPyME (201-213): the CBU, alias and transfer option (27) an FCE invoice carries, and
    # whether an FCE note cancels an FCE the buyer rejected (22); None on any other voucher.
    fce_cbu: str | None = None
    fce_alias: str | None = None
    fce_transfer: str | None = None
    fce_cancels_rejected: bool | None = None
    # Factura E (19-21): where it goes and on what terms; None on any other voucher.
    export: PdfExport | None = None


@dataclass(frozen=True)
class PdfExport:
    """What a Factura E prints besides an ordinary voucher (names, not codes): the receiver's
    country and tax id there, the destination country, the Incoterms (goods) and the shipping
    permits ("24001EC01000123A (ESTADOS UNIDOS)")."""

    receiver_country: str
    destination_country: str
    receiver_tax_id: str | None = None
    incoterms: str | None = None
    incoterms_detail: str | None = None
    permits: tuple[str, ...] = ()


CopyLabel: TypeAlias = str
"""What the top of each copy says: "ORIGINAL", "DUPLICADO", "TRIPLICADO"."""

# --- Helpers for the caller's adapter ----------------------------------------------------------

ALEY_LEGEND: Final = "OPERACIÓN SUJETA A RETENCIÓN"
"""Printed on "A con leyenda" vouchers (codes 51-54, NOTES §15)."""

# `Tributo.Id` counted as "Otros Impuestos Nacionales Indirectos" (Ley 27.743): national taxes
# and internal taxes. Perceptions (6-9, 13) are advance payments, provincial and municipal
# taxes (2, 3, 5) are not national. Confirm with an accountant.
NATIONAL_INDIRECT_TAX_IDS: Final = frozenset({1, 4})

# FCE MiPyME headings (RG 4367), per class's invoice / debit note / credit note codes.
FCE_TITLES: Final = {
    **dict.fromkeys((201, 206, 211), "FACTURA DE CRÉDITO ELECTRÓNICA MiPyMEs (FCE)"),
    **dict.fromkeys((202, 207, 212), "NOTA DE DÉBITO ELECTRÓNICA MiPyMEs (FCE)"),
    **dict.fromkeys((203, 208, 213), "NOTA DE CRÉDITO ELECTRÓNICA MiPyMEs (FCE)"),
}
# Optional 27's options, as the FCE prints them.
FCE_TRANSFER_LEGENDS: Final = {
    "SCA": "Transferencia al Sistema de Circulación Abierta",
    "ADC": "Agente de Depósito Colectivo",
}

# Factura E headings (WSFEX's 19, 20, 21).
EXPORT_TITLES: Final = {
    19: "FACTURA DE EXPORTACIÓN",
    20: "NOTA DE DÉBITO POR OPERACIONES CON EL EXTERIOR",
    21: "NOTA DE CRÉDITO POR OPERACIONES CON EL EXTERIOR",
}
# Printed in Spanish whatever the voucher's language (Idioma_cbte): it is the legal text.
EXPORT_LEGEND: Final = "Operación de exportación: el comprobante no discrimina IVA."

TRANSPARENCY_TITLE: Final = "Régimen de Transparencia Fiscal al Consumidor (Ley 27.743)"
ANONYMOUS_RECEIVER: Final = "A CONSUMIDOR FINAL"


def voucher_legends(letter: VoucherLetter, receiver_condition_id: int) -> tuple[str, ...]:
    """The legends the law requires on this voucher: ALEY's "operación sujeta a retención" and
    Ley 27.618's on A vouchers to monotributistas (`letters.requires_monotributo_legend`)."""
    legends: list[str] = []
    if letter == "ALEY":
        legends.append(ALEY_LEGEND)
    if requires_monotributo_legend(letter, receiver_condition_id):
        legends.append(MONOTRIBUTO_LEGEND)
    return tuple(legends)


def fce_legends(voucher: PdfVoucher) -> tuple[str, ...]:
    """What an FCE MiPyME prints besides an ordinary voucher: on an invoice the CBU (and
    alias) the buyer pays into and the transfer option; on a note whether it cancels an FCE
    the buyer rejected. Nothing on other vouchers."""
    if voucher.invoice_type not in FCE_TITLES:
        return ()
    if voucher.fce_cancels_rejected is not None:
        answer = "Sí" if voucher.fce_cancels_rejected else "No"
        return (f"Anula una FCE rechazada por el comprador: {answer}",)
    legends = [f"CBU del emisor: {voucher.fce_cbu or '-'}"]
    if voucher.fce_alias:
        legends.append(f"Alias del CBU: {voucher.fce_alias}")
    if voucher.fce_transfer:
        option = FCE_TRANSFER_LEGENDS.get(voucher.fce_transfer, voucher.fce_transfer)
        legends.append(f"Opción de transferencia: {option}")
    return tuple(legends)


def export_pairs(export: PdfExport) -> tuple[tuple[str, str | None], ...]:
    """A Factura E's lines in the receiver block, label and value."""
    pairs: list[tuple[str, str | None]] = [("País del cliente: ", export.receiver_country)]
    if export.receiver_tax_id:
        pairs.append(("Id. impositivo del cliente: ", export.receiver_tax_id))
    pairs.append(("País de destino: ", export.destination_country))
    if export.incoterms:
        detail = f" - {export.incoterms_detail}" if export.incoterms_detail else ""
        pairs.append(("Incoterms: ", export.incoterms + detail))
    if export.permits:
        pairs.append(("Permisos de embarque: ", ", ".join(export.permits)))
    return tuple(pairs)


def vat_rate_label(rate_id: int) -> str:
    """The label of an `AlicIva.Id`: "21%", "10,5%", "0%"; the id itself when unknown."""
    rate = VAT_RATES.get(rate_id)
    if rate is None:
        return str(rate_id)
    return f"{_plain_decimal(rate, 0, 2)}%"


def line_vat_label(vat: str) -> str:
    """The IVA column of a class A line from `InvoiceLine.vat`: "21%", "Exento", "No gravado"."""
    if vat == "exempt":
        return "Exento"
    if vat == "untaxed":
        return "No gravado"
    return vat_rate_label(int(vat)) if vat.isdigit() else vat


def shows_transparency_block(voucher: PdfVoucher) -> bool:
    """Ley 27.743 / RG 5614: class B vouchers to final consumers."""
    return voucher.letter == "B" and voucher.receiver_is_final_consumer


def national_indirect_taxes(voucher: PdfVoucher) -> Decimal:
    """The "Otros Impuestos Nacionales Indirectos" of the transparency block."""
    return sum(
        (tax.amount for tax in voucher.other_taxes if tax.tax_id in NATIONAL_INDIRECT_TAX_IDS),
        Decimal("0"),
    )


# --- Numbers and words -----------------------------------------------------------------------

CURRENCY_WORDS: Final[dict[str, str]] = {
    "PES": "pesos",
    "DOL": "dólares estadounidenses",
    "002": "dólares estadounidenses",
    "060": "euros",
    "012": "reales",
    "021": "libras esterlinas",
    "019": "yenes",
    "009": "francos suizos",
    "011": "pesos uruguayos",
    "033": "pesos chilenos",
    "029": "guaraníes",
    "064": "yuanes",
}
CURRENCY_NAMES: Final[dict[str, str]] = {
    "PES": "Pesos argentinos",
    "DOL": "Dólar estadounidense",
    "002": "Dólar estadounidense libre",
    "060": "Euro",
    "012": "Real",
    "021": "Libra esterlina",
    "019": "Yen",
    "009": "Franco suizo",
    "011": "Peso uruguayo",
    "033": "Peso chileno",
    "029": "Guaraní",
    "064": "Yuan",
}
CURRENCY_SYMBOLS: Final[dict[str, str]] = {"PES": "$", "DOL": "US$", "002": "US$", "060": "€"}

_UNITS = (
    *("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"),
    *("diez", "once", "doce", "trece", "catorce", "quince", "dieciséis", "diecisiete"),
    *("dieciocho", "diecinueve", "veinte", "veintiuno", "veintidós", "veintitrés"),
    *("veinticuatro", "veinticinco", "veintiséis", "veintisiete", "veintiocho", "veintinueve"),
)
_TENS = (
    *("", "", "", "treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta"),
    "noventa",
)
_HUNDREDS = (
    *("", "ciento", "doscientos", "trescientos", "cuatrocientos", "quinientos"),
    *("seiscientos", "setecientos", "ochocientos", "novecientos"),
)
CENT = Decimal("0.01")


def _below_hundred(n: int, apocope: bool) -> str:
    if n < 30:
        word = _UNITS[n]
    else:
        tens, unit = divmod(n, 10)
        word = _TENS[tens] if unit == 0 else f"{_TENS[tens]} y {_UNITS[unit]}"
    if apocope:  # before "mil" or "millones": veintiún mil, treinta y un millones
        if word.endswith("veintiuno"):
            word = word[:-9] + "veintiún"
        elif word.endswith("uno"):
            word = word[:-1]
    return word


def _below_thousand(n: int, apocope: bool) -> str:
    hundreds, rest = divmod(n, 100)
    if hundreds == 1 and rest == 0:
        return "cien"
    parts = [_HUNDREDS[hundreds]] if hundreds else []
    if rest or not parts:
        parts.append(_below_hundred(rest, apocope))
    return " ".join(parts)


def _below_million(n: int, apocope: bool) -> str:
    thousands, rest = divmod(n, 1000)
    parts = []
    if thousands == 1:
        parts.append("mil")
    elif thousands:
        parts.append(f"{_below_thousand(thousands, apocope=True)} mil")
    if rest or not parts:
        parts.append(_below_thousand(rest, apocope))
    return " ".join(parts)


def number_to_words(n: int) -> str:
    """A whole number in Spanish words, as written on Argentine vouchers: 21 "veintiuno",
    21000 "veintiún mil", 1000000 "un millón", 10**9 "mil millones", 10**12 "un billón".
    Raises ValueError below 0 or from 10**18."""
    if n < 0 or n >= 10**18:
        raise ValueError(f"{n} is outside 0 … 10**18 - 1")
    if n == 0:
        return "cero"
    billions, rest = divmod(n, 10**12)
    millions, units = divmod(rest, 10**6)
    parts = []
    for count, singular, plural in (
        (billions, "un billón", "billones"),
        (millions, "un millón", "millones"),
    ):
        if count == 1:
            parts.append(singular)
        elif count:
            parts.append(f"{_below_million(count, apocope=True)} {plural}")
    if units:
        parts.append(_below_million(units, apocope=False))
    return " ".join(parts)


def amount_in_words(amount: Decimal, currency: str = "PES") -> str:
    """The amount in words, "Son pesos ciento veintiún mil con 50/100": rounded to cents
    (half-even), the cents as NN/100. Currencies not in `CURRENCY_WORDS` are named by their
    code. Raises ValueError for a negative amount."""
    if amount < 0:
        raise ValueError("a voucher amount is never negative")
    cents = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_EVEN)
    whole = int(cents)
    fraction = int((cents - whole) * 100)
    name = CURRENCY_WORDS.get(currency, currency)
    return f"Son {name} {number_to_words(whole)} con {fraction:02d}/100"


def format_amount(value: Decimal, places: int = 2) -> str:
    """1.234,56: Argentine grouping, `places` decimals rounded half-even (as `core.i18n`)."""
    quantum = Decimal(1).scaleb(-places)
    text = f"{Decimal(value).quantize(quantum, rounding=ROUND_HALF_EVEN):,.{places}f}"
    return text.translate(_SWAP_SEPARATORS)


def format_money(value: Decimal, currency: str = "PES") -> str:
    """Money as printed: "$ 1.234,56" (as `core.i18n.format_money`), "US$ 10,00" for
    dollars, "€ 5,00" for euros, the currency code for the rest."""
    return f"{CURRENCY_SYMBOLS.get(currency, currency)} {format_amount(value)}"


_SWAP_SEPARATORS = str.maketrans(",.", ".,")


def _plain_decimal(value: Decimal, min_places: int, max_places: int) -> str:
    """Argentine format with between `min_places` and `max_places` decimals: 1,5 / 1,50."""
    text = format_amount(value, max_places)
    if max_places > min_places:
        integer, _sep, fraction = text.partition(",")
        fraction = fraction.rstrip("0").ljust(min_places, "0")
        text = f"{integer},{fraction}" if fraction else integer
    return text


def _day(value: dt.date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


# --- Text: encoding, measuring, wrapping -------------------------------------------------------

_PT: Final = 25.4 / 72  # one point in mm
_FONT: Final = "helvetica"


def _char_widths(font_key: str) -> dict[str, int]:
    """Unicode character -> width in 1/1000 em, for the characters cp1252 can encode."""
    metrics = CORE_FONTS_CHARWIDTHS[font_key]
    widths = {}
    for code in range(32, 256):
        try:
            char = bytes([code]).decode("cp1252")
        except UnicodeDecodeError:
            continue
        widths[char] = metrics[chr(code)]
    widths.pop("\xad", None)  # soft hyphen: printed as a hyphen by some viewers
    widths.pop("\x7f", None)
    return widths


_WIDTHS: Final = {False: _char_widths("helvetica"), True: _char_widths("helveticaB")}
_PRINTABLE: Final = frozenset(_WIDTHS[False])


def _clean(text: str | None, keep_newlines: bool = False) -> str:
    """`text` reduced to what the core font prints: newlines kept only if asked, tabs and
    other controls turned to spaces or dropped, anything cp1252 lacks decomposed or "?"."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    if not keep_newlines:
        text = text.replace("\n", " ")
    if all(char in _PRINTABLE or char == "\n" for char in text):
        return text
    out = []
    for char in text:
        if char in _PRINTABLE or char == "\n":
            out.append(char)
        elif unicodedata.category(char) in ("Cc", "Cf", "Mn", "Me"):
            continue  # controls, zero-width marks, stray combining accents
        else:
            parts = [c for c in unicodedata.normalize("NFKD", char) if c in _PRINTABLE]
            out.append("".join(parts) if parts else "?")
    return "".join(out)


def _width(text: str, bold: bool, size: float) -> float:
    """`text`'s width in mm (cleaned text only)."""
    widths = _WIDTHS[bold]
    return sum(widths.get(char, 556) for char in text) * size * _PT / 1000


def _wrap(
    text: str,
    width: float,
    bold: bool = False,
    size: float = 8,
    first_width: float | None = None,
) -> list[str]:
    """Cleaned `text` in lines no wider than `width` mm (the first one `first_width`), breaking
    at spaces and, for words longer than a line, anywhere. Newlines start new lines."""
    lines: list[str] = []
    limit = width if first_width is None else first_width
    space = _width(" ", bold, size)
    for paragraph in text.split("\n"):
        current = ""
        current_width = 0.0
        for word in paragraph.split():
            word_width = _width(word, bold, size)
            if current and current_width + space + word_width <= limit:
                current += " " + word
                current_width += space + word_width
                continue
            if current:
                lines.append(current)
                limit = width
            while word_width > limit:  # a word longer than a line: cut it
                cut = _fit(word, limit, bold, size)
                lines.append(word[:cut])
                limit = width
                word = word[cut:]
                word_width = _width(word, bold, size)
            current, current_width = word, word_width
        lines.append(current)
        limit = width
    return lines


def _fit(word: str, limit: float, bold: bool, size: float) -> int:
    """How many leading characters of `word` fit in `limit` mm (at least one)."""
    widths = _WIDTHS[bold]
    scale = size * _PT / 1000
    total = 0.0
    for index, char in enumerate(word):
        total += widths.get(char, 556) * scale
        if total > limit:
            return max(index, 1)
    return len(word)


def _shorten(lines: list[str], max_lines: int) -> list[str]:
    if len(lines) <= max_lines:
        return lines
    return [*lines[: max_lines - 1], lines[max_lines - 1] + " …"]


# --- Display list ------------------------------------------------------------------------------
# The layout is computed once into drawing operations, then replayed for each copy: the pages of
# the ORIGINAL and the DUPLICADO differ only in their label.


@dataclass(frozen=True, slots=True)
class _Text:
    x: float
    y: float  # baseline
    text: str
    bold: bool = False
    size: float = 8


@dataclass(frozen=True, slots=True)
class _Rect:
    x: float
    y: float
    w: float
    h: float
    fill: int | None = None  # grey level; None strokes the border only


@dataclass(frozen=True, slots=True)
class _Line:
    x1: float
    y1: float
    x2: float
    y2: float
    grey: int = 0


@dataclass(frozen=True, slots=True)
class _Image:
    data: bytes
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True, slots=True)
class _Qr:
    x: float
    y: float
    module: float
    runs: tuple[tuple[int, int, int, int], ...]  # column, row, width, height in modules


_Op: TypeAlias = _Text | _Rect | _Line | _Image | _Qr


class _Ops(list[_Op]):
    """Drawing operations with alignment helpers."""

    def text(
        self,
        x: float,
        y: float,
        text: str,
        bold: bool = False,
        size: float = 8,
        align: Literal["L", "R", "C"] = "L",
    ) -> None:
        if not text:
            return
        if align == "R":
            x -= _width(text, bold, size)
        elif align == "C":
            x -= _width(text, bold, size) / 2
        self.append(_Text(x, y, text, bold, size))

    def pair(self, x: float, y: float, label: str, value: str, size: float = 8) -> None:
        """A bold label and its value on one line."""
        self.text(x, y, label, bold=True, size=size)
        self.text(x + _width(label, True, size), y, value, size=size)

    def moved(self, dy: float) -> list[_Op]:
        moved: list[_Op] = []
        for op in self:
            if isinstance(op, _Line):
                moved.append(_Line(op.x1, op.y1 + dy, op.x2, op.y2 + dy, op.grey))
            elif isinstance(op, _Text):
                moved.append(_Text(op.x, op.y + dy, op.text, op.bold, op.size))
            elif isinstance(op, _Rect):
                moved.append(_Rect(op.x, op.y + dy, op.w, op.h, op.fill))
            elif isinstance(op, _Image):
                moved.append(_Image(op.data, op.x, op.y + dy, op.w, op.h))
            else:
                moved.append(_Qr(op.x, op.y + dy, op.module, op.runs))
        return moved


# --- Geometry (mm) -----------------------------------------------------------------------------

PAGE_WIDTH: Final = 210.0
PAGE_HEIGHT: Final = 297.0
LEFT: Final = 10.0
RIGHT: Final = 200.0
WIDTH: Final = RIGHT - LEFT
BODY_BOTTOM: Final = 283.0  # content ends here; "Hoja x de n" below
PAGE_NUMBER_BASELINE: Final = 289.5
PAD: Final = 3.0  # inner margin of the boxes
CELL_PAD: Final = 1.5
ROW_LINE: Final = 3.5  # text line height in the table, 8 pt
ROW_PAD: Final = 2.2
TRANSPORT_HEIGHT: Final = 6.0
QR_SIZE: Final = 32.0
QR_ERROR: Final = "M"
# segno would try the 8 masks and keep the best by the standard's penalty score, which costs
# about 10 ms, as much as the rest of a page. Any mask gives a valid code (readers take it from
# the format information) and base64 data is pseudo-random, so one fixed mask does nearly as
# well: over 40 voucher URLs mask 3 scored on average 3.5 % (at worst 9 %) above the best one.
# None restores the full search.
QR_MASK: Final[int | None] = 3

Column: TypeAlias = tuple[str, float, Literal["L", "R", "C"]]


def _columns(class_a: bool) -> tuple[Column, ...]:
    if class_a:
        return (
            ("Descripción", 80, "L"),
            ("Cantidad", 22, "R"),
            ("Precio unit.", 26, "R"),
            ("Bonif. %", 15, "R"),
            ("IVA", 17, "R"),
            ("Importe", 30, "R"),
        )
    return (
        ("Descripción", 97, "L"),
        ("Cantidad", 22, "R"),
        ("Precio unit.", 26, "R"),
        ("Bonif. %", 15, "R"),
        ("Importe", 30, "R"),
    )


@dataclass(frozen=True)
class _Row:
    """A flowing item of the body: a voucher line (amount counts for "Transporte") or a line of
    the notes."""

    height: float
    ops: _Ops  # drawn with the row's top at y = 0
    amount: Decimal


# --- Layout ------------------------------------------------------------------------------------


class _Layout:
    """Everything that is the same on every copy, computed once."""

    def __init__(self, voucher: PdfVoucher, issuer: PdfIssuer, receiver: PdfReceiver) -> None:
        self.voucher = voucher
        self.issuer = issuer
        self.receiver = receiver
        self.class_a = voucher.letter in ("A", "ALEY")
        self.columns = _columns(self.class_a)
        self.currency = voucher.currency
        self.top = _Ops()
        self.body_top = self._build_top()
        self.rows = self._build_rows()
        self.closing = _Ops()
        self.closing_height = self._build_closing()
        self.pages = self._paginate()

    # Top of every page ----------------------------------------------------------------------

    def _build_top(self) -> float:
        ops = self.top
        voucher, issuer = self.voucher, self.issuer
        header_top = 17.0
        # Issuer, left.
        x, width = LEFT + PAD, 82.0
        y = header_top + 3
        logo = _logo(issuer, x, y, 45, 14)
        if logo is not None:
            ops.append(logo)
            y += 16
        name = _clean(issuer.trade_name or issuer.legal_name)
        for line in _shorten(_wrap(name, width, True, 12), 2):
            y += 5
            ops.text(x, y, line, bold=True, size=12)
        y += 1.5
        y = self._pairs(
            x,
            y,
            width,
            (
                ("Razón social: ", issuer.legal_name),
                ("Domicilio comercial: ", issuer.address),
                ("Condición frente al IVA: ", issuer.iva_condition),
            ),
        )
        left_bottom = y
        # Voucher, right.
        x, width = 116.0, RIGHT - PAD - 116
        title = (
            FCE_TITLES.get(voucher.invoice_type)
            or EXPORT_TITLES.get(voucher.invoice_type)
            or _clean(voucher.voucher_name).upper()
        )
        size = 15.0
        while size > 9 and _width(title, True, size) > width:
            size -= 0.5
        title_lines = _shorten(_wrap(title, width, True, size), 2)
        y = header_top + 3
        for line in title_lines:
            y += size * _PT * 1.15
            ops.text(x, y, line, bold=True, size=size)
        y += 5
        number = f"Punto de venta: {voucher.point_of_sale:05d}  Comp. Nro: {voucher.number:08d}"
        ops.text(x, y, number, bold=True, size=9)
        y += 4.5
        ops.text(x, y, f"Fecha de emisión: {_day(voucher.issue_date)}", bold=True, size=9)
        y += 1.5
        y = self._pairs(
            x,
            y,
            width,
            (
                ("CUIT: ", format_cuit(issuer.cuit)),
                ("Ingresos Brutos: ", issuer.iibb or "-"),
                ("Inicio de actividades: ", _day(issuer.activity_start) or "-"),
            ),
        )
        header_bottom = max(left_bottom, y, header_top + 26) + 3
        ops.append(_Rect(LEFT, header_top, WIDTH, header_bottom - header_top))
        # The letter box, hanging from the top edge, and the rule under it.
        box, middle = 16.0, PAGE_WIDTH / 2
        ops.append(_Rect(middle - box / 2, header_top, box, box, fill=255))
        ops.append(_Rect(middle - box / 2, header_top, box, box))
        letter = "A" if voucher.letter == "ALEY" else _clean(voucher.letter)[:2]
        ops.text(middle, header_top + 10, letter, bold=True, size=26, align="C")
        ops.text(middle, header_top + 14.2, f"Código {voucher.invoice_type:03d}", True, 6, "C")
        ops.append(_Line(middle, header_top + box, middle, header_bottom))
        y = header_bottom
        # Service period and payment due.
        period = []
        if voucher.concept in (2, 3) and (voucher.service_from or voucher.service_to):
            period.append(("Período facturado desde: ", _day(voucher.service_from)))
            period.append(("Hasta: ", _day(voucher.service_to)))
        if voucher.payment_due:
            fce = voucher.invoice_type in FCE_TITLES  # an FCE spells the label out
            due = "Fecha de vencimiento del pago: " if fce else "Fecha de vto. para el pago: "
            period.append((due, _day(voucher.payment_due)))
        if period:
            ops.append(_Rect(LEFT, y, WIDTH, 6.5))
            for (label, value), px in zip(period, (LEFT + PAD, 85.0, 130.0), strict=False):
                ops.pair(px, y + 4.4, label, value)
            y += 6.5
        # Receiver.
        receiver_top = y
        y = self._receiver(y + 1)
        ops.append(_Rect(LEFT, receiver_top, WIDTH, y + 1.5 - receiver_top))
        y += 1.5
        # Table heading.
        y += 1.5
        ops.append(_Rect(LEFT, y, WIDTH, 6, fill=225))
        ops.append(_Rect(LEFT, y, WIDTH, 6))
        x = LEFT
        for title, col_width, align in self.columns:
            if align == "R":
                ops.text(x + col_width - CELL_PAD, y + 4.1, title, True, 7.5, "R")
            else:
                ops.text(x + CELL_PAD, y + 4.1, title, True, 7.5)
            x += col_width
        return y + 6

    def _pairs(
        self, x: float, y: float, width: float, pairs: Iterable[tuple[str, str | None]]
    ) -> float:
        """Label-value lines from the baseline after `y`, values wrapped under themselves;
        returns the last baseline."""
        for label, raw in pairs:
            value = _clean(raw)
            label_width = _width(label, True, 8)
            lines = _shorten(_wrap(value, width, first_width=width - label_width), 3)
            y += 3.8
            self.top.pair(x, y, label, lines[0])
            for line in lines[1:]:
                y += 3.5
                self.top.text(x, y, line)
        return y

    def _receiver(self, y: float) -> float:
        voucher, receiver = self.voucher, self.receiver
        x, width = LEFT + PAD, WIDTH - 2 * PAD
        half = PAGE_WIDTH / 2 + 2
        if receiver.anonymous:
            y += 4.3
            self.top.text(x, y, ANONYMOUS_RECEIVER, bold=True, size=9)
        else:
            y = self._pairs(x, y, width, (("Apellido y nombre / Razón social: ", receiver.name),))
            y += 3.8
            document = f"{_clean(receiver.doc_type)}: "
            self.top.pair(x, y, document, _clean(receiver.doc_number))
        y += 3.8
        condition = ("Condición frente al IVA: ", _clean(receiver.iva_condition))
        self.top.pair(x, y, *condition)
        if voucher.payment_terms:
            terms = ("Condición de venta: ", _clean(voucher.payment_terms))
            beside = _width(condition[0], True, 8) + _width(condition[1], False, 8) + x + 3 < half
            if beside and half + _width(terms[0], True, 8) + _width(terms[1], False, 8) < RIGHT:
                self.top.pair(half, y, *terms)
            else:
                y = self._pairs(x, y, width, (terms,))
        if receiver.address and not receiver.anonymous:
            y = self._pairs(x, y, width, (("Domicilio: ", receiver.address),))
        if voucher.currency != "PES":
            y += 3.8
            name = CURRENCY_NAMES.get(voucher.currency, voucher.currency)
            self.top.pair(x, y, "Moneda: ", f"{name} ({_clean(voucher.currency)})")
            rate = _plain_decimal(voucher.currency_rate, 2, 6)
            self.top.pair(half, y, "Tipo de cambio: ", f"$ {rate}")
        if voucher.associated_voucher:
            y = self._pairs(x, y, width, (("Comprobante asociado: ", voucher.associated_voucher),))
        if voucher.export is not None:
            y = self._pairs(x, y, width, export_pairs(voucher.export))
        return y

    # Body -------------------------------------------------------------------------------------

    def _build_rows(self) -> list[_Row]:
        rows = [self._line_row(line) for line in self.voucher.lines]
        notes = _clean(self.voucher.notes, keep_newlines=True).strip()
        if notes:
            heading = _Ops()
            heading.text(LEFT + CELL_PAD, 5.2, "Observaciones:", bold=True)
            rows.append(_Row(6.5, heading, Decimal("0")))
            for line in _wrap(notes, WIDTH - 2 * CELL_PAD):
                ops = _Ops()
                ops.text(LEFT + CELL_PAD, 2.7, line)
                rows.append(_Row(ROW_LINE, ops, Decimal("0")))
        return rows

    def _line_row(self, line: PdfLine) -> _Row:
        ops = _Ops()
        columns = self.columns
        description_width = columns[0][1] - 2 * CELL_PAD
        description = _shorten(_wrap(_clean(line.description, True), description_width), 40)
        quantity = _plain_decimal(line.quantity, 2, 6)
        unit = _clean(line.unit)
        quantity_width = columns[1][1] - 2 * CELL_PAD
        values = [quantity]
        under_quantity = None
        if unit:
            together = f"{quantity} {unit}"
            if _width(together, False, 8) <= quantity_width:
                values[0] = together
            else:
                under_quantity = unit
        values.append(_plain_decimal(line.unit_price, 2, 4))
        values.append(_plain_decimal(line.discount_percent, 2, 2))
        if self.class_a:
            values.append(_clean(line.vat))
        values.append(format_amount(line.amount))
        baseline = 1.2 + 2.7
        for index, text in enumerate(description):
            ops.text(LEFT + CELL_PAD, baseline + index * ROW_LINE, text)
        x = LEFT + columns[0][1]
        for (_title, col_width, _align), value in zip(columns[1:], values, strict=True):
            ops.text(x + col_width - CELL_PAD, baseline, value, align="R")
            x += col_width
        lines = len(description)
        if under_quantity is not None:
            x = LEFT + columns[0][1] + columns[1][1] - CELL_PAD
            ops.text(x, baseline + ROW_LINE, _shorten(_wrap(under_quantity, 30), 1)[0], align="R")
            lines = max(lines, 2)
        height = lines * ROW_LINE + ROW_PAD
        ops.append(_Line(LEFT, height, RIGHT, height, grey=200))
        return _Row(height, ops, line.amount)

    def _transport_ops(self, y: float, amount: Decimal) -> list[_Op]:
        ops = _Ops()
        amount_left = RIGHT - self.columns[-1][1]
        ops.append(_Rect(LEFT, y, WIDTH, TRANSPORT_HEIGHT, fill=240))
        ops.append(_Rect(LEFT, y, WIDTH, TRANSPORT_HEIGHT))
        ops.text(amount_left - CELL_PAD, y + 4.1, "Transporte", bold=True, align="R")
        ops.text(RIGHT - CELL_PAD, y + 4.1, format_money(amount, self.currency), True, 8, "R")
        return ops

    # Last page: totals, transparency, words, legends, authorization ---------------------------

    def _build_closing(self) -> float:
        voucher, ops, currency = self.voucher, self.closing, self.currency
        y = 2.0
        # Totals, right.
        totals: list[tuple[str, Decimal]] = []
        if self.class_a:
            totals.append(("Importe Neto Gravado:", voucher.net))
            totals.extend((f"IVA {_clean(row.label)}:", row.amount) for row in voucher.vat_rows)
            if voucher.untaxed:
                totals.append(("Importe No Gravado:", voucher.untaxed))
            if voucher.exempt:
                totals.append(("Importe Exento:", voucher.exempt))
        else:
            totals.append(("Subtotal:", voucher.total - voucher.other_taxes_total))
        if voucher.other_taxes_total:
            totals.append(("Importe Otros Tributos:", voucher.other_taxes_total))
        box_x, box_width = 118.0, RIGHT - 118
        box_height = len(totals) * 4.6 + 8.5
        ops.append(_Rect(box_x, y, box_width, box_height))
        amounts = [format_money(amount, currency) for _label, amount in totals]
        total_text = format_money(voucher.total, currency)
        value_width = max(
            [_width(total_text, True, 10), *(_width(text, False, 8) for text in amounts)]
        )
        label_right = RIGHT - PAD - max(value_width, 24) - 4
        row_y = y + 1.2
        for (label, _amount), text in zip(totals, amounts, strict=True):
            row_y += 4.6
            ops.text(label_right, row_y, label, bold=True, align="R")
            ops.text(RIGHT - PAD, row_y, text, align="R")
        row_y += 6.3
        ops.text(label_right, row_y, "Importe Total:", bold=True, size=10, align="R")
        ops.text(RIGHT - PAD, row_y, total_text, True, 10, "R")
        # Other taxes and transparency, left.
        left_y = y
        x, width = LEFT + PAD, box_x - 4 - LEFT - PAD
        if voucher.other_taxes:
            left_y += 3.6
            ops.text(x, left_y, "Otros tributos", bold=True)
            for tax in voucher.other_taxes:
                left_y += 3.6
                amount_text = format_money(tax.amount, currency)
                label = _shorten(_wrap(_clean(tax.description), width - 30), 1)[0]
                ops.text(x, left_y, label)
                ops.text(x + width, left_y, amount_text, align="R")
            left_y += 2
        if shows_transparency_block(voucher):
            top = left_y + 1
            left_y = top + 4.2
            ops.text(x, left_y, TRANSPARENCY_TITLE, bold=True)
            left_y += 4
            ops.pair(x, left_y, "IVA Contenido: ", format_money(voucher.vat_total, currency))
            left_y += 4
            ops.pair(
                x,
                left_y,
                "Otros Impuestos Nacionales Indirectos: ",
                format_money(national_indirect_taxes(voucher), currency),
            )
            left_y += 2
            ops.append(_Rect(LEFT, top, box_x - 4 - LEFT, left_y - top))
        y = max(y + box_height, left_y) + 2
        # Amount in words.
        words = amount_in_words(voucher.total, voucher.currency)
        for line in _wrap(_clean(words), WIDTH - 2 * PAD, bold=True):
            y += 4
            ops.text(LEFT + PAD, y, line, bold=True)
        y += 1.5
        # Legends.
        export_legend = (EXPORT_LEGEND,) if voucher.export is not None else ()
        for legend in (*fce_legends(voucher), *export_legend, *voucher.legends):
            for line in _wrap(_clean(legend, keep_newlines=True), WIDTH - 2 * PAD, size=7.5):
                y += 3.4
                ops.text(LEFT + PAD, y, line, size=7.5)
            y += 0.8
        # Authorization.
        y += 1.5
        ops.append(_Line(LEFT, y, RIGHT, y))
        top = y + 3
        x = LEFT + 2
        if voucher.qr_url:
            ops.append(_qr(voucher.qr_url, x, top, QR_SIZE))
            x += QR_SIZE + 6
        if voucher.cae:
            ops.text(x, top + 8, "Comprobante Autorizado", bold=True, size=10)
            kind = voucher.authorization_kind
            ops.pair(x, top + 15, f"{kind} N°: ", _clean(voucher.cae), size=10)
            ops.pair(x, top + 21, f"Fecha de Vto. de {kind}: ", _day(voucher.cae_due), size=10)
        else:
            ops.text(x, top + 8, "Comprobante no autorizado: sin CAE", bold=True, size=10)
            ops.text(x, top + 14, "No válido como factura.", size=9)
        return top + QR_SIZE + 1

    # Pages ------------------------------------------------------------------------------------

    def _paginate(self) -> list[tuple[int, int]]:
        """(first, end) row indices per page: every page but the last keeps room for the
        outgoing "Transporte", every page but the first starts with the incoming one, and the
        last has room for the closing block."""
        heights = [row.height for row in self.rows]
        count = len(heights)
        remaining = [0.0] * (count + 1)
        for index in range(count - 1, -1, -1):
            remaining[index] = remaining[index + 1] + heights[index]
        last_limit = BODY_BOTTOM - self.closing_height
        pages: list[tuple[int, int]] = []
        start = 0
        while True:
            y = self.body_top + (TRANSPORT_HEIGHT if pages else 0)
            if y + remaining[start] <= last_limit or start == count:
                pages.append((start, count))
                return pages
            end = start
            limit = BODY_BOTTOM - TRANSPORT_HEIGHT
            while end < count and y + heights[end] <= limit:
                y += heights[end]
                end += 1
            end = max(end, start + 1)  # a row taller than a page still moves on
            pages.append((start, end))
            start = end

    def page_ops(self) -> list[list[_Op]]:
        """The operations of each page, without the copy label and page number."""
        pages: list[list[_Op]] = []
        carried = Decimal("0")
        for number, (start, end) in enumerate(self.pages):
            ops: list[_Op] = list(self.top)
            y = self.body_top
            if number:
                ops.extend(self._transport_ops(y, carried))
                y += TRANSPORT_HEIGHT
            for row in self.rows[start:end]:
                ops.extend(row.ops.moved(y))
                y += row.height
                carried += row.amount
            if number < len(self.pages) - 1:
                ops.extend(self._transport_ops(BODY_BOTTOM - TRANSPORT_HEIGHT, carried))
            else:
                ops.extend(self.closing.moved(BODY_BOTTOM - self.closing_height))
            pages.append(ops)
        return pages


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height in pixels of a PNG or JPEG (what the settings page accepts), from its
    header; None for anything else or a header that makes no sense."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return (width, height) if width and height else None
    if not data.startswith(b"\xff\xd8"):
        return None
    position = 2
    while position + 9 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            position += 1 if marker == 0xFF else 2  # standalone markers, fill bytes
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return (width, height) if width and height else None
        position += 2 + length
    return None


def _logo(
    issuer: PdfIssuer, x: float, y: float, max_width: float, max_height: float
) -> _Image | None:
    """The logo scaled into max_width × max_height, left-aligned; None without a usable one."""
    data = issuer.logo
    size = _image_size(data) if data else None
    if not data or size is None:
        return None
    width, height = size
    scale = min(max_width / width, max_height / height)
    return _Image(data, x, y, width * scale, height * scale)
    if data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff"):
        return data
    return None


def _qr(url: str, x: float, y: float, size: float) -> _Qr:
    """The QR of `url` as runs of dark modules: each row's horizontal runs, merged with the
    same run on the rows below, so the code is a few hundred filled rectangles."""
    code = segno.make(url, error=QR_ERROR, micro=False, mask=QR_MASK)
    matrix = code.matrix  # rows of 0 (light) and 1 (dark), no quiet zone
    open_runs: dict[tuple[int, int], list[int]] = {}  # (start, width) -> [first row, height]
    runs: list[tuple[int, int, int, int]] = []
    for row_index, row in enumerate(matrix):
        row_runs = set()
        start = row.find(1)
        while start != -1:
            end = row.find(0, start)
            if end == -1:
                end = len(row)
            row_runs.add((start, end - start))
            start = row.find(1, end)
        for key in [key for key in open_runs if key not in row_runs]:
            first_row, height = open_runs.pop(key)
            runs.append((key[0], first_row, key[1], height))
        for key in row_runs:
            if key in open_runs:
                open_runs[key][1] += 1
            else:
                open_runs[key] = [row_index, 1]
    for key, (first_row, height) in open_runs.items():
        runs.append((key[0], first_row, key[1], height))
    return _Qr(x, y, size / len(matrix), tuple(sorted(runs)))


# --- Rendering ---------------------------------------------------------------------------------


class _Canvas:
    def __init__(self, title: str, author: str, created: dt.datetime) -> None:
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        # The voucher's date, not the clock's: the same voucher prints the same bytes (the
        # download, the email attachment, the archive), and fpdf2 derives /ID from it too.
        pdf.set_creation_date(created)
        pdf.set_auto_page_break(False)
        pdf.set_margins(LEFT, LEFT, PAGE_WIDTH - RIGHT)
        pdf.core_fonts_encoding = "cp1252"
        pdf.set_title(title)
        pdf.set_author(author)
        pdf.set_creator("Talonario")
        pdf.set_line_width(0.2)
        self.pdf = pdf
        self.font: tuple[bool, float] | None = None
        self.draw_grey = 0

    def page(self, ops: Sequence[_Op], label: str, page_label: str) -> None:
        pdf = self.pdf
        pdf.add_page()
        self.font = None
        self.draw_grey = -1
        self._draw_grey(0)
        pdf.rect(LEFT, 10, WIDTH, 7)
        self._text(_Text(PAGE_WIDTH / 2 - _width(label, True, 11) / 2, 15.2, label, True, 11))
        for op in ops:
            if isinstance(op, _Text):
                self._text(op)
            elif isinstance(op, _Line):
                self._draw_grey(op.grey)
                pdf.line(op.x1, op.y1, op.x2, op.y2)
            elif isinstance(op, _Rect):
                if op.fill is None:
                    self._draw_grey(0)
                    pdf.rect(op.x, op.y, op.w, op.h)
                else:
                    pdf.set_fill_color(op.fill)
                    pdf.rect(op.x, op.y, op.w, op.h, style="F")
                    pdf.set_fill_color(0)
            elif isinstance(op, _Image):
                self._image(op)
            else:
                self._qr(op)
        width = _width(page_label, False, 8)
        self._text(_Text(RIGHT - width, PAGE_NUMBER_BASELINE, page_label))

    def _text(self, op: _Text) -> None:
        font = (op.bold, op.size)
        if font != self.font:
            self.pdf.set_font(_FONT, "B" if op.bold else "", op.size)
            self.font = font
        self.pdf.text(op.x, op.y, op.text)

    def _draw_grey(self, grey: int) -> None:
        if grey != self.draw_grey:
            self.pdf.set_draw_color(grey)
            self.draw_grey = grey

    def _image(self, op: _Image) -> None:
        try:
            self.pdf.image(BytesIO(op.data), op.x, op.y, op.w, op.h)
        except Exception:  # a broken logo must not stop the voucher: print without it
            return

    def _qr(self, op: _Qr) -> None:
        pdf, module = self.pdf, op.module
        # A hair of overlap, so no viewer shows seams between touching rectangles.
        bleed = module * 0.04
        for column, row, width, height in op.runs:
            pdf.rect(
                op.x + column * module,
                op.y + row * module,
                width * module + bleed,
                height * module + bleed,
                style=RenderStyle.F,
            )

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def render_invoice_pdf(
    voucher: PdfVoucher,
    issuer: PdfIssuer,
    receiver: PdfReceiver,
    copies: Sequence[CopyLabel] = ("ORIGINAL",),
) -> bytes:
    """The voucher as a PDF: one set of pages per copy label, in order, each numbered
    "Hoja x de n" on its own. Raises ValueError without copies."""
    if not copies:
        raise ValueError("at least one copy")
    layout = _Layout(voucher, issuer, receiver)
    pages = layout.page_ops()
    number = f"{voucher.point_of_sale:05d}-{voucher.number:08d}"
    created = dt.datetime.combine(voucher.issue_date, dt.time(), tzinfo=dt.UTC)
    canvas = _Canvas(f"{_clean(voucher.voucher_name)} {number}", _clean(issuer.legal_name), created)
    for label in copies:
        clean_label = _clean(label).upper()
        for index, ops in enumerate(pages, start=1):
            canvas.page(ops, clean_label, f"Hoja {index} de {len(pages)}")
    return canvas.output()
