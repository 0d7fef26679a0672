"""From invoice lines to the amounts ARCA wants (`ImpNeto`, `ImpIVA`, `AlicIva`…), pure.

WSFEv1 carries no lines, only totals, so this is where lines become a voucher. Money is
`Decimal` throughout and every amount ends with 2 decimals, rounded half-even as ARCA rounds
(NOTES §9 "Amount identities", §12.8): never `float`, which cannot hold 0.1 and serialises as
`121.00000000000001`.

`compute_totals` expects valid input and raises ValueError otherwise; `line_problems` says what
is wrong with a line in the user's language, for the editor and the preflight;
`saving_problems` what keeps computed totals from being saved at all.

A line may be negative (a return or a discount: negative quantity or negative price) as long as
the voucher stays positive: ARCA carries no lines, only totals, and refuses a negative amount
or a VAT base ≤ 0 (10020, 10043-10047). `saving_problems` is where that rule lives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Literal, TypeAlias

from flask_babel import gettext as _

from arca.codes import TAX_TYPES, VAT_RATES
from arca.wsfe import TaxAmount, VatAmount
from blueprints.invoices.letters import VoucherLetter

VatTreatment: TypeAlias = int | Literal["exempt", "untaxed"]
"""A VAT rate id from `arca.codes.VAT_RATES` (3 = 0 %, 4 = 10.5 %, 5 = 21 %, 6 = 27 %, 8 = 5 %,
9 = 2.5 %), or "exempt" (exento, `ImpOpEx`) or "untaxed" (no gravado, `ImpTotConc`). Id 3 is 0 %
*taxed*, which ARCA treats differently from exempt (NOTES §12.8)."""

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
# ImpTotal and the other amounts: 13 integer digits in ARCA and in the MONEY columns.
MAX_AMOUNT = Decimal(10) ** 13
# Enough digits that quantity × price × discount is exact before the one rounding to cents
# (the default 28 could round twice with 6-decimal quantities and large prices).
PRECISION = 60


@dataclass(frozen=True)
class Problem:
    """Something ARCA (or Talonario) would refuse: the form `field` it belongs to, a message in
    the user's language, and the ARCA error `code` it would otherwise cost (None for a check of
    our own)."""

    field: str
    message: str
    code: int | None = None


@dataclass(frozen=True)
class Line:
    """An invoice line as the user typed it. `unit_price` is with or without VAT as the invoice
    says (`prices_include_vat`); quantities may have up to 6 decimals and prices up to 4: ARCA
    only constrains the amounts, which are rounded to cents here."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal = Decimal("0")
    vat: VatTreatment = 5


@dataclass(frozen=True)
class OtherTax:
    """A `Tributo` to add (a perception, internal taxes…): amount = base × rate / 100, rounded.
    `tax_id` from `arca.codes.TAX_TYPES`; `description` is required by ARCA for 99 ("Otro")."""

    tax_id: int
    description: str
    base: Decimal
    rate: Decimal


@dataclass(frozen=True)
class LineAmount:
    """One line's amounts, for display. The line's VAT is indicative: the voucher's VAT is
    computed per rate on the sum of its lines, so line VATs may differ from it by cents."""

    net: Decimal
    vat: Decimal
    total: Decimal


@dataclass(frozen=True)
class Totals:
    """A voucher's amounts, named as `arca.wsfe.VoucherDetail` names them.

    `untaxed` is ImpTotConc, `net` ImpNeto, `exempt` ImpOpEx, `vat` the AlicIva rows (one per
    rate id with a base above 0, sorted by id), `vat_total` ImpIVA, `other_taxes` the Tributo
    rows, `other_taxes_total` ImpTrib and `total` ImpTotal = untaxed + net + exempt +
    other_taxes_total + vat_total, exactly. `lines` match the input lines, in order.
    """

    lines: tuple[LineAmount, ...]
    untaxed: Decimal
    net: Decimal
    exempt: Decimal
    vat: tuple[VatAmount, ...]
    vat_total: Decimal
    other_taxes: tuple[TaxAmount, ...]
    other_taxes_total: Decimal
    total: Decimal


