"""Invoices against the sandbox over real SOAP: every kind authorized, exactly once under every
fault the sandbox can inject, and authorized invoices immutable down to the database."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from arca.codes import IssuerCondition, VoucherKind
from arca.sandbox import drop_after, drop_before, http_500, reject_next
from blueprints.certificates.connection import arca_client
from blueprints.certificates.services import generate_request, issue_with_sandbox_ca
from blueprints.customers.rules import CustomerFields
from blueprints.customers.services import create_customer
from blueprints.invoices.authorization import (
    InvoiceNotEditable,
    SequencePending,
    authorize_invoice,
    reconcile_pending,
    reserve,
)
from blueprints.invoices.listing import InvoiceFilter, filter_totals, summed_invoices
from blueprints.invoices.models import Invoice, InvoiceStatus
from blueprints.invoices.preflight_adapter import arca_today, preflight_problems
from blueprints.invoices.services import DraftInput, note_from, save_draft
from blueprints.invoices.totals import Line
from blueprints.organizations.models import Organization
from blueprints.points_of_sale.models import PointOfSale
from blueprints.points_of_sale.services import sync_points_of_sale
from core.arca import get_arca
from core.crypto import get_keyring
from core.db import db
from core.errors import Conflict
from core.tasks import run_worker
from tests.database import owner_connection
from tests.exports import exported
from tests.factories import add_member, make_organization, make_user
from tests.pdf_tools import decode_qr, pdf_text, words
from tests.web import csrf_token, login, text_of


def certified(condition: IssuerCondition = IssuerCondition.RESPONSABLE_INSCRIPTO) -> int:
    """An organization with an active sandbox certificate and ARCA's points of sale."""
    owner = make_user()
    organization = make_organization(owner=owner, condition=condition)
    request = generate_request(
        db.session, organization, owner, "sandbox", "facturas", get_keyring()
    )
    issue_with_sandbox_ca(db.session, organization, owner, request, get_arca())
    sync_points_of_sale(db.session, organization.id, get_arca(), owner)
    return organization.id


def point_id(organization_id: int, number: int = 1) -> int:
    return db.session.scalars(
        select(PointOfSale.id).where(
            PointOfSale.organization_id == organization_id, PointOfSale.number == number
        )
    ).one()


def customer(organization_id: int, cuit: str, condition: str, name: str) -> int:
    fields = CustomerFields("80", cuit, name, condition)
    return create_customer(db.session, organization_id, fields, None).id


def draft(organization_id: int, lines: list[Line], **fields: object) -> Invoice:
    organization = db.session.get_one(Organization, organization_id)
    values: dict[str, object] = {
        "point_of_sale_id": point_id(organization_id),
        "customer_id": None,
        "issue_date": arca_today(get_arca()),
        "lines": lines,
    }
    values.update(fields)
    return save_draft(db.session, organization, DraftInput(**values), None)  # type: ignore[arg-type]


def authorize(invoice_id: int) -> Invoice:
    return authorize_invoice(db.session, invoice_id, get_arca())


COFFEE = Line("Café en grano 1 kg", Decimal("2"), Decimal("12100.00"), vat=5)
BOOK = Line("Libro", Decimal("1"), Decimal("22100.00"), vat=4)


def test_factura_b_to_a_final_consumer(app: Flask) -> None:
    with app.app_context():
        organization_id = certified()
        invoice = draft(organization_id, [COFFEE, BOOK], prices_include_vat=True)
        assert (invoice.letter, invoice.invoice_type) == ("B", 6)
        assert invoice.total == Decimal("46300.00")
        assert preflight_problems(db.session, invoice, get_arca()) == []
        done = authorize(invoice.id)
        assert done.status == InvoiceStatus.AUTHORIZED
        assert done.number == 1 and done.cae and len(done.cae) == 14
        assert done.cae_due is not None and done.cae_due > done.issue_date
        stored = (
            get_arca()
            .sandbox()
            .ledger.find_voucher(db.session.get_one(Organization, organization_id).cuit, 1, 6, 1)
        )
        assert stored is not None and stored.cae == done.cae


