"""Libro IVA Digital (RG 4597), sales side: the two import files, built from plain data.

Pure: no Flask, no database. The caller turns each authorized invoice into a `LibroVoucher`
(see `LibroVoucher` for the field-by-field origin) and gets back the text of

* REGINFO_CV_VENTAS_CBTE: `ventas_cbte()`, one 266-character record per voucher;
* REGINFO_CV_VENTAS_ALICUOTAS: `ventas_alicuotas()`, one 62-character record per VAT rate;

and `encode_libro()` turns either text into the bytes to upload. `parse_cbte_line()` and
`parse_alicuota_line()` read records back, so tests can prove the files add up to the invoices.

Where each rule comes from, in `/work/shared/reference/arca/LIBRO_IVA_DIGITAL.md` ("the note"):

* §2 file-level rules: fixed width, no header; CR LF *between* records and none after the last
  one (the note prefers no empty last line, [UNCERTAIN] either works); ISO-8859-1; numeric
  fields zero-filled on the left, text fields space-filled on the right and truncated; dates
  AAAAMMDD; amounts as 13+2 digits without a point, a negative one with "-" in the first
  position; the exchange rate as 4+6 digits, also for PES; one month per file; order by date,
  type, point of sale and number; amounts rounded half-up to cents before formatting.
* §3 / §4 layouts: `CBTE_LAYOUT` and `ALICUOTA_LAYOUT` copy the From/Len columns.
* §5.1 voucher types and credit notes: the CbteTipo on 3 digits; credit notes with *positive*
  amounts (the type tells ARCA to subtract); no field for the associated voucher.
* §5.2 buyer: DocTipo / DocNro as sent to WSFEv1; anonymous final consumer = 99, zeros,
  "CONSUMIDOR FINAL"; a daily range = "VENTA GLOBAL DIARIA"; names truncated to 30.
* §5.3 currency: original currency with WSFEv1 MonId / MonCotiz (the note's recommended
  default; [UNCERTAIN] against "everything in pesos"), PES only with rate 1.
* §5.4 / §5.5 number of rates and operation code (table in `_operation_code`).
* §5.6 other taxes: `TRIBUTO_FIELDS` maps each WSFEv1 Tributo Id to a CBTE column.
* §5.7 payment due date: zeros unless the caller opts in; never on FCE (201–213) nor E.
* §5.1 / §5.4 FCE MiPyME (201–213) are A/B/C vouchers under their own codes; exports (class E,
  19/20/21, WSFEXv1) carry operation code "X", one 0 % record (`0003`) and the buyer as
  code 80 with ARCA's CUIT for its country (§5.2).
* §6 / §9 validations, checked before any record is written (§10 item 4): total identity to
  the cent, VAT per rate, field 19 = number of rate records, codes from the tables.
* §7 the WSFEv1 → LID mapping; §8 worked examples (reproduced byte for byte by the tests).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

from arca.codes import VAT_RATES, VOUCHER_TYPES
from arca.export_codes import export_codes

CBTE_LENGTH = 266
ALICUOTA_LENGTH = 62
LINE_END = "\r\n"  # §2: CR LF between records
ENCODING = "iso-8859-1"  # §2: Latin-1, not UTF-8 (cp1252 is the same for printable text)

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MILLIONTH = Decimal("0.000001")
MAX_RATE = Decimal("9999.999999")  # §2: 4 integer digits and 6 decimals
# §9.1 item 2: ARCA's tolerance for "VAT = base × rate" is unknown; ADHOC blocks the download
# above 0.50 per rate, the only figure found. WSFEv1 already held each voucher to ~0.01.
VAT_TOLERANCE = Decimal("0.50")

# §5.5: the valid operation codes. Blank or "0" mean "does not apply" (ADHOC moved to blank).
OPERATION_CODES = frozenset({" ", "0", "A", "C", "D", "E", "N", "T", "X", "Z"})
BARTER = "C"  # §9.1 item 3: the only operation allowed a base below its VAT
FCE_TYPES = frozenset(range(201, 214))  # §5.7 / §9.3 item 13: field 22 always zeros
EXPORT_CLASS = "E"  # 19, 20, 21: Factura E and its notes (WSFEXv1)
EXPORT_ABROAD = "X"  # §5.5: "Exportación al exterior" (Z, free-trade zones, is not issued)
CUIT_DOC_TYPE = 80  # §5.2: a foreign buyer is code 80 with its country's generic CUIT
NOT_SALES_TYPES = frozenset({49})  # used goods bought from a final consumer: a purchase
ANONYMOUS_DOC_TYPE = 99
ANONYMOUS_NAME = "CONSUMIDOR FINAL"  # §5.2 [SPEC]
DAILY_GLOBAL_NAME = "VENTA GLOBAL DIARIA"  # §5.2 [SPEC], a B range on one record
EXEMPT_RATE_ID = 3  # §5.4: the "0003" 0 % record, also the synthetic zero record

# §5.6: WSFEv1 Tributo.Id -> the CBTE column that carries it. Fields 11 + 13..16 + 21 must add
# up to ImpTrib, so every id WSFEv1 accepts has a column here.
TRIBUTO_FIELDS: dict[int, str] = {
    6: "national_perceptions",  # Percepción de IVA [ODOO]
    9: "national_perceptions",  # Otras percepciones, Odoo's Ganancias group [ODOO]
    7: "iibb_perceptions",  # Percepción de IIBB [ODOO]
    8: "municipal_perceptions",  # Percepciones municipales [ODOO]
    4: "internal_taxes",  # Impuestos internos [ODOO]
    99: "other_taxes",  # Otro [ODOO]
    # [UNCERTAIN] the note infers 13 -> field 11 from the names (Odoo writes 0 there).
    13: "non_categorized_perceptions",
    # [UNCERTAIN] generic national / provincial / municipal taxes and IIBB (not perceptions):
    # Odoo maps none; the note's default is field 21, which keeps the total identity.
    1: "other_taxes",
    2: "other_taxes",
    3: "other_taxes",
    5: "other_taxes",
}
TAX_COLUMNS = (
    "non_categorized_perceptions",
    "national_perceptions",
    "iibb_perceptions",
    "municipal_perceptions",
    "internal_taxes",
    "other_taxes",
)

# §8 header note: field 8 holds spaces and field 20 is often one space, so never strip a line.
_NAME_WIDTH = 30
_CURRENCY = re.compile(r"[A-Z0-9]{3}")
# Letters NFKD does not decompose, and typographic punctuation, in plain ASCII (§2: "transliterate
# to plain ASCII upper case is the safest choice").
_TRANSLITERATE = str.maketrans(
    {
        "Æ": "AE",
        "æ": "ae",
        "Ø": "O",
        "ø": "o",
        "Œ": "OE",
        "œ": "oe",
        "ß": "ss",
        "Ð": "D",
        "ð": "d",
        "Þ": "TH",
        "þ": "th",
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "‘": "'",
        "’": "'",
        "‚": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "«": '"',
        "»": '"',
        "–": "-",
        "—": "-",
        "−": "-",
        "º": "O",
        "ª": "A",
    }
)


# --- input ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LibroAlicuota:
    """One `AlicIva` as authorized: the rate id (3, 4, 5, 6, 8, 9) with its base and VAT."""

    rate_id: int
    base: Decimal
    amount: Decimal


@dataclass(frozen=True)
class LibroTributo:
    """One `Tributo` as authorized: its WSFEv1 id (`arca.codes.TAX_TYPES`) and amount."""

    tax_id: int
    amount: Decimal


@dataclass(frozen=True)
class LibroVoucher:
    """One authorized voucher, as sent to FECAESolicitar (§7, §10 item 1).

    From `Invoice`: invoice_type, point_of_sale_number, number, issue_date, receiver_doc_type,
    receiver_doc_number, receiver_name, total, untaxed, net, exempt, vat_total,
    other_taxes_total, currency, currency_rate, payment_due; `vat_rows` from `Invoice.vat_rows`
    and `tax_rows` from `Invoice.tax_rows`. Amounts in the voucher's currency (§5.3).

    `number_to` is only for a range authorized as one record (field 5); `operation_code`
    overrides the derived field 20 (e.g. "A" no alcanzado, "X" export, §5.5).
    """

    invoice_type: int
    point_of_sale_number: int
    number: int
    issue_date: dt.date
    receiver_doc_type: int
    receiver_doc_number: str
    receiver_name: str
    total: Decimal
    untaxed: Decimal = ZERO
    net: Decimal = ZERO
    exempt: Decimal = ZERO
    vat_total: Decimal = ZERO
    other_taxes_total: Decimal = ZERO
    vat_rows: tuple[LibroAlicuota, ...] = ()
    tax_rows: tuple[LibroTributo, ...] = ()
    currency: str = "PES"
    currency_rate: Decimal = Decimal("1")
    payment_due: dt.date | None = None
    number_to: int | None = None
    operation_code: str | None = None

    @property
    def key(self) -> tuple[int, int, int]:
        """What links ALICUOTAS records to their CBTE record (§2 "Order")."""
        return (self.invoice_type, self.point_of_sale_number, self.number)

    @property
    def label(self) -> str:
        return f"{self.invoice_type:03d}-{self.point_of_sale_number:05d}-{self.number:08d}"


class LibroIvaError(ValueError):
    """Vouchers ARCA's importer would refuse; nothing was written. `problems` says which."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# --- layouts (§3, §4) ----------------------------------------------------------------------------

