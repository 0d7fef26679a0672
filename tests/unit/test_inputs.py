"""Ids and text as a request may carry them (pure)."""

from __future__ import annotations

import re

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, Rule

from core.inputs import (
    MAX_ID,
    IdConverter,
    has_unsafe_characters,
    parse_id,
    parse_ids,
    parse_int,
    up_to,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        (" 42 ", 42),
        ("0007", 7),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("0", None),
        ("-1", None),
        ("²", None),
        ("١٢", None),
        ("1.0", None),
        ("", None),
        (None, None),
        ("9" * 40, None),
    ],
)
def test_parse_id(text: str | None, expected: int | None) -> None:
    assert parse_id(text) == expected


def test_parse_int_bounds_and_ids_once() -> None:
    assert parse_int("0") == 0
    assert parse_int("5", 0, 4) is None
    assert parse_ids(["3", "x", "3", "²", "2147483648", "1"]) == [3, 1]


def test_the_int_converter_matches_only_what_the_column_holds() -> None:
    urls = Map(
        [Rule("/invoices/<int:invoice_id>", endpoint="detail")], converters={"int": IdConverter}
    ).bind("x")
    assert urls.match("/invoices/12") == ("detail", {"invoice_id": 12})
    for path in ("/invoices/0", "/invoices/2147483648", "/invoices/١", "/invoices/-1"):
        with pytest.raises(NotFound):
            urls.match(path)


def test_unsafe_characters() -> None:
    assert not has_unsafe_characters("Ñandú\t«SA»\r\n€ 日本")
    for text in ("a\x00b", "\x01", "\x1b", "\x7f", "\x85", "\ufffe"):
        assert has_unsafe_characters(text), repr(text)


@pytest.mark.parametrize("maximum", [1, 9, 10, 17, 100, 2024, 99_999])
def test_up_to_matches_exactly_one_to_maximum(maximum: int) -> None:
    pattern = re.compile(up_to(maximum))
    for value in range(0, maximum * 2 + 20):
        assert bool(pattern.fullmatch(str(value))) == (1 <= value <= maximum), value
    assert not pattern.fullmatch("0" + str(maximum))


def test_an_id_beyond_the_column_is_404_for_every_method_not_405() -> None:
    urls = Map(
        [Rule("/x/<int:item>", methods=["GET"]), Rule("/x/<int:item>", methods=["PATCH"])],
        converters={"int": IdConverter},
    ).bind("example.com")
    assert urls.match(f"/x/{MAX_ID}", method="PATCH")[1] == {"item": MAX_ID}
    for method in ("GET", "PATCH"):
        with pytest.raises(NotFound):
            urls.match(f"/x/{MAX_ID + 1}", method=method)
