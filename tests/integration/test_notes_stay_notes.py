"""A credit or debit note stays a note through every path a person takes: the editor's save,
its autosave, the review and the authorization; the database refuses anything else."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from arca.codes import IssuerCondition, VoucherKind
from blueprints.invoices.models import Invoice, InvoiceStatus
from blueprints.invoices.services import DraftInput, note_from, save_draft
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import db
from core.errors import Conflict
from core.tasks import run_worker
from tests.factories import add_member, make_user
from tests.integration.test_invoices import (
    COFFEE,
    authorize,
    certified,
    customer,
    draft,
    point_id,
)
from tests.web import csrf_token, htmx_headers, login, text_of

_REVIEWED = re.compile(r'name="reviewed" value="([^"]+)"')

# (issuer, to a registered customer?, note kind, the original's type, the note's type)
CASES = [
    pytest.param(IssuerCondition.RESPONSABLE_INSCRIPTO, True, "credit-note", 1, 3, id="NC-A"),
    pytest.param(IssuerCondition.RESPONSABLE_INSCRIPTO, False, "credit-note", 6, 8, id="NC-B"),
    pytest.param(IssuerCondition.MONOTRIBUTO, False, "credit-note", 11, 13, id="NC-C"),
    pytest.param(IssuerCondition.RESPONSABLE_INSCRIPTO, True, "debit-note", 1, 2, id="ND-A"),
]


def signed_in(app: Flask, condition: IssuerCondition, email: str) -> tuple[FlaskClient, int]:
    with app.app_context():
        organization_id = certified(condition)
        user = make_user(email=email)
        add_member(db.session.get_one(Organization, organization_id), user, "member")
    client = app.test_client()
    login(client, email)
    return client, organization_id


class FormFields(HTMLParser):
    """The fields of `<form id="invoice-form">` with the values a browser would post."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.inside = False
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.inside = attr.get("id") == "invoice-form"
        # A browser posts a select's selected option, or its first one.
        if (
            tag == "option"
            and self.select
            and ("selected" in attr or self.select not in self.fields)
        ):
            self.fields[self.select] = attr.get("value", "")
        if not self.inside or "name" not in attr or attr["name"] in ("action", "then"):
            return
        if tag == "input" and (attr.get("type") != "checkbox" or "checked" in attr):
            self.fields[attr["name"]] = attr.get("value", "")
        elif tag == "select":
            self.select = attr["name"]
        elif tag == "textarea":
            self.textarea = attr["name"]
            self.fields[attr["name"]] = ""

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.fields[self.textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self.textarea = None
        elif tag == "select":
            self.select = None


def editor_form(client: FlaskClient, path: str) -> dict[str, Any]:
    """The editor's fields as the page renders them (what a browser would post back)."""
    parser = FormFields()
    parser.feed(client.get(path).get_data(as_text=True))
    return dict(parser.fields)


def invoice_count(organization_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Invoice)
        .where(Invoice.organization_id == organization_id, Invoice.kind == "invoice")
    )