Kind = Literal["N", "A", "amount", "rate"]


@dataclass(frozen=True)
class Field:
    """One column: 1-based `start` as in the note's "From" column, `length`, and its type."""

    name: str
    start: int
    length: int
    kind: Kind

    @property
    def slice(self) -> slice:
        return slice(self.start - 1, self.start - 1 + self.length)


CBTE_LAYOUT: tuple[Field, ...] = (
    Field("date", 1, 8, "N"),  # 1 Fecha de comprobante, AAAAMMDD
    Field("voucher_type", 9, 3, "N"),  # 2 Tipo de comprobante
    Field("point_of_sale", 12, 5, "N"),  # 3 Punto de venta
    Field("number", 17, 20, "N"),  # 4 Número de comprobante
    Field("number_to", 37, 20, "N"),  # 5 Número de comprobante hasta
    Field("doc_type", 57, 2, "N"),  # 6 Código de documento del comprador
    # 7: "A" in the design but digits zero-filled on the left in practice (§3).
    Field("doc_number", 59, 20, "N"),
    Field("name", 79, 30, "A"),  # 8 Apellido y nombre o denominación del comprador
    Field("total", 109, 15, "amount"),  # 9 Importe total de la operación
    Field("untaxed", 124, 15, "amount"),  # 10 Conceptos que no integran el neto gravado
    Field("non_categorized_perceptions", 139, 15, "amount"),  # 11 Percepción a no categorizados
    Field("exempt", 154, 15, "amount"),  # 12 Operaciones exentas
    Field("national_perceptions", 169, 15, "amount"),  # 13 Percepciones impuestos nacionales
    Field("iibb_perceptions", 184, 15, "amount"),  # 14 Percepciones de Ingresos Brutos
    Field("municipal_perceptions", 199, 15, "amount"),  # 15 Percepciones municipales
    Field("internal_taxes", 214, 15, "amount"),  # 16 Impuestos internos
    Field("currency", 229, 3, "A"),  # 17 Código de moneda
    Field("exchange_rate", 232, 10, "rate"),  # 18 Tipo de cambio
    Field("vat_rate_count", 242, 1, "N"),  # 19 Cantidad de alícuotas de IVA
    Field("operation_code", 243, 1, "A"),  # 20 Código de operación
    Field("other_taxes", 244, 15, "amount"),  # 21 Otros tributos
    Field("payment_due", 259, 8, "N"),  # 22 Fecha de vencimiento de pago
)

