"""`flask demo` and `flask keys rotate` on the embedded default, as `make run` users meet them.

The acceptance of the certificates issue: after the demo, the SQLite file holds no private key
in the clear; after a rotation to a new primary key (and the old key removed), the demo
organization still gets its ticket. The demo's invoices: every CAE is in the sandbox's ledger,
a second run adds none, and `--reset` deletes them without switching their protection off for
good.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from unittest import mock

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select

from app import create_app
from arca.sandbox.ledger import StoredExport, StoredVoucher
from blueprints.audit.models import AuditEvent
from blueprints.certificates.connection import test_connection as run_connection_test
from blueprints.certificates.models import AccessTicketRecord, Certificate
from blueprints.certificates.services import load_credential
from blueprints.customers.models import Customer
from blueprints.demo.services import DEMO_CBU, DEMO_EMAIL, DEMO_PASSWORD
from blueprints.invoices.libro_iva import parse_cbte_line
from blueprints.invoices.models import Invoice, InvoiceStatus
from blueprints.invoices.package import (
    ALICUOTAS_FILE,
    CBTE_FILE,
    Month,
    month_invoices,
    pdf_file_name,
)
from blueprints.invoices.preflight_adapter import arca_today
from blueprints.organizations.models import Organization
from blueprints.points_of_sale.models import PointOfSale
from core.arca import get_arca
from core.crypto import generate_key, get_keyring
from core.db import db
from tests.web import csrf_token, login, text_of

pytestmark = pytest.mark.embedded

ALMACEN, ANA = "30712345671", "20276543211"
ALMACEN_INVOICES = (
    "  invoices: 202 authorized (1 FCE MiPyME, 1 Factura E), 3 drafts, 1 rejected, 1 credit note\n"
)
ANA_INVOICES = "  invoices: 10 authorized\n"


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("TALONARIO_"):
            monkeypatch.delenv(name)
    return tmp_path


@pytest.fixture
def started(instance: Path) -> Iterator[Flask]:
    """The app as `make run` starts it: migrated, nothing else."""
    with embedded(instance) as app:
        with app.app_context():
            upgrade()
        yield app


@contextmanager
def embedded(instance: Path) -> Iterator[Flask]:
    """A (re)started app over the same instance folder; its connections closed after."""
    app = create_app({"INSTANCE_PATH": str(instance)})
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
            get_arca().close()


def run_cli(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def database_bytes(instance: Path) -> bytes:
    """The database as it lies on disk, journal files included."""
    files = sorted(instance.glob("talonario.db*"))
    assert files, "no database file"
    return b"".join(path.read_bytes() for path in files)


def organization_id(cuit: str) -> int:
    found = db.session.scalar(select(Organization.id).where(Organization.cuit == cuit))
    assert found is not None, cuit
    return found


def customers_by_condition(cuit: str) -> dict[int, int]:
    counts = db.session.execute(
        select(Customer.iva_condition, func.count())
        .where(Customer.organization_id == organization_id(cuit))
        .group_by(Customer.iva_condition)
    )
    return {condition: count for condition, count in counts}


def test_demo_makes_two_ready_organizations_and_a_login(started: Flask) -> None:
    output = run_cli(started, "demo")
    assert "Almacén Demo SRL (CUIT 30-71234567-1, IVA Responsable Inscripto): created" in output
    assert "Ana Demo (CUIT 20-27654321-1, Responsable Monotributo): created" in output
    assert output.count("active, valid until") == 2
    assert "  customers: 52" in output
    assert f"Log in as {DEMO_EMAIL} / {DEMO_PASSWORD}" in output
    with started.app_context():
        numbers = db.session.scalars(
            select(PointOfSale.number)
            .where(PointOfSale.organization_id == organization_id(ALMACEN))
            .order_by(PointOfSale.number)
        ).all()
        assert numbers == [1, 2]
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions.count("certificate.generate") == actions.count("certificate.upload") == 2
        # 52 customers of every kind, through the service: validated and audited.
        conditions = customers_by_condition(ALMACEN)
        assert sum(conditions.values()) == 52
        assert set(conditions) == {1, 4, 5, 6, 9}
        assert customers_by_condition(ANA) == {}
        almacen = db.session.scalars(
            select(Customer).where(Customer.organization_id == organization_id(ALMACEN))
        ).all()
        anonymous = [c for c in almacen if c.doc_type == 99]
        assert [(c.legal_name, c.doc_number, c.iva_condition) for c in anonymous] == [
            ("Consumidor final", "0", 5)
        ]
        assert {c.doc_type for c in almacen if c.iva_condition in (1, 4, 6)} == {80}
        # A tourist by passport, and a customer abroad by its country's CUIT (Factura E).
        assert {c.doc_type for c in almacen if c.iva_condition == 9} == {94, 80}
        [abroad] = [c for c in almacen if c.country is not None]
        assert (abroad.country, abroad.doc_number) == (212, "55000002126")
        assert 0 < sum(c.archived for c in almacen) < 5
        assert actions.count("customer.create") == 52
    client = started.test_client()
    login(client, DEMO_EMAIL, DEMO_PASSWORD)
    assert "Almacén Demo SRL" in text_of(client.get("/"))
    assert "Ferretería Rivadavia SRL" in text_of(client.get("/customers/?q=ferreteria"))

    assert ALMACEN_INVOICES in output and ANA_INVOICES in output
    with started.app_context():
        check_demo_invoices()
        vouchers = get_arca().sandbox().ledger.voucher_count()
        # 200 invoices, the FCE and a credit note, 10 Facturas C; the Factura E is WSFEXv1's.
        assert vouchers == 212
        with get_arca().sandbox().ledger.transaction() as tx:
            assert tx.fex_last(ALMACEN, 1, 19) == (1, mock.ANY)
        rows = db.session.scalar(select(func.count()).select_from(Invoice))

    again = run_cli(started, "demo")
    assert again.count("already there") == 2
    assert "  customers: 52" in again
    assert ALMACEN_INVOICES in again and ANA_INVOICES in again
    with started.app_context():
        assert sum(customers_by_condition(ALMACEN).values()) == 52
        created = select(func.count()).where(AuditEvent.action == "customer.create")
        assert db.session.scalar(created) == 52
        # Nothing drafted, nothing sent to ARCA.
        assert db.session.scalar(select(func.count()).select_from(Invoice)) == rows
        assert get_arca().sandbox().ledger.voucher_count() == vouchers
        triggers = trigger_sql()
    reset = run_cli(started, "demo", "--reset")
    assert reset.count(": created") == 2
    assert "  customers: 52" in reset
    assert ALMACEN_INVOICES in reset and ANA_INVOICES in reset
    with started.app_context():
        assert len(db.session.scalars(select(Organization)).all()) == 2
        assert sum(customers_by_condition(ALMACEN).values()) == 52
        # The old invoices are gone, the new ones numbered after them in the sandbox's ledger.
        assert db.session.scalar(select(func.count()).select_from(Invoice)) == rows
        assert get_arca().sandbox().ledger.voucher_count() == 2 * vouchers
        check_demo_invoices()
        # The protection is back, exactly as the migration made it.
        assert trigger_sql() == triggers
        authorized = db.session.scalars(
            select(Invoice.id).where(Invoice.status == InvoiceStatus.AUTHORIZED).limit(1)
        ).one()
        db.session.rollback()
        with pytest.raises(sa.exc.DBAPIError, match="holds a number"), db.engine.begin() as c:
            c.execute(sa.text("DELETE FROM invoices WHERE id = :id"), {"id": authorized})


def check_demo_invoices() -> None:
    """The demo's mix, each authorized invoice's CAE as the sandbox's ledger holds it."""
    invoices = db.session.scalars(select(Invoice).order_by(Invoice.id)).all()
    almacen_id, ana_id = organization_id(ALMACEN), organization_id(ANA)
    almacen = [i for i in invoices if i.organization_id == almacen_id]
    ana = [i for i in invoices if i.organization_id == ana_id]
    authorized = [i for i in almacen if i.status == InvoiceStatus.AUTHORIZED]
    assert len(authorized) == 203
    # An FCE MiPyME A to the large company, above ARCA's threshold, with the demo's CBU; a
    # Factura E of services in dollars to the customer abroad.
    [fce] = [i for i in authorized if i.invoice_type == 201]
    assert fce.receiver_doc_number == "30500003002" and fce.total > Decimal("3958316")
    assert fce.fce_cbu == DEMO_CBU and fce.payment_due is not None
    [export] = [i for i in authorized if i.invoice_type == 19]
    assert (export.letter, export.currency, export.export_type) == ("E", "DOL", 2)
    assert (export.destination_country, export.receiver_tax_id) == (212, "59-1234567")
    assert export.vat_total == 0 and export.cae is not None
    facturas = [i for i in authorized if i.kind == "invoice" and i not in (fce, export)]
    assert {i.invoice_type for i in facturas} == {1, 6}  # Facturas A and B
    assert 100 < sum(i.letter == "B" for i in facturas) < 170
    assert sum(i.receiver_doc_type == 99 for i in facturas) > 50  # anonymous consumers
    assert sum(i.receiver_doc_type == 96 for i in facturas) > 20  # by DNI
    assert all(i.prices_include_vat == (i.letter == "B") for i in facturas)
    assert {i.point_of_sale_number for i in facturas} == {1, 2}
    assert sum(i.concept == 2 for i in facturas) == 8  # and the FCE and the E
    assert all(
        i.service_from and i.service_to and i.payment_due for i in facturas if i.concept == 2
    )
    assert [(i.currency, i.currency_rate) for i in facturas if i.currency != "PES"] == [
        ("DOL", 1050)
    ] * 2
    vats = {line.vat for i in facturas for line in i.lines}
    assert {"5", "4", "exempt"} <= vats
    assert len({i.issue_date for i in authorized}) == 1  # today on ARCA's clock
    [note] = [i for i in authorized if i.kind == "credit_note"]
    assert note.invoice_type == 3 and note.associated_invoice is not None
    assert note.associated_invoice.letter == "A" and note.total == note.associated_invoice.total
    assert sum(i.status == InvoiceStatus.DRAFT for i in almacen) == 3
    [rejected] = [i for i in almacen if i.status == InvoiceStatus.REJECTED]
    assert rejected.number is None and "10048" in str(rejected.errors + rejected.observations)
    assert not get_arca().sandbox().faults.active()
    assert [(i.invoice_type, i.status) for i in ana] == [(11, InvoiceStatus.AUTHORIZED)] * 10
    for cuit, issued in ((ALMACEN, authorized), (ANA, ana)):
        for invoice in issued:
            stored = ledger_voucher(cuit, invoice)
            assert stored is not None and stored.cae == invoice.cae, invoice.id
    # Numbered once each: no number of a sequence twice.
    keys = [(i.organization_id, i.point_of_sale_number, i.invoice_type, i.number) for i in invoices]
    numbered = [key for key in keys if key[3] is not None]
    assert len(numbered) == len(set(numbered)) == 213
    db.session.rollback()


