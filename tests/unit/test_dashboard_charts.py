"""The dashboard's chart geometry: months, stacked columns and the gauge (pure)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from blueprints.dashboard.charts import (
    AXIS,
    HEIGHT,
    MonthIncome,
    columns,
    gauge_arc,
    month_starts,
    voucher_class,
)


def test_twelve_months_end_with_todays_and_cross_the_year() -> None:
    starts = month_starts(dt.date(2026, 3, 15))
    assert len(starts) == 12
    assert starts[0] == dt.date(2025, 4, 1)
    assert starts[-1] == dt.date(2026, 3, 1)
    assert dt.date(2026, 1, 1) in starts and dt.date(2025, 12, 1) in starts


def test_columns_stack_by_class_and_scale_to_the_largest_month() -> None:
    months = [
        MonthIncome(dt.date(2026, 1, 1), {"A": Decimal("300"), "B": Decimal("100")}, Decimal(0)),
        MonthIncome(dt.date(2026, 2, 1), {"A": Decimal("200")}, Decimal(0)),
        MonthIncome(dt.date(2026, 3, 1), {"C": Decimal("-50")}, Decimal(0)),  # credit notes only
    ]
    drawn = columns(months)
    tallest = sum(bar.height for bar in drawn[0].bars)
    assert tallest == pytest.approx(HEIGHT - AXIS - 4)
    assert [bar.voucher_class for bar in drawn[0].bars] == ["A", "B"]
    # B sits on top of A: it starts where A's top is.
    assert drawn[0].bars[1].y + drawn[0].bars[1].height == pytest.approx(drawn[0].bars[0].y)
    assert sum(bar.height for bar in drawn[1].bars) == pytest.approx(tallest / 2)
    assert drawn[2].bars == []


def test_a_month_with_nothing_draws_no_bar() -> None:
    drawn = columns([MonthIncome(dt.date(2026, 1, 1), {}, Decimal(0))])
    assert drawn[0].bars == []


def test_classes_charted() -> None:
    assert voucher_class(51) == "A"  # A con leyenda
    assert voucher_class(201) == "A"  # FCE A
    assert voucher_class(211) == "C"
    assert voucher_class(19) == "E"


@pytest.mark.parametrize(
    ("share", "end"),
    [(Decimal(0), "20.00 100.00"), (Decimal("0.5"), "100.00 20.00"), (Decimal(1), "180.00 100.00")],
)
def test_gauge_arc_ends_where_the_share_says(share: Decimal, end: str) -> None:
    assert gauge_arc(share).endswith(end)


def test_gauge_over_the_ceiling_is_drawn_full() -> None:
    assert gauge_arc(Decimal("1.7")) == gauge_arc(Decimal(1))