def test_a_to_ri_credit_note_c_services_and_dollars(app: Flask) -> None:
    with app.app_context():
        organization_id = certified()
        ri = customer(organization_id, "30-70000000-8", "1", "Distribuidora Norte SA")
        factura_a = authorize(draft(organization_id, [COFFEE], customer_id=ri).id)
        assert (factura_a.invoice_type, factura_a.status) == (1, InvoiceStatus.AUTHORIZED)

        organization = db.session.get_one(Organization, organization_id)
        today = arca_today(get_arca())
        note = note_from(db.session, organization, factura_a, VoucherKind.CREDIT_NOTE, today, None)
        assert (note.invoice_type, note.kind, note.total) == (3, "credit_note", factura_a.total)
        note = authorize(note.id)
        assert note.status == InvoiceStatus.AUTHORIZED
        with pytest.raises(Conflict, match="acreditado por completo"):
            note_from(db.session, organization, factura_a, VoucherKind.CREDIT_NOTE, today, None)
        debit = note_from(db.session, organization, factura_a, VoucherKind.DEBIT_NOTE, today, None)
        debit = authorize(debit.id)
        assert (debit.invoice_type, debit.status) == (2, InvoiceStatus.AUTHORIZED)

        services = authorize(
            draft(
                organization_id,
                [Line("Mantenimiento mensual", Decimal("1"), Decimal("50000"), vat=5)],
                customer_id=ri,
                concept=2,
                service_from=today.replace(day=1),
                service_to=today,
                payment_due=today + dt.timedelta(days=10),
            ).id
        )
        assert (services.status, services.concept) == (InvoiceStatus.AUTHORIZED, 2)

        dollars = authorize(
            draft(
                organization_id,
                [Line("Consultoría", Decimal("10"), Decimal("120"), vat=5)],
                customer_id=ri,
                currency="DOL",
                currency_rate=Decimal("1050"),
            ).id
        )
        assert (dollars.status, dollars.currency) == (InvoiceStatus.AUTHORIZED, "DOL")
        assert dollars.number == 3  # Factura A 1, services A 2, dollars A 3

        monotributo = certified(IssuerCondition.MONOTRIBUTO)
        factura_c = authorize(draft(monotributo, [COFFEE]).id)
        assert (factura_c.letter, factura_c.invoice_type, factura_c.vat_total) == (
            "C",
            11,
            Decimal("0"),
        )
        assert factura_c.status == InvoiceStatus.AUTHORIZED


@pytest.mark.parametrize(
    ("fault", "first_status"),
    [
        (http_500(operation="FECAESolicitar"), InvoiceStatus.DRAFT),  # not sent: nothing happened
        (drop_before(operation="FECAESolicitar"), InvoiceStatus.DRAFT),  # unknown -> not there
        (drop_after(), InvoiceStatus.AUTHORIZED),  # unknown -> CAE found by FECompConsultar
        (reject_next(10048), InvoiceStatus.REJECTED),
    ],
)
def test_every_fault_ends_authorized_once_or_rejected_with_its_reason(
    app: Flask, fault: object, first_status: InvoiceStatus
) -> None:
    with app.app_context():
        organization_id = certified()
        cuit = db.session.get_one(Organization, organization_id).cuit
        sandbox = get_arca().sandbox()
        invoice = draft(organization_id, [COFFEE])
        sandbox.faults.add(fault)  # type: ignore[arg-type]
        try:
            first = authorize(invoice.id)
        except Exception as error:  # the not-sent case reports ARCA's failure
            assert first_status == InvoiceStatus.DRAFT, error
            first = db.session.get_one(Invoice, invoice.id)
        sandbox.faults.clear()
        assert first.status == first_status
        if first_status == InvoiceStatus.REJECTED:
            assert first.number is None and "10048" in str(first.observations + first.errors)
        if first.status != InvoiceStatus.AUTHORIZED:
            first = authorize(invoice.id)
        assert first.status == InvoiceStatus.AUTHORIZED and first.number == 1
        # ARCA's ledger holds exactly that voucher, with our CAE: no duplicate, no gap.
        assert sandbox.ledger.last_voucher(cuit, 1, first.invoice_type)[0] == 1
        stored = sandbox.ledger.find_voucher(cuit, 1, first.invoice_type, 1)
        assert stored is not None and stored.cae == first.cae


