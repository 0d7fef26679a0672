"""A Factura E printed: authorized through the sandbox's WSFEXv1, its PDF read back as text and
its QR decoded (RG 4892: tipoCmp 19, moneda DOL, the rate, the country CUIT as the receiver's
document only when there is one)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from flask import Flask

from arca.qr import build_qr_payload
from blueprints.customers.rules import CustomerFields
from blueprints.customers.services import create_customer
from blueprints.invoices.models import InvoiceStatus
from blueprints.invoices.pdf import (
    PdfExport,
    PdfIssuer,
    PdfReceiver,
    PdfVoucher,
    render_invoice_pdf,
)
from blueprints.invoices.printing import invoice_pdf
from blueprints.invoices.services import ExportInput, ExportPermitInput
from blueprints.invoices.totals import Line
from core.db import db
from tests.integration.test_invoices import authorize, certified, draft
from tests.pdf_tools import decode_qr, pdf_text, words

USA_COMPANY = "55000002126"
SOFTWARE = Line("Desarrollo de software", Decimal("10"), Decimal("150"), vat=5)


def abroad(organization_id: int, cuit: str | None) -> int:
    fields = CustomerFields(
        "80" if cuit else "99",
        cuit or "0",
        "Acme Corp",
        "9",
        address="1 Main St, Springfield",
        country="212",
        foreign_tax_id="12-3456789",
    )
    return create_customer(db.session, organization_id, fields, None).id


def qr_payload(pdf: bytes, tmp_path: Path) -> dict[str, object]:
    codes = decode_qr(pdf, tmp_path)
    assert len(codes) == 1 and codes[0].startswith("https://www.afip.gob.ar/fe/qr/?p=")
    return json.loads(base64.b64decode(codes[0].split("?p=", 1)[1]))


def test_an_authorized_factura_e_prints_with_its_qr(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        organization_id = certified()
        customer_id = abroad(organization_id, USA_COMPANY)
        export = ExportInput(destination_country=212, language=2, payment_terms="Transferencia")
        invoice = draft(
            organization_id,
            [SOFTWARE],
            customer_id=customer_id,
            concept=2,
            service_from=dt.date.today().replace(day=1),
            service_to=dt.date.today(),
            payment_due=dt.date.today(),
            currency="DOL",
            currency_rate=Decimal("1000"),
            export=export,
        )
        invoice = authorize(invoice.id)
        assert invoice.status == InvoiceStatus.AUTHORIZED, invoice.errors
        assert (invoice.invoice_type, invoice.number) == (19, 1)
        pdf = invoice_pdf(db.session, invoice)
        cae = invoice.cae

    text = words(pdf_text(pdf, tmp_path)[0])
    assert "E Código 019 FACTURA DE EXPORTACIÓN" in text
    assert "CUIT país: 55-00000212-6" in text
    assert "País del cliente: ESTADOS UNIDOS" in text
    assert "Id. impositivo del cliente: 12-3456789" in text
    assert "País de destino: ESTADOS UNIDOS" in text
    assert "Condición de venta: Transferencia" in text
    assert "Moneda: Dólar estadounidense (DOL) Tipo de cambio: $ 1.000,00" in text
    assert "Importe Neto Gravado" not in text and "IVA 21%" not in text  # no VAT breakdown
    assert "Subtotal: US$ 1.500,00 Importe Total: US$ 1.500,00" in text
    assert "Operación de exportación: el comprobante no discrimina IVA." in text
    assert f"CAE N°: {cae}" in text

    payload = qr_payload(pdf, tmp_path)
    assert payload["tipoCmp"] == 19 and payload["moneda"] == "DOL" and payload["ctz"] == 1000
    assert (payload["tipoDocRec"], payload["nroDocRec"]) == (80, int(USA_COMPANY))
    assert payload["importe"] == 1500 and payload["codAut"] == int(cae or 0)


def test_without_a_country_cuit_the_qr_has_no_receiver(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        organization_id = certified()
        customer_id = abroad(organization_id, None)
        goods = Line("Vino Malbec, caja x 6", Decimal("20"), Decimal("60"), vat=5)
        export = ExportInput(
            destination_country=212,
            incoterms="FOB",
            incoterms_detail="Buenos Aires",
            permit_existing=True,
            permits=[ExportPermitInput("24001EC01000123A", 212)],
        )
        invoice = draft(
            organization_id,
            [goods],
            customer_id=customer_id,
            currency="DOL",
            currency_rate=Decimal("1000"),
            export=export,
        )
        invoice = authorize(invoice.id)
        assert invoice.status == InvoiceStatus.AUTHORIZED, invoice.errors
        pdf = invoice_pdf(db.session, invoice)

    text = words(pdf_text(pdf, tmp_path)[0])
    assert "Id. impositivo: 12-3456789" in text and "A CONSUMIDOR FINAL" not in text
    assert "Incoterms: FOB - Buenos Aires" in text
    assert "Permisos de embarque: 24001EC01000123A (ESTADOS UNIDOS)" in text
    payload = qr_payload(pdf, tmp_path)
    assert "tipoDocRec" not in payload and "nroDocRec" not in payload
    assert payload["tipoCmp"] == 19


def test_the_notes_titles(tmp_path: Path) -> None:
    """The pure layout: a note of a Factura E is titled as ARCA names it."""
    issuer = PdfIssuer("Exportadora Sur SRL", "30710000111", "IVA Responsable Inscripto", "X 1")
    receiver = PdfReceiver("Acme Corp", "CUIT país", "55-00000212-6", "Cliente del Exterior")
    export = PdfExport("ESTADOS UNIDOS", "ESTADOS UNIDOS")
    for code, title in (
        (20, "NOTA DE DÉBITO POR OPERACIONES CON EL EXTERIOR"),
        (21, "NOTA DE CRÉDITO POR OPERACIONES CON EL EXTERIOR"),
    ):
        voucher = PdfVoucher(
            invoice_type=code,
            letter="E",
            voucher_name="",
            point_of_sale=1,
            number=1,
            issue_date=dt.date(2026, 12, 4),
            lines=(),
            total=Decimal("10"),
            export=export,
        )
        text = words(
            pdf_text(render_invoice_pdf(voucher, issuer, receiver, ("ORIGINAL",)), tmp_path)[0]
        )
        assert title in text and f"Código {code:03d}" in text


def test_the_qr_payload_leaves_the_receiver_out_on_request() -> None:
    fields = {
        "date": dt.date(2026, 12, 4),
        "cuit": "30710000111",
        "point_of_sale": 1,
        "invoice_type": 19,
        "number": 7,
        "total": Decimal("1500"),
        "currency": "DOL",
        "currency_rate": Decimal("1050.5"),
        "cae": "12345678901234",
    }
    payload = build_qr_payload(doc_type=None, doc_number=None, **fields)  # type: ignore[arg-type]
    assert list(payload) == [
        "ver",
        "fecha",
        "cuit",
        "ptoVta",
        "tipoCmp",
        "nroCmp",
        "importe",
        "moneda",
        "ctz",
        "tipoCodAut",
        "codAut",
    ]
    assert payload["ctz"] == 1050.5
