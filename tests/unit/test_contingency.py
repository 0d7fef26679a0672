"""The contingency's pure parts: which fortnights' CAEA to hold, and a CAEA voucher printed as
one (RG 4892: tipoCodAut "A"; "CAEA N°" and its due date in place of the CAE's)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest

from arca.qr import QR_BASE_URL, build_qr_payload, build_qr_url
from blueprints.invoices.contingency import fortnights_to_request
from blueprints.invoices.pdf import render_invoice_pdf
from tests.pdf_tools import decode_qr, pdf_text, words
from tests.unit.invoices.test_pdf import CONSUMER, FIVE_LINES, ISSUER, build

CAEA = "31234567890123"
CAEA_DUE = dt.date(2025, 3, 15)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2026, 12, 4), [(202612, 1)]),  # 16-20 Dec's window opens on the 11th
        (dt.date(2026, 12, 11), [(202612, 1), (202612, 2)]),
        (dt.date(2026, 12, 15), [(202612, 1), (202612, 2)]),
        (dt.date(2026, 12, 16), [(202612, 2)]),
        (dt.date(2026, 12, 27), [(202612, 2), (202701, 1)]),  # the year turns
        (dt.date(2027, 2, 23), [(202702, 2)]),
        (dt.date(2027, 2, 24), [(202702, 2), (202703, 1)]),  # a 28-day February
    ],
)
def test_the_current_fortnight_and_the_next_within_its_window(
    today: dt.date, expected: list[tuple[int, int]]
) -> None:
    assert fortnights_to_request(today) == expected


def test_a_caea_voucher_prints_its_caea_and_a_qr_of_type_a(tmp_path: Path) -> None:
    voucher, payload = build("B", FIVE_LINES)
    payload = build_qr_payload(
        date=dt.date(2025, 3, 14),
        cuit=ISSUER.cuit,
        point_of_sale=6,
        invoice_type=6,
        number=1,
        total=voucher.total,
        currency="PES",
        currency_rate=voucher.currency_rate,
        doc_type=96,
        doc_number="30123456",
        cae=CAEA,
        authorization_type="A",
    )
    caea_voucher = replace(
        voucher,
        point_of_sale=6,
        number=1,
        cae=CAEA,
        cae_due=CAEA_DUE,
        qr_url=build_qr_url(payload),
        authorization_kind="CAEA",
    )
    pdf = render_invoice_pdf(caea_voucher, ISSUER, CONSUMER)
    flat = words("".join(pdf_text(pdf, tmp_path)))
    assert f"CAEA N°: {CAEA}" in flat and "Fecha de Vto. de CAEA: 15/03/2025" in flat
    assert "CAE N°" not in flat and "Comprobante Autorizado" in flat
    [decoded] = decode_qr(pdf, tmp_path)
    fields = json.loads(base64.b64decode(decoded.removeprefix(QR_BASE_URL), validate=True))
    assert fields["tipoCodAut"] == "A" and fields["codAut"] == int(CAEA)
    assert fields["ptoVta"] == 6 and fields["nroCmp"] == 1