def cents(value: Decimal) -> Decimal:
    """`value` rounded to 0.01, half-even (ARCA's rounding: 0.105 -> 0.10, 0.115 -> 0.12)."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def rate_percent(vat: VatTreatment) -> Decimal | None:
    """The VAT rate in percent for a rate id; None for exempt, untaxed or an unknown id."""
    if isinstance(vat, bool) or not isinstance(vat, int):
        return None
    return VAT_RATES.get(vat)


def line_amount(line: Line) -> Decimal:
    """The line's amount before (or, with prices including VAT, with) VAT: quantity × unit
    price × (1 − discount / 100), rounded once to cents."""
    with localcontext() as context:
        context.prec = PRECISION
        exact = line.quantity * line.unit_price * (HUNDRED - line.discount_percent) / HUNDRED
    return cents(exact)


def net_of_vat(gross: Decimal, rate: Decimal) -> Decimal:
    """The net inside a VAT-inclusive `gross` at `rate` percent: gross / (1 + rate/100), to
    cents. The VAT is then gross − net, so net + VAT is exactly what the customer saw."""
    with localcontext() as context:
        context.prec = PRECISION
        exact = gross * HUNDRED / (HUNDRED + rate)
    return cents(exact)


def vat_on(net: Decimal, rate: Decimal) -> Decimal:
    """The VAT on `net` at `rate` percent, to cents (exact before rounding: net has 2 decimals
    and the rates at most 1, so the product fits easily)."""
    return cents(net * rate / HUNDRED)


def line_problems(line: Line, index: int) -> list[Problem]:
    """What is wrong with the line at `index` (0-based), in the user's language, in field order;
    [] when `compute_totals` can take it. Fields are named `lines-<index>-<attribute>`, the way
    a WTForms FieldList names them. More than 2 decimals on quantity or price are fine, and so
    is a negative quantity or price (see `saving_problems`)."""
    number = index + 1
    problems: list[Problem] = []

    def add(attribute: str, message: str) -> None:
        problems.append(Problem(f"lines-{index}-{attribute}", message))

    if not line.description.strip():
        add("description", _("Línea %(number)s: escribí una descripción.", number=number))
    if not line.quantity.is_finite() or line.quantity == 0:
        add("quantity", _("Línea %(number)s: la cantidad no puede ser 0.", number=number))
    if not line.unit_price.is_finite():
        add("unit_price", _("Línea %(number)s: escribí el precio.", number=number))
    if not _discount_ok(line.discount_percent):
        add(
            "discount_percent",
            _("Línea %(number)s: el descuento va de 0 a 100 %%.", number=number),
        )
    if line.vat not in ("exempt", "untaxed") and rate_percent(line.vat) is None:
        add(
            "vat",
            _(
                "Línea %(number)s: elegí una alícuota de IVA válida, exento o no gravado.",
                number=number,
            ),
        )
    return problems


def saving_problems(lines: Sequence[Line], totals: Totals) -> list[Problem]:
    """What keeps `totals` (computed from `lines`) from being saved, in the user's language:
    a line with both quantity and price negative; with a negative line, a total ≤ 0 or a
    negative VAT base, exempt or untaxed sum (ARCA refuses them: a return is a credit note);
    an amount of 13 digits or more (ARCA's limit and the columns'). [] when it can be saved."""
    problems = [
        Problem(
            f"lines-{index}-unit_price",
            _(
                "Línea %(number)s: poné el signo menos en la cantidad o en el precio, no en "
                "los dos.",
                number=index + 1,
            ),
        )
        for index, line in enumerate(lines)
        if line.quantity < 0 and line.unit_price < 0
    ]
    if any(amount.total < 0 for amount in totals.lines):
        problems += _negative_balance(totals)
    for index, amount in enumerate(totals.lines):
        if max(abs(amount.net), abs(amount.total)) >= MAX_AMOUNT:
            message = _("Línea %(number)s: el importe es demasiado grande.", number=index + 1)
            problems.append(Problem(f"lines-{index}-unit_price", message))
    if max(abs(totals.total), abs(totals.net), abs(totals.vat_total)) >= MAX_AMOUNT:
        problems.append(Problem("totals", _("El total es demasiado grande.")))
    return problems


def _negative_balance(totals: Totals) -> list[Problem]:
    if totals.total <= 0:
        message = _(
            "El total tiene que ser mayor que cero; para devolver, emití una nota de crédito."
        )
        return [Problem("totals", message)]
    problems = [
        Problem(
            "totals",
            _(
                "Los descuentos con IVA %(rate)s superan a las líneas con esa alícuota.",
                rate=_rate_label(row.rate_id),
            ),
        )
        for row in totals.vat
        if row.base < 0
    ]
    if totals.exempt < 0 or totals.untaxed < 0:
        message = _("Los descuentos exentos o no gravados superan a las líneas de ese tipo.")
        problems.append(Problem("totals", message))
    return problems


def _rate_label(rate_id: int) -> str:
    """ "10,5 %", "21 %": as the editor's VAT choices say it."""
    return format(VAT_RATES[rate_id].normalize(), "f").replace(".", ",") + " %"


