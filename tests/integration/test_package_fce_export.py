"""The accountant's package with FCE MiPyME and Factura E vouchers (#18), authorized by the
sandbox: their PDFs and CSV rows are in it, and the Libro IVA Digital files carry them under
their own codes (201; 19 with operation X, a 0 % record and the buyer's country CUIT). An export
without a country CUIT is left out of the Libro, with the reason in LEEME.txt."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

from flask import Flask

from blueprints.customers.rules import CustomerFields
from blueprints.customers.services import create_customer
from blueprints.invoices.libro_iva import parse_alicuota_line, parse_cbte_line
from blueprints.invoices.models import Invoice, InvoiceStatus
from blueprints.invoices.package import (
    ALICUOTAS_FILE,
    CBTE_FILE,
    Month,
    monthly_package,
    pdf_file_name,
)
from blueprints.invoices.preflight_adapter import arca_today
from blueprints.invoices.services import ExportInput
from blueprints.invoices.totals import Line
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import db
from tests.integration.test_invoices import COFFEE, authorize, certified, customer, draft

CBU = "0110599500000031000121"
SHELVES = Line("Reposición de góndolas (mes)", Decimal("1"), Decimal("3500000.00"), vat=5)
CONSULTING = Line("Consultoría (mes)", Decimal("1"), Decimal("2500.00"), vat=5)


def abroad(organization_id: int, name: str, doc_type: str, number: str, tax_id: str) -> int:
    fields = CustomerFields(
        doc_type, number, name, "9", address="1200 Brickell Ave, Miami, FL, USA",
        country="212", foreign_tax_id=tax_id,
    )  # fmt: skip
    return create_customer(db.session, organization_id, fields, None).id


def services(today: dt.date, **fields: object) -> dict[str, object]:
    return {
        "concept": 2,
        "service_from": today.replace(day=1),
        "service_to": today,
        "payment_due": today + dt.timedelta(days=30),
        **fields,
    }


def authorized(invoice: Invoice) -> Invoice:
    done = authorize(invoice.id)
    assert done.status == InvoiceStatus.AUTHORIZED, (done.errors, done.observations)
    return done


def test_fce_and_e_vouchers_are_in_the_package_and_the_libro(app: Flask) -> None:
    with app.test_request_context():
        organization_id = certified()
        db.session.get_one(Organization, organization_id).cbu = CBU
        db.session.commit()
        today = arca_today(get_arca())
        large = customer(organization_id, "30500010912", "1", "Gran Empresa SA")
        with_cuit = abroad(organization_id, "Acme Inc.", "80", "55000002126", "12-3456789")
        tax_id_only = abroad(organization_id, "Globex Corp.", "99", "0", "98-7654321")
        dollars = {"currency": "DOL", "currency_rate": Decimal("1050")}
        fce = authorized(draft(organization_id, [SHELVES], customer_id=large, fce=True,
                               **services(today)))  # fmt: skip
        export = ExportInput(destination_country=212, language=2)
        factura_e = authorized(draft(organization_id, [CONSULTING], customer_id=with_cuit,
                                     export=export, **services(today, **dollars)))  # fmt: skip
        unlisted = authorized(draft(organization_id, [CONSULTING], customer_id=tax_id_only,
                                    export=export, **services(today, **dollars)))  # fmt: skip
        counter = authorized(draft(organization_id, [COFFEE]))
        assert [fce.invoice_type, factura_e.invoice_type, unlisted.invoice_type] == [201, 19, 19]
        names = {pdf_file_name(i) for i in (fce, factura_e, unlisted, counter)}
        archive = zipfile.ZipFile(
            io.BytesIO(monthly_package(db.session, organization_id, Month(today.year, today.month)))
        )

    pdfs = {n.removeprefix("comprobantes/") for n in archive.namelist() if n.endswith(".pdf")}
    assert pdfs == names and "019-00001-00000001.pdf" in pdfs
    rows = list(
        csv.DictReader(
            io.StringIO(archive.read(f"comprobantes-{today:%Y-%m}.csv").decode().lstrip("\ufeff")),
            delimiter=";",
        )
    )
    assert sorted(row["tipo"] for row in rows) == [
        "Factura B",
        "Factura de Crédito electrónica MiPyMEs (FCE) A",
        "Factura de Exportación",
        "Factura de Exportación",
    ]

    records = {
        str(r["voucher_type"]): r
        for r in map(parse_cbte_line, archive.read(CBTE_FILE).decode("latin-1").split("\r\n"))
    }
    assert set(records) == {"006", "201", "019"}  # the export without a country CUIT left out
    assert records["201"]["total"] == fce.total and records["201"]["payment_due"] == "00000000"
    e_record = records["019"]
    assert (e_record["doc_type"], e_record["doc_number"]) == ("80", "00000000055000002126")
    assert (e_record["operation_code"], e_record["currency"]) == ("X", "DOL")
    assert e_record["total"] == Decimal("2500.00") and e_record["vat_rate_count"] == "1"
    rates = [
        parse_alicuota_line(line) for line in archive.read(ALICUOTAS_FILE).decode().split("\r\n")
    ]
    [e_rate] = [r for r in rates if r["voucher_type"] == "019"]
    assert (e_rate["rate_id"], e_rate["base"], e_rate["vat"]) == ("0003", Decimal("2500.00"), 0)
    readme = archive.read("LEEME.txt").decode()
    assert "Libro IVA Digital, ventas: 3 comprobantes." in readme
    assert f"Fuera del Libro IVA: {pdf_file_name(unlisted)}: " in readme
    assert "country CUIT" in readme