ALICUOTA_LAYOUT: tuple[Field, ...] = (
    Field("voucher_type", 1, 3, "N"),  # 1 Tipo de comprobante
    Field("point_of_sale", 4, 5, "N"),  # 2 Punto de venta
    Field("number", 9, 20, "N"),  # 3 Número de comprobante
    Field("base", 29, 15, "amount"),  # 4 Importe neto gravado
    Field("rate_id", 44, 4, "N"),  # 5 Alícuota de IVA
    Field("vat", 48, 15, "amount"),  # 6 Impuesto liquidado
)


def _check_layout(layout: tuple[Field, ...], length: int) -> None:
    position = 1
    for column in layout:
        if column.start != position:
            raise RuntimeError(f"layout gap or overlap at {column.name}")
        position += column.length
    if position - 1 != length:
        raise RuntimeError(f"layout is {position - 1} characters, not {length}")


_check_layout(CBTE_LAYOUT, CBTE_LENGTH)
_check_layout(ALICUOTA_LAYOUT, ALICUOTA_LENGTH)


# --- field formatting (§2) -----------------------------------------------------------------------


def cents(value: Decimal) -> Decimal:
    """`value` rounded to cents half-up, as §2 asks before building a line. Stored invoices
    already hold cents (rounded half-even by ARCA's rules), so this changes nothing for them."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_amount(value: Decimal) -> str:
    """15 positions, 13 integer digits and 2 decimals, no point: 1210.00 -> 000000000121000.

    A negative amount puts "-" in the first position and 14 digits after it (−2.15 ->
    -00000000000215, §2 [SPEC] and pyafipws). The app's vouchers never need it (§5.1).
    """
    units = int(cents(value).scaleb(2))
    text = f"-{-units:014d}" if units < 0 else f"{units:015d}"
    if len(text) != 15:
        raise ValueError(f"amount {value} does not fit 15 positions")
    return text


def format_rate(value: Decimal) -> str:
    """Pesos per unit in 10 positions, 4 integer digits and 6 decimals: 1 -> 0001000000,
    1450.50 -> 1450500000 (§2). Must be > 0 and at most 9999.999999."""
    rate = Decimal(value).quantize(MILLIONTH, rounding=ROUND_HALF_UP)
    if not ZERO < rate <= MAX_RATE:
        raise ValueError(f"exchange rate {value} outside 0.000001–9999.999999")
    return f"{int(rate.scaleb(6)):010d}"


def format_number(value: int, length: int) -> str:
    """A numeric field: right-aligned, zero-filled on the left (§2)."""
    if value < 0 or len(str(value)) > length:
        raise ValueError(f"{value} does not fit {length} digits")
    return f"{value:0{length}d}"


def format_date(value: dt.date | None) -> str:
    """AAAAMMDD; `00000000` for no date (§2, only field 22 may be empty)."""
    return value.strftime("%Y%m%d") if value is not None else "0" * 8


def clean_text(value: str, length: int) -> str:
    """A text field: plain ASCII upper case, left-aligned, space-filled, truncated (§2).

    The portal wants printable Latin-1 without tabs or line breaks; Odoo silently drops what
    Latin-1 lacks. The note calls plain ASCII upper case the safest choice, so accents are
    stripped (Ñ -> N), a few letters are spelled out, line breaks and tabs become one space,
    and anything still outside printable ASCII is dropped.
    """
    text = unicodedata.normalize("NFKD", value.translate(_TRANSLITERATE))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = "".join(" " if ch.isspace() else ch for ch in text)
    text = "".join(ch for ch in text if " " <= ch <= "~")
    text = " ".join(text.split()).upper()
    return text[:length].ljust(length)


def doc_digits(value: str) -> int:
    """DocNro as WSFEv1 received it: the digits of the stored number (`authorization.py` does
    the same), 0 when there are none."""
    return int("".join(ch for ch in value if ch.isdigit()) or 0)


# --- per-voucher derivations ---------------------------------------------------------------------


def _voucher_class(voucher: LibroVoucher) -> str | None:
    known = VOUCHER_TYPES.get(voucher.invoice_type)
    if known is None or voucher.invoice_type in NOT_SALES_TYPES:
        return None
    return known.voucher_class


def rate_records(voucher: LibroVoucher) -> tuple[LibroAlicuota, ...]:
    """What goes to ALICUOTAS for this voucher (§4, §5.4).

    * Class C (exempt issuer): none, and field 19 is 0 ([ODOO] and three other generators;
      [UNCERTAIN], the note has no spec text for sales C).
    * Otherwise one record per distinct rate id, bases and VAT summed, in first-seen order.
    * A/B without any `AlicIva` (fully exempt, non-taxed or zero amounts): one synthetic
      `0003` record with base 0 and VAT 0, because A/B need at least one rate record
      ("es obligatorio informar alícuotas IVA", §9.2 item 6). A Factura B carries its VAT
      like any other: the spec wants the contained VAT reported for final consumers too.
    * Class E (exports): one `0003` record whose base is the voucher's net, VAT 0. The note
      (§5.4) has Odoo writing zeros there (the amount then elsewhere); the spec lets the 0 %
      base carry an export (§4 field 4), and with WSFEX's single amount in `net` this keeps
      the total identity (§6) without inventing an exempt part [UNCERTAIN].
    """
    voucher_class = _voucher_class(voucher)
    if voucher_class == "C":
        return ()
    if voucher_class == EXPORT_CLASS:
        return (LibroAlicuota(EXEMPT_RATE_ID, cents(voucher.net), ZERO),)
    summed: dict[int, tuple[Decimal, Decimal]] = {}
    for row in voucher.vat_rows:
        base, amount = summed.get(row.rate_id, (ZERO, ZERO))
        summed[row.rate_id] = (base + cents(row.base), amount + cents(row.amount))
    if not summed:
        return (LibroAlicuota(EXEMPT_RATE_ID, ZERO, ZERO),)
    return tuple(LibroAlicuota(rate_id, base, amount) for rate_id, (base, amount) in summed.items())


def tax_columns(voucher: LibroVoucher) -> dict[str, Decimal]:
    """Fields 11, 13, 14, 15, 16 and 21: the voucher's `Tributos` summed per column (§5.6).
    Raises KeyError for a Tributo id `TRIBUTO_FIELDS` does not know."""
    columns = dict.fromkeys(TAX_COLUMNS, ZERO)
    for row in voucher.tax_rows:
        column = TRIBUTO_FIELDS[row.tax_id]
        columns[column] += cents(row.amount)
    return columns


def _operation_code(voucher: LibroVoucher, records: tuple[LibroAlicuota, ...]) -> str | None:
    """Field 20 (§5.4 table, §5.5), or None when a letter is needed but cannot be told.

    | situation                                 | code                                       |
    | explicit `operation_code`                 | as given                                   |
    | class E (export abroad)                   | X                                          |
    | class C                                   | blank                                      |
    | some base at a positive rate (+ exempt…)  | blank: the spec wording. Odoo writes E/N   |
    |                                           | when an exempt/untaxed part exists;        |
    |                                           | [UNCERTAIN], both are reported accepted    |
    | every rate 0 %, exempt amount             | E                                          |
    | every rate 0 %, non-taxed amount only     | N                                          |
    | only the synthetic zero record            | blank ("zero-amount voucher", §5.4)        |
    | 0 % taxed base, nothing exempt/non-taxed  | None: [SPEC] wants a letter (§9.2 item 8)  |
    |                                           | and only the caller knows which (A, X, Z…) |
    """
    if voucher.operation_code is not None:
        return voucher.operation_code
    if _voucher_class(voucher) == EXPORT_CLASS:
        return EXPORT_ABROAD
    if _voucher_class(voucher) == "C":
        return " "
    if any(VAT_RATES.get(row.rate_id, ZERO) > 0 for row in records):
        return " "
    if cents(voucher.exempt) > 0:
        return "E"
    if cents(voucher.untaxed) > 0:
        return "N"
    if all(row.base == 0 and row.amount == 0 for row in records):
        return " "
    return None


def _buyer_name(voucher: LibroVoucher) -> str:
    # §5.2: the anonymous final consumer (99 and number 0) is "CONSUMIDOR FINAL" whatever the
    # app stored ("Consumidor final"); a range on one record is "VENTA GLOBAL DIARIA".
    if (
        voucher.receiver_doc_type == ANONYMOUS_DOC_TYPE
        and doc_digits(voucher.receiver_doc_number) == 0
    ):
        ranged = voucher.number_to is not None and voucher.number_to != voucher.number
        return clean_text(DAILY_GLOBAL_NAME if ranged else ANONYMOUS_NAME, _NAME_WIDTH)
    return clean_text(voucher.receiver_name, _NAME_WIDTH)


# --- validation (§6, §9) -------------------------------------------------------------------------


def voucher_problems(voucher: LibroVoucher) -> list[str]:
    """Why ARCA's importer would refuse this voucher, in plain words; empty when it is fine.

    The caller can use it to leave vouchers out and report them (§10 item 6); the builders
    refuse the whole file when any voucher has a problem (§10 item 4).
    """
    problems: list[str] = []
    voucher_class = _voucher_class(voucher)
    if voucher_class is None:
        # §9.3 item 9: the type must be in the "Comprobantes Ventas" table.
        return [f"voucher type {voucher.invoice_type} is not a sales voucher the app exports"]
    # §9.3 item 9. The 2015 text also says < 09998 ([UNCERTAIN] whether still enforced); any
    # point of sale WSFEv1 accepted (1–99998) is exported. 033/099/331/332 (point of sale 0)
    # are not types this app issues.
    if not 1 <= voucher.point_of_sale_number <= 99999:
        problems.append(f"point of sale {voucher.point_of_sale_number} outside 1–99999")
    if voucher.number < 1:
        problems.append("the voucher has no number")
    if voucher.number_to is not None and voucher.number_to < voucher.number:
        problems.append("the last number of the range is below the first (field 5 < field 4)")
    if not 0 <= voucher.receiver_doc_type <= 99:
        problems.append(f"document type {voucher.receiver_doc_type} does not fit 2 digits")
    if len(str(doc_digits(voucher.receiver_doc_number))) > 20:
        problems.append("the document number has more than 20 digits")

    amounts = [
        ("total", voucher.total),
        ("non-taxed", voucher.untaxed),
        ("net", voucher.net),
        ("exempt", voucher.exempt),
        ("VAT", voucher.vat_total),
        ("other taxes", voucher.other_taxes_total),
    ]
    for row in voucher.vat_rows:
        amounts += [(f"rate {row.rate_id} base", row.base), (f"rate {row.rate_id} VAT", row.amount)]
    amounts += [(f"tax {row.tax_id}", row.amount) for row in voucher.tax_rows]
    for name, value in amounts:
        try:
            rounded = cents(value)
        except (InvalidOperation, TypeError):
            problems.append(f"{name} is not an amount")
            continue
        # §5.1: credit notes are positive; the type tells ARCA to subtract. Negatives are for
        # invoice-or-refund document types this app never issues.
        if rounded < 0:
            problems.append(f"{name} is negative; credit notes carry positive amounts")
        elif rounded >= Decimal("1e13"):
            problems.append(f"{name} does not fit 13 integer digits")
    if not problems and voucher_class == EXPORT_CLASS:
        problems += _export_problems(voucher)
    if problems:
        return problems

    # §5.3 / §9.3 item 12: the rate is always present, and PES goes with exactly 1.
    if not _CURRENCY.fullmatch(voucher.currency):
        problems.append(f"currency code {voucher.currency!r} is not a 3-character MonId")
    try:
        format_rate(voucher.currency_rate)
    except (ValueError, InvalidOperation, TypeError):
        problems.append(f"exchange rate {voucher.currency_rate} outside 0.000001–9999.999999")
    else:
        if voucher.currency == "PES" and cents(voucher.currency_rate) != Decimal(1):
            problems.append("a PES voucher must have exchange rate 1")

    unknown_rates = sorted({row.rate_id for row in voucher.vat_rows} - VAT_RATES.keys())
    if unknown_rates:
        # §9.2 item 7: 0003, 0004, 0005, 0006, 0008, 0009 only (codes 1 and 2 are not rates).
        problems.append(f"VAT rate ids {unknown_rates} are not LID rate codes")
    unknown_taxes = sorted({row.tax_id for row in voucher.tax_rows} - TRIBUTO_FIELDS.keys())
    if unknown_taxes:
        problems.append(f"tax ids {unknown_taxes} have no Libro IVA column")
    if problems:
        return problems

    taxes = sum((cents(row.amount) for row in voucher.tax_rows), ZERO)
    if taxes != cents(voucher.other_taxes_total):
        problems.append(
            f"the taxes add up to {taxes}, not to other taxes {voucher.other_taxes_total}"
        )

    records = rate_records(voucher)
    code = _operation_code(voucher, records)
    if code is None:
        problems.append("every VAT rate is 0 %: the operation code (A, X, Z…) must be given")
    elif code not in OPERATION_CODES:
        problems.append(f"operation code {code!r} is not in the LID table")

    if voucher_class == "C":
        # §5.4 / §6: no rate records, and the net amount has no column, so the file cannot show
        # the total identity ([UNCERTAIN] the presumed waiver). Check WSFEv1's own instead.
        if voucher.vat_rows or cents(voucher.vat_total) != 0:
            problems.append("a class C voucher carries no VAT")
        parts = (voucher.untaxed, voucher.net, voucher.exempt, voucher.vat_total, taxes)
        expected = sum((cents(part) for part in parts), ZERO)
        if expected != cents(voucher.total):
            problems.append(f"the total {voucher.total} is not the sum of its parts ({expected})")
        return problems

    bases = sum((row.base for row in records), ZERO)
    vat = sum((row.amount for row in records), ZERO)
    if bases != cents(voucher.net):
        problems.append(f"the VAT bases add up to {bases}, not to the net {voucher.net}")
    if vat != cents(voucher.vat_total):
        problems.append(f"the VAT rows add up to {vat}, not to the VAT {voucher.vat_total}")
    total = cents(voucher.total)
    for row in records:
        rate = VAT_RATES[row.rate_id]
        expected_vat = row.base * rate / 100
        if abs(row.amount - expected_vat) > VAT_TOLERANCE:  # §9.1 item 2
            problems.append(f"VAT {row.amount} at {rate} % is not {rate} % of {row.base}")
        if row.base > total:  # §9.1 item 3
            problems.append(f"the base at {rate} % exceeds the voucher total")
        if row.base < row.amount and code != BARTER:  # §9.1 item 3, barter excepted
            problems.append(f"the base at {rate} % is below its VAT")
    # §6: field 9 = fields 10 + 11 + 12 + 13 + 14 + 15 + 16 + 21 + Σ (base + VAT), to the cent
    # (the importer's tolerance is [UNCERTAIN]; aim for exact).
    parts_sum = cents(voucher.untaxed) + cents(voucher.exempt) + taxes + bases + vat
    if parts_sum != total:
        problems.append(
            f"El Importe Total ({total}) no coincide con la suma de los demás montos ({parts_sum})"
        )
    return problems


def _export_problems(voucher: LibroVoucher) -> list[str]:
    """A Factura E (or note) discriminates no VAT, and names its buyer by ARCA's CUIT for the
    buyer's country (§5.2: code 80 and the "CUIT país", FEXGetPARAM_DST_CUIT)."""
    problems = []
    if voucher.vat_rows or cents(voucher.vat_total) != 0:
        problems.append("an export voucher carries no VAT")
    number = f"{doc_digits(voucher.receiver_doc_number):011d}"
    if voucher.receiver_doc_type != CUIT_DOC_TYPE or number not in export_codes().foreign_cuits:
        problems.append(
            "an export voucher needs the buyer's country CUIT (document type 80, "
            "FEXGetPARAM_DST_CUIT)"
        )
    return problems


