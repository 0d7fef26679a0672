"""Customers over the API, on PostgreSQL and Redis: the page's rules, keyset pages, tenancy,
scopes, idempotent creation and junk input."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from arca.cuit import compute_check_digit
from blueprints.api.schemas.common import encode_cursor
from blueprints.audit.models import AuditEvent
from blueprints.customers.models import Customer
from blueprints.customers.rules import CustomerFields
from blueprints.customers.services import create_customer
from core.db import db
from tests.api import PROBLEM, Api, assert_problem, bearer, fields_in, make_api_key
from tests.factories import make_organization, make_user

_bodies = itertools.count(31_000_000, 7919)


def cuit(prefix: str = "20") -> str:
    """A valid CUIT, different on every call."""
    while True:
        first_ten = f"{prefix}{next(_bodies):08d}"
        digit = compute_check_digit(first_ten)
        if digit is not None:
            return first_ten + str(digit)


def wrong_digit(valid: str) -> str:
    return valid[:10] + str((int(valid[10]) + 1) % 10)


@pytest.fixture
def shop(app: Flask) -> int:
    with app.app_context():
        return make_organization(owner=make_user(), legal_name="Almacén Demo SRL").id


@pytest.fixture
def other_shop(app: Flask) -> int:
    with app.app_context():
        return make_organization(owner=make_user(), legal_name="Otra Tienda SA").id


@pytest.fixture
def api(app: Flask, shop: int) -> Api:
    return Api(app, make_api_key(app, shop, ["customers:read", "customers:write"]))


def new_customer(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "document_type": 80,
        "document_number": "30-71234567-1",
        "legal_name": "Ferretería Nueva SA",
        "iva_condition": 1,
        "emails": ["compras@ferreteria.example", "pagos@ferreteria.example"],
        "address": "Av. Rivadavia 1234, CABA",
        "phone": "+54 11 4444-5555",
        "notes": "Entregar por la tarde",
        "payment_terms_days": 30,
    }
    body.update(changes)
    return body


def add(app: Flask, organization_id: int, name: str, **fields: str) -> int:
    values = {"doc_type": "80", "doc_number": cuit(), "iva_condition": "1"}
    values.update(fields)
    with app.app_context():
        data = CustomerFields(legal_name=name, **values)  # type: ignore[arg-type]
        return create_customer(db.session, organization_id, data, None).id


def count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Customer)) or 0


def customer_actions() -> list[str]:
    query = select(AuditEvent.action).where(AuditEvent.subject_type == "customer")
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


# --- create and get ------------------------------------------------------------------------------


def test_create_then_get(app: Flask, api: Api, shop: int) -> None:
    created = api.post("/api/v1/customers", new_customer())
    assert created.status_code == 201, created.text
    body = created.get_json()
    assert created.headers["Location"] == f"/api/v1/customers/{body['id']}"
    assert body["document_type"] == {"code": 80, "name": "CUIT"}
    assert body["document_number"] == "30712345671"
    assert body["iva_condition"] == {"code": 1, "name": "IVA Responsable Inscripto"}
    assert body["emails"] == ["compras@ferreteria.example", "pagos@ferreteria.example"]
    assert body["payment_terms_days"] == 30
    assert body["archived"] is False and body["archived_at"] is None
    assert body["created_at"].startswith("20") and "T" in body["created_at"]
    assert api.get(created.headers["Location"]).get_json() == body
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "customer.create")
        ).one()
        assert event.organization_id == shop and event.subject_id == body["id"]
        assert event.user_id is None and event.actor.startswith("API: ")


def test_a_minimal_customer_and_the_anonymous_consumer(api: Api) -> None:
    dni = api.post(
        "/api/v1/customers",
        {
            "document_type": 96,
            "document_number": "30.111.222",
            "legal_name": "Ana",
            "iva_condition": 5,
        },
    )
    assert dni.status_code == 201, dni.text
    assert dni.get_json()["document_number"] == "30111222"
    assert dni.get_json()["emails"] == [] and dni.get_json()["address"] is None
    for _twice in range(2):  # anonymous consumers do not collide
        anonymous = api.post(
            "/api/v1/customers",
            {
                "document_type": 99,
                "document_number": "0",
                "legal_name": "Mostrador",
                "iva_condition": 5,
            },
        )
        assert anonymous.status_code == 201, anonymous.text
        assert anonymous.get_json()["document_type"] == {"code": 99, "name": "Doc. (Otro)"}


def test_invalid_cuit_is_a_422_naming_the_field_and_nothing_is_stored(app: Flask, api: Api) -> None:
    response = api.post("/api/v1/customers", new_customer(document_number=wrong_digit(cuit())))
    problem = assert_problem(response, 422)
    assert fields_in(problem) == ["document_number"]
    assert "dígito verificador" in problem["errors"][0]["message"]
    english = api.post(
        "/api/v1/customers",
        new_customer(document_number=wrong_digit(cuit())),
        **{"Accept-Language": "en"},
    )
    assert "check digit" in assert_problem(english, 422)["errors"][0]["message"]
    assert count(app) == 0


def test_every_rule_of_the_form_is_listed_on_its_field(app: Flask, api: Api) -> None:
    # A registered IVA condition needs a CUIT; «Doc. (Otro)» is only for final consumers; and
    # each other field keeps its own rule.
    dni_for_ri = api.post(
        "/api/v1/customers", new_customer(document_type=96, document_number="30111222")
    )
    assert fields_in(assert_problem(dni_for_ri, 422)) == ["document_type"]
    other = api.post(
        "/api/v1/customers",
        new_customer(document_type=99, document_number="0", iva_condition=9),
    )
    assert fields_in(assert_problem(other, 422)) == ["iva_condition"]
    many = api.post(
        "/api/v1/customers",
        new_customer(
            document_type=12345,
            legal_name="  ",
            iva_condition=2,
            emails=["nope"],
            payment_terms_days=400,
        ),
    )
    assert fields_in(assert_problem(many, 422)) == [
        "document_type",
        "legal_name",
        "iva_condition",
        "emails",
        "payment_terms_days",
    ]
    assert count(app) == 0


def test_malformed_bodies_are_422_problems(api: Api) -> None:
    cases: list[tuple[Any, str]] = [
        ({k: v for k, v in new_customer().items() if k != "legal_name"}, "legal_name"),
        (new_customer(document_type="CUIT"), "document_type"),
        (new_customer(emails="a@b.example"), "emails"),
        (new_customer(emails=[f"{n}@b.example" for n in range(6)]), "emails"),
        (new_customer(doc_type=80), "doc_type"),  # the form's name is not the API's
        (new_customer(legal_name="Nul\x00"), "legal_name"),
        (new_customer(payment_terms_days=-1), "payment_terms_days"),
        (new_customer(payment_terms_days=10**40), "payment_terms_days"),
    ]
    for body, field in cases:
        assert field in fields_in(assert_problem(api.post("/api/v1/customers", body), 422)), body
    for raw in (b"", b"[]", b"null", b"{", b'"text"'):
        response = api.client.post(
            "/api/v1/customers",
            data=raw,
            headers=bearer(api.secret, **{"Content-Type": "application/json"}),
        )
        assert_problem(response, 422)


def test_a_duplicate_document_is_a_409(app: Flask, api: Api, shop: int) -> None:
    taken = cuit()
    add(app, shop, "Primero SA", doc_number=taken)
    response = api.post("/api/v1/customers", new_customer(document_number=taken))
    problem = assert_problem(response, 409)
    assert fields_in(problem) == ["document_number"]
    assert "Primero SA" in problem["detail"]
    assert count(app) == 1


def test_the_same_idempotency_key_creates_once(app: Flask, api: Api) -> None:
    first = api.post("/api/v1/customers", new_customer(), **{"Idempotency-Key": "alta-1"})
    again = api.post("/api/v1/customers", new_customer(), **{"Idempotency-Key": "alta-1"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    other_body = api.post(
        "/api/v1/customers", new_customer(legal_name="Otra"), **{"Idempotency-Key": "alta-1"}
    )
    assert_problem(other_body, 422)
    assert count(app) == 1


# --- the list ------------------------------------------------------------------------------------


def walk(api: Api, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every page of the list; (rows, pages)."""
    rows: list[dict[str, Any]] = []
    pages = 0
    while True:
        response = api.get("/api/v1/customers", **params)
        assert response.status_code == 200, response.text
        body = response.get_json()
        assert set(body) == {"data", "next_cursor"}
        rows += body["data"]
        pages += 1
        if body["next_cursor"] is None:
            return rows, pages
        params["cursor"] = body["next_cursor"]