def _discount_ok(discount: Decimal) -> bool:
    return discount.is_finite() and 0 <= discount <= HUNDRED


def compute_totals(
    lines: Sequence[Line],
    letter: VoucherLetter,
    prices_include_vat: bool,
    other_taxes: Sequence[OtherTax] = (),
) -> Totals:
    """The voucher's amounts for `lines` issued as class `letter`.

    A, ALEY and B: lines are grouped by VAT treatment. Without VAT in the prices, a rate's VAT
    is computed once on the sum of its lines' amounts (not line by line). With VAT in the
    prices, a rate's net is its gross sum / (1 + rate) and its VAT the remainder, so the total
    is exactly what the customer saw. Exempt lines go to `exempt`, untaxed to `untaxed`.
    C and E (exports, which carry no VAT): no VAT at all; `net` is the sum of every line
    (whatever its `vat`), `prices_include_vat` does not matter. Other taxes are added on top
    in every class.

    Negative lines are computed as they are (a rate whose lines sum below 0 keeps its negative
    row, so the total is exact); `saving_problems` says whether the result may be kept.

    Raises ValueError for a quantity or price that is not a number (NaN: the editor's
    unreadable input), a negative tax base or rate, a discount outside 0-100, an unknown VAT
    rate or tax id, or a tax base with more than 2 decimals.
    """
    for index, line in enumerate(lines):
        _check_line(line, index)
    amounts = [line_amount(line) for line in lines]
    taxes = tuple(_tax_amount(tax) for tax in other_taxes)
    taxes_total = sum((tax.amount for tax in taxes), ZERO)
    if letter in ("C", "E"):
        return _class_c_totals(amounts, taxes, taxes_total)
    vat = _vat_rows(lines, amounts, prices_include_vat)
    untaxed = _sum_where(lines, amounts, "untaxed")
    exempt = _sum_where(lines, amounts, "exempt")
    net = sum((row.base for row in vat), ZERO)
    vat_total = sum((row.amount for row in vat), ZERO)
    return Totals(
        lines=tuple(
            _line_display(line, amount, prices_include_vat)
            for line, amount in zip(lines, amounts, strict=True)
        ),
        untaxed=untaxed,
        net=net,
        exempt=exempt,
        vat=vat,
        vat_total=vat_total,
        other_taxes=taxes,
        other_taxes_total=taxes_total,
        total=untaxed + net + exempt + taxes_total + vat_total,
    )


