"""Customers on PostgreSQL: the form's rules, search and keyset pages, inline edit, archive,
delete, export, and every page and fragment."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from urllib.parse import unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from arca.cuit import compute_check_digit
from blueprints.audit.models import AuditEvent
from blueprints.customers import services
from blueprints.customers.models import Customer
from blueprints.customers.rules import CustomerFields
from blueprints.customers.services import create_customer
from core.db import db
from tests.exports import exported
from tests.factories import add_member, make_organization, make_user
from tests.web import csrf_token, htmx_headers, login, post_form, text_of

XSS = "<img src=x onerror=alert(1)>"
_bodies = itertools.count(30_000_000, 7919)


@pytest.fixture
def shop(app: Flask) -> int:
    with app.app_context():
        organization = make_organization(legal_name="Almacén Demo SRL")
        add_member(organization, make_user(email="ana@example.com"), "owner")
        add_member(organization, make_user(email="caja@example.com"), "member")
        add_member(organization, make_user(email="conta@example.com"), "accountant")
        return organization.id


@pytest.fixture
def owner(app: Flask, shop: int) -> FlaskClient:
    client = app.test_client()
    login(client, "ana@example.com")
    return client


def as_user(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    login(client, email)
    return client


def cuit(body: int, prefix: str = "20") -> str:
    """A valid CUIT built from a number (skipping the bodies whose check digit would be 10)."""
    while True:
        first_ten = f"{prefix}{body:08d}"
        digit = compute_check_digit(first_ten)
        if digit is not None:
            return first_ten + str(digit)
        body += 1


def add(app: Flask, organization_id: int, name: str, **fields: str) -> Customer:
    values = {"doc_type": "80", "doc_number": cuit(next(_bodies)), "iva_condition": "1"}
    values.update(fields)
    with app.app_context():
        data = CustomerFields(legal_name=name, **values)  # type: ignore[arg-type]
        customer = create_customer(db.session, organization_id, data, None)
        db.session.refresh(customer)
        db.session.expunge(customer)
        return customer


def form(**changes: str) -> dict[str, str]:
    values = {
        "doc_type": "80",
        "doc_number": "30-71234567-1",
        "legal_name": "Ferretería Nueva SA",
        "iva_condition": "1",
        "emails": "compras@ferreteria.example, pagos@ferreteria.example",
        "phone": "+54 11 4444-5555",
        "address": "Av. Rivadavia 1234, CABA",
        "payment_terms_days": "30",
        "notes": "Entregar por la tarde",
    }
    values.update(changes)
    return values


def count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Customer)) or 0


# --- create and the rules ------------------------------------------------------------------------


def test_create_then_detail(app: Flask, owner: FlaskClient) -> None:
    response = post_form(owner, "/customers/new", form())
    assert response.status_code == 303
    detail = owner.get(response.headers["Location"])
    text = text_of(detail)
    assert "Ferretería Nueva SA" in text and "30-71234567-1" in text
    assert "compras@ferreteria.example" in text and "30 días" in text
    assert "IVA Responsable Inscripto" in text
    with app.app_context():
        stored = db.session.scalars(select(Customer)).one()
        assert stored.doc_number == "30712345671"
        assert stored.email_list == ["compras@ferreteria.example", "pagos@ferreteria.example"]
        actions = select(AuditEvent.action).where(AuditEvent.action.like("customer.%"))
        assert db.session.scalars(actions).all() == ["customer.create"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"doc_number": "20-11111111-3"}, "doc_number", "el dígito verificador no coincide"),
        ({"doc_number": "2011111111"}, "doc_number", "tiene que tener 11 dígitos"),
        ({"doc_type": "96", "doc_number": "123"}, "doc_number", "El DNI es un número"),
        ({"doc_type": "96", "doc_number": "30111222"}, "doc_type", "se identifica con su CUIT"),
        ({"doc_type": "99", "doc_number": "0"}, "doc_type", "se identifica con su CUIT"),
        ({"legal_name": "   "}, "legal_name", "Escribí el nombre o la razón social"),
        ({"emails": "ventas@"}, "emails", "no es un email válido"),
        ({"iva_condition": "42"}, "iva_condition", "no es una condición frente al IVA"),
        ({"payment_terms_days": "-3"}, "payment_terms_days", "El plazo de pago son días"),
    ],
)
def test_invalid_input_is_shown_on_its_field_and_nothing_is_stored(
    app: Flask, owner: FlaskClient, changes: dict[str, str], field: str, message: str
) -> None:
    response = post_form(owner, "/customers/new", form(**changes))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    assert message in text_of(response)
    assert count(app) == 0


def test_a_second_customer_with_the_same_document_is_refused(
    app: Flask, owner: FlaskClient
) -> None:
    assert post_form(owner, "/customers/new", form()).status_code == 303
    again = post_form(
        owner, "/customers/new", form(legal_name="Otro nombre", doc_number="30712345671")
    )
    assert again.status_code == 422  # the form again, the message on the document field
    assert 'id="doc_number-error"' in again.get_data(as_text=True)
    assert "Ya tenés un cliente con ese documento: «Ferretería Nueva SA»" in text_of(again)
    # Anonymous final consumers are not unique.
    for _ in range(2):
        response = post_form(
            owner,
            "/customers/new",
            form(doc_type="99", doc_number="0", iva_condition="5", legal_name="Mostrador"),
        )
        assert response.status_code == 303
    assert count(app) == 3


def test_the_accountant_reads_but_does_not_write(app: Flask, shop: int) -> None:
    customer = add(app, shop, "Cliente Uno")
    accountant = as_user(app, "conta@example.com")
    assert accountant.get("/customers/").status_code == 200
    assert accountant.get(f"/customers/{customer.id}").status_code == 200
    export = exported(app, accountant, "/customers/export", {}, "/customers/")
    assert "Cliente Uno" in export.get_data(as_text=True)
    assert accountant.get("/customers/new").status_code == 403
    token = csrf_token(accountant, "/customers/")
    refused = accountant.post(f"/customers/{customer.id}/archive", headers=htmx_headers(token))
    assert refused.status_code == 403
    cashier = as_user(app, "caja@example.com")
    token = csrf_token(cashier, "/customers/")
    assert (
        cashier.post(f"/customers/{customer.id}/archive", headers=htmx_headers(token)).status_code
        == 200
    )
    assert (
        cashier.post(f"/customers/{customer.id}/delete", headers=htmx_headers(token)).status_code
        == 403
    )


# --- the list: search, filters, keyset pages ---------------------------------------------------


def names_in(response_html: str) -> list[str]:
    marker = 'class="customer-name">'
    return [part.split("</a>")[0] for part in response_html.split(marker)[1:]]


def test_page_and_fragment(app: Flask, owner: FlaskClient, shop: int) -> None:
    add(app, shop, "Zapatería Sur")
    page = owner.get("/customers/")
    assert page.status_code == 200
    assert 'id="customer-search"' in page.get_data(as_text=True)
    assert "HX-Request" in page.headers["Vary"]
    fragment = owner.get("/customers/?q=zapa", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<section class="card table-card" id="customer-results"')
    assert "<html" not in body and names_in(body) == ["Zapatería Sur"]


def test_search_by_name_document_and_email(app: Flask, owner: FlaskClient, shop: int) -> None:
    add(app, shop, "Panadería Ñandú", doc_number="20-27654321-1", emails="hola@nandu.example")
    add(app, shop, "Kiosco Central", doc_type="96", doc_number="30.111.222", iva_condition="5")
    add(app, shop, "Librería del Centro")

    def found(text: str) -> list[str]:
        return names_in(owner.get("/customers/", query_string={"q": text}).get_data(as_text=True))

    assert found("panaderia nandu") == ["Panadería Ñandú"]
    assert found("NANDU") == ["Panadería Ñandú"]
    assert found("20-27654321-1") == ["Panadería Ñandú"]
    assert found("27654321") == ["Panadería Ñandú"]
    assert found("30.111.222") == ["Kiosco Central"]
    assert found("hola@nandu") == ["Panadería Ñandú"]
    assert found("centr") == ["Kiosco Central", "Librería del Centro"]
    assert found("100%_") == []
    empty = owner.get("/customers/", query_string={"q": "nadie"})
    assert "Ningún cliente coincide con «nadie»" in text_of(empty)


def test_keyset_pages_cover_everything_once_in_every_order(
    app: Flask, owner: FlaskClient, shop: int
) -> None:
    with app.app_context():
        for number in range(1, 121):
            data = CustomerFields("96", str(10_000_000 + number * 7), f"Cliente {number:03d}", "5")
            create_customer(db.session, shop, data, None)
    for sort in ("name", "document", "newest"):
        seen: list[str] = []
        params: dict[str, str] = {"sort": sort}
        for _page in range(5):
            html = owner.get("/customers/", query_string=params).get_data(as_text=True)
            seen += names_in(html)
            if 'id="customers-load-more"' not in html:
                break
            params["after"] = unquote(html.split("after=")[1].split('"')[0].split("&")[0])
        assert len(seen) == len(set(seen)) == 120, sort
        if sort == "name":
            assert seen == sorted(seen)
        if sort == "newest":
            assert seen[0] == "Cliente 120" and seen[-1] == "Cliente 001"
    more = owner.get(
        "/customers/",
        query_string={"after": services.encode_cursor("name", first_customer(app))},
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    assert more.lstrip().startswith('<tr id="customer-')


def first_customer(app: Flask) -> Customer:
    with app.app_context():
        customer = db.session.scalars(select(Customer).order_by(Customer.sort_name)).first()
        assert customer is not None
        db.session.expunge(customer)
        return customer


def test_a_forged_cursor_starts_from_the_top(app: Flask, owner: FlaskClient, shop: int) -> None:
    add(app, shop, "Único")
    for cursor in ("nope", "W10=", "WyJ4IiwgIjEiXQ=="):
        response = owner.get("/customers/", query_string={"after": cursor, "sort": "newest"})
        assert response.status_code == 200
        assert "Único" in text_of(response)


# --- inline edit, archive, delete ----------------------------------------------------------------


def test_inline_edit_changes_the_row_and_keeps_the_rest(
    app: Flask, owner: FlaskClient, shop: int
) -> None:
    customer = add(app, shop, "Nombre Viejo", address="Calle 1", notes="No tocar")
    token = csrf_token(owner, "/customers/")
    editor = owner.get(f"/customers/{customer.id}/row/edit", headers=htmx_headers(token))
    body = editor.get_data(as_text=True)
    assert body.lstrip().startswith(
        f'<tr id="customer-{customer.id}" class="customer-row is-editing"'
    )
    prefix = f"customer-{customer.id}-"
    bad = owner.post(
        f"/customers/{customer.id}/row/edit",
        data={
            f"{prefix}legal_name": "Nombre Nuevo",
            f"{prefix}doc_type": "80",
            f"{prefix}doc_number": "20-11111111-3",
            f"{prefix}iva_condition": "1",
            f"{prefix}emails": "",
        },
        headers=htmx_headers(token),
    )
    assert bad.status_code == 422
    assert "el dígito verificador no coincide" in text_of(bad)
    good = owner.post(
        f"/customers/{customer.id}/row/edit",
        data={
            f"{prefix}legal_name": "Nombre Nuevo",
            f"{prefix}doc_type": "80",
            f"{prefix}doc_number": "20-11111111-2",
            f"{prefix}iva_condition": "6",
            f"{prefix}emails": "nuevo@example.com",
        },
        headers=htmx_headers(token),
    )
    assert good.status_code == 200
    assert (
        good.get_data(as_text=True)
        .lstrip()
        .startswith(f'<tr id="customer-{customer.id}" class="customer-row"')
    )
    assert "Nombre Nuevo" in text_of(good) and "Responsable Monotributo" in text_of(good)
    with app.app_context():
        stored = db.session.get_one(Customer, customer.id)
        assert (stored.legal_name, stored.address, stored.notes) == (
            "Nombre Nuevo",
            "Calle 1",
            "No tocar",
        )
        assert stored.email_list == ["nuevo@example.com"]
    cancel = owner.get(f"/customers/{customer.id}/row", headers={"HX-Request": "true"})
    assert "Nombre Nuevo" in text_of(cancel)


def test_full_page_edit(app: Flask, owner: FlaskClient, shop: int) -> None:
    customer = add(app, shop, "Para Editar")
    page = owner.get(f"/customers/{customer.id}/edit")
    assert 'value="Para Editar"' in page.get_data(as_text=True)
    response = post_form(
        owner,
        f"/customers/{customer.id}/edit",
        form(legal_name="Editado", doc_number=customer.doc_number),
    )
    assert response.status_code == 303
    assert "Editado" in text_of(owner.get(f"/customers/{customer.id}"))


def test_archive_hides_from_the_default_list_and_unarchive_brings_back(
    app: Flask, owner: FlaskClient, shop: int
) -> None:
    customer = add(app, shop, "Temporada")
    token = csrf_token(owner, "/customers/")
    archived = owner.post(f"/customers/{customer.id}/archive", headers=htmx_headers(token))
    assert archived.status_code == 200
    assert "Archivado" in text_of(archived) and "Desarchivar" in text_of(archived)
    assert "Temporada" not in text_of(owner.get("/customers/"))
    assert "Temporada" in text_of(owner.get("/customers/?status=archived"))
    plain = owner.post(f"/customers/{customer.id}/unarchive", data={"csrf_token": token})
    assert plain.status_code == 303
    assert "Temporada" in text_of(owner.get("/customers/"))
    with app.app_context():
        query = select(AuditEvent.action).where(AuditEvent.action.like("customer.%"))
        actions = db.session.scalars(query.order_by(AuditEvent.id)).all()
        assert actions == ["customer.create", "customer.archive", "customer.unarchive"]


@pytest.fixture
def in_use() -> Iterator[set[int]]:
    """Customers the (future) invoices slice would report as having invoices."""
    used: set[int] = set()

    def check(_session: object, customer_id: int) -> bool:
        return customer_id in used

    services.IN_USE_CHECKS.append(check)  # type: ignore[arg-type]
    yield used
    services.IN_USE_CHECKS.remove(check)  # type: ignore[arg-type]


def test_delete_before_invoices_archive_after(
    app: Flask, owner: FlaskClient, shop: int, in_use: set[int]
) -> None:
    free, invoiced = add(app, shop, "Sin Facturas"), add(app, shop, "Con Facturas")
    in_use.add(invoiced.id)
    token = csrf_token(owner, "/customers/")
    refused = owner.post(f"/customers/{invoiced.id}/delete", headers=htmx_headers(token))
    assert refused.status_code == 409
    assert "ya tiene comprobantes: no se puede borrar, pero sí archivar" in text_of(refused)
    # The page offers no "Borrar" that would be refused; a stale page's post comes back to it.
    page = f"/customers/{invoiced.id}"
    assert f'action="/customers/{invoiced.id}/delete"' not in owner.get(page).text
    assert f'action="/customers/{free.id}/delete"' in owner.get(f"/customers/{free.id}").text
    plain = owner.post(
        f"{page}/delete", data={"csrf_token": token}, headers={"Referer": f"http://localhost{page}"}
    )
    assert plain.status_code == 303 and plain.headers["Location"] == page
    assert "no se puede borrar, pero sí archivar" in text_of(owner.get(page))
    deleted = owner.post(f"/customers/{free.id}/delete", headers=htmx_headers(token))
    assert deleted.status_code == 200 and deleted.get_data(as_text=True) == ""
    assert owner.get(f"/customers/{free.id}").status_code == 404
    assert count(app) == 1


# --- export and escaping -------------------------------------------------------------------------


def test_export_is_filtered_and_safe_in_a_spreadsheet(
    app: Flask, owner: FlaskClient, shop: int
) -> None:
    add(app, shop, '=HYPERLINK("http://evil.example")', phone="+54 11 5555-0000")
    add(app, shop, XSS, doc_number=cuit(4242))
    add(app, shop, "Archivado SA", doc_number=cuit(777))
    with app.app_context():
        archived = db.session.scalars(
            select(Customer).where(Customer.legal_name == "Archivado SA")
        ).one()
        archived.archived_at = archived.created_at
        db.session.commit()
    response = exported(app, owner, "/customers/export", {}, "/customers/")
    assert response.headers["Content-Type"].startswith("text/csv")
    text = response.get_data(as_text=True)
    assert text.startswith(
        "\ufefftipo_documento;tipo_documento_nombre;numero_documento;razon_social;"
        "condicion_iva;condicion_iva_nombre"
    )
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    names = sorted(row["razon_social"] for row in rows)
    assert names == sorted(['\'=HYPERLINK("http://evil.example")', XSS])
    assert any(row["telefono"] == "'+54 11 5555-0000" for row in rows)
    searched = exported(app, owner, "/customers/export", {"q": "img"}, "/customers/").text
    assert XSS in searched and "HYPERLINK" not in searched


def test_a_name_with_markup_is_text_everywhere(app: Flask, owner: FlaskClient, shop: int) -> None:
    customer = add(app, shop, XSS)
    escaped = "&lt;img src=x onerror=alert(1)&gt;"
    token = csrf_token(owner, "/customers/")
    for response in (
        owner.get("/customers/"),
        owner.get("/customers/?q=img", headers={"HX-Request": "true"}),
        owner.get(f"/customers/{customer.id}"),
        owner.get(f"/customers/{customer.id}/edit"),
        owner.get(f"/customers/{customer.id}/row", headers={"HX-Request": "true"}),
        owner.get(f"/customers/{customer.id}/row/edit", headers=htmx_headers(token)),
    ):
        html = response.get_data(as_text=True)
        assert XSS not in html
        assert escaped in html or escaped.replace("&gt;", "&gt;") in html
