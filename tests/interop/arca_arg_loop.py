"""Driver run inside `.venv-interop/`: arca-arg's whole loop against the sandbox over HTTP.

Usage: arca_arg_loop.py BASE_URL CUIT KEY_PATH CERT_PATH
Prints one JSON object (the last line of stdout) with what the library saw.

arca-arg is configured the way its README says: the attributes of `arca_arg.settings` are set
before `arca_arg.webservice` is imported (its auth module reads them at import). The WSAA WSDL
is one of those settings, the WSFEv1 WSDL is ArcaWebService's argument: those URLs are the only
change. Its TRA carries local Buenos Aires times without a UTC offset and is signed by
`cryptography` in S/MIME text mode (no Binary flag), both unlike django-afip.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

RECEIVER_CUIT = 30712345671
BATCH = (Decimal("1000.00"), Decimal("333.33"))
VAT_21 = Decimal("0.21")
ARGENTINA = timezone(timedelta(hours=-3))
FACTURA_A = 1


def main(base_url: str, cuit: str, key_path: str, cert_path: str) -> dict[str, Any]:
    import arca_arg.settings as conf

    conf.CUIT = cuit
    conf.CERT_PATH = cert_path
    conf.PRIVATE_KEY_PATH = key_path
    conf.TA_FILES_PATH = f"{Path.cwd()}/"
    conf.WSDL_WSAA_HOM = f"{base_url}/ws/services/LoginCms?wsdl"

    from arca_arg.webservice import ArcaWebService
    from zeep.helpers import serialize_object

    timings: dict[str, float] = {}
    started = time.monotonic()
    service = ArcaWebService(f"{base_url}/wsfev1/service.asmx?WSDL", "wsfe", enable_logging=False)
    timings["login"] = round(time.monotonic() - started, 3)
    auth = {"Token": service.token, "Sign": service.sign, "Cuit": int(service.cuit)}

    def call(operation: str, **data: Any) -> dict[str, Any]:
        answer: dict[str, Any] = serialize_object(
            service.send_request(operation, {"Auth": auth, **data}), dict
        )
        return answer

    started = time.monotonic()
    points = call("FEParamGetPtosVenta")
    tables = {
        operation: call(operation)
        for operation in (
            "FEParamGetTiposCbte",
            "FEParamGetTiposIva",
            "FEParamGetTiposDoc",
            "FEParamGetCondicionIvaReceptor",
        )
    }
    timings["parameters"] = round(time.monotonic() - started, 3)

    last = call("FECompUltimoAutorizado", PtoVta=1, CbteTipo=FACTURA_A)
    first = last["CbteNro"] + 1
    started = time.monotonic()
    details = [factura_a(first + i, net) for i, net in enumerate(BATCH)]
    request = {
        "FeCabReq": {"CantReg": len(details), "PtoVta": 1, "CbteTipo": FACTURA_A},
        "FeDetReq": {"FECAEDetRequest": details},
    }
    authorized = call("FECAESolicitar", FeCAEReq=request)
    timings["authorize"] = round(time.monotonic() - started, 3)
    consulted = [
        call("FECompConsultar", FeCompConsReq={"CbteTipo": FACTURA_A, "CbteNro": n, "PtoVta": 1})
        for n in range(first, first + len(details))
    ]
    last_after = call("FECompUltimoAutorizado", PtoVta=1, CbteTipo=FACTURA_A)
    return {
        "library": "arca-arg",
        "token_length": len(service.token or ""),
        "points_of_sale": points,
        "tables": tables,
        "last_before": last["CbteNro"],
        "authorized": authorized,
        "consulted": consulted,
        "last_after": last_after["CbteNro"],
        "timings": timings,
    }


def factura_a(number: int, net: Decimal) -> dict[str, Any]:
    """Factura A, products, to a registered VAT payer (DocTipo 80, IVA condition 1), 21 % VAT."""
    vat = (net * VAT_21).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return {
        "Concepto": 1,
        "DocTipo": 80,
        "DocNro": RECEIVER_CUIT,
        "CbteDesde": number,
        "CbteHasta": number,
        "CbteFch": datetime.now(ARGENTINA).strftime("%Y%m%d"),
        "ImpTotal": net + vat,
        "ImpTotConc": 0,
        "ImpNeto": net,
        "ImpOpEx": 0,
        "ImpIVA": vat,
        "ImpTrib": 0,
        "MonId": "PES",
        "MonCotiz": 1,
        "CondicionIVAReceptorId": 1,
        "Iva": {"AlicIva": [{"Id": 5, "BaseImp": net, "Importe": vat}]},
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:5]), default=str))
