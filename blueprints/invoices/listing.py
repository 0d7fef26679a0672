"""The invoice list: filters and text search, keyset pages (newest first), the filter's totals
and its CSV.

Totals are in pesos (amount × rate) over authorized vouchers only, credit notes subtracted:
what the business actually invoiced in the filtered set.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
    case,
    func,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from arca.codes import DOCUMENT_TYPES, RECEIVER_CONDITIONS, VOUCHER_TYPES, VoucherKind
from blueprints.customers.csv_io import neutralize
from blueprints.customers.rules import fold
from blueprints.invoices.forms import parse_amount
from blueprints.invoices.models import (
    FOLD_FROM,
    FOLD_TO,
    Invoice,
    InvoiceCustomerDailyTotal,
    InvoiceDailyTotal,
    InvoiceStatus,
)
from core.inputs import MAX_ID, parse_id

PAGE_SIZE = 50
CSV_HEADER = (
    "fecha",
    "tipo",
    "codigo_tipo",
    "punto_de_venta",
    "numero",
    "estado",
    "cliente",
    "tipo_documento",
    "codigo_tipo_documento",
    "documento",
    "condicion_iva",
    "codigo_condicion_iva",
    "moneda",
    "cotizacion",
    "neto",
    "iva",
    "exento",
    "no_gravado",
    "otros_tributos",
    "total",
    "cae",
    "vencimiento_cae",
)
# The CSV is Spanish whatever the UI language, like its headers (a file for the accountant).
STATUS_NAMES = {
    InvoiceStatus.DRAFT: "Borrador",
    InvoiceStatus.AUTHORIZING: "Autorizando",
    InvoiceStatus.AUTHORIZED: "Autorizado",
    InvoiceStatus.REJECTED: "Rechazado",
    InvoiceStatus.UNKNOWN: "Sin confirmar",
}
# "00001-00000023" (point of sale and number), or a bare number.
VOUCHER_NUMBER = re.compile(r"^(?:(\d{1,5})-)?(\d{1,8})$")
TRIGRAM = 3  # pg_trgm answers LIKE '%term%' from its index from 3 characters on
# A text search is added up only this far: past it the matches are read one by one (the trigram
# index is lossy and covers no amounts), which at tens of thousands takes most of a second.
SEARCH_TOTALS_LIMIT = 1000
# A search term with this many digits is a document (or a long number): few vouchers match it.
DOCUMENT_DIGITS = 6
# Words in half the names ("Ferretería Sur SRL"): next to another word they add nothing but
# work (the trigram index reads every voucher that has them), so they are left out.
COMMON_WORDS = frozenset({"sa", "srl", "sas", "sh", "de", "del", "la", "el", "los", "las", "y"})


@dataclass(frozen=True)
class InvoiceFilter:
    status: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    customer_id: int | None = None
    invoice_type: int | None = None
    point_of_sale: int | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    text: str | None = None
    after: str | None = None


@dataclass(frozen=True)
class FilterTotals:
    count: int
    authorized: int
    net: Decimal
    vat: Decimal
    total: Decimal
    # A text search matching more than `SEARCH_TOTALS_LIMIT` vouchers is not added up: `count`
    # is then that limit, and the amounts zero.
    capped: bool = False


@dataclass(frozen=True)
class InvoicePage:
    invoices: list[Invoice]
    next_cursor: str | None


def filters_from(args: Mapping[str, str]) -> InvoiceFilter:
    """The filters from query arguments (the list's form, an export's parameters); what does
    not parse is no filter."""
    return InvoiceFilter(
        status=args.get("status") or None,
        date_from=_date(args.get("desde")),
        date_to=_date(args.get("hasta")),
        customer_id=_int(args.get("cliente")),
        invoice_type=_int(args.get("tipo")),
        point_of_sale=_int(args.get("pv")),
        amount_min=parse_amount(args.get("minimo")),
        amount_max=parse_amount(args.get("maximo")),
        text=(args.get("q") or "").strip()[:100] or None,
        after=args.get("after") or None,
    )


def filter_args(filters: InvoiceFilter) -> dict[str, str]:
    """The filters as query arguments again (the next page, the export), without the cursor."""
    values = {
        "status": filters.status,
        "desde": filters.date_from,
        "hasta": filters.date_to,
        "cliente": filters.customer_id,
        "tipo": filters.invoice_type,
        "pv": filters.point_of_sale,
        "minimo": filters.amount_min,
        "maximo": filters.amount_max,
        "q": filters.text,
    }
    return {key: str(value) for key, value in values.items() if value not in (None, "")}


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    return parse_id(text)


def filtered(organization_id: int, filters: InvoiceFilter) -> Select[Invoice]:
    """The organization's invoices matching every given filter, unordered."""
    statement = select(Invoice).where(Invoice.organization_id == organization_id)
    for condition in _conditions(filters):
        statement = statement.where(condition)
    return statement


