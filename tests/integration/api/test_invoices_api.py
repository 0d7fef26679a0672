"""Invoices over the API, through the real HTTP stack on PostgreSQL and Redis with the sandbox
speaking SOAP: the whole loop per voucher class ends with a CAE in ARCA's ledger; drafts are
checked by the editor's rules; notes stay notes; another organization's ids are 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from arca.codes import IssuerCondition
from arca.sandbox import http_500
from blueprints.customers.models import Customer
from blueprints.invoices.models import Invoice
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import db
from core.tasks import run_worker
from tests.api import HttpClient, bearer, make_api_key
from tests.integration.test_invoices import certified
from tests.tasks import run_until_settled

RI_CUIT = "30-70000000-8"
SHOP = {
    "point_of_sale": 1,
    "prices_include_vat": True,
    "lines": [
        {"description": "Café en grano 1 kg", "quantity": "2", "unit_price": "12100.00"},
        {"description": "Libro", "quantity": 1, "unit_price": "22100", "vat": 4},
    ],
}
RI_CUSTOMER = {
    "document_type": 80,
    "document_number": RI_CUIT,
    "legal_name": "Distribuidora Norte SA",
    "iva_condition": 1,
}


class Api:
    """A test client speaking to /api/v1 with one organization's key."""

    def __init__(
        self,
        app: Flask,
        organization_id: int,
        scopes: list[str] | None = None,
        served: str | None = None,
    ):
        self.app = app
        self.organization_id = organization_id
        secret = make_api_key(app, organization_id, *([scopes] if scopes else []))
        self.headers = bearer(secret)
        # Over a real HTTP server when given one (the whole loops), else the WSGI test client.
        self.client: FlaskClient | HttpClient = HttpClient(served) if served else app.test_client()

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers, **kwargs)

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.client.post(f"/api/v1{path}", json=body, headers={**self.headers, **headers})

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(f"/api/v1{path}", json=body, headers=self.headers)

    def create(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.post("/invoices", body or SHOP)
        assert response.status_code == 201, response.text
        return dict(response.get_json())

    def authorize(self, invoice_id: int) -> dict[str, Any]:
        """Authorize through the API and a worker; the invoice once authorized."""
        key = {"Idempotency-Key": f"authorize-{invoice_id}"}
        sent = self.post(f"/invoices/{invoice_id}/authorize", {}, **key)
        assert sent.status_code == 202, sent.text
        assert sent.headers["Location"] == f"/api/v1/invoices/{invoice_id}/status"
        assert int(sent.headers["Retry-After"]) >= 1
        pending = self.get(f"/invoices/{invoice_id}/status").get_json()
        assert pending["queued"] and not pending["settled"] and pending["retry_after"] == 1
        with self.app.app_context():
            run_worker(burst=True)
        status = self.get(f"/invoices/{invoice_id}/status")
        assert status.get_json()["settled"] and status.get_json()["retry_after"] is None
        done = self.get(f"/invoices/{invoice_id}").get_json()
        assert done["status"] == "authorized", done
        return dict(done)

    def cuit(self) -> str:
        with self.app.app_context():
            return db.session.get_one(Organization, self.organization_id).cuit


def api_for(
    app: Flask,
    condition: IssuerCondition = IssuerCondition.RESPONSABLE_INSCRIPTO,
    served: str | None = None,
) -> Api:
    with app.app_context():
        organization_id = certified(condition)
    return Api(app, organization_id, served=served)


def in_ledger(app: Flask, cuit: str, invoice: dict[str, Any]) -> str | None:
    """The CAE ARCA's ledger (the sandbox's) holds for that voucher."""
    with app.app_context():
        stored = (
            get_arca()
            .sandbox()
            .ledger.find_voucher(
                cuit, invoice["point_of_sale"], invoice["type"]["code"], invoice["number"]
            )
        )
    return stored.cae if stored else None


def errors_of(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    assert response.content_type == "application/problem+json"
    return {error["field"]: error["message"] for error in response.get_json()["errors"]}


@pytest.mark.parametrize(
    ("condition", "receiver", "type_code", "letter"),
    [
        pytest.param(
            IssuerCondition.RESPONSABLE_INSCRIPTO, {"customer": RI_CUSTOMER}, 1, "A", id="A"
        ),
        pytest.param(IssuerCondition.RESPONSABLE_INSCRIPTO, {}, 6, "B", id="B"),
        pytest.param(IssuerCondition.MONOTRIBUTO, {}, 11, "C", id="C"),
    ],
)
def test_the_whole_loop_ends_with_a_cae_in_arcas_ledger(
    app: Flask,
    served: str,
    condition: IssuerCondition,
    receiver: dict[str, Any],
    type_code: int,
    letter: str,
) -> None:
    api = api_for(app, condition, served)
    response = api.post("/invoices", {**SHOP, **receiver})
    assert response.status_code == 201, response.text
    draft = response.get_json()
    assert response.headers["Location"] == f"/api/v1/invoices/{draft['id']}"
    assert draft["type"]["code"] == type_code and draft["letter"] == letter
    assert draft["status"] == "draft" and draft["number"] is None and draft["cae"] is None
    assert draft["totals"]["total"] == "46300.00"  # prices with VAT: 24.200 + 22.100
    assert [line["quantity"] for line in draft["lines"]] == ["2", "1"]
    assert draft["links"]["pdf"] == f"/api/v1/invoices/{draft['id']}/pdf"
    if receiver:
        assert draft["receiver"]["document_number"] == "30700000008"
        assert draft["receiver"]["iva_condition"]["code"] == 1

    preflight = api.post(f"/invoices/{draft['id']}/preflight").get_json()
    assert preflight == {
        "ok": True,
        "problems": [],
        "warnings": [],  # nothing looked up in ARCA's padrón: nothing to compare
        "type": draft["type"],
        "totals": draft["totals"],
        # ARCA's wsfecred asked about the CUIT: not a large company (no FCE MiPyME).
        "fce": {"required": False, "threshold": None, "chosen": False} if receiver else None,
    }
    done = api.authorize(draft["id"])
    assert done["number"] == 1 and len(done["cae"]) == 14
    assert dt.date.fromisoformat(done["cae_due"]) > dt.date.fromisoformat(done["issue_date"])
    assert in_ledger(app, api.cuit(), done) == done["cae"]

    pdf = api.get(f"/invoices/{draft['id']}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")


def test_a_credit_note_over_the_api_ends_with_its_cae(app: Flask, served: str) -> None:
    api = api_for(app, served=served)
    invoice = api.authorize(api.create({**SHOP, "customer": RI_CUSTOMER})["id"])
    response = api.client.post(
        f"/api/v1/invoices/{invoice['id']}/credit-notes", headers=api.headers
    )  # no body at all: the invoice's lines
    assert response.status_code == 201, response.text
    note = response.get_json()
    assert (note["kind"], note["type"]["code"], note["status"]) == ("credit_note", 3, "draft")
    assert note["associated_invoice"] == {
        "id": invoice["id"],
        "type": invoice["type"],
        "point_of_sale": 1,
        "number": 1,
    }
    assert note["totals"] == invoice["totals"] and note["receiver"] == invoice["receiver"]
    note = api.authorize(note["id"])
    assert in_ledger(app, api.cuit(), note) == note["cae"]
    # A body that is not JSON is refused, never read as "no body" (the whole invoice again).
    for garbled in (b"\x00", b"{lines", b"null"):
        unreadable = api.client.post(
            f"/api/v1/invoices/{invoice['id']}/debit-notes",
            data=garbled,
            headers={**api.headers, "Content-Type": "application/json"},
        )
        assert errors_of(unreadable) == {
            "body": "El cuerpo no es JSON válido (Content-Type: application/json)."
        }
    # Fully credited: no second credit note; a debit note with lines of its own still goes.
    refused = api.post(f"/invoices/{invoice['id']}/credit-notes", {})
    assert refused.status_code == 409 and "acreditado" in refused.get_json()["detail"]
    line = {"description": "Flete", "quantity": "1", "unit_price": "1500.50"}
    debit = api.post(f"/invoices/{invoice['id']}/debit-notes", {"lines": [line]})
    assert debit.status_code == 201, debit.text
    assert debit.get_json()["type"]["code"] == 2
    assert debit.get_json()["lines"][0]["unit_price"] == "1500.5000"


def test_a_draft_is_checked_by_the_editors_rules_and_problems_name_their_fields(
    app: Flask,
) -> None:
    api = api_for(app)

    def line(**fields: Any) -> dict[str, Any]:
        return {"description": "Café", "quantity": "1", "unit_price": "100", **fields}

    shape = errors_of(
        api.post(
            "/invoices",
            {"point_of_sale": 1, "lines": [line(quantity="1.5.5"), line(unit_price=12.5)]},
        )
    )
    assert set(shape) == {"lines.0.quantity", "lines.1.unit_price"}
    assert "1.5.5" in shape["lines.0.quantity"]
    rules = errors_of(
        api.post(
            "/invoices",
            {
                "point_of_sale": 77,
                "currency": "XXX",
                "lines": [
                    line(quantity="0"),
                    line(quantity="1.1234567", unit_price="1.12345"),
                    line(discount_percent="150", vat=99),
                    line(description="x" * 301),
                ],
            },
        )
    )
    assert rules == {
        "lines.0.quantity": "La cantidad no puede ser 0.",
        "lines.1.quantity": "La cantidad admite hasta 6 decimales.",
        "lines.1.unit_price": "El precio admite hasta 4 decimales.",
        "lines.2.discount_percent": "La bonificación va de 0 a 100 %.",
        "lines.2.vat": "Elegí una alícuota de IVA de la lista.",
        "lines.3.description": "La descripción admite hasta 300 caracteres.",
        "point_of_sale": "Elegí un punto de venta.",
        "currency": "Elegí una moneda de la lista.",
    }
    english = api.client.post(
        "/api/v1/invoices",
        json={"point_of_sale": 1, "lines": [line(quantity="0")]},
        headers={**api.headers, "Accept-Language": "en"},
    )
    assert errors_of(english) == {"lines.0.quantity": "The quantity cannot be 0."}
    # The service's own checks (a return larger than the sale) and the customer's.
    assert errors_of(
        api.post("/invoices", {"point_of_sale": 1, "lines": [line(quantity="-1")]})
    ) == {
        "lines": "El total tiene que ser mayor que cero; para devolver, emití una nota de crédito."
    }
    customer = errors_of(
        api.post(
            "/invoices",
            {**SHOP, "customer": {"document_type": 80, "document_number": "30-70000000-1"}},
        )
    )
    assert set(customer) >= {"customer.document_number", "customer.legal_name"}
    both = errors_of(api.post("/invoices", {**SHOP, "point_of_sale_id": 1}))
    assert both == {"": "Enviá point_of_sale o point_of_sale_id, no los dos."}
    with app.app_context():
        assert db.session.scalar(select(func.count(Invoice.id))) == 0
        assert db.session.scalar(select(func.count(Customer.id))) == 0


def test_a_customer_by_document_is_found_or_created_once(app: Flask) -> None:
    api = api_for(app)
    first = api.create({**SHOP, "customer": RI_CUSTOMER})
    # Known by its document: the rest of the customer is not needed.
    again = api.create(
        {**SHOP, "customer": {"document_type": 80, "document_number": "30700000008"}}
    )
    assert first["receiver"]["customer_id"] == again["receiver"]["customer_id"] is not None
    anonymous = api.create({**SHOP, "customer": {"document_type": 99, "document_number": "0"}})
    assert anonymous["receiver"]["customer_id"] is None
    assert anonymous["receiver"]["name"] == "Consumidor final"
    with app.app_context():
        assert db.session.scalar(select(func.count(Customer.id))) == 1


def test_a_draft_is_updated_but_a_note_keeps_its_kind_and_authorized_ones_stay(
    app: Flask,
) -> None:
    api = api_for(app)
    draft = api.create()
    path = f"/invoices/{draft['id']}"
    changed = api.patch(
        path,
        {
            "customer": RI_CUSTOMER,
            "prices_include_vat": False,
            "lines": [{"description": "Servicio", "quantity": "3", "unit_price": "1000"}],
            "notes": "Entrega en depósito",
        },
    )
    assert changed.status_code == 200, changed.text
    body = changed.get_json()
    assert (body["type"]["code"], body["totals"]["net"], body["totals"]["total"]) == (
        1,
        "3000.00",
        "3630.00",
    )
    assert body["notes"] == "Entrega en depósito" and body["issue_date"] == draft["issue_date"]
    assert api.patch(path, {"notes": None}).get_json()["notes"] is None
    assert errors_of(
        api.patch(path, {"lines": [{"description": "x", "quantity": "a", "unit_price": "1"}]})
    )

    invoice = api.authorize(draft["id"])
    refused = api.patch(path, {"notes": "otra"})
    assert refused.status_code == 409, refused.text
    assert api.post(f"{path}/preflight").status_code == 409
    note = api.post(f"{path}/credit-notes", {}).get_json()
    for change in ({"kind": "invoice"}, {"kind": "debit_note"}, {"associated_invoice_id": 99}):
        kept = api.patch(f"/invoices/{note['id']}", change)
        assert kept.status_code == 409, kept.text
        assert "no cambia de tipo" in kept.get_json()["detail"]
    assert api.get(f"/invoices/{note['id']}").get_json()["type"]["code"] == 3
    # Authorizing again answers the invoice as it is: never a second voucher.
    again = api.post(f"{path}/authorize", {})
    assert again.status_code == 200 and again.get_json()["cae"] == invoice["cae"]


def test_authorize_refuses_what_arca_would_with_its_codes_and_sends_nothing(app: Flask) -> None:
    api = api_for(app)
    old = (dt.date.today() - dt.timedelta(days=40)).isoformat()
    draft = api.create({**SHOP, "issue_date": old})
    preflight = api.post(f"/invoices/{draft['id']}/preflight").get_json()
    assert not preflight["ok"] and preflight["problems"][0]["field"] == "issue_date"
    refused = api.post(f"/invoices/{draft['id']}/authorize", {})
    problems = errors_of(refused)
    assert "issue_date" in problems
    assert [e.get("code") for e in refused.get_json()["errors"]] == [
        p["code"] for p in preflight["problems"]
    ]
    with app.app_context():
        log = get_arca().sandbox().ledger.requests()
    assert not [r for r in log if r.operation == "FECAESolicitar" and r.cuit == api.cuit()]
    assert api.get(f"/invoices/{draft['id']}/status").get_json()["status"] == "draft"


def test_the_list_filters_and_pages_with_a_stable_cursor(app: Flask) -> None:
    api = api_for(app)
    today = dt.date.today()
    ids = []
    for back, price in ((0, "100"), (1, "200"), (1, "300"), (3, "400"), (3, "500")):
        day = (today - dt.timedelta(days=back)).isoformat()
        lines = [{"description": f"Item {price}", "quantity": "1", "unit_price": price}]
        ids.append(api.create({"point_of_sale": 1, "issue_date": day, "lines": lines})["id"])
    seen: list[int] = []
    cursor: str | None = None
    while True:
        page = api.get(
            "/invoices", query_string={"limit": 2, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200, page.text
        body = page.get_json()
        seen += [invoice["id"] for invoice in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [ids[0], ids[2], ids[1], ids[4], ids[3]]  # newest first, then by id

    def found(**query: Any) -> list[int]:
        response = api.get("/invoices", query_string=query)
        assert response.status_code == 200, response.text
        return [invoice["id"] for invoice in response.get_json()["data"]]

    yesterday = (today - dt.timedelta(days=1)).isoformat()
    assert found(date_from=yesterday, date_to=yesterday) == [ids[2], ids[1]]
    # Totals with VAT: 121, 242, 363, 484, 605.
    assert found(amount_min="242.01", amount_max="484") == [ids[2], ids[3]]
    assert found(status="draft", type=6, point_of_sale=1, limit=1) == [ids[0]]
    assert found(status="authorized") == []
    assert found(q="Consumidor") == seen
    assert set(errors_of(api.get("/invoices?cursor=bm9wZQ"))) == {"cursor"}
    assert set(errors_of(api.get("/invoices?status=paid&limit=500"))) == {"status", "limit"}
    # A page's lines, VAT rows and originals come in a few statements, not a few per invoice.
    with app.app_context():
        sent: list[str] = []
        listen = event.listens_for(db.engine, "before_cursor_execute")
        counter = listen(lambda _c, _cur, statement, *_rest: sent.append(statement))
        try:
            assert len(api.get("/invoices", query_string={"limit": 5}).get_json()["data"]) == 5
            few = len(sent)
            for _ in range(5):
                api.create()
            sent.clear()
            assert len(api.get("/invoices", query_string={"limit": 10}).get_json()["data"]) == 10
        finally:
            event.remove(db.engine, "before_cursor_execute", counter)
    assert len(sent) == few, sent


def test_bulk_authorization_is_a_job_with_progress(app: Flask) -> None:
    api = api_for(app)
    ready = [api.create()["id"] for _ in range(3)]
    old = (dt.date.today() - dt.timedelta(days=40)).isoformat()
    stale = api.create({**SHOP, "issue_date": old})["id"]
    response = api.post("/invoice-batches", {"invoice_ids": [*ready, stale, 999999]})
    assert response.status_code == 202, response.text
    batch = response.get_json()
    assert response.headers["Location"] == f"/api/v1/invoice-batches/{batch['key']}"
    assert (batch["total"], batch["finished"]) == (3, False)
    assert [s["id"] for s in batch["skipped"]] == [stale] and batch["skipped"][0]["problems"]
    with app.app_context():
        run_worker(burst=True)
    done = api.get(f"/invoice-batches/{batch['key']}").get_json()
    assert (done["finished"], done["authorized"], done["percent"], done["rejected"]) == (
        True,
        3,
        100,
        [],
    )
    numbers = sorted(api.get(f"/invoices/{i}").get_json()["number"] for i in ready)
    assert numbers == [1, 2, 3]
    nothing = api.post("/invoice-batches", {"invoice_ids": [stale + 1000]})
    assert nothing.status_code == 422


def test_a_batch_arca_failed_says_per_draft_it_waits_then_authorizes_them(app: Flask) -> None:
    api = api_for(app)
    ready = [api.create()["id"] for _ in range(2)]
    with app.app_context():
        get_arca().sandbox().faults.add(http_500(operation="FECompTotXRequest"))
    try:
        batch = api.post("/invoice-batches", {"invoice_ids": ready}).get_json()
        with app.app_context():
            run_worker(burst=True)
    finally:
        with app.app_context():
            get_arca().sandbox().faults.clear()
    waiting = api.get(f"/invoice-batches/{batch['key']}")
    body = waiting.get_json()
    assert (body["finished"], body["authorized"], body["done"]) == (False, 0, 0)
    assert "Retry-After" in waiting.headers and body["retry_at"]
    assert [item["id"] for item in body["waiting"]] == ready
    assert all(item["reasons"] and item["waiting_for"] == [] for item in body["waiting"])
    assert body["rejected"] == body["not_sent"] == body["unsettled"] == []
    with app.app_context():
        run_until_settled()
    done = api.get(f"/invoice-batches/{batch['key']}").get_json()
    assert (done["finished"], done["authorized"], done["percent"]) == (True, 2, 100)
    assert done["waiting"] == [] and done["retry_at"] is None


def test_another_organizations_invoices_are_404_on_every_operation(app: Flask) -> None:
    ours, theirs = api_for(app), api_for(app)
    invoice = theirs.authorize(theirs.create()["id"])["id"]
    draft = theirs.create()["id"]
    batch = theirs.post("/invoice-batches", {"invoice_ids": [draft]}).get_json()["key"]
    calls = [
        ("get", f"/invoices/{invoice}", None),
        ("patch", f"/invoices/{draft}", {"notes": "x"}),
        ("post", f"/invoices/{draft}/preflight", None),
        ("post", f"/invoices/{draft}/authorize", {}),
        ("get", f"/invoices/{invoice}/status", None),
        ("post", f"/invoices/{invoice}/credit-notes", {}),
        ("post", f"/invoices/{invoice}/debit-notes", {}),
        ("get", f"/invoices/{invoice}/pdf", None),
        ("get", f"/invoice-batches/{batch}", None),
    ]
    for method, path, body in calls:
        if method == "get":
            response = ours.get(path)
        elif method == "patch":
            response = ours.patch(path, body)
        else:
            response = ours.post(path, body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.content_type == "application/problem+json"
    assert ours.get("/invoices").get_json()["data"] == []
    assert ours.post("/invoice-batches", {"invoice_ids": [draft]}).status_code == 422
    with app.app_context():
        mine = db.session.scalar(
            select(func.count(Invoice.id)).where(Invoice.organization_id == ours.organization_id)
        )
        assert mine == 0  # no note was made of their invoice


def test_each_operation_needs_its_scope(app: Flask) -> None:
    with app.app_context():
        organization_id = certified()
    writer = Api(app, organization_id, ["invoices:read", "invoices:write"])
    reader = Api(app, organization_id, ["invoices:read"])
    draft = writer.create()["id"]
    assert reader.get(f"/invoices/{draft}").status_code == 200
    for response in (
        reader.post("/invoices", SHOP),
        reader.patch(f"/invoices/{draft}", {"notes": "x"}),
        reader.post(f"/invoices/{draft}/credit-notes", {}),
        writer.post(f"/invoices/{draft}/authorize", {}),
        writer.post("/invoice-batches", {"invoice_ids": [draft]}),
        Api(app, organization_id, ["customers:read"]).get(f"/invoices/{draft}"),
    ):
        assert response.status_code == 403, response.text
        assert response.content_type == "application/problem+json"
