"""The catalog over the API: the organization's points of sale and ARCA's parameter tables, as
the app keeps them (arca/codes.py, the shipped copy, or what ARCA last answered)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask

from arca.codes import (
    DOCUMENT_TYPES,
    EXPORT_VOUCHER_CODES,
    RECEIVER_CONDITIONS,
    VAT_RATES,
    VOUCHER_TYPES,
)
from arca.defaults import ParameterName, ParameterRow, default_parameters
from blueprints.api.schemas.common import encode_cursor
from blueprints.arca.parameters import store_parameters
from blueprints.points_of_sale.models import PointOfSale, VoucherCounter
from core.arca import get_arca
from core.db import db, utcnow
from tests.api import bearer, make_api_key
from tests.factories import make_organization, make_user

PROBLEM = "application/problem+json"
TABLES = ("voucher-types", "document-types", "vat-rates", "currencies", "iva-conditions")


@pytest.fixture
def shop(app: Flask) -> int:
    with app.app_context():
        return make_organization(owner=make_user(), legal_name="Almacén Demo SRL").id


@pytest.fixture
def secret(app: Flask, shop: int) -> str:
    return make_api_key(app, shop, ["catalog:read"])


def get(app: Flask, secret: str, url: str, **params: Any) -> Any:
    return app.test_client().get(url, query_string=params, headers=bearer(secret))


def walk(app: Flask, secret: str, url: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every page of a list: (rows, pages)."""
    rows: list[dict[str, Any]] = []
    pages = 0
    while True:
        response = get(app, secret, url, **params)
        assert response.status_code == 200, response.text
        body = response.get_json()
        assert set(body) == {"data", "next_cursor"}
        rows += body["data"]
        pages += 1
        if body["next_cursor"] is None:
            return rows, pages
        params["cursor"] = body["next_cursor"]


def add_points(app: Flask, organization_id: int, *numbers: int) -> None:
    with app.app_context():
        for number in numbers:
            point = PointOfSale(organization_id=organization_id, number=number, emission_type="CAE")
            db.session.add(point)
        db.session.commit()


# --- points of sale ------------------------------------------------------------------------------


def test_points_of_sale_are_the_organizations_by_number(app: Flask, secret: str, shop: int) -> None:
    with app.app_context():
        other = make_organization(owner=make_user()).id
    add_points(app, shop, 7, 2, 15, 3, 99999)
    add_points(app, other, 1, 4)
    with app.app_context():
        point = db.session.query(PointOfSale).filter_by(organization_id=shop, number=2).one()
        point.name, point.address, point.blocked = "Mostrador", "Av. Siempreviva 742", True
        point.synced_at = utcnow()
        counter = VoucherCounter(organization_id=shop, invoice_type=6, last_number=41)
        point.counters.append(counter)
        db.session.commit()
    rows, pages = walk(app, secret, "/api/v1/points-of-sale", limit=2)
    assert [row["number"] for row in rows] == [2, 3, 7, 15, 99999] and pages == 3
    first = rows[0]
    assert first["name"] == "Mostrador" and first["address"] == "Av. Siempreviva 742"
    assert first["blocked"] is True and first["usable"] is False
    assert first["emission_type"] == "CAE" and first["synced_at"] and first["closed_on"] is None
    assert [(n["voucher_type"], n["last_number"]) for n in first["last_numbers"]] == [
        ({"code": 6, "name": "Factura B"}, 41)
    ]
    assert rows[1]["usable"] is True and rows[1]["last_numbers"] == []
    whole = get(app, secret, "/api/v1/points-of-sale").get_json()
    assert len(whole["data"]) == 5 and whole["next_cursor"] is None


def test_a_point_added_between_pages_shifts_nothing(app: Flask, secret: str, shop: int) -> None:
    add_points(app, shop, 10, 20, 30, 40)
    first = get(app, secret, "/api/v1/points-of-sale", limit=2).get_json()
    add_points(app, shop, 5, 35)
    rest, _pages = walk(app, secret, "/api/v1/points-of-sale", limit=2, cursor=first["next_cursor"])
    assert [row["number"] for row in first["data"] + rest] == [10, 20, 30, 35, 40]


# --- parameter tables ----------------------------------------------------------------------------


def table(app: Flask, secret: str, name: str) -> list[dict[str, Any]]:
    rows, _pages = walk(app, secret, f"/api/v1/parameters/{name}")
    return rows


def test_voucher_types_match_arca_codes(app: Flask, secret: str) -> None:
    rows = table(app, secret, "voucher-types")
    # WSFEv1's table (FEParamGetTiposCbte): the export types 19-21 are WSFEXv1's own.
    wsfe_types = {
        code: voucher for code, voucher in VOUCHER_TYPES.items() if code not in EXPORT_VOUCHER_CODES
    }
    assert {row["code"]: row["name"] for row in rows} == {
        code: voucher.description for code, voucher in wsfe_types.items()
    }
    for row in rows:
        voucher = VOUCHER_TYPES[row["code"]]
        assert (row["voucher_class"], row["kind"]) == (voucher.voucher_class, voucher.kind.value)
    assert [row["code"] for row in rows] == sorted(wsfe_types)
    factura_a = rows[0]
    assert factura_a == {
        "code": 1,
        "name": "Factura A",
        "valid_from": "2010-09-17",
        "valid_to": None,
        "in_force": True,
        "voucher_class": "A",
        "kind": "invoice",
    }


