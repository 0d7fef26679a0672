import datetime as dt
from decimal import Decimal

import pytest
from flask import Flask
from flask_babel import Babel

from core.i18n import format_day, format_moment, format_money
from core.web import safe_next


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1234.56"), "$ 1.234,56"),
        (Decimal("0"), "$ 0,00"),
        (Decimal("1000000"), "$ 1.000.000,00"),
        (Decimal("-5.5"), "$ -5,50"),
        (7, "$ 7,00"),
        (None, ""),
    ],
)
def test_money_is_argentine(value: Decimal | int | None, text: str) -> None:
    assert format_money(value) == text


def test_dates_are_day_month_year_in_buenos_aires() -> None:
    app = Flask(__name__)
    Babel(app, default_timezone="America/Argentina/Buenos_Aires", default_locale="es")
    with app.test_request_context():
        assert format_day(dt.date(2026, 3, 9)) == "09/03/2026"
        # 02:30 UTC is still the previous evening in Buenos Aires (UTC-3).
        assert format_moment(dt.datetime(2026, 3, 9, 2, 30, tzinfo=dt.UTC)) == "08/03/2026 23:30"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/organizations/members", "/organizations/members"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        (None, "/"),
        ("", "/"),
    ],
)
def test_next_stays_on_this_site(target: str | None, expected: str) -> None:
    assert safe_next(target, "/") == expected
