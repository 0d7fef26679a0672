"""Lines to ARCA's amounts: hand-computed vouchers, half-even rounding and random line sets."""

from __future__ import annotations

import random
from decimal import Decimal as D

import pytest

from arca.codes import VAT_RATES
from arca.wsfe import TaxAmount, VatAmount
from blueprints.invoices.letters import VoucherLetter
from blueprints.invoices.totals import (
    Line,
    LineAmount,
    OtherTax,
    Problem,
    Totals,
    VatTreatment,
    compute_totals,
    line_amount,
    line_problems,
    saving_problems,
)

ZERO = D("0.00")


def test_class_a_with_every_treatment_and_discounts() -> None:
    lines = [
        Line("Instalación", D(2), D("1000.00"), D(10)),  # 1800.00 at 21 %
        Line("Libro técnico", D(3), D("333.33"), vat=4),  # 999.99 at 10.5 %
        Line("Tornillos", D("1.5"), D("12.3456")),  # 18.5184 -> 18.52 at 21 %
        Line("Curso (exento)", D(1), D("500.00"), vat="exempt"),
        Line("Reintegro (no gravado)", D(1), D("250.00"), vat="untaxed"),
    ]
    totals = compute_totals(lines, "A", prices_include_vat=False)
    assert totals == Totals(
        lines=(
            LineAmount(D("1800.00"), D("378.00"), D("2178.00")),
            LineAmount(D("999.99"), D("105.00"), D("1104.99")),  # 104.99895
            LineAmount(D("18.52"), D("3.89"), D("22.41")),  # 3.8892
            LineAmount(D("500.00"), ZERO, D("500.00")),
            LineAmount(D("250.00"), ZERO, D("250.00")),
        ),
        untaxed=D("250.00"),
        net=D("2818.51"),
        exempt=D("500.00"),
        # 10.5 %: 999.99 × 0.105 = 104.99895; 21 %: 1818.52 × 0.21 = 381.8892
        vat=(VatAmount(4, D("999.99"), D("105.00")), VatAmount(5, D("1818.52"), D("381.89"))),
        vat_total=D("486.89"),
        other_taxes=(),
        other_taxes_total=ZERO,
        total=D("4055.40"),
    )


def test_vat_is_computed_on_each_rates_sum_not_line_by_line() -> None:
    # Each line's VAT is 0.105 -> 0.10, but ARCA wants 1.50 × 21 % = 0.315 -> 0.32.
    totals = compute_totals([Line("Clavo", D(1), D("0.50"))] * 3, "A", prices_include_vat=False)
    assert [line.vat for line in totals.lines] == [D("0.10")] * 3
    assert totals.vat == (VatAmount(5, D("1.50"), D("0.32")),)
    assert totals.total == D("1.82")


@pytest.mark.parametrize(
    ("lines", "net", "vat", "total"),
    [
        ([Line("Pan", D(3), D("1210.00"))], "3000.00", "630.00", "3630.00"),
        ([Line("Diario", D(1), D("99.99"), vat=4)], "90.49", "9.50", "99.99"),  # 90.488…
        ([Line("Café", D(7), D("14.99"))], "86.72", "18.21", "104.93"),  # 86.7190…
        ([Line("Gaseosa", D(1), D("0.01"), vat=6)], "0.01", "0.00", "0.01"),
    ],
)
def test_class_b_with_prices_including_vat_totals_what_the_customer_saw(
    lines: list[Line], net: str, vat: str, total: str
) -> None:
    totals = compute_totals(lines, "B", prices_include_vat=True)
    assert (totals.net, totals.vat_total, totals.total) == (D(net), D(vat), D(total))
    assert totals.lines[0] == LineAmount(D(net), D(vat), D(total))