def test_document_types_vat_rates_and_conditions_match_arca_codes(app: Flask, secret: str) -> None:
    documents = table(app, secret, "document-types")
    assert {row["code"]: row["name"] for row in documents} == DOCUMENT_TYPES
    rates = table(app, secret, "vat-rates")
    assert {row["code"]: Decimal(row["rate"]) for row in rates} == VAT_RATES
    assert {row["code"]: row["rate"] for row in rates}[4] == "10.5"
    conditions = table(app, secret, "iva-conditions")
    assert {row["code"]: row["name"] for row in conditions} == {
        code: condition.description for code, condition in RECEIVER_CONDITIONS.items()
    }
    for row in conditions:
        assert set(row["voucher_classes"]) == RECEIVER_CONDITIONS[row["code"]].allowed_classes
    assert all(row["in_force"] for row in documents + rates + conditions)


def test_currencies_are_the_shipped_table_paged_by_code(app: Flask, secret: str) -> None:
    shipped = {row.id: row.description for row in default_parameters()[ParameterName.CURRENCIES]}
    rows, pages = walk(app, secret, "/api/v1/parameters/currencies", limit=10)
    codes = [row["code"] for row in rows]
    assert codes == sorted(shipped) and len(set(codes)) == len(codes)
    assert pages == -(-len(shipped) // 10)
    assert {row["code"]: row["name"] for row in rows} == shipped
    assert {"PES", "DOL", "060"} <= set(codes)


def test_small_tables_are_one_page_of_the_same_shape(app: Flask, secret: str) -> None:
    for name in TABLES:
        body = get(app, secret, f"/api/v1/parameters/{name}").get_json()
        assert set(body) == {"data", "next_cursor"} and body["next_cursor"] is None, name
        assert body["data"] and {"code", "name", "valid_from", "valid_to", "in_force"} <= set(
            body["data"][0]
        )


def test_tables_arca_answered_replace_the_shipped_ones(app: Flask, secret: str) -> None:
    ended = dt.date(2020, 1, 1)
    rows = (
        ParameterRow(5, "21%"),
        ParameterRow(4, "10.5%", valid_to=ended),
        ParameterRow(77, "Alícuota nueva"),
    )
    with app.app_context():
        environment = get_arca().environment_name
        store_parameters(db.session, environment, {ParameterName.VAT_RATES: rows}, utcnow())
        db.session.commit()
    found = table(app, secret, "vat-rates")
    assert [(row["code"], row["rate"], row["in_force"]) for row in found] == [
        (4, "10.5", False),
        (5, "21", True),
        (77, None, True),
    ]
    assert found[0]["valid_to"] == "2020-01-01"


# --- scopes and junk -----------------------------------------------------------------------------


def test_every_catalog_list_needs_its_scope(app: Flask, shop: int) -> None:
    secret = make_api_key(app, shop, ["customers:read", "customers:write", "invoices:read"])
    for url in ["/api/v1/points-of-sale", *(f"/api/v1/parameters/{name}" for name in TABLES)]:
        response = get(app, secret, url)
        assert response.status_code == 403, url
        assert response.content_type == PROBLEM
        assert get(app, "tal_" + "x" * 43, url).status_code == 401


def test_junk_query_strings_are_4xx_problems(app: Flask, secret: str, shop: int) -> None:
    add_points(app, shop, 1, 2)
    junk: list[dict[str, Any]] = [
        {"limit": "-1"},
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "x"},
        {"cursor": "garbage"},
        {"cursor": "%%%"},
        {"cursor": encode_cursor()},
        {"cursor": encode_cursor(1, 2)},
        {"cursor": "nul\x00"},
    ]
    for url in ["/api/v1/points-of-sale", *(f"/api/v1/parameters/{name}" for name in TABLES)]:
        for params in junk:
            response = get(app, secret, url, **params)
            assert 400 <= response.status_code < 500, (url, params, response.status_code)
            assert response.content_type == PROBLEM
    # A cursor of the wrong kind: a number for currencies, a code for numbered tables.
    for url, cursor in [
        ("/api/v1/parameters/currencies", encode_cursor(5)),
        ("/api/v1/parameters/vat-rates", encode_cursor("PES")),
        ("/api/v1/points-of-sale", encode_cursor("1")),
    ]:
        response = get(app, secret, url, cursor=cursor)
        assert response.status_code == 422, (url, response.text)
        assert [error["field"] for error in response.get_json()["errors"]] == ["cursor"]
