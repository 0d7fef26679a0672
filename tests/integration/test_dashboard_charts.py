"""The dashboard's charts from authorized vouchers: the month's column and its numbers agree
with the month's totals (credit notes subtracted), the best customers are ranked, and the
Monotributo gauge is drawn."""

from __future__ import annotations

import re
from decimal import Decimal

from flask import Flask

from arca.codes import IssuerCondition, VoucherKind
from blueprints.dashboard.charts import monthly_income, top_customers
from blueprints.invoices.preflight_adapter import arca_today
from blueprints.invoices.services import note_from
from blueprints.invoices.totals import Line
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import db
from tests.factories import add_member, make_user
from tests.integration.test_invoices import authorize, certified, customer, draft
from tests.web import csrf_token, login

WORK = Line("Diseño de logo", Decimal("1"), Decimal("150000"))
SMALL = Line("Consulta", Decimal("1"), Decimal("20000"))


def test_the_months_column_matches_its_totals_net_of_credit_notes(app: Flask) -> None:
    with app.app_context():
        organization_id = certified(IssuerCondition.MONOTRIBUTO)
        big = customer(organization_id, "30-70000000-8", "1", "Estudio Grande SA")
        small = customer(organization_id, "20-11111111-2", "6", "Kiosco Chico")
        sold = authorize(draft(organization_id, [WORK], customer_id=big).id)
        authorize(draft(organization_id, [SMALL], customer_id=small).id)
        today = arca_today(get_arca())
        organization = db.session.get_one(Organization, organization_id)
        returned = [Line("Devolución parcial", Decimal("1"), Decimal("50000"))]
        note = note_from(
            db.session, organization, sold, VoucherKind.CREDIT_NOTE, today, None, returned
        )
        authorize(note.id)
        months = monthly_income(db.session, organization_id, today)
        assert len(months) == 12 and months[-1].month == today.replace(day=1)
        assert months[-1].by_class == {"C": Decimal("120000.00")}
        assert all(month.total == 0 for month in months[:-1])
        ranked = top_customers(db.session, organization_id, months[0].month, today)
        assert [(c.name, c.total) for c in ranked] == [
            ("Estudio Grande SA", Decimal("100000.00")),
            ("Kiosco Chico", Decimal("20000.00")),
        ]
        owner = make_user(email="charts@example.com")
        add_member(db.session.get_one(Organization, organization_id), owner, "owner")
    client = app.test_client()
    login(client, "charts@example.com")
    client.post(
        f"/organizations/{organization_id}/switch", data={"csrf_token": csrf_token(client, "/")}
    )
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'<section class="card chart-card" id="chart-monthly"', html)
    month = today.replace(day=1).isoformat()
    assert f'data-month="{month}" data-total="120000.00"' in html
    assert html.count('class="chart-bar chart-class-c"') == 1
    row = re.search(rf'<tr data-month="{month}">(.*?)</tr>', html, re.S)
    assert row is not None and "$ 120.000,00" in row.group(1)
    assert 'id="month-total">$ 120.000,00<' in html
    assert html.index("Estudio Grande SA") < html.index("Kiosco Chico")
    assert 'id="monotributo-gauge"' in html and 'class="gauge-fill' in html