def test_class_b_with_two_rates_and_an_exempt_line_including_vat() -> None:
    lines = [
        Line("Remera", D(1), D("100.00")),  # 100 / 1.21 = 82.6446… -> 82.64
        Line("Libro", D(1), D("100.00"), vat=4),  # 100 / 1.105 = 90.4977… -> 90.50
        Line("Entrada", D(2), D("45.00"), vat="exempt"),
    ]
    totals = compute_totals(lines, "B", prices_include_vat=True)
    assert totals.vat == (VatAmount(4, D("90.50"), D("9.50")), VatAmount(5, D("82.64"), D("17.36")))
    assert (totals.net, totals.exempt, totals.vat_total) == (D("173.14"), D("90.00"), D("26.86"))
    assert totals.total == D("290.00")


def test_class_c_has_no_vat_whatever_the_lines_say() -> None:
    lines = [
        Line("Clase de yoga", D(2), D("150.00")),
        Line("Apunte", D(1), D("99.99"), vat="exempt"),
        Line("Reintegro", D(1), D("10.00"), vat="untaxed"),
    ]
    for prices_include_vat in (False, True):
        totals = compute_totals(lines, "C", prices_include_vat)
        assert totals == Totals(
            lines=(
                LineAmount(D("300.00"), ZERO, D("300.00")),
                LineAmount(D("99.99"), ZERO, D("99.99")),
                LineAmount(D("10.00"), ZERO, D("10.00")),
            ),
            untaxed=ZERO,
            net=D("409.99"),
            exempt=ZERO,
            vat=(),
            vat_total=ZERO,
            other_taxes=(),
            other_taxes_total=ZERO,
            total=D("409.99"),
        )


def test_other_taxes_add_to_the_total() -> None:
    perception = OtherTax(7, "Percepción IIBB", D("1000.00"), D(3))
    internal = OtherTax(4, "Impuestos internos", D("1234.56"), D("3.5"))  # 43.2096
    totals = compute_totals(
        [Line("Vino", D(10), D("100.00"))], "A", False, other_taxes=[perception, internal]
    )
    assert totals.other_taxes == (
        TaxAmount(7, D("1000.00"), D(3), D("30.00"), "Percepción IIBB"),
        TaxAmount(4, D("1234.56"), D("3.5"), D("43.21"), "Impuestos internos"),
    )
    assert totals.other_taxes_total == D("73.21")
    assert totals.total == D("1000.00") + D("210.00") + D("73.21")
    class_c = compute_totals([Line("Vino", D(1), D("100.00"))], "C", False, [perception])
    assert (class_c.net, class_c.other_taxes_total, class_c.total) == (
        D("100.00"),
        D("30.00"),
        D("130.00"),
    )


@pytest.mark.parametrize(
    ("quantity", "price", "discount", "expected"),
    [
        ("1", "2.675", "0", "2.68"),  # half-even: …7|5 -> 8
        ("1", "2.665", "0", "2.66"),  # …6|5 -> 6
        ("3", "0.335", "0", "1.00"),  # 1.005
        ("1", "1.015", "0", "1.02"),
        ("1", "0.99", "50", "0.50"),  # 0.495
        ("1", "0.97", "50", "0.48"),  # 0.485
        ("1", "10.00", "12.5", "8.75"),
        ("1.234567", "10.0001", "0", "12.35"),  # 12.3457934567
        ("0.000001", "0.0001", "0", "0.00"),
        ("5", "20.00", "100", "0.00"),
    ],
)
def test_line_amounts_round_once_half_even(
    quantity: str, price: str, discount: str, expected: str
) -> None:
    line = Line("x", D(quantity), D(price), D(discount))
    assert line_amount(line) == D(expected)
    assert str(line_amount(line)) == expected