@pytest.mark.parametrize(("issuer", "registered", "action", "original_type", "note_type"), CASES)
def test_a_note_from_the_editor_is_authorized_as_a_note(
    app: Flask,
    issuer: IssuerCondition,
    registered: bool,
    action: str,
    original_type: int,
    note_type: int,
) -> None:
    client, organization_id = signed_in(app, issuer, "caja@example.com")
    with app.app_context():
        customer_id = (
            customer(organization_id, "20-11111111-2", "1", "Cliente RI SA") if registered else None
        )
        original = authorize(draft(organization_id, [COFFEE], customer_id=customer_id).id)
        assert original.invoice_type == original_type
        original_id, original_total = original.id, original.total
        invoices_before = invoice_count(organization_id)
        cuit = db.session.get_one(Organization, organization_id).cuit

    token = csrf_token(client, f"/invoices/{original_id}")
    opened = client.post(f"/invoices/{original_id}/{action}", data={"csrf_token": token})
    assert opened.status_code == 303
    edit_path = opened.headers["Location"]
    note_id = int(re.search(r"/invoices/(\d+)/edit", edit_path).group(1))  # type: ignore[union-attr]
    form = editor_form(client, edit_path)
    assert form["draft_id"] == str(note_id)

    # A person halves the line, the editor autosaves, then they save, then review.
    form["lines-0-quantity"] = "1"
    autosaved = client.post(
        f"/invoices/{note_id}/autosave", data=form, headers=htmx_headers(form["csrf_token"])
    )
    assert "Guardado" in text_of(autosaved), text_of(autosaved)
    saved = client.post(edit_path, data={**form, "action": "save"})
    assert saved.status_code == 303
    reviewed = client.post(edit_path, data={**form, "then": "authorize"})
    assert reviewed.status_code == 303 and reviewed.headers["Location"].endswith("#review")
    with app.app_context():
        assert db.session.get_one(Invoice, note_id).status == InvoiceStatus.DRAFT  # not sent yet
    review = client.get(f"/invoices/{note_id}").get_data(as_text=True)
    token = _REVIEWED.search(review)
    assert token, "the review offers no 'Autorizar en ARCA'"
    sent = client.post(
        f"/invoices/{note_id}/authorize",
        data={"csrf_token": form["csrf_token"], "reviewed": token.group(1)},
    )
    assert sent.status_code == 303
    with app.app_context():
        run_worker(burst=True)
        note = db.session.get_one(Invoice, note_id)
        assert note.status == InvoiceStatus.AUTHORIZED, note.errors
        assert (note.kind, note.invoice_type) == (
            "credit_note" if action == "credit-note" else "debit_note",
            note_type,
        )
        assert note.associated_invoice_id == original_id
        assert note.total * 2 == original_total  # one of the two coffees
        assert invoice_count(organization_id) == invoices_before
        stored = get_arca().sandbox().ledger.find_voucher(cuit, 1, note_type, note.number)
        assert stored is not None and stored.cae == note.cae
        associated = stored.detail["CbtesAsoc"]
        assert [(int(a["Tipo"]), int(a["PtoVta"]), int(a["Nro"])) for a in associated] == [
            (original_type, 1, 1)
        ], associated


def test_a_saved_note_never_changes_kind_or_original(app: Flask) -> None:
    with app.app_context():
        organization_id = certified()
        organization = db.session.get_one(Organization, organization_id)
        original = authorize(draft(organization_id, [COFFEE]).id)
        today = original.issue_date
        note = note_from(db.session, organization, original, VoucherKind.CREDIT_NOTE, today, None)
        as_invoice = DraftInput(point_id(organization_id), None, today, [COFFEE])
        rewritten = save_draft(db.session, organization, as_invoice, None, note)
        assert (rewritten.kind, rewritten.invoice_type) == ("credit_note", 8)
        assert rewritten.associated_invoice_id == original.id
        with pytest.raises(Conflict, match="no cambia de tipo"):
            save_draft(
                db.session,
                organization,
                DraftInput(
                    point_id(organization_id),
                    None,
                    today,
                    [COFFEE],
                    kind=VoucherKind.INVOICE,
                ),
                None,
                note,
            )


def test_the_database_refuses_a_note_without_original_or_of_another_type(app: Flask) -> None:
    with app.app_context():
        organization_id = certified()
        organization = db.session.get_one(Organization, organization_id)
        original = authorize(draft(organization_id, [COFFEE]).id)
        note = note_from(
            db.session, organization, original, VoucherKind.CREDIT_NOTE, original.issue_date, None
        )
        statements = [
            "UPDATE invoices SET kind = 'invoice' WHERE id = :id",
            "UPDATE invoices SET invoice_type = 6 WHERE id = :id",
            "UPDATE invoices SET associated_invoice_id = NULL WHERE id = :id",
            "UPDATE invoices SET kind = 'debit_note' WHERE id = :id",
        ]
        for statement in statements:
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
                connection.execute(sa.text(statement), {"id": note.id})
        db.session.expire_all()
        kept = db.session.get_one(Invoice, note.id)
        assert (kept.kind, kept.invoice_type, kept.associated_invoice_id) == (
            "credit_note",
            8,
            original.id,
        )