def ledger_voucher(cuit: str, invoice: Invoice) -> StoredVoucher | StoredExport | None:
    """The sandbox's record of `invoice`: WSFEXv1 keeps its own (fex_vouchers)."""
    assert invoice.number is not None
    key = (cuit, invoice.point_of_sale_number, invoice.invoice_type, invoice.number)
    with get_arca().sandbox().ledger.transaction() as tx:
        return tx.fex_find(*key) if invoice.is_export else tx.find(*key)


def trigger_sql() -> list[tuple[str, str]]:
    rows = db.session.execute(
        sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
    )
    triggers = [(str(name), str(sql)) for name, sql in rows]
    db.session.rollback()
    # 11 keep authorized invoices immutable (0004), 2 keep the daily totals (0005), 4 keep a
    # note's original and its type code (0007), 4 check the CAE/CAEA mode and its columns (0018).
    assert len(triggers) == 21
    assert sum(name.startswith("invoices_note_has_original_") for name, _ in triggers) == 2
    return triggers


def test_no_private_key_in_the_clear_then_rotation_keeps_the_tickets_coming(
    started: Flask, instance: Path
) -> None:
    run_cli(started, "demo")
    with started.app_context():
        ticket_logins = get_arca().sandbox().login_count(ALMACEN)
        secrets = private_key_forms(started)
    stored = database_bytes(instance)
    assert b"PRIVATE KEY" not in stored
    assert b"-----BEGIN" not in stored.replace(b"-----BEGIN CERTIFICATE", b"")
    for form in secrets:
        assert form not in stored

    old_key = (instance / "encryption_keys").read_text().strip()
    new_key = generate_key()
    (instance / "encryption_keys").write_text(f"{new_key}\n{old_key}\n")
    with embedded(instance) as restarted:
        output = run_cli(restarted, "keys", "rotate")
        assert "certificates.private_key: 2 re-encrypted" in output
        # Almacén's tickets for WSFEv1 and WSFEXv1 (its Factura E), Ana's for WSFEv1.
        assert "access_tickets.ticket: 3 re-encrypted" in output
        with restarted.app_context():
            primary = get_keyring().primary_id
            events = db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "keys.rotate")
            ).all()
            assert len(events) == 2
            assert all(event.details["key_id"] == primary for event in events)
        second = run_cli(restarted, "keys", "rotate")
        assert "certificates.private_key: 0 re-encrypted" in second
        assert "access_tickets.ticket: 0 re-encrypted" in second

    (instance / "encryption_keys").write_text(f"{new_key}\n")  # the old key is gone
    with embedded(instance) as only_new, only_new.app_context():
        tokens = db.session.scalars(select(Certificate.private_key)).all()
        assert all(token.startswith(f"v1.{get_keyring().primary_id}.") for token in tokens)
        almacen = organization_id(ALMACEN)
        report = run_connection_test(db.session, almacen, get_arca())
        assert report.ok, [(step.name, step.detail) for step in report.steps]
        # The stored ticket opened under the new key: no second loginCms.
        assert get_arca().sandbox().login_count(ALMACEN) == ticket_logins
        # Past its 12 hours the key signs a new login: the private key opens too.
        sandbox = get_arca().sandbox()
        sandbox.clock.freeze(sandbox.clock.now() + dt.timedelta(hours=13))
        try:
            report = run_connection_test(db.session, almacen, get_arca())
        finally:
            sandbox.clock.unfreeze()
        assert report.ok, [(step.name, step.detail) for step in report.steps]
        assert sandbox.login_count(ALMACEN) == ticket_logins + 1
        assert db.session.scalars(select(AccessTicketRecord)).all()