def _conditions(filters: InvoiceFilter) -> Iterator[ColumnElement[bool]]:
    if filters.status in {status.value for status in InvoiceStatus}:
        yield Invoice.status == filters.status
    if filters.date_from:
        yield Invoice.issue_date >= filters.date_from
    if filters.date_to:
        yield Invoice.issue_date <= filters.date_to
    if filters.customer_id:
        yield Invoice.customer_id == filters.customer_id
    if filters.invoice_type:
        yield Invoice.invoice_type == filters.invoice_type
    if filters.point_of_sale:
        yield Invoice.point_of_sale_number == filters.point_of_sale
    if filters.amount_min is not None:
        yield Invoice.total >= filters.amount_min
    if filters.amount_max is not None:
        yield Invoice.total <= filters.amount_max
    if filters.text:
        yield from _text_conditions(filters.text)


def _text_conditions(text: str) -> Iterator[ColumnElement[bool]]:
    """Each word of the search box: a voucher number ("00001-00000023", "23") or part of the
    receiver's name or document (a trigram index on `search_expression`)."""
    for term in _telling(search_terms(text))[:8]:
        match = VOUCHER_NUMBER.match(term)
        pattern = f"%{escape_like(term)}%"
        if match is None:
            yield search_expression().like(pattern, "\\")
            continue
        point, number = match.groups()
        if point is not None:
            yield and_(Invoice.point_of_sale_number == int(point), Invoice.number == int(number))
        elif len(term) < TRIGRAM:
            yield Invoice.number == int(number)
        else:
            yield or_(Invoice.number == int(number), search_expression().like(pattern, "\\"))


def _telling(terms: list[str]) -> list[str]:
    """The terms without common words and short ones the index cannot use, unless that
    leaves none."""
    kept = [t for t in terms if t.isdigit() or (len(t) >= TRIGRAM and t not in COMMON_WORDS)]
    return kept or terms


def search_expression() -> ColumnElement[str]:
    """What the text search reads; the same expression as the trigram index (migration 0008).
    The space is inlined, not bound: a parameter would keep a prepared statement's generic
    plan from matching the index's expression."""
    spaced = Invoice.receiver_name.op("||")(literal_column("' '"))
    return Folded(spaced.op("||")(Invoice.receiver_doc_number))


class Folded(FunctionElement[str]):
    """lower() without accents: translate() on PostgreSQL, plain lower() elsewhere (SQLite,
    which has no translate, folds ASCII only)."""

    type = Text()
    inherit_cache = True