def _checked(vouchers: Iterable[LibroVoucher]) -> list[LibroVoucher]:
    """The vouchers in file order, or LibroIvaError listing every problem (§2, §9, §10)."""
    ordered = sorted(
        vouchers,
        key=lambda v: (v.issue_date, v.invoice_type, v.point_of_sale_number, v.number),
    )
    problems = [f"{v.label}: {problem}" for v in ordered for problem in voucher_problems(v)]
    # §2 "Period": one file pair per month; dates must fall in the declared period.
    months = sorted({(v.issue_date.year, v.issue_date.month) for v in ordered})
    if len(months) > 1:
        listed = ", ".join(f"{year}-{month:02d}" for year, month in months)
        problems.append(f"the vouchers span several months ({listed}); export one month")
    # §2 "Order": records are linked by (type, point of sale, number); a key must be unique.
    seen: set[tuple[int, int, int]] = set()
    for voucher in ordered:
        if voucher.key in seen:
            problems.append(f"{voucher.label}: appears twice")
        seen.add(voucher.key)
    if problems:
        raise LibroIvaError(problems)
    return ordered


# --- records -------------------------------------------------------------------------------------


def _join(layout: tuple[Field, ...], values: dict[str, str], length: int) -> str:
    for column in layout:
        if len(values[column.name]) != column.length:
            raise ValueError(f"{column.name} is {values[column.name]!r}, not {column.length} wide")
    line = "".join(values[column.name] for column in layout)
    if len(line) != length:  # §9.2 item 5: any other length makes the line unreadable
        raise ValueError(f"record is {len(line)} characters, not {length}")
    return line


