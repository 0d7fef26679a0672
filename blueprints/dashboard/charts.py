"""The dashboard's charts: what was invoiced month by month, who bought the most, and how far a
monotributista is from its category's ceiling — as numbers and as SVG geometry (pure apart from
the two queries; the template draws the shapes, no JavaScript, no library).

Amounts come from the daily totals the database keeps for authorized vouchers (migration 0005:
pesos cents, credit notes negative), so a chart costs the same with ten or a million invoices.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import format_date
from sqlalchemy import extract, func, select

from arca.codes import VOUCHER_TYPES
from blueprints.customers.models import Customer
from blueprints.invoices.models import InvoiceCustomerDailyTotal, InvoiceDailyTotal
from core.db import DbSession

MONTHS = 12
CLASSES = ("A", "B", "C", "E")  # ALEY counts as A, FCE as its own class
CENT = Decimal("0.01")
# The bar chart's drawing box (SVG user units; the SVG scales to the card's width).
WIDTH, HEIGHT, AXIS = 600, 220, 20
TOP_CUSTOMERS = 5


@dataclass(frozen=True)
class MonthIncome:
    """One month's authorized vouchers in pesos, credit notes subtracted."""

    month: dt.date  # its first day
    by_class: dict[str, Decimal]
    vat: Decimal

    @property
    def total(self) -> Decimal:
        return sum(self.by_class.values(), Decimal(0))


@dataclass(frozen=True)
class Bar:
    """One rectangle of a stacked column (SVG coordinates)."""

    voucher_class: str
    x: float
    y: float
    width: float
    height: float
    amount: Decimal


@dataclass(frozen=True)
class Column:
    income: MonthIncome
    bars: list[Bar]
    label_x: float


@dataclass(frozen=True)
class CustomerIncome:
    customer_id: int
    name: str
    total: Decimal
    share: float  # of the largest, 0-1, for the bar's length


def month_starts(today: dt.date, months: int = MONTHS) -> list[dt.date]:
    """The first day of each of the last `months` months, oldest first, today's month last."""
    year, month = today.year, today.month
    starts = []
    for _ in range(months):
        starts.append(dt.date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return starts[::-1]


def monthly_income(session: DbSession, organization_id: int, today: dt.date) -> list[MonthIncome]:
    """The last 12 months (today's included), by voucher class, with their VAT."""
    starts = month_starts(today)
    year = extract("year", InvoiceDailyTotal.issue_date)
    month = extract("month", InvoiceDailyTotal.issue_date)
    rows = session.execute(
        select(
            year,
            month,
            InvoiceDailyTotal.invoice_type,
            func.sum(InvoiceDailyTotal.total_cents),
            func.sum(InvoiceDailyTotal.vat_cents),
        )
        .where(
            InvoiceDailyTotal.organization_id == organization_id,
            InvoiceDailyTotal.issue_date >= starts[0],
            InvoiceDailyTotal.issue_date <= today,
        )
        .group_by(year, month, InvoiceDailyTotal.invoice_type)
    ).all()
    totals: dict[dt.date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    vat: dict[dt.date, Decimal] = defaultdict(Decimal)
    for row_year, row_month, invoice_type, total_cents, vat_cents in rows:
        start = dt.date(int(row_year), int(row_month), 1)
        totals[start][voucher_class(invoice_type)] += Decimal(int(total_cents)) * CENT
        vat[start] += Decimal(int(vat_cents)) * CENT
    return [
        MonthIncome(start, {c: totals[start][c] for c in CLASSES if c in totals[start]}, vat[start])
        for start in starts
    ]


def voucher_class(invoice_type: int) -> str:
    """The class a voucher type is charted under: A (ALEY and FCE A too), B, C or E."""
    voucher = VOUCHER_TYPES.get(invoice_type)
    found = voucher.voucher_class if voucher else "A"
    return "A" if found == "ALEY" else found if found in CLASSES else "A"


def columns(months: list[MonthIncome]) -> list[Column]:
    """Stacked columns, one per month, scaled to the largest month. A month whose credit notes
    outweigh its sales draws nothing above the axis (its numbers still say so)."""
    peak = max((max(m.total, Decimal(0)) for m in months), default=Decimal(0))
    slot = WIDTH / max(len(months), 1)
    width = slot * 0.64
    drawn = []
    for index, income in enumerate(months):
        x = index * slot + (slot - width) / 2
        base = float(HEIGHT - AXIS)
        bars = []
        for voucher_class_ in CLASSES:
            amount = income.by_class.get(voucher_class_, Decimal(0))
            if amount <= 0 or peak <= 0:
                continue
            height = float(amount / peak) * (HEIGHT - AXIS - 4)
            base -= height
            bars.append(
                Bar(
                    voucher_class_,
                    round(x, 2),
                    round(base, 2),
                    round(width, 2),
                    round(height, 2),
                    amount,
                )
            )
        drawn.append(Column(income, bars, round(index * slot + slot / 2, 2)))
    return drawn


def top_customers(
    session: DbSession, organization_id: int, since: dt.date, today: dt.date
) -> list[CustomerIncome]:
    """The customers who bought the most (in pesos, credit notes subtracted) since `since`."""
    total = func.sum(InvoiceCustomerDailyTotal.total_cents).label("total")
    rows = session.execute(
        select(InvoiceCustomerDailyTotal.customer_id, Customer.legal_name, total)
        .join(Customer, Customer.id == InvoiceCustomerDailyTotal.customer_id)
        .where(
            InvoiceCustomerDailyTotal.organization_id == organization_id,
            Customer.organization_id == organization_id,
            InvoiceCustomerDailyTotal.issue_date >= since,
            InvoiceCustomerDailyTotal.issue_date <= today,
        )
        .group_by(InvoiceCustomerDailyTotal.customer_id, Customer.legal_name)
        .having(total > 0)
        .order_by(total.desc(), InvoiceCustomerDailyTotal.customer_id)
        .limit(TOP_CUSTOMERS)
    ).all()
    peak = max((int(row.total) for row in rows), default=0)
    return [
        CustomerIncome(
            row.customer_id,
            row.legal_name,
            Decimal(int(row.total)) * CENT,
            int(row.total) / peak if peak else 0.0,
        )
        for row in rows
    ]


def gauge_arc(share: Decimal, radius: float = 80, cx: float = 100, cy: float = 100) -> str:
    """The SVG path of a half-circle gauge filled to `share` (0-1; more is drawn full)."""
    filled = min(max(float(share), 0.0), 1.0)
    angle = math.pi * (1 - filled)
    x, y = cx + radius * math.cos(angle), cy - radius * math.sin(angle)
    return f"M {cx - radius:.2f} {cy:.2f} A {radius:.2f} {radius:.2f} 0 0 1 {x:.2f} {y:.2f}"


def month_label(month: dt.date) -> str:
    """A column's label in the reader's language: "dic 26", "Dec 26"."""
    return format_date(month, "MMM yy")
