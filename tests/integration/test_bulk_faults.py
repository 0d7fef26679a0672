"""Bulk authorization degrades, never dies: under the sandbox's faults, through an RQ worker on
real Redis, the job always finishes, every draft gets an outcome the page lists, one sequence's
failure leaves the others authorized, and the drafts not sent can simply be sent again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from arca.sandbox import Fault, drop_after, drop_before, http_500
from blueprints.invoices.authorization import authorize_invoice, reconcile_pending
from blueprints.invoices.bulk import ROUNDS, BulkProgress, load_progress, start_bulk
from blueprints.invoices.models import Invoice, InvoiceStatus
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import db
from core.jobs import run_worker
from tests.factories import add_member, make_user
from tests.integration.test_invoices import BOOK, COFFEE, certified, draft, point_id
from tests.web import csrf_token, login, text_of


@pytest.fixture
def faults(app: Flask) -> Iterator[None]:
    """Whatever a test leaves in the (process-wide) sandbox's fault book is cleared after it."""
    yield
    with app.app_context():
        get_arca().sandbox().faults.clear()


@pytest.fixture
def cashier(app: Flask) -> tuple[FlaskClient, int]:
    with app.app_context():
        organization_id = certified()
        user = make_user()
        add_member(db.session.get_one(Organization, organization_id), user, "member")
        email = user.email
    client = app.test_client()
    login(client, email)
    return client, organization_id


def drafts(organization_id: int, count: int, point: int = 1) -> list[int]:
    pos = point_id(organization_id, point)
    return [draft(organization_id, [COFFEE], point_of_sale_id=pos).id for _ in range(count)]


def bulk(organization_id: int, ids: list[int]) -> BulkProgress:
    """Queue the drafts as one bulk job, let a worker run the queue dry, return the outcome."""
    key = start_bulk(db.session, organization_id, ids)
    run_worker(burst=True)
    return load_progress(key, organization_id)


def statuses(ids: list[int]) -> list[InvoiceStatus]:
    db.session.expire_all()
    found = db.session.scalars(select(Invoice).where(Invoice.id.in_(ids)).order_by(Invoice.id))
    return [invoice.status for invoice in found]


def fecaesolicitar_calls(organization_id: int) -> int:
    cuit = db.session.get_one(Organization, organization_id).cuit
    requests = get_arca().sandbox().ledger.requests()
    return sum(1 for r in requests if r.operation == "FECAESolicitar" and r.cuit == cuit)


def ids_of(items: list[dict[str, object]]) -> list[object]:
    return sorted(item["id"] for item in items)


def test_a_soap_fault_on_fecomptotxrequest_finishes_the_job_and_the_drafts_go_next_time(
    app: Flask, cashier: tuple[FlaskClient, int], faults: None
) -> None:
    client, organization_id = cashier
    with app.app_context():
        ids = drafts(organization_id, 4)
        get_arca().sandbox().faults.add(http_500(operation="FECompTotXRequest"))
    token = csrf_token(client, "/invoices/?status=draft")
    response = client.post(
        "/invoices/bulk-authorize", data={"csrf_token": token, "invoice_id": [str(i) for i in ids]}
    )
    assert response.status_code == 303
    page = response.headers["Location"]
    with app.app_context():
        run_worker(burst=True)
        progress = load_progress(page.rsplit("/", 1)[-1], organization_id)
        assert (progress.finished, progress.done, progress.total, progress.percent) == (
            True,
            4,
            4,
            100,
        )
        assert progress.failure and "Error interno simulado" in progress.failure
        assert ids_of(progress.not_sent) == ids and progress.authorized == 0
        assert not progress.rejected and not progress.waiting and not progress.unsettled
        # Nothing reached FECAESolicitar: the drafts are as they were, saying why.
        assert fecaesolicitar_calls(organization_id) == 0
        assert statuses(ids) == [InvoiceStatus.DRAFT] * 4
        invoice = db.session.get_one(Invoice, ids[0])
        assert invoice.number is None and "Error interno simulado" in str(invoice.errors)
    html = client.get(page).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' not in html and 'id="bulk-not-sent"' in html
    assert "Sin confirmar" not in html and 'style="' not in html
    done = text_of(client.get(page + "/status"))
    assert "Listo: 0 autorizados, 4 sin autorizar." in done
    assert "Sin enviar: podés volver a enviarlos" in done
    # The same drafts, sent again once ARCA answers: all authorized, numbered 1..4.
    with app.app_context():
        again = bulk(organization_id, ids)
        assert (again.finished, again.authorized, again.failure, again.not_sent) == (
            True,
            4,
            None,
            [],
        )
        assert statuses(ids) == [InvoiceStatus.AUTHORIZED] * 4
        assert sorted(db.session.get_one(Invoice, i).number or 0 for i in ids) == [1, 2, 3, 4]
        assert all(db.session.get_one(Invoice, i).errors == [] for i in ids)