@pytest.mark.parametrize(
    ("net", "rate_id", "vat"),
    [
        ("0.50", 5, "0.10"),  # 0.105
        ("1.50", 5, "0.32"),  # 0.315
        ("1.00", 4, "0.10"),  # 0.105
        ("3.00", 4, "0.32"),  # 0.315
        ("0.50", 9, "0.01"),  # 0.0125
        ("0.20", 9, "0.00"),  # 0.005
        ("0.10", 8, "0.00"),  # 0.005
        ("0.30", 8, "0.02"),  # 0.015
        ("100.00", 3, "0.00"),
    ],
)
def test_vat_rounds_half_even(net: str, rate_id: int, vat: str) -> None:
    totals = compute_totals([Line("x", D(1), D(net), vat=rate_id)], "A", False)
    assert totals.vat == (VatAmount(rate_id, D(net), D(vat)),)


@pytest.mark.parametrize(("base", "amount"), [("0.50", "0.00"), ("1.50", "0.02")])
def test_other_taxes_round_half_even(base: str, amount: str) -> None:
    totals = compute_totals([], "A", False, [OtherTax(9, "Otras", D(base), D(1))])
    assert totals.other_taxes[0].amount == D(amount)


def test_rates_without_a_base_are_left_out() -> None:
    lines = [Line("Muestra", D(0), D("10.00"), vat=4), Line("Regalo", D(1), D(0), vat=6)]
    totals = compute_totals([*lines, Line("Caja", D(1), D("10.00"))], "A", False)
    assert [row.rate_id for row in totals.vat] == [5]
    empty = compute_totals([], "B", True)
    assert (empty.vat, empty.total, empty.lines) == ((), ZERO, ())


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        (Line("x", D("NaN"), D(1)), "quantity"),
        (Line("x", D(1), D("NaN")), "unit price"),
        (Line("x", D(1), D(1), D("-1")), "discount"),
        (Line("x", D(1), D(1), D("100.01")), "discount"),
        (Line("x", D(1), D(1), vat=7), "VAT"),
        (Line("x", D(1), D(1), vat="zero"), "VAT"),  # type: ignore[arg-type]
        (Line("x", D(1), D(1), vat=True), "VAT"),
    ],
)
def test_invalid_lines_raise(line: Line, fragment: str) -> None:
    with pytest.raises(ValueError, match=f"line 1: .*{fragment}"):
        compute_totals([Line("ok", D(1), D(1)), line], "B", False)


