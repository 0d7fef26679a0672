"""The catalog over the API: the organization's points of sale and ARCA's parameter tables.

Points of sale come from the points of sale page's service; the tables from the ones the app
keeps (`blueprints.arca.parameters`: cached, else as ARCA last answered, else the shipped
copy), never from a call to ARCA. The lists are short, so each is read whole and paged here,
by code: a keyset on the code, so an entry added between pages shifts nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import Response, g
from flask_babel import gettext as _
from flask_openapi3 import Tag

from arca.defaults import ParameterName, ParameterRow
from blueprints.api import api
from blueprints.api.auth import api_auth
from blueprints.api.customers import documented
from blueprints.api.responses import respond
from blueprints.api.schemas.catalog import (
    CurrencyPage,
    DocumentTypePage,
    IvaConditionPage,
    PointOfSalePage,
    VatRatePage,
    VoucherTypePage,
    currency_of,
    document_type_of,
    iva_condition_of,
    point_of_sale_of,
    vat_rate_of,
    voucher_type_of,
)
from blueprints.api.schemas.common import CursorQuery, Page, decode_cursor, encode_cursor
from blueprints.arca.parameters import parameter_table
from blueprints.points_of_sale import services as points_of_sale
from core.db import db
from core.errors import ValidationFailed

TAG = Tag(
    name="Catalog",
    description="Points of sale and ARCA's parameter tables (codes and names as ARCA publishes "
    "them, untranslated).",
)

T = TypeVar("T")
Key = TypeVar("Key", int, str)


@api.get("/points-of-sale", tags=[TAG], responses=documented(200, PointOfSalePage))
@api_auth("catalog:read")
def list_points_of_sale(query: CursorQuery) -> Response:
    """List points of sale

    The organization's points of sale by number, as its points of sale page lists them: ARCA's
    emission type, whether blocked or closed, and the last number ARCA authorized for each
    everyday voucher type when it was last asked.
    """
    points = points_of_sale.list_points_of_sale(db.session, g.organization_id)
    rows, next_cursor = page_of(points, lambda point: point.number, int, query)
    data = [point_of_sale_of(point) for point in rows]
    return respond(PointOfSalePage(data=data, next_cursor=next_cursor))


@api.get("/parameters/voucher-types", tags=[TAG], responses=documented(200, VoucherTypePage))
@api_auth("catalog:read")
def list_voucher_types(query: CursorQuery) -> Response:
    """List voucher types

    ARCA's voucher types (FEParamGetTiposCbte) by code, with their class (A, B, C, ALEY, 49)
    and kind (invoice, debit note, credit note…).
    """
    return table_page(ParameterName.VOUCHER_TYPES, int, query, voucher_type_of, VoucherTypePage)


@api.get("/parameters/document-types", tags=[TAG], responses=documented(200, DocumentTypePage))
@api_auth("catalog:read")
def list_document_types(query: CursorQuery) -> Response:
    """List document types

    ARCA's receiver document types (FEParamGetTiposDoc) by code: 80 CUIT, 96 DNI, 99 Doc. (Otro)…
    """
    return table_page(ParameterName.DOCUMENT_TYPES, int, query, document_type_of, DocumentTypePage)


@api.get("/parameters/vat-rates", tags=[TAG], responses=documented(200, VatRatePage))
@api_auth("catalog:read")
def list_vat_rates(query: CursorQuery) -> Response:
    """List VAT rates

    ARCA's VAT rates (FEParamGetTiposIva) by code, with the rate as a decimal string.
    """
    return table_page(ParameterName.VAT_RATES, int, query, vat_rate_of, VatRatePage)


@api.get("/parameters/currencies", tags=[TAG], responses=documented(200, CurrencyPage))
@api_auth("catalog:read")
def list_currencies(query: CursorQuery) -> Response:
    """List currencies

    ARCA's currencies (FEParamGetTiposMonedas) by code: PES, DOL, 060 (euro)…
    """
    return table_page(ParameterName.CURRENCIES, str, query, currency_of, CurrencyPage)


@api.get("/parameters/iva-conditions", tags=[TAG], responses=documented(200, IvaConditionPage))
@api_auth("catalog:read")
def list_iva_conditions(query: CursorQuery) -> Response:
    """List receiver IVA conditions

    ARCA's receiver IVA conditions (FEParamGetCondicionIvaReceptor, RG 5616) by code, with the
    voucher classes that may be issued to each: a customer's `iva_condition`.
    """
    return table_page(
        ParameterName.RECEIVER_IVA_CONDITIONS, int, query, iva_condition_of, IvaConditionPage
    )


def table_page(
    name: ParameterName,
    kind: type[Key],
    query: CursorQuery,
    build: Callable[[ParameterRow, dt.date], Any],
    page: type[Page[Any]],
) -> Response:
    """A page of one of the tables the app keeps, each row built with today's validity."""
    rows = parameter_table(name).rows
    found, next_cursor = page_of(rows, lambda row: kind(row.id), kind, query)
    today = dt.date.today()
    return respond(page(data=[build(row, today) for row in found], next_cursor=next_cursor))


def page_of(
    items: Sequence[T], key: Callable[[T], Key], kind: type[Key], query: CursorQuery
) -> tuple[list[T], str | None]:
    """The items after the cursor's key, in `key` order, and the next page's cursor."""
    ordered = sorted(items, key=key)
    if query.cursor is not None:
        after = cursor_key(query.cursor, kind)
        ordered = [item for item in ordered if key(item) > after]
    found = ordered[: query.limit]
    more = len(ordered) > query.limit
    return found, encode_cursor(key(found[-1])) if more else None


def cursor_key(cursor: str, kind: type[Key]) -> Key:
    """The key a cursor of `page_of` holds; 422 on "cursor" for anything else."""
    (value,) = decode_cursor(cursor, 1)
    if type(value) is not kind:
        raise ValidationFailed(_("El cursor no es válido: usá el next_cursor recibido."), "cursor")
    return value
