"""The one number parser and formatter: what a shopkeeper types, read the locale's way."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ValidationFailed
from core.numbers import NumberNotUnderstood, format_decimal_input, parse_decimal_input

READ = [
    # (text, es-AR, en)
    ("1.500", D("1500"), D("1.500")),
    ("1.500,50", D("1500.50"), None),
    ("1500,5", D("1500.5"), D("1500.5")),
    ("1500.50", D("1500.50"), D("1500.50")),
    ("-1.500,00", D("-1500.00"), None),
    ("1,500.50", None, D("1500.50")),
    ("1,500", D("1.500"), D("1500")),
    ("1.500.000", D("1500000"), None),
    ("1,500,000", None, D("1500000")),
    ("0.5", D("0.5"), D("0.5")),
    ("0,5", D("0.5"), D("0.5")),
    ("0.500", D("0.500"), D("0.500")),
    (",5", D("0.5"), D("0.5")),
    ("  42  ", D("42"), D("42")),
    ("$ 1.500", D("1500"), D("1.500")),
    ("$1.500,50", D("1500.50"), None),
    ("-$ 5", D("-5"), D("-5")),
    ("$ -5", D("-5"), D("-5")),
    ("+7", D("7"), D("7")),
    ("−3", D("-3"), D("-3")),  # the typographic minus sign
    ("-0", D("0"), D("0")),
    ("0,000001", D("0.000001"), D("0.000001")),
    ("1e3", None, None),
    ("1E+1", None, None),
    ("١٢٣", None, None),  # Arabic-Indic digits: Decimal() would take them
    ("²", None, None),
    ("12²", None, None),
    ("abc", None, None),
    ("NaN", None, None),
    ("Infinity", None, None),
    ("-inf", None, None),
    ("1.50.0", None, None),
    ("1,500,5", None, None),  # es: two decimal commas; en: groups of three or nothing
    ("1500.000", None, D("1500.000")),  # es: 1.500.000 missing a dot? refused, never 1500
    ("12345.678", None, D("12345.678")),
    ("5.", None, None),
    ("5,", None, None),
    ("--5", None, None),
    ("- $ -5", None, None),
    ("1 500", None, None),
    ("1.500.00", None, None),
    ("0x10", None, None),
    ("1_000", None, None),
    ("9" * 41, None, None),  # longer than any amount: refused before Decimal sees it
]


def _expected(text: str, value: D | None, locale: str) -> None:
    if value is None:
        with pytest.raises(NumberNotUnderstood) as refused:
            parse_decimal_input(text, locale)
        assert "No entendimos" in refused.value.message
        assert text.strip() in refused.value.message
    else:
        parsed = parse_decimal_input(text, locale)
        assert parsed == value and parsed is not None
        assert parsed.as_tuple() == value.as_tuple() or value.is_zero()


@pytest.mark.parametrize(("text", "es_ar", "en"), READ)
def test_es_ar(text: str, es_ar: D | None, en: D | None) -> None:
    _expected(text, es_ar, "es_AR")


@pytest.mark.parametrize(("text", "es_ar", "en"), READ)
def test_en(text: str, es_ar: D | None, en: D | None) -> None:
    _expected(text, en, "en")


@pytest.mark.parametrize("blank", [None, "", "   ", "\t\n"])
def test_blank_is_none(blank: str | None) -> None:
    assert parse_decimal_input(blank, "es_AR") is None
    assert parse_decimal_input(blank, "en") is None


def test_the_error_is_a_validation_failure_that_says_how_to_write_it() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_decimal_input("1e3", "es_AR")
    assert refused.value.status == 422
    assert refused.value.message == (
        "No entendimos «1e3»: escribí el número con las cifras 0 a 9, como 1.500,50."
    )
    with pytest.raises(NumberNotUnderstood, match=r"1,500\.50"):
        parse_decimal_input("1.500,5", "en")
    with pytest.raises(NumberNotUnderstood, match="más de un «,» decimal"):
        parse_decimal_input("1,500,5", "es_AR")
    with pytest.raises(NumberNotUnderstood, match="de a tres cifras"):
        parse_decimal_input("1.50.0", "es_AR")


def test_without_a_request_the_locale_is_es_ar() -> None:
    assert parse_decimal_input("1.500,5") == D("1500.5")
    assert format_decimal_input(D("1500.5")) == "1.500,5"


@pytest.mark.parametrize(
    ("value", "es_ar", "en"),
    [
        (D("10"), "10", "10"),
        (D("1E+1"), "10", "10"),
        (D("10.000000"), "10", "10"),
        (D("1500.5"), "1.500,5", "1,500.5"),
        (D("1500.50"), "1.500,5", "1,500.5"),
        (D("1000000"), "1.000.000", "1,000,000"),
        (D("-1234567.000001"), "-1.234.567,000001", "-1,234,567.000001"),
        (D("0.000001"), "0,000001", "0.000001"),
        (D("-0"), "0", "0"),
        (D("0.00"), "0", "0"),
        (D("999"), "999", "999"),
        (5, "5", "5"),
        (None, "", ""),
    ],
)
def test_format(value: D | int | None, es_ar: str, en: str) -> None:
    assert format_decimal_input(value, "es_AR") == es_ar
    assert format_decimal_input(value, "en") == en


NUMBERS = st.decimals(
    min_value=D("-99999999999999.999999"),
    max_value=D("99999999999999.999999"),
    places=6,
    allow_nan=False,
    allow_infinity=False,
)


@given(NUMBERS, st.sampled_from(["es_AR", "en"]))
def test_what_is_shown_reads_back_the_same(value: D, locale: str) -> None:
    shown = format_decimal_input(value, locale)
    assert "E" not in shown
    assert parse_decimal_input(shown, locale) == value
