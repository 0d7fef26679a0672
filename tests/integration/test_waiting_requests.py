"""A single authorization that must wait waits: retried with back-off, the panel saying what it
waits for and when, until ARCA authorizes it, with nobody clicking again. Editing the draft
withdraws the request; too many attempts end it with a message."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from arca.sandbox import drop_after, drop_before, http_500
from blueprints.invoices.authorization import authorize_invoice
from blueprints.invoices.jobs import is_queued
from blueprints.invoices.models import Invoice, InvoiceStatus, authorization_key
from core.arca import get_arca
from core.db import db
from core.tasks import Task, TaskStatus, run_worker
from tests.integration.test_invoices import BOOK, COFFEE, draft
from tests.integration.test_notes_stay_notes import editor_form
from tests.tasks import retry_now, run_until_settled
from tests.web import csrf_token, htmx_headers, text_of


def ask(client: FlaskClient, invoice_id: int) -> None:
    """The review's "Autorizar en ARCA", as a person presses it."""
    review = client.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    reviewed = re.search(r'name="reviewed" value="([^"]+)"', review)
    assert reviewed, review
    token = csrf_token(client, f"/invoices/{invoice_id}")
    sent = client.post(
        f"/invoices/{invoice_id}/authorize",
        data={"csrf_token": token, "reviewed": reviewed.group(1)},
    )
    assert sent.status_code == 303


def asked_while_arca_fails(
    app: Flask, client: FlaskClient, organization_id: int, failures: int | None
) -> int:
    """A draft asked for while FECAESolicitar fails `failures` times (None: for ever), after
    the worker's first try; its id."""
    with app.app_context():
        invoice_id = draft(organization_id, [COFFEE]).id
        get_arca().sandbox().faults.add(http_500(operation="FECAESolicitar", count=failures))
    ask(client, invoice_id)
    with app.app_context():
        run_worker(burst=True)
    return invoice_id


def request_of(invoice_id: int) -> Task:
    task = db.session.scalars(
        select(Task).where(Task.key == authorization_key(invoice_id)).order_by(Task.id.desc())
    ).first()
    assert task is not None
    return task


def test_behind_an_unsettled_voucher_it_waits_says_which_and_goes_through(
    app: Flask, cashier: tuple[FlaskClient, int], faults: None
) -> None:
    client, organization_id = cashier
    with app.app_context():
        sandbox = get_arca().sandbox()
        lost = draft(organization_id, [BOOK]).id
        waiting = draft(organization_id, [COFFEE]).id
        sandbox.faults.add(drop_after())
        sandbox.faults.add(drop_before(operation="FECompConsultar", count=None))
        assert authorize_invoice(db.session, lost, get_arca()).status == InvoiceStatus.UNKNOWN
    ask(client, waiting)
    with app.app_context():
        run_worker(burst=True)
        invoice = db.session.get_one(Invoice, waiting)
        assert (invoice.status, invoice.number) == (InvoiceStatus.DRAFT, None)
        assert is_queued(db.session, waiting)  # still asked for: it waits, it did not fail
        texts = [message["text"] for message in invoice.errors]
        assert "Factura B 00001-00000001" in texts[0]
        assert "Lo reintentamos automáticamente a las" in texts[1]
    panel = client.get(f"/invoices/{waiting}/status?waiting=1", headers={"HX-Request": "true"})
    html = panel.get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in html and "En cola" in html
    assert "00001-00000001" in text_of(panel) and "HX-Refresh" not in panel.headers
    # ARCA answers again: the retry settles the lost voucher, then sends this one.
    with app.app_context():
        sandbox.faults.clear()
        run_until_settled()
        assert db.session.get_one(Invoice, lost).status == InvoiceStatus.AUTHORIZED
        invoice = db.session.get_one(Invoice, waiting)
        assert (invoice.status, invoice.number, invoice.errors) == (
            InvoiceStatus.AUTHORIZED,
            2,
            [],
        )
        assert request_of(waiting).status == TaskStatus.DONE
    page = text_of(client.get(f"/invoices/{waiting}"))
    assert "Autorizado" in page and "00001-00000002" in page


def test_arca_down_it_is_retried_until_arca_answers(
    app: Flask, cashier: tuple[FlaskClient, int], faults: None
) -> None:
    client, organization_id = cashier
    invoice_id = asked_while_arca_fails(app, client, organization_id, 3)
    with app.app_context():
        invoice = db.session.get_one(Invoice, invoice_id)
        assert invoice.status == InvoiceStatus.DRAFT and invoice.number is None
        assert "Lo reintentamos automáticamente" in str(invoice.errors)
        assert request_of(invoice_id).attempts == 1
        assert run_until_settled() == 4  # three faulted attempts, then the CAE
        invoice = db.session.get_one(Invoice, invoice_id)
        assert (invoice.status, invoice.number) == (InvoiceStatus.AUTHORIZED, 1)
        task = request_of(invoice_id)
        assert (task.status, task.attempts) == (TaskStatus.DONE, 4)


def test_editing_the_draft_withdraws_its_waiting_request(
    app: Flask, cashier: tuple[FlaskClient, int], faults: None
) -> None:
    client, organization_id = cashier
    invoice_id = asked_while_arca_fails(app, client, organization_id, None)
    with app.app_context():
        assert is_queued(db.session, invoice_id)
    # A person changes a quantity: the editor autosaves.
    form = editor_form(client, f"/invoices/{invoice_id}/edit")
    form["lines-0-quantity"] = "3"
    autosaved = client.post(
        f"/invoices/{invoice_id}/autosave", data=form, headers=htmx_headers(form["csrf_token"])
    )
    assert "Guardado" in text_of(autosaved), text_of(autosaved)
    with app.app_context():
        assert not is_queued(db.session, invoice_id)
        assert request_of(invoice_id).status == TaskStatus.CANCELLED
        retry_now()
        run_worker(burst=True)
        invoice = db.session.get_one(Invoice, invoice_id)
        assert invoice.status == InvoiceStatus.DRAFT and invoice.attempts[-1].number == 1
        assert len(invoice.attempts) == 1  # nothing sent after the edit


def test_too_many_attempts_end_the_request_with_a_message(
    app: Flask, cashier: tuple[FlaskClient, int], faults: None
) -> None:
    client, organization_id = cashier
    app.config["TASKS_MAX_ATTEMPTS"] = 2
    try:
        invoice_id = asked_while_arca_fails(app, client, organization_id, None)
        with app.app_context():
            retry_now()
            run_worker(burst=True)
            task = request_of(invoice_id)
            assert (task.status, task.attempts) == (TaskStatus.FAILED, 2)
            invoice = db.session.get_one(Invoice, invoice_id)
            assert invoice.status == InvoiceStatus.DRAFT
            assert "después de varios intentos" in str(invoice.errors)
    finally:
        app.config["TASKS_MAX_ATTEMPTS"] = 50
    panel = text_of(client.get(f"/invoices/{invoice_id}"))
    assert "después de varios intentos" in panel and "Autorizar en ARCA" in panel
