"""The QR code every printed web-service voucher carries (RG 4892/2020): payload and URL. Pure."""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal
from typing import Any

# The afip.gob.ar form: every library and ARCA's own worked example use it (NOTES §13; the spec
# PDF now names arca.gob.ar, and both hosts redirect).
QR_BASE_URL = "https://www.afip.gob.ar/fe/qr/?p="
QR_VERSION = 1


def build_qr_payload(
    *,
    date: dt.date,
    cuit: int | str,
    point_of_sale: int,
    invoice_type: int,
    number: int,
    total: Decimal,
    currency: str,
    currency_rate: Decimal,
    doc_type: int | None,
    doc_number: int | str | None,
    cae: int | str,
    authorization_type: str = "E",
) -> dict[str, Any]:
    """The QR's JSON object, version 1, keys in the spec's order.

    The spec types every id and code as a JSON *number* (cuit, ptoVta, tipoCmp, nroCmp,
    tipoDocRec, nroDocRec, codAut) and the amounts as decimals: `importe` and `ctz` are written
    as integers when whole (the official example has `"importe":12100`, `"ctz":65`) and with
    their decimals otherwise. `authorization_type` is "E" for a CAE, "A" for a CAEA. For an
    anonymous consumer pass doc_type 99 and doc_number 0, as most implementations do. The
    spec marks the receiver's two fields optional: doc_type None leaves them out (a Factura E
    whose receiver has no country CUIT, only a tax id abroad that is no ARCA document).
    Raises `ValueError` for non-numeric CUIT, document or CAE.
    """
    payload: dict[str, Any] = {
        "ver": QR_VERSION,
        "fecha": date.isoformat(),  # yyyy-mm-dd here, unlike WSFEv1's yyyymmdd
        "cuit": int(cuit),
        "ptoVta": point_of_sale,
        "tipoCmp": invoice_type,
        "nroCmp": number,
        "importe": _json_number(total),
        "moneda": currency,
        "ctz": _json_number(currency_rate),
        "tipoDocRec": doc_type,
        "nroDocRec": int(doc_number or 0),
        "tipoCodAut": authorization_type,
        "codAut": int(cae),
    }
    if doc_type is None:
        del payload["tipoDocRec"], payload["nroDocRec"]
    return payload


def encode_qr_payload(payload: dict[str, Any]) -> str:
    """Compact JSON (no spaces, as in the official example), UTF-8, standard base64 with padding."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def build_qr_url(payload: dict[str, Any]) -> str:
    """The text to encode in the QR: `QR_BASE_URL` + base64 of the payload's JSON.

    `payload` comes from `build_qr_payload`.
    """
    return QR_BASE_URL + encode_qr_payload(payload)


def _json_number(value: Decimal) -> int | float:
    value = Decimal(value)
    if value == value.to_integral_value():
        return int(value)
    # float's repr is the shortest text that round-trips, so 121.5 stays "121.5": for amounts
    # with at most 2 (rates 6) decimals the text written equals the decimal given.
    return float(value)
