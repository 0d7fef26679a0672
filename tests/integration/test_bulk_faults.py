"""Bulk authorization degrades, never dies: under the sandbox's faults, through an RQ worker on
real Redis, the job always finishes, every draft gets an outcome the page lists, one sequence's
failure leaves the others authorized, and the drafts not sent can simply be sent again."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from arca.sandbox import Fault, drop_after, drop_before, http_500
from blueprints.invoices.authorization import authorize_invoice
from blueprints.invoices.bulk import ROUNDS, BulkProgress, load_progress, start_bulk
from blueprints.invoices.models import Invoice, InvoiceStatus
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import db
from core.tasks import run_worker
from tests.integration.test_invoices import BOOK, COFFEE, certified, draft, point_id
from tests.tasks import run_until_settled
from tests.web import csrf_token, text_of


def drafts(organization_id: int, count: int, point: int = 1) -> list[int]:
    pos = point_id(organization_id, point)
    return [draft(organization_id, [COFFEE], point_of_sale_id=pos).id for _ in range(count)]


def bulk(organization_id: int, ids: list[int]) -> BulkProgress:
    """Queue the drafts as one bulk job, let a worker run the queue dry, return the progress
    (finished, or with drafts waiting for a retry)."""
    key = start_bulk(db.session, organization_id, ids)
    run_worker(burst=True)
    return load_progress(db.session, key, organization_id)


@pytest.fixture(autouse=True)
def _long_back_off(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    # The tests make each retry due themselves (`retried` → retry_now): a 5 s back-off that ran
    # out on a slow machine let the burst worker retry within its own run (seen in CI).
    monkeypatch.setitem(app.config, "TASKS_RETRY_SECONDS", 600)


def retried(key: str, organization_id: int) -> BulkProgress:
    """The job's progress once its waiting drafts were retried (their back-off made due)."""
    run_until_settled()
    return load_progress(db.session, key, organization_id)


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


def test_a_soap_fault_on_fecomptotxrequest_waits_and_retries_without_a_click(
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
    key = page.rsplit("/", 1)[-1]
    with app.app_context():
        run_worker(burst=True)
        progress = load_progress(db.session, key, organization_id)
        # Not a failure that ends the job: every draft waits for the retry, saying why.
        assert (progress.finished, progress.done, progress.total) == (False, 0, 4)
        assert progress.failure and "Error interno simulado" in progress.failure
        assert ids_of(progress.waiting) == ids and progress.retry_at
        assert not progress.rejected and not progress.not_sent and not progress.unsettled
        assert fecaesolicitar_calls(organization_id) == 0
        assert statuses(ids) == [InvoiceStatus.DRAFT] * 4
        invoice = db.session.get_one(Invoice, ids[0])
        assert invoice.number is None and "Error interno simulado" in str(invoice.errors)
    html = client.get(page).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in html and 'id="bulk-waiting"' in html
    assert "Sin confirmar" not in html and 'style="' not in html
    assert "Los reintentamos automáticamente a las" in text_of(client.get(page + "/status"))
    # The retry comes due: all authorized, numbered 1..4, with nobody clicking again.
    with app.app_context():
        done = retried(key, organization_id)
        assert (done.finished, done.authorized, done.failure, done.waiting) == (True, 4, None, [])
        assert statuses(ids) == [InvoiceStatus.AUTHORIZED] * 4
        assert sorted(db.session.get_one(Invoice, i).number or 0 for i in ids) == [1, 2, 3, 4]
        assert all(db.session.get_one(Invoice, i).errors == [] for i in ids)
    finished = text_of(client.get(page + "/status"))
    assert "Listo: 4 autorizados, 0 sin autorizar." in finished


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
def test_one_sequence_failing_leaves_the_others_authorized_and_goes_on_retry(
    app: Flask, faults: None, fault: Fault
) -> None:
    with app.app_context():
        organization_id = certified()
        first = drafts(organization_id, 3, point=1)  # sent first (lower ids)
        others = drafts(organization_id, 3, point=2)
        get_arca().sandbox().faults.add(fault)
        key = start_bulk(db.session, organization_id, first + others)
        run_worker(burst=True)
        progress = load_progress(db.session, key, organization_id)
        assert (progress.finished, progress.done, progress.total) == (False, 3, 6)
        assert progress.authorized == 3 and sorted(progress.authorized_ids) == others
        assert statuses(others) == [InvoiceStatus.AUTHORIZED] * 3
        assert ids_of(progress.waiting) == first and not progress.rejected
        assert not progress.not_sent
        assert statuses(first) == [InvoiceStatus.DRAFT] * 3
        for item in progress.waiting:
            invoice = db.session.get_one(Invoice, item["id"])
            assert invoice.number is None
            assert invoice.errors == [{"code": None, "text": item["reasons"][0]}]
        if fault.operation == "FECAESolicitar":
            assert progress.waiting[0]["reasons"] == ["ARCA no respondió."]
        # Retried: the first sequence goes through too, numbered from 1, with no new click.
        done = retried(key, organization_id)
        assert (done.finished, done.authorized, done.done) == (True, 6, 6)
        assert sorted(db.session.get_one(Invoice, i).number or 0 for i in first) == [1, 2, 3]


def test_drafts_behind_an_unsettled_voucher_wait_say_which_and_go_once_it_settles(
    app: Flask, cashier: tuple[FlaskClient, int], faults: None
) -> None:
    """A CAE granted and its answer lost, and FECompConsultar unreachable: that sequence's
    drafts wait, listed as waiting for that voucher; the other sequence is authorized. Once
    ARCA answers, the retry settles the voucher and sends them: nobody clicks again."""
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
        progress = load_progress(db.session, key, organization_id)
        assert (progress.finished, progress.done, progress.authorized) == (False, 2, 2)
        assert sorted(progress.authorized_ids) == others and not progress.not_sent
        assert ids_of(progress.waiting) == blocked
        assert [b["id"] for b in progress.waiting[0]["waiting_for"]] == [lost]
        assert progress.waiting[0]["waiting_for"][0]["name"].endswith("00001-00000001")
        assert statuses(blocked) == [InvoiceStatus.DRAFT] * 2
        assert "00001-00000001" in str(db.session.get_one(Invoice, blocked[0]).errors)
    page = text_of(client.get(f"/invoices/bulk/{key}"))
    assert "Esperan para enviarse" in page and "00001-00000001" in page
    assert "Listo:" not in page
    with app.app_context():
        sandbox.faults.clear()
        again = retried(key, organization_id)
        assert (again.finished, again.authorized, again.waiting) == (True, 4, [])
        assert db.session.get_one(Invoice, lost).status == InvoiceStatus.AUTHORIZED
        assert sorted(db.session.get_one(Invoice, i).number or 0 for i in blocked) == [2, 3]
    assert "Listo: 4 autorizados, 0 sin autorizar." in text_of(client.get(f"/invoices/bulk/{key}"))


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
        progress = load_progress(db.session, key, organization_id)
        assert (progress.finished, progress.done, progress.percent) == (True, 3, 100)
        assert sorted(progress.authorized_ids) == [ids[0], ids[2]]
        assert ids_of(progress.not_sent) == [ids[1]]
