"""Exports as background jobs (issue #11): the accountant's package of a chosen month, the
invoice and customer CSVs, scoped to their organization; a failed job serves nothing. And the
invoice list's text search, and the bulk page listing the drafts it left out."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from arca.codes import VoucherKind
from blueprints.customers.imports import UploadedCsv, preview_import
from blueprints.exports.models import Export
from blueprints.exports.services import EXPORT_KINDS, ExportKind, run_export
from blueprints.invoices import listing
from blueprints.invoices.models import Invoice
from blueprints.invoices.package import Month, month_invoices, pdf_file_name
from blueprints.invoices.preflight_adapter import arca_today
from blueprints.invoices.services import note_from
from blueprints.invoices.totals import Line
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import db
from core.jobs import job_queue
from core.tasks import run_worker
from tests.exports import exported, start
from tests.factories import add_member, make_user
from tests.integration.test_invoices import (
    BOOK,
    COFFEE,
    authorize,
    certified,
    customer,
    draft,
)
from tests.pdf_tools import pdf_text, words
from tests.web import csrf_token, login, text_of


def member_client(app: Flask, organization_id: int, email: str, role: str = "owner") -> FlaskClient:
    with app.app_context():
        add_member(db.session.get_one(Organization, organization_id), make_user(email), role)
    client = app.test_client()
    login(client, email)
    client.post(
        f"/organizations/{organization_id}/switch", data={"csrf_token": csrf_token(client, "/")}
    )
    return client


@pytest.fixture
def shop(app: Flask) -> tuple[FlaskClient, int]:
    with app.app_context():
        organization_id = certified()
    return member_client(app, organization_id, "duena@example.com"), organization_id


def credit_note(organization_id: int, invoice_id: int) -> int:
    """An authorized credit note for the whole of the invoice."""
    organization = db.session.get_one(Organization, organization_id)
    original = db.session.get_one(Invoice, invoice_id)
    today = arca_today(get_arca())
    note = note_from(db.session, organization, original, VoucherKind.CREDIT_NOTE, today, None)
    return authorize(note.id).id


def test_the_package_of_a_past_month_is_built_by_a_job(app: Flask) -> None:
    """Vouchers of last month (issued with ARCA's clock there) and one of this month: the
    package of last month holds exactly last month's PDFs, its CSV (the credit note negative)
    and the Libro IVA files; the page shows progress, then the download."""
    with app.app_context():
        sandbox = get_arca().sandbox()
        real_now = sandbox.clock.now()
        sandbox.clock.freeze(real_now - dt.timedelta(days=40))
        try:
            organization_id = certified()
            ri = customer(organization_id, "30-71111111-1", "1", "Ferretería Sur SA")
            factura = authorize(draft(organization_id, [COFFEE], customer_id=ri).id)
            authorize(draft(organization_id, [BOOK], prices_include_vat=True).id)
            note_id = credit_note(organization_id, factura.id)
            past = arca_today(get_arca())
        finally:
            sandbox.clock.unfreeze()
        authorize(draft(organization_id, [COFFEE]).id)  # this month: not in the package
        month = Month(past.year, past.month)
        invoices = month_invoices(db.session, organization_id, month)
        names = {pdf_file_name(invoice) for invoice in invoices}
        note_total = next(i.total for i in invoices if i.id == note_id)
    client = member_client(app, organization_id, "contadora@example.com", "accountant")
    page = client.get("/invoices/package").get_data(as_text=True)
    assert 'id="package-month"' in page
    assert len(invoices) == 3 and {i.issue_date.month for i in invoices} == {past.month}
    response = exported(app, client, "/invoices/package", {"mes": str(month)}, "/invoices/package")
    assert response.mimetype == "application/zip"
    assert f"talonario-{month}.zip" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    pdfs = {n.removeprefix("comprobantes/") for n in archive.namelist() if n.endswith(".pdf")}
    assert pdfs == names
    assert archive.read(f"comprobantes/{sorted(names)[0]}").startswith(b"%PDF")
    rows = list(
        csv.DictReader(
            io.StringIO(archive.read(f"comprobantes-{month}.csv").decode().lstrip("\ufeff")),
            delimiter=";",
        )
    )
    assert len(rows) == 3
    [note_row] = [row for row in rows if row["tipo"] == "Nota de Crédito A"]
    assert note_row["total"] == "-" + f"{note_total:f}".replace(".", ",")
    assert "Libro IVA Digital, ventas: 3 comprobantes." in archive.read("LEEME.txt").decode()
    assert {"libro_iva/REGINFO_CV_VENTAS_CBTE.txt"} <= set(archive.namelist())


def test_a_package_month_that_has_not_started_is_refused(shop: tuple[FlaskClient, int]) -> None:
    client, _organization_id = shop
    token = csrf_token(client, "/invoices/package")
    response = client.post("/invoices/package", data={"csrf_token": token, "mes": "2099-01"})
    assert response.status_code == 303 and response.headers["Location"] == "/invoices/package"
    assert "Elegí un mes que ya haya empezado." in text_of(client.get("/invoices/package"))


def test_another_organizations_export_is_not_found(
    app: Flask, shop: tuple[FlaskClient, int]
) -> None:
    client, _organization_id = shop
    page = start(client, "/invoices/export", {"status": "authorized"}, "/invoices/")
    export_id = int(page.rsplit("/", 1)[1])
    with app.app_context():
        run_worker(burst=True)
        built = db.session.get_one(Export, export_id)
        first = (built.status, built.finished_at, built.content)
        # Its request run again (a duplicate wake-up): it finds the export done, leaves it.
        run_export(db.session, export_id, take_over=True)
        again = db.session.get_one(Export, export_id)
        assert (again.status, again.finished_at, again.content) == first
        other = certified()
    stranger = member_client(app, other, "otra@example.com")
    for suffix in ("", "/status", "/download"):
        assert stranger.get(page + suffix).status_code == 404, suffix
        assert client.get(page + suffix).status_code == 200, suffix


def test_a_failed_export_shows_its_error_and_serves_nothing(
    app: Flask, shop: tuple[FlaskClient, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _organization_id = shop

    def half_then_fail(*args: object) -> object:
        raise RuntimeError("disk full halfway")

    kind = EXPORT_KINDS["invoices_csv"]
    monkeypatch.setitem(EXPORT_KINDS, "invoices_csv", ExportKind(kind.title, half_then_fail))
    page = start(client, "/invoices/export", {}, "/invoices/")
    with app.app_context():
        run_worker(burst=True)
        run_worker(burst=True)  # nothing left to do: a job runs once
    failed = client.get(page)
    assert 'id="export-error"' in failed.get_data(as_text=True)
    assert "No se pudo generar el archivo." in text_of(failed)
    assert "disk full" not in text_of(failed)
    assert client.get(page + "/download").status_code == 404


def test_the_invoice_csv_comes_from_a_job_in_spanish_with_credit_notes_negative(
    app: Flask, shop: tuple[FlaskClient, int]
) -> None:
    client, organization_id = shop
    with app.app_context():
        ri = customer(organization_id, "30-71111111-1", "1", "Ferretería Sur SA")
        factura = authorize(draft(organization_id, [COFFEE], customer_id=ri).id)
        note_id = credit_note(organization_id, factura.id)
        draft(organization_id, [BOOK])
        total = factura.total
    response = exported(app, client, "/invoices/export", {"q": "ferreteria"}, "/invoices/")
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufefffecha;tipo;codigo_tipo;punto_de_venta;numero;estado;cliente")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert [(r["tipo"], r["codigo_tipo"], r["estado"]) for r in rows] == [
        ("Factura A", "1", "Autorizado"),
        ("Nota de Crédito A", "3", "Autorizado"),
    ]
    amount = f"{total:f}".replace(".", ",")
    assert [r["total"] for r in rows] == [amount, "-" + amount]
    assert rows[0]["tipo_documento"] == "CUIT" and rows[0]["codigo_tipo_documento"] == "80"
    assert rows[0]["condicion_iva"] == "IVA Responsable Inscripto"
    assert rows[0]["codigo_condicion_iva"] == "1"
    # The list and the dashboard show the note negative too, and their totals subtract it.
    negative = f"$ -{total:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    listed = text_of(client.get("/invoices/?q=ferreteria"))
    assert "2 comprobantes" in listed and "total $ 0,00" in listed and negative in listed
    dashboard = text_of(client.get("/"))
    assert f"Nota de Crédito A (1) {negative}" in dashboard
    assert f"Nota de Crédito A 00001-00000001 · Ferretería Sur SA · {negative}" in dashboard
    assert note_id


def test_the_list_searches_by_number_name_and_document(
    app: Flask, shop: tuple[FlaskClient, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, organization_id = shop
    with app.app_context():
        ri = customer(organization_id, "30-71111111-1", "1", "Ferretería Sur SA")
        other = customer(organization_id, "30-70000000-8", "1", "Distribuidora Norte SA")
        first = authorize(draft(organization_id, [COFFEE], customer_id=ri).id)
        for _ in range(22):
            authorize(draft(organization_id, [Line("Clavos", Decimal("1"), Decimal("10"))]).id)
        last = authorize(draft(organization_id, [BOOK], customer_id=other).id)
        assert last.number == 2 and first.number == 1  # Facturas A: 1 and 2; B: 1..22
        b23 = authorize(draft(organization_id, [Line("Tuercas", Decimal("1"), Decimal("5"))]).id)
        assert b23.number == 23
        first_id, last_id, b23_id = first.id, last.id, b23.id

    def rows(query: str) -> set[str]:
        html = client.get("/invoices/", query_string={"q": query}).get_data(as_text=True)
        return {part.split('"', 1)[0] for part in html.split('id="invoice-row-')[1:]}

    assert rows("00001-00000023") == {str(b23_id)}
    assert rows("23") == {str(b23_id)}
    assert rows("ferreteria") == {str(first_id)}  # accents folded
    assert rows("FERRETERÍA sur") == {str(first_id)}
    assert rows("30-70000000-8") == {str(last_id)}
    assert rows("70000000") == {str(last_id)}
    assert rows("nadie") == set()
    page = client.get("/invoices/?q=ferreteria").get_data(as_text=True)
    assert 'id="filter-q"' in page and 'value="ferreteria"' in page
    assert 'name="q" value="ferreteria"' in page  # the export takes the search too
    # A search's totals are added up to a limit; past it the list says so instead.
    assert "1 comprobante · autorizados" in text_of(client.get("/invoices/?q=ferreteria"))
    monkeypatch.setattr(listing, "SEARCH_TOTALS_LIMIT", 5)
    broad = text_of(client.get("/invoices/?q=consumidor"))
    assert "Más de 5 comprobantes: acotá la búsqueda" in broad
    assert broad.count("Consumidor final") >= 23


def test_bulk_lists_every_skipped_draft_with_its_reasons(
    app: Flask, shop: tuple[FlaskClient, int]
) -> None:
    client, organization_id = shop
    with app.app_context():
        good = draft(organization_id, [COFFEE]).id
        old = arca_today(get_arca()) - dt.timedelta(days=30)
        stale = draft(organization_id, [COFFEE], issue_date=old).id
        empty = draft(organization_id, [Line("", Decimal("0"), Decimal("10"))]).id
    token = csrf_token(client, "/invoices/?status=draft")
    response = client.post(
        "/invoices/bulk-authorize",
        data={"csrf_token": token, "invoice_id": [str(good), str(stale), str(empty)]},
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert f'id="bulk-skipped-{stale}"' in html and f'id="bulk-skipped-{empty}"' in html
    assert f'id="bulk-skipped-{good}"' not in html
    skipped = html.split('id="bulk-skipped"')[1].split("</ul>\n    </ul>")[0]
    assert f'href="/invoices/{stale}"' in skipped
    assert "Factura B 00001-(sin número)" in text_of(page)
    assert "fecha" in skipped.lower()  # the issue date's problem, in words
    with app.app_context():
        run_worker(burst=True)
    done = text_of(client.get(response.headers["Location"] + "/status"))
    assert "Listo: 1 autorizados, 0 sin autorizar." in done
    assert "Sin enviar: no pasan la revisión previa" in done
    # Nothing left to send: the page still lists why, and nothing is queued.
    response = client.post(
        "/invoices/bulk-authorize",
        data={"csrf_token": token, "invoice_id": [str(stale)]},
    )
    assert f'id="bulk-skipped-{stale}"' in client.get(response.headers["Location"]).text


def test_the_customer_csv_round_trips_through_the_import(
    app: Flask, shop: tuple[FlaskClient, int]
) -> None:
    client, organization_id = shop
    with app.app_context():
        customer(organization_id, "30-71111111-1", "1", "Ferretería Sur SA")
        customer(organization_id, "20-12345678-6", "6", "Ana Monotributista")
    response = exported(app, client, "/customers/export", {"status": "all"}, "/customers/")
    text = response.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert {(r["tipo_documento"], r["tipo_documento_nombre"]) for r in rows} == {("80", "CUIT")}
    assert {r["condicion_iva_nombre"] for r in rows} == {
        "IVA Responsable Inscripto",
        "Responsable Monotributo",
    }
    with app.app_context():
        record = preview_import(
            db.session, organization_id, None, UploadedCsv("clientes.csv", response.data)
        )
        assert (record.valid_rows, record.existing_rows, record.problems) == (2, 2, [])


def test_the_invoice_page_shows_lines_as_its_pdf_does(
    app: Flask, shop: tuple[FlaskClient, int], tmp_path: Path
) -> None:
    """Class A: net prices and amounts, the rate per line, VAT in the totals (also when the
    prices were typed with VAT). Class B: the prices with VAT, a VAT-included subtotal."""
    client, organization_id = shop
    with app.app_context():
        ri = customer(organization_id, "30-71111111-1", "1", "Ferretería Sur SA")
        a_net = authorize(draft(organization_id, [COFFEE], customer_id=ri).id).id
        a_gross = authorize(
            draft(organization_id, [COFFEE], customer_id=ri, prices_include_vat=True).id
        ).id
        b_gross = authorize(draft(organization_id, [COFFEE], prices_include_vat=True).id).id
    expected = {
        # unit price, line amount, and what must not show as the line's amount
        a_net: ("12.100,00", "24.200,00", "29.282,00"),
        a_gross: ("10.000,00", "20.000,00", "12.100,00"),
        b_gross: ("12.100,00", "24.200,00", "20.000,00"),
    }
    for invoice_id, (unit, amount, absent) in expected.items():
        html = client.get(f"/invoices/{invoice_id}").get_data(as_text=True)
        lines = html.split('id="invoice-lines"')[1].split("</section>")[0]
        row = " ".join(re.sub(r"<[^>]+>", " ", lines.split("<tbody>")[1]).split())
        assert f"Café en grano 1 kg 2 {unit} 0" in row and row.endswith(amount), row
        assert absent not in row
        pdf = words("".join(pdf_text(client.get(f"/invoices/{invoice_id}/pdf").data, tmp_path)))
        assert unit in pdf and amount in pdf
    a_page = text_of(client.get(f"/invoices/{a_net}"))
    assert "Precios sin IVA" in a_page and "21 %" in a_page and "IVA 21 %" in a_page
    b_page = text_of(client.get(f"/invoices/{b_gross}"))
    assert "Precios con IVA incluido." in b_page and "Subtotal $ 24.200,00" in b_page
    assert "IVA contenido: $ 4.200,00" in b_page and "Neto gravado" not in b_page


def test_an_export_whose_job_was_lost_is_built_all_the_same(
    app: Flask, shop: tuple[FlaskClient, int]
) -> None:
    """Redis lost the job (a flush, a restart): the export's request is in the database, and
    the workers' dispatcher queues it again."""
    client, _organization_id = shop
    page = start(client, "/invoices/export", {"status": "authorized"}, "/invoices/")
    export_id = int(page.rsplit("/", 1)[1])
    with app.app_context():
        queue = job_queue()
        assert queue is not None and queue.count == 1
        queue.empty()
        run_worker(burst=True)
        assert db.session.get_one(Export, export_id).status == "done"
    assert client.get(page + "/download").status_code == 200
