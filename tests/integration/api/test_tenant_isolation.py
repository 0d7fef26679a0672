"""Tenancy and authentication on every operation the OpenAPI document lists.

The operations come from the served document (`/api/v1/openapi.json`), not from a hand-kept list:
`CALLS` says what to send to each (by operationId), and the first test fails when an operation
has no entry there, when an entry names an operation that is gone, when an operation declares no
scope, or when a path parameter is one this file does not know how to fill. So a new endpoint
cannot be forgotten: it makes this file fail until it is covered.

For every operation:
- a key of organization A, given organization B's ids (in the path, the body or the query), gets
  exactly what an id that exists nowhere gets: a 404 problem for path ids, never a 200, 403 or
  500, and B's rows are unchanged afterwards;
- the same call with A's own ids succeeds (2xx), so the 404s above are tenancy, not a bad example;
- a key holding every scope but the one the operation declares gets a 403 problem;
- no key, a malformed key, an unknown key, or only a logged-in browser session: a 401 problem;
- a key revoked on the API page gets a 401 problem on its very next request (the cached
  validation is dropped, not left to expire).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from blueprints.api.models import SCOPES, ApiKey
from blueprints.api.services import hash_secret
from blueprints.customers.models import Customer
from blueprints.invoices.bulk import start_bulk_authorization
from blueprints.invoices.models import Invoice
from blueprints.invoices.totals import Line
from blueprints.organizations.models import Organization, Role
from blueprints.points_of_sale.models import PointOfSale
from blueprints.webhooks.models import WebhookDelivery, WebhookEndpoint
from core.arca import get_arca
from core.db import db
from tests.api import bearer, make_api_key
from tests.factories import add_member, make_user, next_cuit
from tests.integration.test_invoices import authorize, certified, customer, draft
from tests.web import login, post_form
from tests.webhooks_world import PUBLIC_URL, endpoint_and_delivery

OPENAPI = "/api/v1/openapi.json"
PROBLEM = "application/problem+json"
NOWHERE = 2_000_000_000  # an id no row has (PostgreSQL INTEGER, so a column can hold it)
NOWHERE_KEY = "0" * 32  # a batch key no job has
LINE = Line("Yerba mate 1 kg", Decimal("3"), Decimal("4500.00"), vat=5)
API_LINE = {"description": "Yerba mate 1 kg", "quantity": "3", "unit_price": "4500.00"}


# --- what each operation is sent -----------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """An object of the organization under test, filled in when the call is made."""

    kind: str  # a `World` method: customer, draft, authorized, point, batch, webhook, delivery


@dataclass(frozen=True)
class Call:
    """One request of an operation. Path parameters are filled from `PATH_OBJECTS` (or `path`),
    `body`/`query` may hold `Ref`s; `body` may be a function (a fresh document number each call)."""

    path: dict[str, str] = field(default_factory=dict)  # parameter -> World kind
    body: Any = None
    query: dict[str, Any] = field(default_factory=dict)


# Which object fills a path parameter, by its name; `Call.path` overrides per operation.
PATH_OBJECTS = {
    "customer_id": "customer",
    "invoice_id": "draft",
    "key": "batch",
    "webhook_id": "webhook",
    "delivery_id": "delivery",
    "cuit": "cuit",
}
# Kinds that belong to no organization (a CUIT in ARCA's padrón is public): the same value in
# every world, and no reference to another organization's rows.
PUBLIC_KINDS = frozenset({"cuit"})


def new_customer() -> dict[str, Any]:
    return {
        "document_type": 80,
        "document_number": next_cuit("20"),
        "legal_name": "Cliente Nuevo",
        "iva_condition": 6,
    }


CALLS: dict[str, list[Call]] = {
    "get_organization": [Call()],
    "list_customers": [Call(query={"q": "Cliente"})],
    "create_customer": [Call(body=new_customer)],
    "get_customer": [Call()],
    "update_customer": [Call(body={"phone": "011 4555-1234"})],
    "archive_customer": [Call()],
    "unarchive_customer": [Call()],
    "list_points_of_sale": [Call()],
    "list_voucher_types": [Call()],
    "list_document_types": [Call()],
    "list_vat_rates": [Call()],
    "list_currencies": [Call()],
    "list_iva_conditions": [Call()],
    "list_invoices": [Call(query={"customer_id": Ref("customer")})],
    "create_invoice": [
        Call(body={"point_of_sale": 1, "customer_id": Ref("customer"), "lines": [API_LINE]}),
        Call(body={"point_of_sale_id": Ref("point"), "lines": [API_LINE]}),
        Call(
            body={
                "point_of_sale": 1,
                "kind": "credit_note",
                "associated_invoice_id": Ref("authorized"),
                "customer_id": Ref("customer"),
                "lines": [API_LINE],
            }
        ),
    ],
    "get_invoice": [Call()],
    "update_invoice": [
        Call(body={"notes": "Entregar por la tarde"}),
        Call(body={"customer_id": Ref("customer")}),
    ],
    "preflight_invoice": [Call()],
    "authorize_invoice": [Call()],
    "get_invoice_status": [Call()],
    "create_credit_note": [Call(path={"invoice_id": "authorized"}, body={})],
    "create_debit_note": [Call(path={"invoice_id": "authorized"}, body={})],
    "get_invoice_pdf": [Call(path={"invoice_id": "authorized"})],
    "create_invoice_batch": [Call(body={"invoice_ids": [Ref("draft")]})],
    "get_invoice_batch": [Call()],
    "list_webhooks": [Call()],
    "create_webhook": [Call(body={"url": PUBLIC_URL, "events": ["invoice.authorized"]})],
    "get_webhook": [Call()],
    "update_webhook": [Call(body={"description": "ERP", "enabled": False})],
    "delete_webhook": [Call()],
    "get_webhook_secret": [Call()],
    "rotate_webhook_secret": [Call()],
    "send_webhook_test": [Call()],
    "list_webhook_deliveries": [Call()],
    "resend_webhook_delivery": [Call()],
    "get_padron": [Call()],
}


# --- the organizations' objects ------------------------------------------------------------------


class World:
    """An organization's objects, each made the first time it is asked for (inside an app
    context): a customer (RI), a draft Factura A to it, an authorized invoice, a point of sale,
    a bulk authorization job, and a webhook endpoint with one delivery (of that endpoint)."""

    KINDS = ("customer", "draft", "authorized", "point", "batch", "webhook", "delivery")

    def __init__(self, organization_id: int) -> None:
        self.organization_id = organization_id
        self.made: dict[str, int | str] = {}

    def get(self, kind: str) -> int | str:
        if kind not in self.made:
            self.made[kind] = getattr(self, f"make_{kind}")()
        return self.made[kind]

    def make_customer(self) -> int:
        return customer(self.organization_id, next_cuit("30"), "1", "Cliente Propio SA")

    def make_draft(self) -> int:
        return draft(self.organization_id, [LINE], customer_id=self.get("customer")).id

    def make_authorized(self) -> int:
        return authorize(
            draft(self.organization_id, [LINE], customer_id=self.get("customer")).id
        ).id

    def make_point(self) -> int:
        return db.session.scalars(
            sa.select(PointOfSale.id).where(
                PointOfSale.organization_id == self.organization_id, PointOfSale.number == 1
            )
        ).one()

    def make_batch(self) -> str:
        extra = draft(self.organization_id, [LINE], customer_id=self.get("customer")).id
        key, _progress = start_bulk_authorization(
            db.session, self.organization_id, [extra], get_arca()
        )
        return key

    def make_webhook(self) -> int:
        endpoint_id, delivery_id = endpoint_and_delivery(self.organization_id)
        self.made["delivery"] = delivery_id
        return endpoint_id

    def make_delivery(self) -> int:
        self.get("webhook")  # makes the endpoint's delivery beside it
        return int(self.made["delivery"])

    def make_cuit(self) -> str:
        return "30712345671"  # the sandbox padrón's Responsable Inscripto company


class Nowhere(World):
    """Ids that belong to no organization."""

    def get(self, kind: str) -> int | str:
        if kind in PUBLIC_KINDS:
            return super().get(kind)
        return NOWHERE_KEY if kind == "batch" else NOWHERE


# --- the document --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str  # /api/v1/invoices/{invoice_id}
    scopes: tuple[str, ...]
    path_parameters: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.operation_id} ({self.method.upper()} {self.path})"


def operations(app: Flask) -> list[Operation]:
    """Every operation of the served document, in its order."""
    response = app.test_client().get(OPENAPI)
    assert response.status_code == 200
    found = []
    for path, item in response.get_json()["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            security = operation.get("security") or []
            scopes = tuple(
                scope for requirement in security for scope in requirement.get("bearer", [])
            )
            names = tuple(
                p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"
            )
            found.append(Operation(operation["operationId"], method, path, scopes, names))
    return found


def resolve(template: Any, world: World) -> Any:
    if callable(template):
        template = template()
    if isinstance(template, Ref):
        return world.get(template.kind)
    if isinstance(template, dict):
        return {name: resolve(value, world) for name, value in template.items()}
    if isinstance(template, list):
        return [resolve(value, world) for value in template]
    return template


def send(
    client: FlaskClient, operation: Operation, call: Call, world: World, headers: dict[str, str]
) -> TestResponse:
    url = operation.path
    for name in operation.path_parameters:
        url = url.replace(f"{{{name}}}", str(world.get(call.path.get(name, PATH_OBJECTS[name]))))
    body = resolve(call.body, world)
    query = resolve(call.query, world)
    return client.open(
        url, method=operation.method.upper(), json=body, query_string=query, headers=headers
    )


def kinds_of(operation: Operation, call: Call) -> set[str]:
    """The organization's objects a call names (so they can be made before rows are compared)."""
    kinds = {call.path.get(name, PATH_OBJECTS[name]) for name in operation.path_parameters}
    return (kinds | refs_in(call.body) | refs_in(call.query)) - PUBLIC_KINDS