def cbte_record(voucher: LibroVoucher, *, payment_due_dates: bool = False) -> str:
    """The 266-character REGINFO_CV_VENTAS_CBTE record of one voucher (§3, §7).

    `payment_due_dates`: write `payment_due` in field 22. Off by default, the note's safe
    choice (§5.7: the spec requires it only for 017/018, which the app does not issue);
    never written on FCE (201–213), which the CITI application refused ([UNCERTAIN] for the LID),
    nor on exports (Odoo writes zeros for them, §5.7).
    """
    problems = voucher_problems(voucher)
    if problems:
        raise LibroIvaError([f"{voucher.label}: {problem}" for problem in problems])
    records = rate_records(voucher)
    code = _operation_code(voucher, records)
    if code is None:  # voucher_problems already refused it; this keeps the type narrow
        raise LibroIvaError([f"{voucher.label}: an operation code must be given"])
    dated = voucher.invoice_type not in FCE_TYPES and _voucher_class(voucher) != EXPORT_CLASS
    due = voucher.payment_due if payment_due_dates and dated else None
    values = {
        "date": format_date(voucher.issue_date),
        "voucher_type": format_number(voucher.invoice_type, 3),
        "point_of_sale": format_number(voucher.point_of_sale_number, 5),
        "number": format_number(voucher.number, 20),
        # §3 field 5: equal to field 4 unless a range was authorized as one record.
        "number_to": format_number(voucher.number_to or voucher.number, 20),
        "doc_type": format_number(voucher.receiver_doc_type, 2),
        # §3 field 7: zero-filled on the left; all zeros for the anonymous final consumer.
        "doc_number": format_number(doc_digits(voucher.receiver_doc_number), 20),
        "name": _buyer_name(voucher),
        "total": format_amount(voucher.total),
        "untaxed": format_amount(voucher.untaxed),
        "exempt": format_amount(voucher.exempt),
        "currency": voucher.currency,
        "exchange_rate": format_rate(voucher.currency_rate),
        # §5.4 / §9.2 item 6: field 19 is exactly the number of ALICUOTAS records written.
        "vat_rate_count": format_number(len(records), 1),
        "operation_code": code,
        "payment_due": format_date(due),
    }
    values.update({name: format_amount(value) for name, value in tax_columns(voucher).items()})
    return _join(CBTE_LAYOUT, values, CBTE_LENGTH)