@pytest.mark.parametrize(
    ("tax", "fragment"),
    [
        (OtherTax(10, "?", D(1), D(1)), "unknown tax id 10"),
        (OtherTax(7, "IIBB", D("-1"), D(1)), "≥ 0"),
        (OtherTax(7, "IIBB", D(1), D("-3")), "≥ 0"),
        (OtherTax(7, "IIBB", D("1.005"), D(3)), "more than 2 decimals"),
    ],
)
def test_invalid_other_taxes_raise(tax: OtherTax, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        compute_totals([], "A", False, [tax])


def test_line_problems_in_spanish_by_field() -> None:
    line = Line("  ", D(0), D("NaN"), D(101), vat=7)
    assert line_problems(line, 2) == [
        Problem("lines-2-description", "Línea 3: escribí una descripción."),
        Problem("lines-2-quantity", "Línea 3: la cantidad no puede ser 0."),
        Problem("lines-2-unit_price", "Línea 3: escribí el precio."),
        Problem("lines-2-discount_percent", "Línea 3: el descuento va de 0 a 100 %."),
        Problem("lines-2-vat", "Línea 3: elegí una alícuota de IVA válida, exento o no gravado."),
    ]


@pytest.mark.parametrize(
    "line",
    [
        Line("Tela", D("1.234567"), D("1234.5678"), D("33.333")),
        Line("Regalo", D(1), D(0), D(100), vat="exempt"),
        Line("Trámite", D(1), D(5), vat="untaxed"),
        Line("Leche", D(2), D(1), vat=3),
        Line("Devolución", D(-1), D(1)),
        Line("Descuento", D(1), D("-150.50")),
    ],
)
def test_good_lines_have_no_problems(line: Line) -> None:
    assert line_problems(line, 0) == []


# --- properties over random line sets ---------------------------------------------------------

TREATMENTS: tuple[VatTreatment, ...] = (*VAT_RATES, "exempt", "untaxed")


def random_line(rng: random.Random) -> Line:
    quantity = D(rng.choice([1, 1, 2, 3, 12])) if rng.random() < 0.6 else random_decimal(rng, 3, 6)
    return Line(
        description="x",
        quantity=quantity,
        unit_price=random_decimal(rng, rng.choice([0, 2, 4, 6]), 4),
        discount_percent=D(rng.choice(["0", "0", "0", "5", "10", "12.5", "33.33", "100"])),
        vat=rng.choice(TREATMENTS),
    )


def random_decimal(rng: random.Random, digits: int, places: int) -> D:
    """A non-negative number with up to `digits` integer digits and `places` decimals."""
    return D(rng.randrange(10 ** (digits + places))).scaleb(-places)


def random_taxes(rng: random.Random) -> list[OtherTax]:
    count = rng.choice([0, 0, 1, 2])
    return [
        OtherTax(
            rng.choice([1, 5, 7, 99]),
            "t",
            random_decimal(rng, 5, 2),
            D(rng.choice(["1", "3", "3.5"])),
        )
        for _ in range(count)
    ]


def cases(seed: int, count: int) -> list[tuple[list[Line], VoucherLetter, bool, list[OtherTax]]]:
    rng = random.Random(seed)
    letters: tuple[VoucherLetter, ...] = ("A", "B", "C", "ALEY")
    return [
        (
            [random_line(rng) for _ in range(rng.randint(1, 12))],
            rng.choice(letters),
            rng.random() < 0.5,
            random_taxes(rng),
        )
        for _ in range(count)
    ]


def amounts(totals: Totals) -> list[D]:
    values = [totals.untaxed, totals.net, totals.exempt, totals.vat_total]
    values += [totals.other_taxes_total, totals.total]
    values += [value for row in totals.vat for value in (row.base, row.amount)]
    values += [tax.amount for tax in totals.other_taxes]
    return values + [value for line in totals.lines for value in (line.net, line.vat, line.total)]


@pytest.mark.parametrize("seed", range(20))
def test_random_line_sets_keep_arcas_identities(seed: int) -> None:
    for lines, letter, prices_include_vat, taxes in cases(seed, 100):
        totals = compute_totals(lines, letter, prices_include_vat, taxes)
        parts = (totals.untaxed, totals.net, totals.exempt, totals.other_taxes_total)
        assert totals.total == sum(parts, totals.vat_total)  # exactly, no tolerance
        assert all(value >= 0 and value.as_tuple().exponent == -2 for value in amounts(totals))
        assert totals.other_taxes_total == sum((tax.amount for tax in totals.other_taxes), ZERO)
        subtotal = sum((line_amount(line) for line in lines), ZERO)
        if letter == "C":
            assert totals.vat == () and totals.vat_total == 0 and totals.net == subtotal
            assert totals.untaxed == totals.exempt == 0
            continue
        ids = [row.rate_id for row in totals.vat]
        assert ids == sorted(set(ids)) and all(row.base > 0 for row in totals.vat)
        assert totals.net == sum((row.base for row in totals.vat), ZERO)
        assert totals.vat_total == sum((row.amount for row in totals.vat), ZERO)
        for row in totals.vat:  # ARCA's 10051 tolerance
            assert abs(row.amount - row.base * VAT_RATES[row.rate_id] / 100) <= D("0.01")
        before_taxes = totals.total - totals.other_taxes_total
        if prices_include_vat:  # what the customer saw, to the cent
            assert before_taxes == subtotal
        else:
            assert before_taxes - totals.vat_total == subtotal


# --- negative lines: a return or a discount on a voucher that stays positive -----------------


def test_a_return_line_is_computed_exactly_and_may_be_saved() -> None:
    lines = [
        Line("Café", D(3), D("1000.00")),
        Line("Devolución café", D(-1), D("1000.00")),
        Line("Libro", D(1), D("500.00"), vat=4),
    ]
    totals = compute_totals(lines, "A", False)
    assert [amount.total for amount in totals.lines] == [D("3630.00"), D("-1210.00"), D("552.50")]
    assert totals.vat == (
        VatAmount(4, D("500.00"), D("52.50")),
        VatAmount(5, D("2000.00"), D("420.00")),
    )
    assert (totals.net, totals.vat_total, totals.total) == (D("2500.00"), D("472.50"), D("2972.50"))
    assert saving_problems(lines, totals) == []


def test_a_discount_line_with_a_negative_price_in_class_b_with_vat_inside() -> None:
    lines = [Line("Alfajores", D(12), D("1210.00")), Line("Descuento", D(1), D("-1210.00"))]
    totals = compute_totals(lines, "B", True)
    assert totals.total == D("13310.00")
    assert totals.vat == (VatAmount(5, D("11000.00"), D("2310.00")),)
    assert totals.lines[1] == LineAmount(D("-1000.00"), D("-210.00"), D("-1210.00"))
    assert saving_problems(lines, totals) == []


def test_negative_amounts_round_half_even_like_positive_ones() -> None:
    assert line_amount(Line("x", D(-1), D("0.125"))) == D("-0.12")
    assert line_amount(Line("x", D(1), D("-0.135"))) == D("-0.14")
    assert line_amount(Line("x", D("-0.5"), D("0.25"), D(0))) == D("-0.12")


def test_a_return_larger_than_the_sale_is_a_credit_note() -> None:
    lines = [Line("Café", D(1), D("100.00")), Line("Devolución", D(-2), D("100.00"))]
    totals = compute_totals(lines, "C", False)
    assert totals.total == D("-100.00")
    assert saving_problems(lines, totals) == [
        Problem(
            "totals",
            "El total tiene que ser mayor que cero; para devolver, emití una nota de crédito.",
        )
    ]
    even = [Line("Café", D(1), D("100.00")), Line("Devolución", D(-1), D("100.00"))]
    assert saving_problems(even, compute_totals(even, "B", False))[0].field == "totals"


def test_a_discount_larger_than_its_rate_is_refused_even_with_a_positive_total() -> None:
    lines = [
        Line("Café", D(1), D("1000.00")),
        Line("Descuento libro", D(1), D("-100.00"), vat=4),
        Line("Trámite", D(1), D("50.00"), vat="exempt"),
        Line("Descuento trámite", D(1), D("-60.00"), vat="exempt"),
    ]
    totals = compute_totals(lines, "A", False)
    assert totals.total > 0 and totals.vat[0] == VatAmount(4, D("-100.00"), D("-10.50"))
    assert [problem.message for problem in saving_problems(lines, totals)] == [
        "Los descuentos con IVA 10,5 % superan a las líneas con esa alícuota.",
        "Los descuentos exentos o no gravados superan a las líneas de ese tipo.",
    ]
    # Class C discriminates no VAT: only the total counts.
    assert saving_problems(lines[:2], compute_totals(lines[:2], "C", False)) == []


def test_minus_on_both_quantity_and_price_is_refused() -> None:
    lines = [Line("Café", D(2), D("100.00")), Line("Raro", D(-1), D("-10.00"))]
    assert saving_problems(lines, compute_totals(lines, "C", False)) == [
        Problem(
            "lines-1-unit_price",
            "Línea 2: poné el signo menos en la cantidad o en el precio, no en los dos.",
        )
    ]


def test_amounts_of_13_digits_cannot_be_kept() -> None:
    lines = [Line("Campo", D(1000), D("99999999999.9999"))]
    problems = saving_problems(lines, compute_totals(lines, "B", False))
    assert [problem.field for problem in problems] == ["lines-0-unit_price", "totals"]
    fine = [Line("Campo", D(1), D("999999999.99"))]
    assert saving_problems(fine, compute_totals(fine, "B", False)) == []
