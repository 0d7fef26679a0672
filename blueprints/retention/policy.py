"""What is due: every retention rule in one place, as named constants and pure functions.

- Operational records (webhook log, finished tasks, customer-import files, ended sessions,
  sent mail, expired exports): `OPERATIONAL_DAYS` (90), `RETENTION_OPERATIONAL_DAYS` overrides
  it downwards only (the ceiling is the promise; the webhook log keeps its own shorter 30).
- Audit entries: online `AUDIT_DAYS` (365, `RETENTION_AUDIT_DAYS`), then archived and removed
  in whole calendar months (UTC), never the organization's newest entry.
- Authorized vouchers (a number or a CAE): `FISCAL_YEARS` (7) from the end of the fiscal year
  of their date (`fiscal_retention_end`, the same rule as the database's function of that
  name), never before; not configurable.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import current_app

OPERATIONAL_DAYS = 90
AUDIT_DAYS = 365
FISCAL_YEARS = 7
ARCHIVE_FOLDER = "archive"  # under the instance folder unless TALONARIO_ARCHIVE_PATH says


def fiscal_retention_end(issue_date: dt.date) -> dt.date:
    """The last day a voucher of `issue_date` must be kept (Dec 31 of its year + 7)."""
    return dt.date(issue_date.year + FISCAL_YEARS, 12, 31)


def fiscal_due(issue_date: dt.date, today: dt.date) -> bool:
    return today > fiscal_retention_end(issue_date)


def fiscal_issued_before(today: dt.date) -> dt.date:
    """Vouchers issued before this date are past their retention on `today`."""
    return dt.date(today.year - FISCAL_YEARS, 1, 1)


def operational_days() -> int:
    configured = int(current_app.config.get("RETENTION_OPERATIONAL_DAYS") or OPERATIONAL_DAYS)
    return min(configured, OPERATIONAL_DAYS)


def audit_days() -> int:
    return int(current_app.config.get("RETENTION_AUDIT_DAYS") or AUDIT_DAYS)


def start_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def operational_cutoff(today: dt.date) -> dt.datetime:
    return start_of_day(today - dt.timedelta(days=operational_days()))


def audit_cutoff(today: dt.date) -> dt.datetime:
    """Entries before this instant go: the first day of the month that holds `today` minus
    the online period, so only whole months leave."""
    return start_of_month(start_of_day(today - dt.timedelta(days=audit_days())))


def start_of_month(moment: dt.datetime) -> dt.datetime:
    moment = moment.astimezone(dt.UTC)
    return dt.datetime(moment.year, moment.month, 1, tzinfo=dt.UTC)


def month_of(moment: dt.datetime | dt.date) -> str:
    """The archive folder of a moment (UTC) or a date: `YYYY-MM`."""
    if isinstance(moment, dt.datetime):
        moment = moment.astimezone(dt.UTC)
    return f"{moment.year:04d}-{moment.month:02d}"


def archive_root() -> Path:
    configured = current_app.config.get("ARCHIVE_PATH")
    return Path(configured) if configured else Path(current_app.instance_path) / ARCHIVE_FOLDER