def test_pages_cover_everything_once_in_a_stable_order(app: Flask, api: Api, shop: int) -> None:
    with app.app_context():
        for number in range(1, 121):
            data = CustomerFields("96", str(10_000_000 + number * 7), f"Cliente {number:03d}", "5")
            create_customer(db.session, shop, data, None)
    for sort in ("name", "document", "newest"):
        rows, pages = walk(api, sort=sort, limit=25)
        ids = [row["id"] for row in rows]
        assert len(ids) == len(set(ids)) == 120 and pages == 5, sort
        names = [row["legal_name"] for row in rows]
        if sort == "name":
            assert names == sorted(names)
        if sort == "newest":
            assert names[0] == "Cliente 120" and names[-1] == "Cliente 001"
    default, _pages = walk(api)
    assert len(default) == 120 and _pages == 3  # 50 per page unless told


def test_customers_added_between_pages_neither_repeat_nor_hide_others(
    app: Flask, api: Api, shop: int
) -> None:
    originals = {add(app, shop, f"Cliente {number:03d}") for number in range(1, 61)}
    seen: list[int] = []
    behind: set[int] = set()
    ahead: set[int] = set()
    params: dict[str, Any] = {"limit": 20}
    for page in itertools.count():
        body = api.get("/api/v1/customers", **params).get_json()
        seen += [row["id"] for row in body["data"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
        # One sorted before the cursor (already passed) and one after it (still to come).
        behind.add(add(app, shop, f"Cliente {page:03d}a"))
        ahead.add(add(app, shop, f"Cliente 0{page + 5}0b"))
    assert len(seen) == len(set(seen))
    assert originals | ahead == set(seen)
    assert not behind & set(seen)
    everything = api.get("/api/v1/customers", limit=200).get_json()["data"]
    assert len(everything) == 60 + len(behind) + len(ahead)


def test_search_and_status_as_on_the_page(app: Flask, api: Api, shop: int) -> None:
    number = cuit()
    add(app, shop, "Panadería La Espiga", doc_number=number, emails="pan@espiga.example")
    archived = add(app, shop, "Carnicería Don José")
    add(app, shop, "Verdulería Central")
    api.post(f"/api/v1/customers/{archived}/archive")

    def found(**params: Any) -> list[str]:
        response = api.get("/api/v1/customers", **params)
        assert response.status_code == 200, response.text
        return [row["legal_name"] for row in response.get_json()["data"]]

    assert found(q="panaderia") == ["Panadería La Espiga"]
    assert found(q=f"{number[:2]}-{number[2:10]}-{number[10]}") == ["Panadería La Espiga"]
    assert found(q="espiga.example") == ["Panadería La Espiga"]
    assert found(q="nadie") == []
    assert found() == ["Panadería La Espiga", "Verdulería Central"]
    assert found(status="archived") == ["Carnicería Don José"]
    assert len(found(status="all")) == 3
    assert found(q="jose", status="archived") == ["Carnicería Don José"]


# --- update and archive --------------------------------------------------------------------------


def test_update_changes_only_what_is_sent(app: Flask, api: Api, shop: int) -> None:
    created = api.post("/api/v1/customers", new_customer()).get_json()
    url = f"/api/v1/customers/{created['id']}"
    renamed = api.patch(url, {"legal_name": "Ferretería Nueva SRL", "address": None})
    assert renamed.status_code == 200, renamed.text
    body = renamed.get_json()
    assert body["legal_name"] == "Ferretería Nueva SRL" and body["address"] is None
    unchanged = {"document_type", "document_number", "iva_condition", "emails", "phone", "notes"}
    assert {key: body[key] for key in unchanged} == {key: created[key] for key in unchanged}
    assert body["updated_at"] >= created["updated_at"]
    assert api.get(url).get_json() == body
    # A consumidor final identified by DNI: two fields change together.
    dni = api.patch(url, {"document_type": 96, "document_number": "30111222", "iva_condition": 5})
    assert dni.status_code == 200, dni.text
    assert dni.get_json()["document_type"] == {"code": 96, "name": "DNI"}
    with app.app_context():
        actions = customer_actions()
    assert actions == ["customer.create", "customer.update", "customer.update"]


def test_true_is_not_a_number(app: Flask, api: Api, shop: int) -> None:
    customer = add(app, shop, "Kiosco Lola")
    refused = api.patch(f"/api/v1/customers/{customer}", {"payment_terms_days": True})
    problem = assert_problem(refused, 422)
    assert problem["errors"] == [
        {
            "field": "payment_terms_days",
            "message": "Se esperaba un número o un texto, no true/false.",
        }
    ]
    created = api.post("/api/v1/customers", new_customer(iva_condition=True))
    assert fields_in(assert_problem(created, 422)) == ["iva_condition"]
    stored = api.get(f"/api/v1/customers/{customer}").get_json()
    assert stored["payment_terms_days"] is None


def test_update_keeps_the_rules(app: Flask, api: Api, shop: int) -> None:
    taken = cuit()
    add(app, shop, "Primero SA", doc_number=taken)
    created = api.post("/api/v1/customers", new_customer()).get_json()
    url = f"/api/v1/customers/{created['id']}"
    bad_digit = api.patch(url, {"document_number": wrong_digit(taken)})
    assert fields_in(assert_problem(bad_digit, 422)) == ["document_number"]
    dni_for_ri = api.patch(url, {"document_type": 96, "document_number": "30111222"})
    assert fields_in(assert_problem(dni_for_ri, 422)) == ["document_type"]
    assert fields_in(assert_problem(api.patch(url, {"document_number": taken}), 409)) == [
        "document_number"
    ]
    for field in ("document_type", "document_number", "legal_name", "iva_condition"):
        assert fields_in(assert_problem(api.patch(url, {field: None}), 422)) == [field]
    assert fields_in(assert_problem(api.patch(url, {"id": 5}), 422)) == ["id"]
    assert api.get(url).get_json() == created


def test_archive_and_unarchive(app: Flask, api: Api, shop: int) -> None:
    customer_id = add(app, shop, "Cliente Viejo")
    archived = api.post(f"/api/v1/customers/{customer_id}/archive")
    assert archived.status_code == 200, archived.text
    assert archived.get_json()["archived"] is True and archived.get_json()["archived_at"]
    assert api.post(f"/api/v1/customers/{customer_id}/archive").get_json()["archived"] is True
    assert api.get("/api/v1/customers").get_json()["data"] == []
    restored = api.post(f"/api/v1/customers/{customer_id}/unarchive")
    assert restored.get_json()["archived"] is False and restored.get_json()["archived_at"] is None
    assert [row["id"] for row in api.get("/api/v1/customers").get_json()["data"]] == [customer_id]
    with app.app_context():
        actions = customer_actions()
    assert actions == ["customer.create", "customer.archive", "customer.unarchive"]


# --- tenancy, scopes, junk -----------------------------------------------------------------------


def test_another_organizations_customer_is_404_on_every_operation(
    app: Flask, api: Api, other_shop: int
) -> None:
    theirs = add(app, other_shop, "Cliente Ajeno", emails="ajeno@example.com")
    for url in (f"/api/v1/customers/{theirs}", "/api/v1/customers/2147483647"):
        assert_problem(api.get(url), 404)
        assert_problem(api.patch(url, {"legal_name": "Mío"}), 404)
        assert_problem(api.post(f"{url}/archive"), 404)
        assert_problem(api.post(f"{url}/unarchive"), 404)
    assert api.get("/api/v1/customers", q="ajeno", status="all").get_json()["data"] == []
    with app.app_context():
        customer = db.session.get_one(Customer, theirs)
        assert customer.legal_name == "Cliente Ajeno" and customer.archived_at is None
    # The other organization's document is free in this one.
    with app.app_context():
        number = db.session.get_one(Customer, theirs).doc_number
    assert api.post("/api/v1/customers", new_customer(document_number=number)).status_code == 201


def test_ids_no_column_can_hold_are_404_problems(api: Api) -> None:
    for url in ("/api/v1/customers/2147483648", "/api/v1/customers/0", "/api/v1/customers/abc"):
        assert_problem(api.get(url), 404)


def test_a_key_without_the_scope_gets_403(app: Flask, shop: int) -> None:
    customer_id = add(app, shop, "Cliente")
    reader = Api(app, make_api_key(app, shop, ["customers:read"]))
    assert reader.get(f"/api/v1/customers/{customer_id}").status_code == 200
    assert_problem(reader.post("/api/v1/customers", new_customer()), 403)
    assert_problem(reader.patch(f"/api/v1/customers/{customer_id}", {"legal_name": "X"}), 403)
    assert_problem(reader.post(f"/api/v1/customers/{customer_id}/archive"), 403)
    assert_problem(reader.post(f"/api/v1/customers/{customer_id}/unarchive"), 403)
    catalog = Api(app, make_api_key(app, shop, ["catalog:read", "customers:write"]))
    assert_problem(catalog.get("/api/v1/customers"), 403)
    assert_problem(catalog.get(f"/api/v1/customers/{customer_id}"), 403)
    assert count(app) == 1


def test_junk_query_strings_are_4xx_problems(app: Flask, api: Api, shop: int) -> None:
    customer_id = add(app, shop, "Cliente 1")
    add(app, shop, "Cliente 2")
    name_cursor = api.get("/api/v1/customers", limit=1).get_json()["next_cursor"]
    junk: list[dict[str, Any]] = [
        {"limit": "-1"},
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "abc"},
        {"limit": "1e3"},
        {"limit": "99999999999999999999999"},
        {"cursor": "garbage"},
        {"cursor": "%%%"},
        {"cursor": encode_cursor()},
        {"cursor": encode_cursor("x", 1), "sort": "newest"},  # not a date
        {"cursor": name_cursor, "sort": "newest"},
        {"cursor": encode_cursor("x", 2**40)},
        {"cursor": encode_cursor("x", -1)},
        {"cursor": "nul\x00"},
        {"status": "deleted"},
        {"sort": "random"},
        {"q": "a" * 201},
        {"q": "nul\x00byte"},
        {"q": "\x1b[31m"},
    ]
    for params in junk:
        response = api.get("/api/v1/customers", **params)
        assert 400 <= response.status_code < 500, (params, response.status_code)
        assert response.content_type == PROBLEM, params
    garbage = api.get("/api/v1/customers", cursor="garbage")
    assert fields_in(assert_problem(garbage, 422)) == ["cursor"]
    assert fields_in(assert_problem(api.get("/api/v1/customers", limit="-1"), 422)) == ["limit"]
    assert api.get(f"/api/v1/customers/{customer_id}", extra="ignored").status_code == 200