def alicuota_records(voucher: LibroVoucher) -> list[str]:
    """The 62-character REGINFO_CV_VENTAS_ALICUOTAS records of one voucher (§4, §5.4)."""
    problems = voucher_problems(voucher)
    if problems:
        raise LibroIvaError([f"{voucher.label}: {problem}" for problem in problems])
    head = {
        "voucher_type": format_number(voucher.invoice_type, 3),
        "point_of_sale": format_number(voucher.point_of_sale_number, 5),
        "number": format_number(voucher.number, 20),
    }
    return [
        _join(
            ALICUOTA_LAYOUT,
            {
                **head,
                "base": format_amount(row.base),
                "rate_id": format_number(row.rate_id, 4),  # "0005", §4 field 5
                "vat": format_amount(row.amount),
            },
            ALICUOTA_LENGTH,
        )
        for row in rate_records(voucher)
    ]


# --- files ---------------------------------------------------------------------------------------


def ventas_cbte(vouchers: Iterable[LibroVoucher], *, payment_due_dates: bool = False) -> str:
    """The REGINFO_CV_VENTAS_CBTE file: one record per voucher, ordered by date, type, point
    of sale and number, joined with CR LF and no line break after the last record (§2).
    Raises LibroIvaError when any voucher, or the set (several months, a repeated voucher), has
    a problem."""
    return LINE_END.join(
        cbte_record(voucher, payment_due_dates=payment_due_dates) for voucher in _checked(vouchers)
    )


