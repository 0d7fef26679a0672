"""The customers' CSV export, built by a `blueprints.exports` job: the list as filtered (search
text, status, order), read a page at a time through the list's own keyset pagination."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import replace

from flask_babel import gettext as _
from sqlalchemy import func

from blueprints.customers import csv_io
from blueprints.customers.models import Customer
from blueprints.customers.services import (
    SORTS,
    STATUSES,
    CustomerQuery,
    filtered,
    search_customers,
)
from blueprints.exports.services import ExportFile, ExportKind, Progress
from core.db import DbSession

CUSTOMERS_CSV = "customers_csv"
BATCH = 1000


def query_from(args: Mapping[str, str]) -> CustomerQuery:
    """The list's query from its arguments (`q`, `status`, `sort`); anything else is the
    default."""
    sort, status = args.get("sort", "name"), args.get("status", "active")
    return CustomerQuery(
        text=(args.get("q") or "")[:200],
        status=status if status in STATUSES else "active",
        sort=sort if sort in SORTS else "name",
    )


def query_args(query: CustomerQuery) -> dict[str, str]:
    return {"q": query.text, "status": query.status, "sort": query.sort}


def build_customers_csv(
    session: DbSession, organization_id: int, parameters: Mapping[str, str], progress: Progress
) -> ExportFile:
    query = query_from(parameters)
    count = filtered(organization_id, query).with_only_columns(func.count(Customer.id))
    total = int(session.scalar(count) or 0)
    progress(0, total)
    text = "".join(csv_io.export_rows(_pages(session, organization_id, query, total, progress)))
    day = dt.date.today().isoformat()
    return ExportFile(f"clientes-{day}.csv", "text/csv", text.encode())


def _pages(
    session: DbSession, organization_id: int, query: CustomerQuery, total: int, progress: Progress
) -> Iterator[Customer]:
    done, cursor = 0, None
    while True:
        page = search_customers(session, organization_id, replace(query, after=cursor), BATCH)
        yield from page.customers
        done += len(page.customers)
        progress(done, max(total, done))
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def csv_title(parameters: Mapping[str, str]) -> str:
    return _("Clientes en CSV")


KINDS = {CUSTOMERS_CSV: ExportKind(title=csv_title, build=build_customers_csv)}