@compiles(Folded)
def _folded_default(element: Folded, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(Folded, "postgresql")
def _folded_postgresql(element: Folded, compiler: Any, **kw: Any) -> str:
    inner = compiler.process(element.clauses, **kw)
    return f"translate(lower({inner}), '{FOLD_FROM}', '{FOLD_TO}')"


def search_terms(text: str) -> list[str]:
    """The search box's words, folded; a document or voucher number typed with dots or
    slashes loses them (a dash stays: it separates a point of sale from a number)."""
    terms = []
    for word in fold(text).split():
        compact = re.sub(r"[./\s]", "", word)
        if VOUCHER_NUMBER.match(compact):
            terms.append(compact)
        else:
            digits = compact.replace("-", "")
            terms.append(digits if digits.isdigit() else word)
    return terms


def escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_page(
    session: Any, organization_id: int, filters: InvoiceFilter, limit: int = PAGE_SIZE
) -> InvoicePage:
    """One page of `limit` rows, newest first; the cursor is the last row's (issue date, id)."""
    statement = filtered(organization_id, filters)
    cursor = decode_cursor(filters.after)
    if cursor is not None:
        statement = statement.where(tuple_(Invoice.issue_date, Invoice.id) < tuple_(*cursor))
    order: list[Any] = [Invoice.issue_date.desc(), Invoice.id.desc()]
    if filters.text and _selective(filters.text):
        # Few matches: PostgreSQL should find them by the trigram index and sort them, but it
        # misjudges documents as common and walks the date index instead (200 ms at a million
        # invoices). An order no index supplies leaves it the first plan only.
        order = [func.coalesce(Invoice.issue_date, Invoice.issue_date).desc(), Invoice.id.desc()]
    rows = list(session.scalars(statement.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    return InvoicePage(rows[:limit], encode_cursor(rows[limit - 1]) if more else None)


OPEN_STATUSES = tuple(
    status.value for status in InvoiceStatus if status != InvoiceStatus.AUTHORIZED
)


def filter_totals(session: Any, organization_id: int, filters: InvoiceFilter) -> FilterTotals:
    """Count of the filter, and its authorized amounts in pesos (credit notes subtracted; each
    voucher rounded to the cent). Filters by date, type, point of sale and customer read the
    daily totals tables; an amount range sums the invoices themselves (through a covering
    index); so does a text search (through its trigram index)."""
    if filters.text:
        return _searched_totals(session, organization_id, filters)
    if filters.amount_min is not None or filters.amount_max is not None:
        return summed_invoices(session, organization_id, filters)
    if filters.status not in (None, InvoiceStatus.AUTHORIZED.value):
        return FilterTotals(_count(session, organization_id, filters), 0, *(Decimal(0),) * 3)
    authorized = _daily_totals(session, organization_id, filters)
    if filters.status is None:
        others = _count(session, organization_id, filters, statuses=OPEN_STATUSES)
        return FilterTotals(authorized.count + others, *_fields(authorized)[1:])
    return authorized


def _searched_totals(session: Any, organization_id: int, filters: InvoiceFilter) -> FilterTotals:
    """A text search's totals, when it matches at most `SEARCH_TOTALS_LIMIT` vouchers; else
    only that it matches more (narrowing it, or a customer's filter, gives the totals)."""
    first = filtered(organization_id, filters).with_only_columns(Invoice.id)
    found = session.scalar(
        select(func.count()).select_from(first.limit(SEARCH_TOTALS_LIMIT + 1).subquery())
    )
    if found > SEARCH_TOTALS_LIMIT:
        return FilterTotals(SEARCH_TOTALS_LIMIT, 0, *(Decimal(0),) * 3, capped=True)
    return summed_invoices(session, organization_id, filters)


def _selective(text: str) -> bool:
    return any(term.isdigit() and len(term) >= DOCUMENT_DIGITS for term in search_terms(text))


def _daily_totals(session: Any, organization_id: int, filters: InvoiceFilter) -> FilterTotals:
    table: Any = InvoiceCustomerDailyTotal if filters.customer_id else InvoiceDailyTotal
    query = select(
        func.coalesce(func.sum(table.count), 0),
        func.coalesce(func.sum(table.net_cents), 0),
        func.coalesce(func.sum(table.vat_cents), 0),
        func.coalesce(func.sum(table.total_cents), 0),
    ).where(table.organization_id == organization_id)
    for condition in _daily_conditions(table, filters):
        query = query.where(condition)
    count, net, vat, total = session.execute(query).one()
    return FilterTotals(int(count), int(count), _pesos(net), _pesos(vat), _pesos(total))


def _daily_conditions(table: Any, filters: InvoiceFilter) -> Iterator[ColumnElement[bool]]:
    if filters.customer_id:
        yield table.customer_id == filters.customer_id
    if filters.date_from:
        yield table.issue_date >= filters.date_from
    if filters.date_to:
        yield table.issue_date <= filters.date_to
    if filters.invoice_type:
        yield table.invoice_type == filters.invoice_type
    if filters.point_of_sale:
        yield table.point_of_sale_number == filters.point_of_sale


def _count(
    session: Any,
    organization_id: int,
    filters: InvoiceFilter,
    statuses: tuple[str, ...] | None = None,
) -> int:
    statement = filtered(organization_id, filters).with_only_columns(func.count())
    if statuses is not None:
        # An IN list, not "<> authorized": the index then reads only the few open invoices.
        statement = statement.where(Invoice.status.in_(statuses))
    return int(session.scalar(statement) or 0)


def summed_invoices(session: Any, organization_id: int, filters: InvoiceFilter) -> FilterTotals:
    """The filter's totals by summing its invoices (what the daily totals must agree with)."""
    base = filtered(organization_id, filters).subquery()
    sign = case((base.c.kind == str(VoucherKind.CREDIT_NOTE), -1), else_=1)
    authorized = base.c.status == InvoiceStatus.AUTHORIZED.value

    def cents(column: Any) -> Any:
        each = func.round(sign * column * base.c.currency_rate * 100)
        return func.coalesce(func.sum(case((authorized, each), else_=0)), 0)

    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((authorized, 1), else_=0)), 0),
            cents(base.c.net),
            cents(base.c.vat_total),
            cents(base.c.total),
        ).select_from(base)
    ).one()
    return FilterTotals(int(row[0]), int(row[1]), _pesos(row[2]), _pesos(row[3]), _pesos(row[4]))


def _pesos(cents: Any) -> Decimal:
    return (Decimal(str(cents)) / 100).quantize(Decimal("0.01"))


def _fields(totals: FilterTotals) -> tuple[Any, ...]:
    return (totals.count, totals.authorized, totals.net, totals.vat, totals.total)