def ventas_alicuotas(vouchers: Iterable[LibroVoucher]) -> str:
    """The REGINFO_CV_VENTAS_ALICUOTAS file: the rate records grouped per voucher, in the same
    order as `ventas_cbte` (§2 "Order"), joined with CR LF; empty when only class C."""
    return LINE_END.join(
        record for voucher in _checked(vouchers) for record in alicuota_records(voucher)
    )


def libro_ventas(
    vouchers: Iterable[LibroVoucher], *, payment_due_dates: bool = False
) -> tuple[str, str]:
    """Both files for one month's vouchers: (CBTE text, ALICUOTAS text)."""
    ordered = _checked(vouchers)
    return (
        ventas_cbte(ordered, payment_due_dates=payment_due_dates),
        ventas_alicuotas(ordered),
    )


def encode_libro(text: str) -> bytes:
    """The file's bytes: ISO-8859-1, never UTF-8 (§2). Strict, since every field is already
    plain ASCII; an error here is a bug, not a character to drop."""
    return text.encode(ENCODING)


# --- reading records back ------------------------------------------------------------------------


def _parse(line: str, layout: tuple[Field, ...], length: int) -> dict[str, str | Decimal]:
    if len(line) != length:
        raise ValueError(f"record is {len(line)} characters, not {length}")
    parsed: dict[str, str | Decimal] = {}
    for column in layout:
        raw = line[column.slice]
        if column.kind == "amount":
            negative = raw.startswith("-")
            digits = raw[1:] if negative else raw
            if not digits.isdigit():
                raise ValueError(f"{column.name} {raw!r} is not an amount")
            parsed[column.name] = Decimal(-int(digits) if negative else int(digits)).scaleb(-2)
        elif column.kind == "rate":
            if not raw.isdigit():
                raise ValueError(f"{column.name} {raw!r} is not an exchange rate")
            parsed[column.name] = Decimal(int(raw)).scaleb(-6)
        else:
            if column.kind == "N" and not raw.isdigit():
                raise ValueError(f"{column.name} {raw!r} is not numeric")
            parsed[column.name] = raw
    return parsed


def parse_cbte_line(line: str) -> dict[str, str | Decimal]:
    """A CBTE record by field name (`CBTE_LAYOUT`): amounts and the exchange rate as Decimal,
    everything else as the raw, unstripped text."""
    return _parse(line, CBTE_LAYOUT, CBTE_LENGTH)


def parse_alicuota_line(line: str) -> dict[str, str | Decimal]:
    """An ALICUOTAS record by field name (`ALICUOTA_LAYOUT`): base and vat as Decimal."""
    return _parse(line, ALICUOTA_LAYOUT, ALICUOTA_LENGTH)
