"""What the invoice slice exports through `blueprints.exports` jobs: the list's CSV (with its
filters) and the accountant's monthly package. Builders read in batches: each progress report
commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import replace

from flask_babel import gettext as _
from sqlalchemy import Select, func, tuple_

from blueprints.exports.services import ExportFile, ExportKind, Progress
from blueprints.invoices.listing import export_rows, filtered, filters_from
from blueprints.invoices.models import Invoice
from blueprints.invoices.package import Month, monthly_package
from core.db import DbSession
from core.errors import ValidationFailed

INVOICES_CSV = "invoices_csv"
PACKAGE = "invoices_package"
BATCH = 1000


def build_invoices_csv(
    session: DbSession, organization_id: int, parameters: Mapping[str, str], progress: Progress
) -> ExportFile:
    """The list's CSV for the filters in `parameters` (as `listing.filter_args` writes them),
    oldest first."""
    statement = filtered(organization_id, replace(filters_from(parameters), after=None))
    total = int(session.scalar(statement.with_only_columns(func.count())) or 0)
    progress(0, total)
    text = "".join(export_rows(_batches(session, statement, total, progress)))
    day = dt.date.today().isoformat()
    return ExportFile(f"comprobantes-{day}.csv", "text/csv", text.encode())


def _batches(
    session: DbSession, statement: Select[Invoice], total: int, progress: Progress
) -> Iterator[Invoice]:
    """Keyset batches by (issue date, id): no cursor is held across a progress commit."""
    done, last = 0, None
    while True:
        query = statement
        if last is not None:
            query = query.where(tuple_(Invoice.issue_date, Invoice.id) > tuple_(*last))
        rows = list(session.scalars(query.order_by(Invoice.issue_date, Invoice.id).limit(BATCH)))
        if not rows:
            return
        last = (rows[-1].issue_date, rows[-1].id)
        yield from rows
        done += len(rows)
        progress(done, max(total, done))


def build_package(
    session: DbSession, organization_id: int, parameters: Mapping[str, str], progress: Progress
) -> ExportFile:
    month = Month.parse(parameters.get("month"))
    if month is None:
        raise ValidationFailed(_("Elegí un mes."))
    data = monthly_package(session, organization_id, month, progress)
    return ExportFile(f"talonario-{month}.zip", "application/zip", data)


def csv_title(parameters: Mapping[str, str]) -> str:
    return _("Comprobantes en CSV")


def package_title(parameters: Mapping[str, str]) -> str:
    month = Month.parse(parameters.get("month"))
    label = f"{month.month:02d}/{month.year}" if month else ""
    return _("Paquete para el contador: %(month)s", month=label)


KINDS = {
    INVOICES_CSV: ExportKind(title=csv_title, build=build_invoices_csv),
    PACKAGE: ExportKind(title=package_title, build=build_package),
}
