"""Credit and debit notes in Chromium, as a person issues them: from the authorized invoice's
page, through the editor (a changed line, the autosave, the save), the review and the
authorization. ARCA's ledger must hold a note of the right type pointing at the invoice."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from arca.codes import IssuerCondition
from blueprints.invoices.models import Invoice
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import db
from core.tasks import run_worker
from tests.factories import PASSWORD, add_member, make_user
from tests.integration.test_invoices import COFFEE, authorize, certified, customer, draft

CASES = [
    pytest.param(
        IssuerCondition.RESPONSABLE_INSCRIPTO, True, "Emitir nota de crédito", 3, id="NC-A"
    ),
    pytest.param(
        IssuerCondition.RESPONSABLE_INSCRIPTO, False, "Emitir nota de crédito", 8, id="NC-B"
    ),
    pytest.param(IssuerCondition.MONOTRIBUTO, False, "Emitir nota de crédito", 13, id="NC-C"),
    pytest.param(IssuerCondition.RESPONSABLE_INSCRIPTO, True, "Nota de débito", 2, id="ND-A"),
]


def authorized_invoice(
    live_app: Flask, condition: IssuerCondition, registered: bool, email: str
) -> tuple[int, str]:
    """An organization (certified in the sandbox) with one authorized invoice; a member with
    `email` may sign in. Returns the invoice's id and the organization's CUIT."""
    with live_app.app_context():
        organization_id = certified(condition)
        organization = db.session.get_one(Organization, organization_id)
        add_member(organization, make_user(email=email), "member")
        customer_id = (
            customer(organization_id, "20-11111111-2", "1", "Cliente RI SA") if registered else None
        )
        invoice = authorize(draft(organization_id, [COFFEE], customer_id=customer_id).id)
        return invoice.id, organization.cuit


def log_in(page: Page, email: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Ingresar").click()
    expect(page.get_by_role("button", name="Salir")).to_be_visible()


def count_kinds(live_app: Flask, cuit: str) -> dict[str, int]:
    """How many vouchers of each kind the organization has."""
    with live_app.app_context():
        rows = db.session.execute(
            select(Invoice.kind, func.count())
            .join(Organization, Organization.id == Invoice.organization_id)
            .where(Organization.cuit == cuit)
            .group_by(Invoice.kind)
        ).all()
        return {kind: count for kind, count in rows}


@pytest.mark.parametrize(("condition", "registered", "button", "note_type"), CASES)
def test_a_note_opened_from_its_invoice_is_authorized_as_that_note(
    page: Page,
    live_app: Flask,
    condition: IssuerCondition,
    registered: bool,
    button: str,
    note_type: int,
) -> None:
    invoice_id, cuit = authorized_invoice(live_app, condition, registered, "caja@example.com")
    log_in(page, "caja@example.com")
    page.goto(f"/invoices/{invoice_id}")
    page.get_by_role("button", name=button, exact=True).click()

    expect(page).to_have_url(re.compile(r"/invoices/\d+/edit$"))
    expect(page.locator("#editor-title")).to_contain_text("Nota de")
    expect(page.locator("#note-original")).to_contain_text("00001-00000001")
    note_id = int(re.search(r"/invoices/(\d+)/edit", page.url).group(1))  # type: ignore[union-attr]

    # One of the two coffees: change the line, leave the field, wait for the autosave.
    quantity = page.locator("#line-0").get_by_label(re.compile("Cantidad"))
    quantity.fill("1")
    quantity.press("Tab")
    expect(page.locator("#autosave-status")).to_contain_text("Guardado", timeout=8_000)
    page.get_by_role("button", name="Guardar borrador", exact=True).last.click()
    expect(page.get_by_text("Guardamos el borrador.")).to_be_visible()
    expect(page.locator("#editor-title")).to_contain_text("Nota de")

    page.get_by_role("button", name="Revisar y autorizar").click()
    expect(page).to_have_url(re.compile(rf"/invoices/{note_id}#review$"))
    expect(page.locator("#preflight-ok")).to_contain_text("Todo en orden")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nota de")
    page.get_by_role("button", name="Autorizar en ARCA").click()
    expect(page.get_by_text("En cola")).to_be_visible()
    with live_app.app_context():
        run_worker(burst=True)
    status = page.locator("[id$='-status']")
    expect(status.locator(".badge-success")).to_have_text("Autorizado", timeout=10_000)

    with live_app.app_context():
        note = db.session.get_one(Invoice, note_id)
        assert (note.invoice_type, note.associated_invoice_id) == (note_type, invoice_id)
        stored = get_arca().sandbox().ledger.find_voucher(cuit, 1, note_type, note.number)
        assert stored is not None and stored.cae == note.cae
        [associated] = stored.detail["CbtesAsoc"]
        assert (int(associated["PtoVta"]), int(associated["Nro"])) == (1, 1)
    # The original and the note, nothing else.
    assert count_kinds(live_app, cuit) == {"invoice": 1, note.kind: 1}


def test_a_new_invoice_is_kept_from_its_first_line(page: Page, live_app: Flask) -> None:
    with live_app.app_context():
        organization = db.session.get_one(Organization, certified())
        add_member(organization, make_user(email="caja@example.com"), "member")
        cuit = organization.cuit
    log_in(page, "caja@example.com")
    page.goto("/invoices/new")
    row = page.locator("#line-0")
    row.get_by_label(re.compile("Descripción")).fill("Yerba mate 1 kg")
    price = row.get_by_label(re.compile("Precio"))
    price.fill("4.840,00")
    price.press("Tab")
    # Kept as a draft without pressing anything: the address becomes the draft's.
    expect(page.locator("#autosave-status")).to_contain_text("Guardado", timeout=8_000)
    expect(page).to_have_url(re.compile(r"/invoices/\d+/edit$"))
    draft_url = page.url
    row.get_by_label(re.compile("Cantidad")).fill("3")
    page.get_by_role("button", name="Guardar borrador", exact=True).last.click()
    expect(page.get_by_text("Guardamos el borrador.")).to_be_visible()
    assert page.url == draft_url
    assert count_kinds(live_app, cuit) == {"invoice": 1}
    with live_app.app_context():
        [invoice] = db.session.scalars(
            select(Invoice)
            .join(Organization, Organization.id == Invoice.organization_id)
            .where(Organization.cuit == cuit)
        ).all()
        assert [(line.quantity, line.unit_price) for line in invoice.lines] == [(3, 4840)]