def _check_line(line: Line, index: int) -> None:
    if not line.quantity.is_finite():
        raise ValueError(f"line {index}: quantity must be a number, not {line.quantity}")
    if not line.unit_price.is_finite():
        raise ValueError(f"line {index}: unit price must be a number, not {line.unit_price}")
    if not _discount_ok(line.discount_percent):
        raise ValueError(f"line {index}: discount must be 0-100, not {line.discount_percent}")
    if line.vat not in ("exempt", "untaxed") and rate_percent(line.vat) is None:
        raise ValueError(f"line {index}: unknown VAT treatment {line.vat!r}")


def _tax_amount(tax: OtherTax) -> TaxAmount:
    if tax.tax_id not in TAX_TYPES:
        raise ValueError(f"unknown tax id {tax.tax_id}")
    if not tax.base.is_finite() or tax.base < 0 or not tax.rate.is_finite() or tax.rate < 0:
        raise ValueError(f"tax {tax.tax_id}: base and rate must be ≥ 0")
    if cents(tax.base) != tax.base:
        # BaseImp is an amount: ARCA rejects more than 2 decimals (10056).
        raise ValueError(f"tax {tax.tax_id}: base {tax.base} has more than 2 decimals")
    amount = cents(tax.base * tax.rate / HUNDRED)
    return TaxAmount(tax.tax_id, tax.base, tax.rate, amount, tax.description)


def _class_c_totals(
    amounts: list[Decimal], taxes: tuple[TaxAmount, ...], taxes_total: Decimal
) -> Totals:
    # Class C discriminates no VAT: ImpNeto is the subtotal and ImpIVA, ImpOpEx and ImpTotConc
    # must be 0, with no Iva array (10043, 10044, 10047, 10071).
    net = sum(amounts, ZERO)
    return Totals(
        lines=tuple(LineAmount(amount, ZERO, amount) for amount in amounts),
        untaxed=ZERO,
        net=net,
        exempt=ZERO,
        vat=(),
        vat_total=ZERO,
        other_taxes=taxes,
        other_taxes_total=taxes_total,
        total=net + taxes_total,
    )


def _vat_rows(
    lines: Sequence[Line], amounts: list[Decimal], prices_include_vat: bool
) -> tuple[VatAmount, ...]:
    """One AlicIva per rate id with a base other than 0, sorted by id (ARCA rejects a repeated
    id, 10022, and a base ≤ 0, 10020: a negative base is kept so the total stays exact, and
    `saving_problems` refuses it)."""
    sums: dict[int, Decimal] = {}
    for line, amount in zip(lines, amounts, strict=True):
        if isinstance(line.vat, int):
            sums[line.vat] = sums.get(line.vat, ZERO) + amount
    rows = []
    for rate_id in sorted(sums):
        rate = VAT_RATES[rate_id]
        if prices_include_vat:
            gross = sums[rate_id]
            base = net_of_vat(gross, rate)
            amount = gross - base
        else:
            base = sums[rate_id]
            amount = vat_on(base, rate)
        if base != 0:
            rows.append(VatAmount(rate_id, base, amount))
    return tuple(rows)


def _sum_where(lines: Sequence[Line], amounts: list[Decimal], treatment: str) -> Decimal:
    return sum(
        (amount for line, amount in zip(lines, amounts, strict=True) if line.vat == treatment),
        ZERO,
    )


def _line_display(line: Line, amount: Decimal, prices_include_vat: bool) -> LineAmount:
    rate = rate_percent(line.vat)
    if rate is None:  # exempt or untaxed: no VAT in it either way
        return LineAmount(amount, ZERO, amount)
    if prices_include_vat:
        net = net_of_vat(amount, rate)
        return LineAmount(net, amount - net, amount)
    vat = vat_on(amount, rate)
    return LineAmount(amount, vat, amount + vat)