@pytest.mark.parametrize(
    "fault",
    [
        # A lost answer, every round: settled as "never received" each time, never resent blind.
        http_500(operation="FECAESolicitar", count=ROUNDS),
        # Raised before sending (the case that used to end the whole job).
        http_500(operation="FECompUltimoAutorizado"),
        drop_before(operation="FECompUltimoAutorizado"),
    ],
    ids=["FECAESolicitar", "FECompUltimoAutorizado-500", "FECompUltimoAutorizado-dropped"],
)
def test_one_sequence_failing_leaves_the_others_authorized(
    app: Flask, faults: None, fault: Fault
) -> None:
    with app.app_context():
        organization_id = certified()
        first = drafts(organization_id, 3, point=1)  # sent first (lower ids)
        others = drafts(organization_id, 3, point=2)
        get_arca().sandbox().faults.add(fault)
        progress = bulk(organization_id, first + others)
        assert (progress.finished, progress.done, progress.total) == (True, 6, 6)
        assert progress.failure is None and progress.authorized == 3
        assert sorted(progress.authorized_ids) == others
        assert statuses(others) == [InvoiceStatus.AUTHORIZED] * 3
        assert ids_of(progress.not_sent) == first and not progress.rejected
        assert statuses(first) == [InvoiceStatus.DRAFT] * 3
        for item in progress.not_sent:
            invoice = db.session.get_one(Invoice, item["id"])
            assert invoice.number is None
            assert invoice.errors == [{"code": None, "text": item["reasons"][0]}]
        if fault.operation == "FECAESolicitar":
            assert progress.not_sent[0]["reasons"] == ["ARCA no respondió: probá de nuevo."]
        # Sent again: the first sequence goes through too, numbered from 1.
        again = bulk(organization_id, first)
        assert (again.finished, again.authorized) == (True, 3)
        assert sorted(db.session.get_one(Invoice, i).number or 0 for i in first) == [1, 2, 3]


def test_drafts_behind_an_unsettled_voucher_wait_and_say_which(
    app: Flask, cashier: tuple[FlaskClient, int], faults: None
) -> None:
    """A CAE granted and its answer lost, and FECompConsultar unreachable: that sequence's
    drafts are not sent, listed as waiting for that voucher; the other sequence is authorized.
    Once ARCA answers and the voucher is settled, the same drafts go through."""
    client, organization_id = cashier
    with app.app_context():
        sandbox = get_arca().sandbox()
        lost = draft(organization_id, [BOOK]).id
        blocked, others = drafts(organization_id, 2, point=1), drafts(organization_id, 2, point=2)
        sandbox.faults.add(drop_after())
        sandbox.faults.add(drop_before(operation="FECompConsultar", count=None))
        assert authorize_invoice(db.session, lost, get_arca()).status == InvoiceStatus.UNKNOWN
        key = start_bulk(db.session, organization_id, blocked + others)
        run_worker(burst=True)
        progress = load_progress(key, organization_id)
        assert (progress.finished, progress.done, progress.authorized) == (True, 4, 2)
        assert sorted(progress.authorized_ids) == others and not progress.not_sent
        assert ids_of(progress.waiting) == blocked
        assert [b["id"] for b in progress.waiting[0]["waiting_for"]] == [lost]
        assert progress.waiting[0]["waiting_for"][0]["name"].endswith("00001-00000001")
        assert statuses(blocked) == [InvoiceStatus.DRAFT] * 2
        assert "00001-00000001" in str(db.session.get_one(Invoice, blocked[0]).errors)
    page = text_of(client.get(f"/invoices/bulk/{key}"))
    assert "esperan que ARCA confirme otro comprobante" in page and "00001-00000001" in page
    assert "Listo: 2 autorizados, 2 sin autorizar." in page
    with app.app_context():
        sandbox.faults.clear()
        assert reconcile_pending(db.session, organization_id, get_arca()) == 1
        again = bulk(organization_id, blocked)
        assert (again.finished, again.authorized, again.waiting) == (True, 2, [])
        assert sorted(db.session.get_one(Invoice, i).number or 0 for i in blocked) == [2, 3]


def test_a_draft_gone_before_the_worker_runs_still_gets_an_outcome(
    app: Flask, faults: None
) -> None:
    with app.app_context():
        organization_id = certified()
        ids = drafts(organization_id, 3)
        key = start_bulk(db.session, organization_id, ids)
        db.session.delete(db.session.get_one(Invoice, ids[1]))
        db.session.commit()
        run_worker(burst=True)
        progress = load_progress(key, organization_id)
        assert (progress.finished, progress.done, progress.percent) == (True, 3, 100)
        assert sorted(progress.authorized_ids) == [ids[0], ids[2]]
        assert ids_of(progress.not_sent) == [ids[1]]
