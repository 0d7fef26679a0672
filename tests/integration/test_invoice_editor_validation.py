"""The editor checks everything before the database sees it: each bad input answers 422 with
its field's message, and nothing is written or changed. Numbers are read the locale's way."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from blueprints.auth.models import User
from blueprints.invoices.models import Invoice
from blueprints.invoices.totals import Line
from blueprints.organizations.models import Organization
from core.db import db
from tests.factories import add_member, make_user
from tests.integration.test_invoices import certified, draft, point_id
from tests.web import csrf_token, login, text_of


@pytest.fixture
def editor(app: Flask) -> tuple[FlaskClient, dict[str, str], int]:
    """A logged-in member, and a valid editor form for a new invoice."""
    with app.app_context():
        organization_id = certified()
        user = make_user(email="caja@example.com")
        add_member(db.session.get_one(Organization, organization_id), user, "member")
        point = point_id(organization_id)
    client = app.test_client()
    login(client, "caja@example.com")
    form = {
        "csrf_token": csrf_token(client, "/invoices/new"),
        "point_of_sale_id": str(point),
        "concept": "1",
        "currency": "PES",
        "currency_rate": "1",
        "prices_include_vat": "y",
        "lines-0-description": "Alfajores x 12",
        "lines-0-quantity": "3",
        "lines-0-unit_price": "1.210,00",
        "lines-0-discount_percent": "0",
        "lines-0-vat": "5",
    }
    return client, form, organization_id


def invoice_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Invoice.id))) or 0


DOLLARS = {"currency": "DOL"}
BAD_INPUTS: dict[str, tuple[dict[str, str], str, str | None]] = {
    # name: (what is posted over the valid form, the message, the id of its error element)
    "pv no numérico": ({"point_of_sale_id": "abc"}, "Elegí un punto de venta.", "point_of_sale_id"),
    "pv en otras cifras": (
        {"point_of_sale_id": "١"},
        "Elegí un punto de venta.",
        "point_of_sale_id",
    ),
    "pv ajeno": ({"point_of_sale_id": "999999"}, "Elegí un punto de venta.", "point_of_sale_id"),
    "concepto no numérico": ({"concept": "x"}, "Elegí qué facturás", "concept"),
    "concepto 4": ({"concept": "4"}, "Elegí qué facturás", "concept"),
    "moneda larga": ({"currency": "PESOS"}, "Elegí una moneda de la lista.", "currency"),
    "cotización en letras": (
        {**DOLLARS, "currency_rate": "mil"},
        "No entendimos «mil»",
        "currency_rate",
    ),
    "cotización cero": (
        {**DOLLARS, "currency_rate": "0"},
        "La cotización tiene que ser mayor que 0.",
        "currency_rate",
    ),
    "cotización con 7 decimales": (
        {**DOLLARS, "currency_rate": "1.050,1234567"},
        "La cotización admite hasta 6 decimales.",
        "currency_rate",
    ),
    "observaciones larguísimas": (
        {"notes": "x" * 1001},
        "Las observaciones admiten hasta 1000 caracteres.",
        "notes",
    ),
    "cliente en otras cifras": ({"customer_id": "²"}, "Volvé a elegir el cliente", None),
    "descripción de 301": (
        {"lines-0-description": "x" * 301},
        "La descripción admite hasta 300 caracteres.",
        "lines-0-description",
    ),
    "bonificación 150": (
        {"lines-0-discount_percent": "150"},
        "La bonificación va de 0 a 100 %.",
        "lines-0-discount_percent",
    ),
    "bonificación negativa": (
        {"lines-0-discount_percent": "-5"},
        "La bonificación va de 0 a 100 %.",
        "lines-0-discount_percent",
    ),
    "bonificación en letras": (
        {"lines-0-discount_percent": "diez"},
        "No entendimos «diez»",
        "lines-0-discount_percent",
    ),
    "IVA inexistente": (
        {"lines-0-vat": "99"},
        "Elegí una alícuota de IVA de la lista.",
        "lines-0-vat",
    ),
    "IVA en otras cifras": ({"lines-0-vat": "٥"}, "Elegí una alícuota de IVA", "lines-0-vat"),
    "cantidad en letras": (
        {"lines-0-quantity": "tres"},
        "No entendimos «tres»",
        "lines-0-quantity",
    ),
    "cantidad exponencial": (
        {"lines-0-quantity": "1e3"},
        "No entendimos «1e3»: escribí el número con las cifras 0 a 9, como 1.500,50.",
        "lines-0-quantity",
    ),
    "cantidad vacía": ({"lines-0-quantity": ""}, "Escribí la cantidad.", "lines-0-quantity"),
    "cantidad cero": ({"lines-0-quantity": "0"}, "La cantidad no puede ser 0.", "lines-0-quantity"),
    "cantidad con 8 decimales": (
        {"lines-0-quantity": "0,00000001"},
        "La cantidad admite hasta 6 decimales.",
        "lines-0-quantity",
    ),
    "cantidad enorme": (
        {"lines-0-quantity": "1.000.000.000.000"},
        "La cantidad es demasiado grande.",
        "lines-0-quantity",
    ),
    "precio ambiguo": (
        {"lines-0-unit_price": "1.50.0"},
        "No entendimos «1.50.0»",
        "lines-0-unit_price",
    ),
    "precio en otras cifras": (
        {"lines-0-unit_price": "١٢٣"},
        "No entendimos «١٢٣»",
        "lines-0-unit_price",
    ),
    "precio de 10^14": (
        {"lines-0-unit_price": "100.000.000.000.000"},
        "El precio es demasiado grande.",
        "lines-0-unit_price",
    ),
    "precio con 5 decimales": (
        {"lines-0-unit_price": "1,12345"},
        "El precio admite hasta 4 decimales.",
        "lines-0-unit_price",
    ),
    # The rules about the lines together are the service's: shown above the form.
    "menos en cantidad y precio": (
        {"lines-0-quantity": "-1", "lines-0-unit_price": "-100"},
        "Línea 1: poné el signo menos en la cantidad o en el precio, no en los dos.",
        None,
    ),
    "devolución mayor que la venta": (
        {
            "lines-1-description": "Devolución",
            "lines-1-quantity": "-4",
            "lines-1-unit_price": "1.210",
            "lines-1-vat": "5",
        },
        "El total tiene que ser mayor que cero; para devolver, emití una nota de crédito.",
        None,
    ),
    "importe de 13 cifras": (
        {"lines-0-quantity": "1.000", "lines-0-unit_price": "99.999.999.999"},
        "Línea 1: el importe es demasiado grande.",
        None,
    ),
}


@pytest.mark.parametrize(
    ("override", "message", "field_id"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys()
)
def test_each_bad_input_is_a_422_next_to_its_field_and_nothing_is_written(
    app: Flask,
    editor: tuple[FlaskClient, dict[str, str], int],
    override: dict[str, str],
    message: str,
    field_id: str | None,
) -> None:
    client, form, _organization_id = editor
    response = client.post("/invoices/new", data={**form, **override})
    assert response.status_code == 422, text_of(response)[:500]
    assert message in text_of(response)
    if field_id is not None:
        html = response.get_data(as_text=True)
        assert f'id="{field_id}-error"' in html and 'aria-invalid="true"' in html
    assert invoice_count(app) == 0


def test_a_bad_input_leaves_a_saved_draft_as_it_was(
    app: Flask, editor: tuple[FlaskClient, dict[str, str], int]
) -> None:
    client, form, organization_id = editor
    with app.app_context():
        saved = draft(organization_id, [Line("Café", Decimal(2), Decimal("100"))])
        invoice_id, before = saved.id, saved.updated_at
    for override in ({"lines-0-quantity": "0,00000001"}, {"concept": "4"}):
        response = client.post(f"/invoices/{invoice_id}/edit", data={**form, **override})
        assert response.status_code == 422
        autosaved = client.post(
            f"/invoices/{invoice_id}/autosave",
            data={**form, **override},
            headers={"HX-Request": "true"},
        )
        assert autosaved.status_code == 200 and "no se pudo guardar:" in text_of(autosaved)
    assert "Línea 1: la cantidad admite hasta 6 decimales." in text_of(
        client.post(
            f"/invoices/{invoice_id}/autosave",
            data={**form, "lines-0-quantity": "0,00000001"},
            headers={"HX-Request": "true"},
        )
    )
    with app.app_context():
        stored = db.session.get_one(Invoice, invoice_id)
        assert stored.updated_at == before
        assert [(line.description, line.quantity) for line in stored.lines] == [
            ("Café", Decimal("2.000000"))
        ]


def lines_form(form: dict[str, str], count: int) -> dict[str, str]:
    data = {key: value for key, value in form.items() if not key.startswith("lines-")}
    for index in range(count):
        data[f"lines-{index}-description"] = f"Artículo {index + 1}"
        data[f"lines-{index}-quantity"] = "1"
        data[f"lines-{index}-unit_price"] = "10"
        data[f"lines-{index}-vat"] = "5"
    return data


def test_more_than_200_lines_are_refused_not_cut(
    app: Flask, editor: tuple[FlaskClient, dict[str, str], int]
) -> None:
    client, form, _organization_id = editor
    response = client.post("/invoices/new", data=lines_form(form, 250))
    assert response.status_code == 422
    assert "Un comprobante lleva hasta 200 líneas y este tiene 250" in text_of(response)
    assert invoice_count(app) == 0
    full = client.post("/invoices/new", data={**lines_form(form, 200), "action": "add_line"})
    assert full.status_code == 422
    assert "Un comprobante lleva hasta 200 líneas: hacé otro comprobante." in text_of(full)
    assert 'name="lines-199-description"' in full.get_data(as_text=True)
    assert 'name="lines-200-description"' not in full.get_data(as_text=True)
    unicode_index = {**form, "lines-²-description": "x", "lines-١-description": "y"}
    assert client.post("/invoices/new", data=unicode_index).status_code == 303


def test_numbers_are_read_the_argentine_way_and_shown_back_so(
    app: Flask, editor: tuple[FlaskClient, dict[str, str], int]
) -> None:
    client, form, _organization_id = editor
    data = {
        **form,
        "lines-0-quantity": "10",
        "lines-0-unit_price": "1.500",
        "lines-1-description": "Queso por kilo",
        "lines-1-quantity": "0.5",  # the numeric keypad's point
        "lines-1-unit_price": "1.500.000",
        "lines-1-vat": "5",
        "lines-2-description": "Devolución alfajores",
        "lines-2-quantity": "-1",
        "lines-2-unit_price": "1.500,50",
        "lines-2-vat": "5",
    }
    saved = client.post("/invoices/new", data=data)
    assert saved.status_code == 303, text_of(saved)[:500]
    with app.app_context():
        invoice = db.session.scalars(select(Invoice)).one()
        invoice_id = invoice.id
        assert [(line.quantity, line.unit_price) for line in invoice.lines] == [
            (Decimal("10"), Decimal("1500")),
            (Decimal("0.5"), Decimal("1500000")),
            (Decimal("-1"), Decimal("1500.50")),
        ]
        assert invoice.total == Decimal("763499.50")  # 15.000 + 750.000 − 1.500,50
    html = client.get(f"/invoices/{invoice_id}/edit").get_data(as_text=True)
    for shown in ('value="10"', 'value="1.500"', 'value="0,5"', 'value="1.500.000"'):
        assert shown in html, shown
    assert 'value="-1"' in html and 'value="1.500,5"' in html
    detail = text_of(client.get(f"/invoices/{invoice_id}"))
    assert "1E+1" not in detail and "5E-1" not in detail
    # What the editor shows is read back as the same numbers: saving again changes nothing.
    again = client.post(f"/invoices/{invoice_id}/edit", data=editor_values(html, form))
    assert again.status_code == 303
    with app.app_context():
        assert db.session.get_one(Invoice, invoice_id).total == Decimal("763499.50")


def editor_values(html: str, form: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        key: value for key, value in form.items() if not key.startswith("lines-")
    }
    for name, value in re.findall(
        r'name="(lines-\d+-(?:description|quantity|unit_price|discount_percent))"[^>]*value="([^"]*)"',
        html,
    ):
        data[name] = value
    for index in range(3):
        data[f"lines-{index}-vat"] = "5"
    return data


def test_the_live_totals_and_autosave_take_junk_without_failing(
    app: Flask, editor: tuple[FlaskClient, dict[str, str], int]
) -> None:
    client, form, _organization_id = editor
    headers = {"HX-Request": "true"}
    junk = {
        **form,
        "lines-0-quantity": "tres",
        "point_of_sale_id": "²",
        "concept": "x",
        "customer_id": "١",
        "currency_rate": "1e9",
        "lines-0-vat": "²",
    }
    totals = client.post("/invoices/totals", data=junk, headers=headers)
    assert totals.status_code == 200
    assert "Completá las líneas para ver los totales." in text_of(totals)
    fine = client.post("/invoices/totals", data=form, headers=headers)
    assert "3.630,00" in text_of(fine)
    autosaved = client.post("/invoices/autosave", data=junk, headers=headers)
    assert autosaved.status_code == 200 and "no se pudo guardar:" in text_of(autosaved)
    assert invoice_count(app) == 0


def test_the_list_reads_amount_filters_the_argentine_way(
    app: Flask, editor: tuple[FlaskClient, dict[str, str], int]
) -> None:
    client, _form, organization_id = editor
    with app.app_context():
        draft(organization_id, [Line("Chico", Decimal(1), Decimal("100"))])
        draft(organization_id, [Line("Grande", Decimal(1), Decimal("60000"))])
    filtered = client.get("/invoices/?minimo=50.000").get_data(as_text=True)
    assert "1 comprobante" in filtered
    # The box shows the amount as it was typed, not "50000".
    assert 'name="minimo" value="50.000"' in filtered
    bounded = client.get("/invoices/?maximo=1.000,50").get_data(as_text=True)
    assert "1 comprobante" in bounded and 'name="maximo" value="1.000,5"' in bounded
    # An unreadable amount is no filter (both drafts), never an error.
    for junk in ("abc", "1e3", "١٢٣", "1.50.0"):
        response = client.get(f"/invoices/?minimo={junk}")
        assert response.status_code == 200 and "2 comprobantes" in text_of(response)


def test_in_english_the_marks_swap(
    app: Flask, editor: tuple[FlaskClient, dict[str, str], int]
) -> None:
    client, form, _organization_id = editor
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "caja@example.com")).one()
        user.locale = "en"
        db.session.commit()
    refused = client.post("/invoices/new", data={**form, "lines-0-unit_price": "1.210,00"})
    assert refused.status_code == 422 and "1,500.50" in text_of(refused)
    saved = client.post("/invoices/new", data={**form, "lines-0-unit_price": "1,500.50"})
    assert saved.status_code == 303
    with app.app_context():
        invoice = db.session.scalars(select(Invoice)).one()
        assert invoice.lines[0].unit_price == Decimal("1500.50")
        invoice_id = invoice.id
    html = client.get(f"/invoices/{invoice_id}/edit").get_data(as_text=True)
    assert 'value="1,500.5"' in html