def private_key_forms(app: Flask) -> list[bytes]:
    """Every form a stored key could leak in: PEM body, DER, and the RSA modulus bytes."""
    forms: list[bytes] = []
    for certificate in db.session.scalars(select(Certificate)).all():
        credential = load_credential(db.session, certificate, get_keyring())
        key = serialization.load_pem_private_key(credential.private_key_pem, None)
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        traditional = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        private_exponent = key.private_numbers().d.to_bytes(256, "big")  # type: ignore[union-attr]
        forms += [der, traditional, private_exponent, base64.b64encode(der)[:64]]
    assert len(forms) == 8
    return forms


def test_the_accountant_package_of_the_demo_month(started: Flask, tmp_path: Path) -> None:
    """One PDF per authorized voucher of the month, the CSV, and Libro IVA Digital files whose
    totals equal the invoices' (per currency: the files keep each voucher's own currency)."""
    run_cli(started, "demo")
    client = started.test_client()
    login(client, DEMO_EMAIL, DEMO_PASSWORD)
    with started.app_context():
        almacen = organization_id(ALMACEN)
        client.post(
            f"/organizations/{almacen}/switch",
            data={"csrf_token": csrf_token(client, "/")},
        )
        today = arca_today(get_arca())
        invoices = month_invoices(db.session, almacen, Month(today.year, today.month))
        expected: dict[str, Decimal] = {}
        for invoice in invoices:
            expected[invoice.currency] = expected.get(invoice.currency, Decimal(0)) + invoice.total
        names = {pdf_file_name(invoice) for invoice in invoices}
    assert len(invoices) == 203  # 200 invoices, the FCE, the Factura E and the credit note
    # Without Redis the package's job runs inline: its page offers the file at once.
    token = csrf_token(client, "/invoices/package")
    queued = client.post("/invoices/package", data={"csrf_token": token, "mes": f"{today:%Y-%m}"})
    assert queued.status_code == 303, queued.get_data(as_text=True)
    response = client.get(queued.headers["Location"] + "/download")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    pdfs = {
        name.removeprefix("comprobantes/") for name in archive.namelist() if name.endswith(".pdf")
    }
    assert pdfs == names
    assert archive.read(f"comprobantes/{sorted(names)[0]}").startswith(b"%PDF")
    cbte = archive.read(CBTE_FILE).decode("latin-1").split("\r\n")
    alicuotas = archive.read(ALICUOTAS_FILE).decode("latin-1").split("\r\n")
    assert len(cbte) == 203 and all(len(line) == 266 for line in cbte)
    assert all(len(line) == 62 for line in alicuotas)
    found: dict[str, Decimal] = {}
    for line in cbte:
        record = parse_cbte_line(line)
        currency = str(record["currency"]).strip()
        found[currency] = found.get(currency, Decimal(0)) + Decimal(record["total"])
    assert found == expected
    readme = archive.read("LEEME.txt").decode()
    assert "Libro IVA Digital, ventas: 203 comprobantes." in readme