def refs_in(template: Any) -> set[str]:
    if isinstance(template, Ref):
        return {template.kind}
    if isinstance(template, dict):
        return set().union(*(refs_in(value) for value in template.values()))
    if isinstance(template, list):
        return set().union(*(refs_in(value) for value in template))
    return set()


def prepared(organization_id: int, kinds: set[str]) -> World:
    world = World(organization_id)
    for kind in sorted(kinds):
        world.get(kind)
    return world


def assert_problem(response: TestResponse, status: int, what: object) -> dict[str, Any]:
    assert response.status_code == status, f"{what}: {response.status_code} {response.text[:300]}"
    assert response.mimetype == PROBLEM, f"{what}: {response.mimetype}"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["detail"], (what, body)
    return body


def every_call(app: Flask) -> Iterator[tuple[Operation, Call]]:
    for operation in operations(app):
        for call in CALLS[operation.operation_id]:
            yield operation, call


# --- fixtures ------------------------------------------------------------------------------------


@dataclass
class Tenants:
    a: int
    b: int
    a_owner_email: str


@pytest.fixture
def tenants(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Tenants:
    # Dozens of deliberate 401s come from one address here: the per-address budget for failed
    # authentications is the limits test's business, not this file's.
    monkeypatch.setitem(app.config, "API_FAILED_AUTH_PER_MINUTE", 100_000)
    with app.app_context():
        a, b = certified(), certified()
        owner = make_user()
        add_member(db.session.get_one(Organization, a), owner, Role.OWNER)
        return Tenants(a, b, owner.email)


def snapshot(organization_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the organization's customers, invoices, points of sale, webhook endpoints
    and deliveries, as values."""
    rows = {}
    for model in (Customer, Invoice, PointOfSale, WebhookEndpoint, WebhookDelivery):
        table = model.__table__
        query = (
            sa.select(table).where(table.c.organization_id == organization_id).order_by(table.c.id)
        )
        rows[table.name] = [tuple(row) for row in db.session.execute(query)]
    return rows


# --- the tests -----------------------------------------------------------------------------------


def test_every_operation_is_covered_here_and_declares_its_scopes(app: Flask) -> None:
    found = operations(app)
    ids = [operation.operation_id for operation in found]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    missing = sorted(set(ids) - set(CALLS))
    assert not missing, f"operations without an entry in CALLS (add what to send): {missing}"
    gone = sorted(set(CALLS) - set(ids))
    assert not gone, f"CALLS names operations the document no longer has: {gone}"
    for operation in found:
        assert operation.scopes, f"{operation} declares no scope in its security requirement"
        assert set(operation.scopes) <= set(SCOPES), operation
        unknown = set(operation.path_parameters) - set(PATH_OBJECTS)
        assert not unknown, f"{operation}: add its path parameters {unknown} to PATH_OBJECTS"


def test_another_organizations_ids_answer_as_ids_that_exist_nowhere(
    app: Flask, tenants: Tenants
) -> None:
    secret = make_api_key(app, tenants.a)
    client = app.test_client()
    with app.app_context():
        theirs = prepared(tenants.b, set(World.KINDS))
        before = snapshot(tenants.b)
        references = 0
        for operation, call in every_call(app):
            if not kinds_of(operation, call):
                continue
            references += 1
            answer = send(client, operation, call, theirs, bearer(secret))
            missing = send(client, operation, call, Nowhere(tenants.a), bearer(secret))
            what = f"{operation} with organization B's ids"
            assert answer.status_code == missing.status_code, (
                f"{what}: {answer.status_code} {answer.text[:300]}, but an id that exists "
                f"nowhere gets {missing.status_code}"
            )
            if operation.path_parameters:
                assert_problem(answer, 404, what)
            if answer.mimetype == PROBLEM:
                assert answer.get_json() == missing.get_json(), what
            else:
                assert 200 <= answer.status_code < 300, what
                assert answer.get_json() == missing.get_json(), what
            db.session.remove()
        assert references >= 15
        assert snapshot(tenants.b) == before, "a call with A's key changed B's rows"


def test_the_same_calls_with_the_organizations_own_ids_succeed(
    app: Flask, tenants: Tenants
) -> None:
    """The control of the test above: every example is a valid request, so its 404s come from
    tenancy. Each call gets fresh objects (an archive or an authorization changes them)."""
    secret = make_api_key(app, tenants.a)
    client = app.test_client()
    with app.app_context():
        for operation, call in every_call(app):
            response = send(client, operation, call, World(tenants.a), bearer(secret))
            assert 200 <= response.status_code < 300, (
                f"{operation}: {response.status_code} {response.text[:400]}"
            )
            db.session.remove()


def test_a_key_without_the_operations_scope_is_forbidden(app: Flask, tenants: Tenants) -> None:
    client = app.test_client()
    keys: dict[str, str] = {}
    with app.app_context():
        for operation, call in every_call(app):
            world = prepared(tenants.a, kinds_of(operation, call))
            before = snapshot(tenants.a)
            for scope in operation.scopes:
                if scope not in keys:
                    others = [s for s in SCOPES if s != scope]
                    keys[scope] = make_api_key(app, tenants.a, others, name=f"sin {scope}")
                response = send(client, operation, call, world, bearer(keys[scope]))
                body = assert_problem(response, 403, f"{operation} without {scope}")
                assert scope in body["detail"], body
            db.session.remove()
            assert snapshot(tenants.a) == before, f"{operation}: a refused call changed rows"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer tal_short",
        "Bearer tal_" + "A" * 43,  # well formed, no such key
        "tal_" + "A" * 43,  # without "Bearer"
    ],
    ids=["none", "empty", "bearer-alone", "basic", "malformed", "unknown", "no-scheme"],
)
def test_without_a_valid_key_every_operation_is_unauthorized(
    app: Flask, tenants: Tenants, authorization: str | None
) -> None:
    client = app.test_client()
    headers = {} if authorization is None else {"Authorization": authorization}
    with app.app_context():
        world = prepared(tenants.a, set(World.KINDS))
        before = snapshot(tenants.a)
        for operation, call in every_call(app):
            response = send(client, operation, call, world, headers)
            assert_problem(response, 401, operation)
            assert response.headers["WWW-Authenticate"].startswith("Bearer"), operation
        db.session.remove()
        assert snapshot(tenants.a) == before


def test_a_browser_session_never_authenticates_the_api(app: Flask, tenants: Tenants) -> None:
    client = app.test_client()
    login(client, tenants.a_owner_email)
    assert client.get("/").status_code == 200  # logged in, on the dashboard
    with app.app_context():
        world = World(tenants.a)
        for operation, call in every_call(app):
            assert_problem(send(client, operation, call, world, {}), 401, operation)
        db.session.remove()


def test_a_key_revoked_on_the_api_page_is_refused_on_its_next_request(
    app: Flask, tenants: Tenants
) -> None:
    secret = make_api_key(app, tenants.a, name="Tienda online")
    api = app.test_client()
    assert api.get("/api/v1/organization", headers=bearer(secret)).status_code == 200
    with app.app_context():
        key_id = db.session.scalars(
            sa.select(ApiKey.id).where(ApiKey.secret_hash == hash_secret(secret))
        ).one()
        db.session.remove()

    browser = app.test_client()
    login(browser, tenants.a_owner_email)
    revoked = post_form(
        browser, f"/organizations/api/keys/{key_id}/revoke", {}, "/organizations/api"
    )
    assert revoked.status_code == 303, revoked.text[:300]

    with app.app_context():
        world = prepared(tenants.a, set(World.KINDS))
        before = snapshot(tenants.a)
        for operation, call in every_call(app):
            assert_problem(send(api, operation, call, world, bearer(secret)), 401, operation)
        db.session.remove()
        assert snapshot(tenants.a) == before


def test_every_refusal_here_is_problem_json_never_html(app: Flask, tenants: Tenants) -> None:
    """Unknown paths and methods under /api/v1 are problems too (404, 405)."""
    client = app.test_client()
    secret = make_api_key(app, tenants.a)
    assert_problem(client.get("/api/v1/nothing-here", headers=bearer(secret)), 404, "unknown path")
    response = client.delete("/api/v1/organization", headers=bearer(secret))
    assert_problem(response, 405, "DELETE /organization")
