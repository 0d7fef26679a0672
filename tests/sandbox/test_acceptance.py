"""The issue's acceptance test: a client built only from ARCA's published WSDLs (zeep), pointed
at the standalone sandbox, signing its TRA with `openssl cms`, gets a TA and a CAE for a
Factura B to a final consumer, then 10016 on a resent number and 10048 on a bad total."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import zeep
from lxml import etree
from zeep.transports import Transport

from arca.sandbox import Sandbox
from tests.sandbox.helpers import ISSUER, build_tra, openssl_sign

REPO_ROOT = Path(__file__).resolve().parents[2]
WSDL_DIR = REPO_ROOT.parent / "shared" / "reference" / "arca" / "wsdl"
WSAA_BINDING = "{https://wsaahomo.afip.gov.ar/ws/services/LoginCms}LoginCmsSoapBinding"
WSFE_BINDING = "{http://ar.gov.afip.dif.FEV1/}ServiceSoap"


def published_wsdl(name: str) -> str:
    path = WSDL_DIR / name
    assert path.is_file(), f"ARCA's published WSDL is missing: {path} (see NOTES.md)"
    return str(path)


@pytest.fixture
def transport() -> Iterator[Transport]:
    session = requests.Session()
    try:
        yield Transport(session=session, timeout=10, operation_timeout=10)
    finally:
        session.close()


def factura_b(number: int, total: str = "121.00") -> dict[str, Any]:
    return {
        "Concepto": 1,
        "DocTipo": 99,
        "DocNro": 0,
        "CbteDesde": number,
        "CbteHasta": number,
        "ImpTotal": Decimal(total),
        "ImpTotConc": Decimal("0"),
        "ImpNeto": Decimal("100.00"),
        "ImpOpEx": Decimal("0"),
        "ImpTrib": Decimal("0"),
        "ImpIVA": Decimal("21.00"),
        "MonId": "PES",
        "MonCotiz": Decimal("1"),
        "CondicionIVAReceptorId": 5,
        "Iva": {"AlicIva": [{"Id": 5, "BaseImp": Decimal("100.00"), "Importe": Decimal("21.00")}]},
    }


def request_cae(service: Any, auth: dict[str, Any], detail: dict[str, Any]) -> Any:
    return service.FECAESolicitar(
        Auth=auth,
        FeCAEReq={
            "FeCabReq": {"CantReg": 1, "PtoVta": 1, "CbteTipo": 6},
            "FeDetReq": {"FECAEDetRequest": [detail]},
        },
    )


def test_a_wsdl_client_gets_a_ta_and_a_cae_then_10016_and_10048(
    sandbox: Sandbox,
    base_url: str,
    transport: Transport,
    issuer: tuple[bytes, bytes],
    tmp_path: Path,
) -> None:
    wsaa = zeep.Client(wsdl=published_wsdl("wsaa-homologacion.wsdl"), transport=transport)
    login = wsaa.create_service(WSAA_BINDING, f"{base_url}/ws/services/LoginCms")
    in0 = openssl_sign(issuer[0], issuer[1], build_tra(sandbox.clock.now()), tmp_path)
    ticket = etree.fromstring(login.loginCms(in0=in0).encode())
    auth = {
        "Token": ticket.findtext("credentials/token"),
        "Sign": ticket.findtext("credentials/sign"),
        "Cuit": int(ISSUER),
    }

    wsfe = zeep.Client(wsdl=published_wsdl("wsfev1-homologacion.wsdl"), transport=transport)
    service = wsfe.create_service(WSFE_BINDING, f"{base_url}/wsfev1/service.asmx")
    assert service.FEDummy().AppServer == "OK"
    last = service.FECompUltimoAutorizado(Auth=auth, PtoVta=1, CbteTipo=6).CbteNro

    approved = request_cae(service, auth, factura_b(last + 1))
    assert approved.FeCabResp.Resultado == "A"
    detail = approved.FeDetResp.FECAEDetResponse[0]
    assert len(detail.CAE) == 14 and detail.CAE.isdigit()
    assert len(detail.CAEFchVto) == 8

    again = request_cae(service, auth, factura_b(last + 1))
    assert again.FeCabResp.Resultado == "R"
    assert [err.Code for err in again.Errors.Err] == [10016]

    wrong_total = request_cae(service, auth, factura_b(last + 2, total="150.00"))
    assert wrong_total.FeCabResp.Resultado == "R"
    observations = wrong_total.FeDetResp.FECAEDetResponse[0].Observaciones.Obs
    assert 10048 in [obs.Code for obs in observations]

    stored = service.FECompConsultar(
        Auth=auth, FeCompConsReq={"CbteTipo": 6, "CbteNro": last + 1, "PtoVta": 1}
    )
    assert stored.ResultGet.CodAutorizacion == detail.CAE
    assert stored.ResultGet.ImpTotal == 121.0
