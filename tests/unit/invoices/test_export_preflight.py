"""The Factura E preflight (pure): each WSFEX rule a user can fix, on the editor's field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest

from blueprints.invoices.export_preflight import export_problems
from blueprints.invoices.models import Invoice, InvoiceLine

TODAY = dt.date(2026, 12, 4)


def factura_e(**changes: Any) -> Invoice:
    values: dict[str, Any] = {
        "invoice_type": 19,
        "kind": "invoice",
        "letter": "E",
        "concept": 1,
        "export_type": 1,
        "issue_date": TODAY,
        "destination_country": 212,
        "language": 2,
        "receiver_name": "Acme Corp",
        "receiver_address": "1 Main St",
        "receiver_country_cuit": "55000002126",
        "receiver_tax_id": None,
        "incoterms": "FOB",
        "permit_existing": False,
        "permits": [],
        "currency": "DOL",
        "currency_rate": D("1000"),
        "total": D("1500"),
    }
    values.update(changes)
    invoice = Invoice(**values)
    invoice.lines = [InvoiceLine(position=0, description="Vino", quantity=D(1))]
    return invoice


def fields(invoice: Invoice, last: dt.date | None = None) -> list[tuple[str, str]]:
    return [(p.field, p.message) for p in export_problems(invoice, TODAY, last)]


def test_a_complete_factura_e_passes() -> None:
    assert fields(factura_e()) == []
    services = factura_e(concept=2, export_type=2, incoterms=None, permit_existing=None)
    assert fields(services) == []  # no Incoterms nor permit answer for services


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"destination_country": None}, "export_country", "Elegí el país de destino."),
        ({"destination_country": 200}, "export_country", "no la Argentina"),
        ({"language": 7}, "export_language", "Elegí el idioma"),
        ({"receiver_country_cuit": None}, "customer_label", "CUIT del país del cliente o su"),
        ({"receiver_country_cuit": "20111111112"}, "customer_label", "no está en la lista"),
        ({"receiver_address": " "}, "customer_label", "lleva el domicilio del cliente"),
        ({"incoterms": None}, "export_incoterms", "lleva Incoterms"),
        ({"permit_existing": None}, "export_permit_existing", "tiene permiso de embarque"),
        ({"permit_existing": True}, "export_permits", "al menos un permiso"),
        (
            {"permits": [{"permit_id": "24001EC01000123A", "destination_country": 212}]},
            "export_permits",
            "Sin permiso de embarque no se informan permisos",
        ),
        ({"issue_date": TODAY - dt.timedelta(days=6)}, "issue_date", "hasta 5 días"),
        ({"total": D("0")}, "lines", "mayor que 0"),
        ({"currency": "PES", "currency_rate": D("2")}, "currency_rate", "En pesos"),
    ],
)
def test_what_wsfex_would_refuse(changes: dict[str, Any], field: str, message: str) -> None:
    found = fields(factura_e(**changes))
    assert len(found) == 1 and found[0][0] == field and message in found[0][1], found


def test_a_tax_id_stands_for_the_country_cuit_and_services_get_ten_days() -> None:
    assert fields(factura_e(receiver_country_cuit=None, receiver_tax_id="12-3456789")) == []
    services = factura_e(concept=2, export_type=2, issue_date=TODAY + dt.timedelta(days=9))
    assert fields(services) == []
    assert fields(factura_e(), last=TODAY + dt.timedelta(days=1))[0][0] == "issue_date"


def test_notes_carry_no_goods_questions() -> None:
    note = factura_e(invoice_type=21, kind="credit_note", incoterms=None, permit_existing=None)
    assert fields(note) == []