def test_authorized_invoices_are_immutable_and_authorized_once(
    app: Flask, owner_client: tuple[FlaskClient, int]
) -> None:
    client, organization_id = owner_client
    with app.app_context():
        invoice = authorize(draft(organization_id, [COFFEE]).id)
        invoice_id = invoice.id
        with pytest.raises(InvoiceNotEditable):
            authorize(invoice_id)
        organization = db.session.get_one(Organization, organization_id)
        with pytest.raises(Conflict):
            save_draft(
                db.session,
                organization,
                DraftInput(point_id(organization_id), None, invoice.issue_date, [BOOK]),
                None,
                invoice,
            )
        db.session.rollback()
        # Even code that skips the services is stopped by the database.
        update = sa.text("UPDATE invoices SET total = 1 WHERE id = :id")
        with pytest.raises(sa.exc.DBAPIError, match="authorized"), db.engine.begin() as connection:
            connection.execute(update, {"id": invoice_id})
        with pytest.raises(sa.exc.DBAPIError), db.engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM invoices WHERE id = :id"), {"id": invoice_id})
        lines = sa.text("UPDATE invoice_lines SET total = 1 WHERE invoice_id = :id")
        with pytest.raises(sa.exc.DBAPIError, match="authorized"), db.engine.begin() as connection:
            connection.execute(lines, {"id": invoice_id})
    assert client.get(f"/invoices/{invoice_id}/edit").status_code == 303
    token = csrf_token(client, f"/invoices/{invoice_id}")
    again = client.post(f"/invoices/{invoice_id}/authorize", data={"csrf_token": token})
    assert again.status_code == 303
    assert "ya fue autorizado" in text_of(client.get(again.headers["Location"]))


@pytest.fixture
def owner_client(app: Flask) -> tuple[FlaskClient, int]:
    with app.app_context():
        organization_id = certified()
        user = make_user(email="caja@example.com")
        add_member(db.session.get_one(Organization, organization_id), user, "member")
    client = app.test_client()
    login(client, "caja@example.com")
    return client, organization_id