def test_a_changed_draft_is_reviewed_again_before_it_goes_to_arca(app: Flask) -> None:
    client, organization_id = signed_in(
        app, IssuerCondition.RESPONSABLE_INSCRIPTO, "caja@example.com"
    )
    with app.app_context():
        invoice_id = draft(organization_id, [COFFEE]).id
    review = client.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    reviewed = _REVIEWED.search(review).group(1)  # type: ignore[union-attr]
    form = editor_form(client, f"/invoices/{invoice_id}/edit")
    form["lines-0-quantity"] = "5"
    client.post(f"/invoices/{invoice_id}/edit", data={**form, "action": "save"})
    for stale in ({"reviewed": reviewed}, {}):
        sent = client.post(
            f"/invoices/{invoice_id}/authorize", data={"csrf_token": form["csrf_token"], **stale}
        )
        assert sent.status_code == 303 and sent.headers["Location"].endswith("#review")
        assert "revisalo de nuevo" in text_of(client.get(sent.headers["Location"]))
    with app.app_context():
        run_worker(burst=True)
        invoice = db.session.get_one(Invoice, invoice_id)
        assert invoice.status == InvoiceStatus.DRAFT and not invoice.attempts


def test_crediting_a_fully_credited_invoice_is_refused_on_its_page(app: Flask) -> None:
    client, organization_id = signed_in(
        app, IssuerCondition.RESPONSABLE_INSCRIPTO, "caja@example.com"
    )
    with app.app_context():
        organization = db.session.get_one(Organization, organization_id)
        original = authorize(draft(organization_id, [COFFEE]).id)
        note = note_from(
            db.session, organization, original, VoucherKind.CREDIT_NOTE, original.issue_date, None
        )
        authorize(note.id)
        original_id = original.id
        notes_before = db.session.scalar(select(func.count()).select_from(Invoice))
    page = f"/invoices/{original_id}"
    html = client.get(page).get_data(as_text=True)
    assert "Emitir nota de crédito" not in html and "Nota de débito" in html
    # A stale tab still shows the button: the refusal comes back to the same page.
    token = csrf_token(client, page)
    refused = client.post(
        f"{page}/credit-note",
        data={"csrf_token": token},
        headers={"Referer": f"http://localhost{page}"},
    )
    assert refused.status_code == 303 and refused.headers["Location"] == page
    assert "acreditado por completo" in text_of(client.get(page))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Invoice)) == notes_before


def test_a_new_invoice_is_autosaved_once_it_has_a_line(app: Flask) -> None:
    client, organization_id = signed_in(
        app, IssuerCondition.RESPONSABLE_INSCRIPTO, "caja@example.com"
    )
    form = editor_form(client, "/invoices/new")
    headers = htmx_headers(form["csrf_token"])
    empty = client.post("/invoices/autosave", data=form, headers=headers)
    assert empty.status_code == 200 and "HX-Replace-Url" not in empty.headers
    with app.app_context():
        assert invoice_count(organization_id) == 0
    form.update({"lines-0-description": "Yerba", "lines-0-unit_price": "1.500"})
    first = client.post("/invoices/autosave", data=form, headers=headers)
    draft_id = re.search(r'id="draft-id" value="(\d+)"', first.get_data(as_text=True))
    assert draft_id, first.get_data(as_text=True)
    assert first.headers["HX-Replace-Url"] == f"/invoices/{draft_id.group(1)}/edit"
    form.update({"draft_id": draft_id.group(1), "lines-0-quantity": "2"})
    client.post("/invoices/autosave", data=form, headers=headers)
    saved = client.post("/invoices/new", data={**form, "action": "save"})
    assert saved.headers["Location"] == f"/invoices/{draft_id.group(1)}/edit"
    with app.app_context():
        [invoice] = db.session.scalars(
            select(Invoice).where(Invoice.organization_id == organization_id)
        ).all()
        assert invoice.id == int(draft_id.group(1))
        assert [(line.description, line.quantity) for line in invoice.lines] == [
            ("Yerba", Decimal("2"))
        ]