def encode_cursor(invoice: Invoice) -> str:
    raw = json.dumps([invoice.issue_date.isoformat(), invoice.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[dt.date, int] | None:
    """None for a missing or foreign cursor: the list starts again from the top."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        day, invoice_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if type(invoice_id) is not int or not 0 < invoice_id <= MAX_ID:
            return None
        return dt.date.fromisoformat(str(day)), invoice_id
    except (ValueError, TypeError):
        return None


def export_rows(invoices: Iterable[Invoice]) -> Iterator[str]:
    """CSV for a spreadsheet (UTF-8 with BOM, `;`, decimal comma as Excel es-AR reads it).
    Names in Spanish next to ARCA's codes; credit notes' amounts negative, so a column adds up
    to what was invoiced. Names are the only free text: a leading = + - @ is neutralised like
    the customers' export."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    yield "\ufeff" + _drain(buffer)
    for invoice in invoices:
        writer.writerow(_cells(invoice))
        yield _drain(buffer)


def _cells(invoice: Invoice) -> list[str]:
    voucher = VOUCHER_TYPES.get(invoice.invoice_type)
    condition = RECEIVER_CONDITIONS.get(invoice.receiver_condition)
    sign = -1 if invoice.kind == VoucherKind.CREDIT_NOTE else 1
    amounts = (
        invoice.net,
        invoice.vat_total,
        invoice.exempt,
        invoice.untaxed,
        invoice.other_taxes_total,
        invoice.total,
    )
    return [
        invoice.issue_date.isoformat(),
        voucher.description if voucher else str(invoice.invoice_type),
        str(invoice.invoice_type),
        f"{invoice.point_of_sale_number:05d}",
        f"{invoice.number:08d}" if invoice.number else "",
        STATUS_NAMES.get(invoice.status, str(invoice.status)),
        neutralize(invoice.receiver_name),
        DOCUMENT_TYPES.get(invoice.receiver_doc_type, str(invoice.receiver_doc_type)),
        str(invoice.receiver_doc_type),
        invoice.receiver_doc_number,
        condition.description if condition else str(invoice.receiver_condition),
        str(invoice.receiver_condition),
        invoice.currency,
        _comma(invoice.currency_rate.normalize()),
        *(_comma(sign * value) for value in amounts),
        invoice.cae or "",
        invoice.cae_due.isoformat() if invoice.cae_due else "",
    ]


def _comma(value: Decimal) -> str:
    return f"{value:f}".replace(".", ",")


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


@dataclass(frozen=True)
class TypeTotal:
    invoice_type: int
    count: int
    total: Decimal


@dataclass(frozen=True)
class MonthOverview:
    """The dashboard's month: authorized amounts in pesos (credit notes subtracted)."""

    month_start: dt.date
    total: Decimal
    vat: Decimal
    by_type: list[TypeTotal]
    drafts: int
    unsettled: int
    latest: list[Invoice]


def month_overview(session: Any, organization_id: int, today: dt.date) -> MonthOverview:
    start = today.replace(day=1)
    month = InvoiceFilter(status=InvoiceStatus.AUTHORIZED.value, date_from=start, date_to=today)
    totals = _daily_totals(session, organization_id, month)
    rows = session.execute(
        select(
            InvoiceDailyTotal.invoice_type,
            func.sum(InvoiceDailyTotal.count),
            func.sum(InvoiceDailyTotal.total_cents),
        )
        .where(
            InvoiceDailyTotal.organization_id == organization_id,
            InvoiceDailyTotal.issue_date >= start,
            InvoiceDailyTotal.issue_date <= today,
        )
        .group_by(InvoiceDailyTotal.invoice_type)
        .order_by(InvoiceDailyTotal.invoice_type)
    ).all()
    counts = dict(
        session.execute(
            select(Invoice.status, func.count())
            .where(Invoice.organization_id == organization_id, Invoice.status.in_(OPEN_STATUSES))
            .group_by(Invoice.status)
        ).all()
    )
    latest = session.scalars(
        select(Invoice)
        .where(Invoice.organization_id == organization_id)
        .order_by(Invoice.id.desc())
        .limit(5)
    ).all()
    return MonthOverview(
        month_start=start,
        total=totals.total,
        vat=totals.vat,
        by_type=[TypeTotal(t, int(c), _pesos(v)) for t, c, v in rows],
        drafts=counts.get(InvoiceStatus.DRAFT.value, 0)
        + counts.get(InvoiceStatus.REJECTED.value, 0),
        unsettled=counts.get(InvoiceStatus.AUTHORIZING.value, 0)
        + counts.get(InvoiceStatus.UNKNOWN.value, 0),
        latest=list(latest),
    )


def twelve_months_income(session: Any, organization_id: int, today: dt.date) -> Decimal:
    """Authorized income of the last 12 months in pesos, credit notes subtracted (what the
    Monotributo categories are measured by)."""
    window = InvoiceFilter(
        status=InvoiceStatus.AUTHORIZED.value,
        date_from=today.replace(year=today.year - 1) + dt.timedelta(days=1),
        date_to=today,
    )
    return filter_totals(session, organization_id, window).total