def test_the_editor_saves_previews_and_authorizes_through_a_worker(
    app: Flask, owner_client: tuple[FlaskClient, int]
) -> None:
    client, organization_id = owner_client
    with app.app_context():
        point = point_id(organization_id)
    page = client.get("/invoices/new")
    assert page.status_code == 200 and 'id="invoice-form"' in page.get_data(as_text=True)
    token = csrf_token(client, "/invoices/new")
    form = {
        "csrf_token": token,
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
    added = client.post("/invoices/new", data={**form, "action": "add_line"})
    assert added.status_code == 200
    assert 'name="lines-1-description"' in added.get_data(as_text=True)
    totals = client.post("/invoices/totals", data=form, headers={"HX-Request": "true"})
    assert "3.630,00" in text_of(totals) and "630,00" in text_of(totals)
    saved = client.post("/invoices/new", data={**form, "then": "authorize"})
    assert saved.status_code == 303
    # "Revisar y autorizar" reviews: nothing goes to ARCA until the review's button is pressed.
    detail_url = saved.headers["Location"].removesuffix("#review")
    review = client.get(detail_url).get_data(as_text=True)
    assert "Todo en orden" in review and 'hx-trigger="every 1s"' not in review
    reviewed = re.search(r'name="reviewed" value="([^"]+)"', review)
    assert reviewed, review
    sent = client.post(
        f"{detail_url}/authorize", data={"csrf_token": token, "reviewed": reviewed.group(1)}
    )
    assert sent.status_code == 303
    queued = client.get(f"{detail_url}/status", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in queued.get_data(as_text=True)
    with app.app_context():
        run_worker(burst=True)
    done = text_of(client.get(detail_url))
    assert "Autorizado" in done and re.search(r"CAE \d{14}", done), done
    assert "Factura B" in done and "00001-00000001" in done


def test_preflight_lists_every_problem_before_anything_is_sent(app: Flask) -> None:
    with app.app_context():
        organization_id = certified()
        logins = get_arca().sandbox().login_count()
        invoice = draft(
            organization_id,
            [Line("", Decimal("0"), Decimal("10"), vat=5)],
            issue_date=arca_today(get_arca()) - dt.timedelta(days=30),
        )
        problems = preflight_problems(db.session, invoice, get_arca())
        fields = {problem.field for problem in problems}
        assert len(problems) >= 2 and "issue_date" in fields, problems
        assert get_arca().sandbox().login_count() == logins  # nothing went to ARCA
        assert invoice.kind == VoucherKind.INVOICE


def test_reconcile_settles_what_a_crash_left_behind(app: Flask) -> None:
    """A worker died after reserving a number: once after sending (ARCA granted the CAE), once
    before. `flask invoices reconcile` adopts the first CAE and frees the second number."""
    with app.app_context():
        organization_id = certified()
        sent, unsent = draft(organization_id, [COFFEE]).id, draft(organization_id, [BOOK]).id
        request, _attempt = reserve(db.session, sent, 1)
        with arca_client(db.session, organization_id, get_arca()) as arca:
            granted = arca.wsfe.authorize(request)  # the answer the dead worker never recorded
        reserve(db.session, unsent, 2)
    result = app.test_cli_runner().invoke(args=["invoices", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "2 invoices settled" in result.output
    with app.app_context():
        first = db.session.get_one(Invoice, sent)
        second = db.session.get_one(Invoice, unsent)
        assert (first.status, first.number) == (InvoiceStatus.AUTHORIZED, 1)
        assert first.cae == granted.details[0].cae
        assert (second.status, second.number) == (InvoiceStatus.DRAFT, None)
        second = authorize(unsent)
        assert (second.status, second.number) == (InvoiceStatus.AUTHORIZED, 2)
    verified = app.test_cli_runner().invoke(args=["invoices", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "2 authorized invoices checked against ARCA, 0 mismatches" in verified.output


def test_verify_reports_a_record_that_differs_from_arca(app: Flask) -> None:
    with app.app_context():
        organization_id = certified()
        invoice = authorize(draft(organization_id, [COFFEE]).id)
        # Bypass the triggers the only way a real mismatch could appear: a restored backup
        # from elsewhere. (Disable them for this statement's transaction only.)
        with owner_connection() as connection:
            connection.execute(sa.text("ALTER TABLE invoices DISABLE TRIGGER invoices_immutable"))
            connection.execute(
                sa.text("UPDATE invoices SET cae = '00000000000000' WHERE id = :id"),
                {"id": invoice.id},
            )
            connection.execute(sa.text("ALTER TABLE invoices ENABLE TRIGGER invoices_immutable"))
    result = app.test_cli_runner().invoke(args=["invoices", "verify"])
    assert result.exit_code == 1
    assert "MISMATCH" in result.output and "00000000000000" in result.output


def test_editor_moves_lines_autosaves_and_the_customer_page_sums_up(
    app: Flask, owner_client: tuple[FlaskClient, int]
) -> None:
    client, organization_id = owner_client
    with app.app_context():
        ri = customer(organization_id, "30-71111111-1", "1", "Ferretería Sur SA")
        invoice_id = draft(organization_id, [COFFEE, BOOK], customer_id=ri).id
        point = point_id(organization_id)
    edit_url = f"/invoices/{invoice_id}/edit"
    token = csrf_token(client, edit_url)
    form = {
        "csrf_token": token,
        "point_of_sale_id": str(point),
        "customer_id": str(ri),
        "concept": "1",
        "currency": "PES",
        "currency_rate": "1",
        "lines-0-description": "Primera",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "100",
        "lines-0-vat": "5",
        "lines-1-description": "Segunda",
        "lines-1-quantity": "2",
        "lines-1-unit_price": "50",
        "lines-1-vat": "4",
    }
    moved = client.post(edit_url, data={**form, "action": "move_up-1"})
    html = moved.get_data(as_text=True)
    assert html.index('value="Segunda"') < html.index('value="Primera"')
    saved = client.post(
        f"/invoices/{invoice_id}/autosave", data=form, headers={"HX-Request": "true"}
    )
    assert saved.status_code == 200 and "Guardado" in text_of(saved)
    with app.app_context():
        stored = db.session.get_one(Invoice, invoice_id)
        assert [line.description for line in stored.lines] == ["Primera", "Segunda"]
        assert stored.net == Decimal("200.00") and stored.letter == "A"
        authorize(invoice_id)
    page = text_of(client.get(f"/customers/{ri}"))
    assert "Factura A 00001-00000001" in page
    assert "Facturado (menos notas de crédito): $ 231,50" in page


def test_no_new_number_while_an_answer_is_lost_and_arca_cannot_say(app: Flask) -> None:
    """CAE granted then the connection dropped, and FECompConsultar unreachable too: the invoice
    stays `unknown`, the sequence takes no new number (NOTES §12.1), and reconciling later
    adopts the CAE."""
    with app.app_context():
        organization_id = certified()
        sandbox = get_arca().sandbox()
        lost, waiting = draft(organization_id, [COFFEE]).id, draft(organization_id, [BOOK]).id
        sandbox.faults.add(drop_after())
        sandbox.faults.add(drop_before(operation="FECompConsultar", count=None))
        first = authorize(lost)
        assert (first.status, first.number) == (InvoiceStatus.UNKNOWN, 1)
        with pytest.raises(SequencePending):
            authorize(waiting)
        sandbox.faults.clear()
        assert db.session.get_one(Invoice, waiting).status == InvoiceStatus.DRAFT
        assert reconcile_pending(db.session, organization_id, get_arca()) == 1
        first = db.session.get_one(Invoice, lost)
        assert (first.status, first.number) == (InvoiceStatus.AUTHORIZED, 1) and first.cae
        second = authorize(waiting)
        assert (second.status, second.number) == (InvoiceStatus.AUTHORIZED, 2)


def test_the_list_filters_pages_totals_and_exports(
    app: Flask, owner_client: tuple[FlaskClient, int]
) -> None:
    client, organization_id = owner_client
    with app.app_context():
        ri = customer(organization_id, "30-71111111-1", "1", "Ferretería Sur SA")
        a = authorize(draft(organization_id, [COFFEE], customer_id=ri).id)
        b = authorize(draft(organization_id, [BOOK], prices_include_vat=True).id)
        today = arca_today(get_arca())
        note = note_from(
            db.session,
            db.session.get_one(Organization, organization_id),
            a,
            VoucherKind.CREDIT_NOTE,
            today,
            None,
        )
        authorize(note.id)
        for index in range(55):
            draft(organization_id, [Line(f"Borrador {index}", Decimal("1"), Decimal("10"))])
        a_total, b_total, a_id, note_id = a.total, b.total, a.id, note.id
    original = text_of(client.get(f"/invoices/{a_id}"))
    assert "Notas emitidas sobre este comprobante" in original and "Nota de Crédito A" in original
    assert "Sobre Factura A 00001-00000001" in text_of(client.get(f"/invoices/{note_id}"))
    everything = text_of(client.get("/invoices/"))
    assert "58 comprobantes" in everything
    # Authorized: A + B − the credit note (which is A's total) = B.
    assert (
        f"total $ {b_total:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
        in everything
    )
    first = client.get("/invoices/").get_data(as_text=True)
    assert first.count('id="invoice-row-') == 50 and 'id="invoices-next"' in first
    next_url = first.split('id="invoices-next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = client.get(next_url.replace("&amp;", "&")).get_data(as_text=True)
    assert second.count('id="invoice-row-') == 8
    authorized = text_of(client.get("/invoices/?status=authorized&tipo=1"))
    assert "1 comprobante" in authorized and "Factura A" in authorized
    export = exported(app, client, "/invoices/export", {"status": "authorized"}, "/invoices/")
    lines = export.get_data(as_text=True).lstrip("\ufeff").strip().splitlines()
    assert lines[0].startswith("fecha;tipo;codigo_tipo;punto_de_venta;numero;estado;cliente")
    assert len(lines) == 4 and any(f"{a_total:f}".replace(".", ",") in line for line in lines)
    assert any(f"-{a_total:f}".replace(".", ",") in line for line in lines)  # the credit note


def test_bulk_authorizing_1000_drafts_goes_in_batches(
    app: Flask, owner_client: tuple[FlaskClient, int]
) -> None:
    """ARCA rejects the first voucher of three batches (10048): the rest of each of those
    batches fails its numbering (10016) and goes again in a later one. Every voucher ends
    authorized, or rejected with its reason; ARCA's ledger is contiguous."""
    client, organization_id = owner_client
    with app.app_context():
        cuit = db.session.get_one(Organization, organization_id).cuit
        ids = [draft(organization_id, [COFFEE]).id for _ in range(1000)]
        sandbox = get_arca().sandbox()
        sandbox.faults.add(reject_next(10048, count=3))
    token = csrf_token(client, "/invoices/?status=draft")
    response = client.post(
        "/invoices/bulk-authorize", data={"csrf_token": token, "invoice_id": [str(i) for i in ids]}
    )
    assert response.status_code == 303
    status_url = response.headers["Location"] + "/status"
    assert 'hx-trigger="every 1s"' in client.get(status_url).get_data(as_text=True)
    with app.app_context():
        run_worker(burst=True)
        sandbox.faults.clear()
        requests = [
            r
            for r in sandbox.ledger.requests()
            if r.operation == "FECAESolicitar" and r.cuit == cuit
        ]
        assert 4 <= len(requests) <= 12  # batches, not 1,000 calls
        assert max(r.cant_reg or 0 for r in requests) == 250
        invoices = db.session.scalars(select(Invoice).where(Invoice.id.in_(ids))).all()
        rejected = [i for i in invoices if i.status == InvoiceStatus.REJECTED]
        authorized = [i for i in invoices if i.status == InvoiceStatus.AUTHORIZED]
        assert len(rejected) == 3 and len(authorized) == 997
        assert all("10048" in str(i.errors + i.observations) for i in rejected)
        assert sorted(i.number for i in authorized) == list(range(1, 998))
        assert sandbox.ledger.last_voucher(cuit, 1, 6)[0] == 997
    done = text_of(client.get(status_url))
    assert "Listo: 997 autorizados, 3 sin autorizar." in done and "10048" in done


def test_the_dashboard_sums_up_the_month(app: Flask, owner_client: tuple[FlaskClient, int]) -> None:
    client, organization_id = owner_client
    with app.app_context():
        authorize(draft(organization_id, [COFFEE], prices_include_vat=True).id)
        authorize(draft(organization_id, [BOOK], prices_include_vat=True).id)
        draft(organization_id, [COFFEE])
    page = client.get("/")
    html = page.get_data(as_text=True)
    text = text_of(page)
    assert 'id="month-overview"' in html
    assert "46.300,00" in text  # 24.200 + 22.100, VAT included (Factura B)
    assert "Factura B (2)" in text and "1 borrador" in text


def test_the_pdf_of_a_factura_b_holds_its_cae_and_a_qr_that_matches(
    app: Flask, owner_client: tuple[FlaskClient, int], tmp_path: Path
) -> None:
    client, organization_id = owner_client
    with app.app_context():
        invoice = authorize(draft(organization_id, [COFFEE, BOOK], prices_include_vat=True).id)
        cuit = db.session.get_one(Organization, organization_id).cuit
        expected = {
            "ver": 1,
            "fecha": invoice.issue_date.isoformat(),
            "cuit": int(cuit),
            "ptoVta": 1,
            "tipoCmp": 6,
            "nroCmp": invoice.number,
            "importe": 46300,
            "moneda": "PES",
            "ctz": 1,
            "tipoDocRec": 99,
            "nroDocRec": 0,
            "tipoCodAut": "E",
            "codAut": int(invoice.cae or 0),
        }
        cae, due = invoice.cae, invoice.cae_due
        invoice_id = invoice.id
    response = client.get(f"/invoices/{invoice_id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline;")
    text = words("".join(pdf_text(response.data, tmp_path)))
    assert cae and due and cae in text and due.strftime("%d/%m/%Y") in text
    assert "Código 006" in text and "ORIGINAL" in text and "Hoja 1 de 1" in text
    assert "46.300,00" in text and "A CONSUMIDOR FINAL" in text
    [url] = decode_qr(response.data, tmp_path)
    assert url.startswith("https://www.afip.gob.ar/fe/qr/?p=")
    payload = json.loads(base64.b64decode(url.split("?p=", 1)[1]))
    assert payload == expected
    download = client.get(f"/invoices/{invoice_id}/pdf?descargar=1")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "DUPLICADO" in "".join(pdf_text(download.data, tmp_path))


def test_a_40_line_invoice_prints_on_several_pages_with_carried_subtotals(
    app: Flask, owner_client: tuple[FlaskClient, int], tmp_path: Path
) -> None:
    client, organization_id = owner_client
    with app.app_context():
        ri = customer(organization_id, "30-71111111-1", "1", "Ferretería Sur SA")
        lines = [
            Line(f"Tornillo {index} mm x 100 unidades", Decimal("2"), Decimal("150.25"), vat=5)
            for index in range(40)
        ]
        invoice_id = authorize(draft(organization_id, lines, customer_id=ri).id).id
    text = words("".join(pdf_text(client.get(f"/invoices/{invoice_id}/pdf").data, tmp_path)))
    pages = int(re.search(r"Hoja 1 de (\d+)", text).group(1))  # type: ignore[union-attr]
    assert pages >= 2 and f"Hoja {pages} de {pages}" in text
    assert "Transporte" in text and "Código 001" in text


def test_a_monotributista_sees_the_year_against_the_category_ceilings(app: Flask) -> None:
    with app.app_context():
        organization_id = certified(IssuerCondition.MONOTRIBUTO)
        authorize(draft(organization_id, [Line("Obra", Decimal("1"), Decimal("8500000"))]).id)
        owner = make_user(email="mono@example.com")
        add_member(db.session.get_one(Organization, organization_id), owner, "owner")
    client = app.test_client()
    login(client, "mono@example.com")
    client.post(
        f"/organizations/{organization_id}/switch", data={"csrf_token": csrf_token(client, "/")}
    )
    page = client.get("/")
    text = text_of(page)
    assert 'id="monotributo"' in page.get_data(as_text=True)
    assert "Facturaste $ 8.500.000,00." in text
    assert "Corresponde a la categoría A (tope $ 8.992.597,87)." in text
    assert "Estás en el 95 % del tope de la categoría A" in text


def test_daily_totals_kept_by_the_database_equal_the_invoices_sums(app: Flask) -> None:
    """The triggers' running totals (what the list and the dashboard read) agree with summing
    the invoices, for credit notes and foreign currency too."""
    with app.app_context():
        organization_id = certified()
        ri = customer(organization_id, "30-71111111-1", "1", "Ferretería Sur SA")
        a = authorize(draft(organization_id, [COFFEE, BOOK], customer_id=ri).id)
        authorize(draft(organization_id, [BOOK], prices_include_vat=True).id)
        authorize(
            draft(
                organization_id,
                [Line("Consultoría", Decimal("3"), Decimal("99.99"), vat=5)],
                customer_id=ri,
                currency="DOL",
                currency_rate=Decimal("1050.5"),
            ).id
        )
        today = arca_today(get_arca())
        organization = db.session.get_one(Organization, organization_id)
        note = note_from(db.session, organization, a, VoucherKind.CREDIT_NOTE, today, None)
        authorize(note.id)
        draft(organization_id, [COFFEE])
        for filters in (
            InvoiceFilter(),
            InvoiceFilter(status="authorized"),
            InvoiceFilter(invoice_type=1),
            InvoiceFilter(date_from=today, date_to=today, point_of_sale=1),
            InvoiceFilter(customer_id=ri),
            InvoiceFilter(customer_id=ri, status="authorized", invoice_type=1),
        ):
            fast = filter_totals(db.session, organization_id, filters)
            slow = summed_invoices(db.session, organization_id, filters)
            assert fast == slow, filters
        assert filter_totals(db.session, organization_id, InvoiceFilter()).count == 5


def test_an_issuer_arca_puts_on_a_con_leyenda_issues_class_aley(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        organization_id = certified()
        owner = make_user(email="ri@example.com")
        add_member(db.session.get_one(Organization, organization_id), owner, "owner")
        ri = customer(organization_id, "30-71111111-1", "1", "Ferretería Sur SA")
    client = app.test_client()
    login(client, "ri@example.com")
    client.post(
        f"/organizations/{organization_id}/switch", data={"csrf_token": csrf_token(client, "/")}
    )
    settings = client.get("/organizations/settings").get_data(as_text=True)
    assert 'name="a_with_legend"' in settings
    with app.app_context():
        organization = db.session.get_one(Organization, organization_id)
        form = {
            "csrf_token": csrf_token(client, "/organizations/settings"),
            "cuit": organization.cuit,
            "legal_name": organization.legal_name,
            "iva_condition": organization.iva_condition,
            "a_with_legend": "y",
        }
    assert client.post("/organizations/settings", data=form).status_code == 303
    with app.app_context():
        assert db.session.get_one(Organization, organization_id).a_with_legend
        invoice = authorize(draft(organization_id, [COFFEE], customer_id=ri).id)
        assert (invoice.letter, invoice.invoice_type, invoice.status) == (
            "ALEY",
            51,
            InvoiceStatus.AUTHORIZED,
        )
        invoice_id = invoice.id
    pdf = client.get(f"/invoices/{invoice_id}/pdf").data
    assert "OPERACIÓN SUJETA A RETENCIÓN" in words("".join(pdf_text(pdf, tmp_path)))
