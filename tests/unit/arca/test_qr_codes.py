from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from arca import codes
from arca.qr import build_qr_payload, build_qr_url, encode_qr_payload

OFFICIAL_JSON = (
    '{"ver":1,"fecha":"2020-10-13","cuit":30000000007,"ptoVta":10,"tipoCmp":1,"nroCmp":94,'
    '"importe":12100,"moneda":"DOL","ctz":65,"tipoDocRec":80,"nroDocRec":20000000001,'
    '"tipoCodAut":"E","codAut":70417054367476}'
)
EXAMPLE = {
    "date": dt.date(2020, 10, 13),
    "cuit": "30000000007",
    "point_of_sale": 10,
    "invoice_type": 1,
    "number": 94,
    "total": Decimal("12100.00"),
    "currency": "DOL",
    "currency_rate": Decimal("65.000000"),
    "doc_type": 80,
    "doc_number": "20000000001",
    "cae": "70417054367476",
}


def test_official_example_is_reproduced_byte_for_byte() -> None:
    encoded = encode_qr_payload(build_qr_payload(**EXAMPLE))  # type: ignore[arg-type]
    assert base64.b64decode(encoded) == OFFICIAL_JSON.encode()
    url = build_qr_url(build_qr_payload(**EXAMPLE))  # type: ignore[arg-type]
    assert (
        url
        == "https://www.afip.gob.ar/fe/qr/?p=" + base64.b64encode(OFFICIAL_JSON.encode()).decode()
    )


def test_cents_survive() -> None:
    payload = build_qr_payload(
        **{**EXAMPLE, "total": Decimal("121.50"), "currency_rate": Decimal("1450.123456")}
    )  # type: ignore[arg-type]
    text = json.dumps(payload, separators=(",", ":"))
    assert '"importe":121.5' in text and '"ctz":1450.123456' in text


def test_code_tables_match_the_reference() -> None:
    reference = Path("/work/shared/reference/arca/tables.json")
    assert codes.VOUCHER_TYPES[1].voucher_class == "A"
    assert codes.VOUCHER_TYPES[8].kind is codes.VoucherKind.CREDIT_NOTE
    assert codes.VOUCHER_TYPES[11].voucher_class == "C"
    assert codes.VOUCHER_TYPES[53].voucher_class == "ALEY"
    assert codes.VAT_RATES[4] == Decimal("10.5") and codes.VAT_RATES[3] == 0
    assert {80, 86, 87, 94, 96, 99} <= set(codes.DOCUMENT_TYPES)
    assert codes.RECEIVER_CONDITIONS[5].allowed_classes == {"B", "C", "49"}
    assert codes.ALLOWED_ASSOCIATED_TYPES[13] == {11, 12, 13, 15}
    if reference.exists():
        data = json.loads(reference.read_text())
        wsfev1 = set(codes.VOUCHER_TYPES) - codes.EXPORT_VOUCHER_CODES
        assert {v["id"] for v in data["voucher_types_CbteTipo"]} == wsfev1
        for row in data["vat_rates_AlicIva_Id"]:
            assert codes.VAT_RATES[row["id"]] == Decimal(str(row["rate"])) * 100
    # the issuer side stays as it was
    assert codes.IssuerCondition.MONOTRIBUTO.voucher_classes == ("C",)
