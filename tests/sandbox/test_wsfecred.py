"""The sandbox's wsfecred (FCE MiPyME): `dummy` and `consultarMontoObligadoRecepcion` over raw
SOAP 1.1, the WSDL, auth faults and the fault knobs."""

from __future__ import annotations

import pytest
from lxml import etree
from werkzeug.test import Client

from arca.sandbox import Sandbox
from arca.sandbox.faults import drop_after, http_500
from arca.sandbox.wsfecred_data import FCE_THRESHOLD, OBLIGATED
from arca.transport import ConnectionDropped
from tests.sandbox.helpers import ISSUER, SOAP11, build_tra, post_login, sign_tra, ticket_from

URL = "/wsfecred/FECredService"
NS = "http://ar.gob.afip.wsfecred/FECredService/"


def wsfecred_ticket(
    client: Client, sandbox: Sandbox, issuer: tuple[bytes, bytes]
) -> tuple[str, str]:
    tra = build_tra(sandbox.clock.now(), service="wsfecred")
    response = post_login(client, sign_tra(issuer[0], issuer[1], tra))
    assert response.status_code == 200, response.get_data(as_text=True)
    ticket = ticket_from(response)
    return ticket.findtext("credentials/token") or "", ticket.findtext("credentials/sign") or ""


def post(client: Client, inner: str, action: str) -> tuple[int, etree._Element]:
    envelope = (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP11}" xmlns:fec="{NS}"><soapenv:Body>{inner}'
        "</soapenv:Body></soapenv:Envelope>"
    )
    headers = {"SOAPAction": f'"{NS}{action}"', "Content-Type": "text/xml; charset=utf-8"}
    response = client.post(URL, data=envelope, headers=headers)
    return response.status_code, etree.fromstring(response.get_data())


def query(
    token: str, sign: str, cuit: str, day: str = "2026-12-04", represented: str = ISSUER
) -> str:
    return (
        "<fec:consultarMontoObligadoRecepcionRequest><authRequest>"
        f"<token>{token}</token><sign>{sign}</sign><cuitRepresentada>{represented}"
        f"</cuitRepresentada></authRequest><cuitConsultada>{cuit}</cuitConsultada>"
        f"<fechaEmision>{day}</fechaEmision></fec:consultarMontoObligadoRecepcionRequest>"
    )


def ret(root: etree._Element) -> etree._Element:
    found = root.find(
        f"{{{SOAP11}}}Body/{{{NS}}}consultarMontoObligadoRecepcionResponse/"
        "consultarMontoObligadoRecepcionReturn"
    )
    assert found is not None, etree.tostring(root)
    return found


def faultstring(root: etree._Element) -> str:
    return root.findtext(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault/faultstring") or ""


@pytest.fixture
def credentials(client: Client, sandbox: Sandbox, issuer: tuple[bytes, bytes]) -> tuple[str, str]:
    return wsfecred_ticket(client, sandbox, issuer)


def test_wsdl_points_at_this_host(client: Client) -> None:
    response = client.get(URL + "?wsdl")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert 'location="http://localhost/wsfecred/FECredService"' in text
    assert "consultarMontoObligadoRecepcion" in text


def test_dummy_with_an_empty_body(client: Client) -> None:
    status, root = post(client, "", "dummy")
    assert status == 200
    result = root.find(f"{{{SOAP11}}}Body/{{{NS}}}dummyResponse/dummyReturn")
    assert result is not None
    assert [result.findtext(n) for n in ("appserver", "authserver", "dbserver")] == ["OK"] * 3


def test_a_large_company_is_obligated_from_the_threshold(client: Client, credentials) -> None:
    cuit = next(iter(OBLIGATED))
    status, root = post(client, query(*credentials, cuit), "consultarMontoObligadoRecepcion")
    assert status == 200
    answer = ret(root)
    assert answer.findtext("obligado") == "S"
    assert answer.findtext("montoDesde") == f"{FCE_THRESHOLD:.2f}"


def test_another_company_is_not_obligated(client: Client, credentials) -> None:
    _, root = post(client, query(*credentials, "30712345671"), "consultarMontoObligadoRecepcion")
    answer = ret(root)
    assert answer.findtext("obligado") == "N" and answer.find("montoDesde") is None


def test_invalid_cuit_and_date_come_back_in_array_errores(client: Client, credentials) -> None:
    inner = query(*credentials, "30712345670", day="2026-13-40")
    status, root = post(client, inner, "consultarMontoObligadoRecepcion")
    assert status == 200
    found = [int(c.text or 0) for c in ret(root).iterfind("arrayErrores/codigoDescripcion/codigo")]
    assert found == [1001, 1002]


def test_auth_faults(client: Client, sandbox: Sandbox, issuer, credentials) -> None:
    operation = "consultarMontoObligadoRecepcion"
    status, root = post(client, query("", "", "30712345671"), operation)
    assert status == 500 and faultstring(root) == "Falta token y/o sign."
    status, root = post(client, query(credentials[0], "AAAA", "30712345671"), operation)
    assert status == 500 and "firma" in faultstring(root)
    status, root = post(
        client, query(*credentials, "30712345671", represented="20222222223"), operation
    )
    assert status == 500 and faultstring(root).endswith("20222222223")


def test_a_wsfe_ticket_is_not_a_wsfecred_ticket(client: Client, sandbox: Sandbox, issuer) -> None:
    response = post_login(client, sign_tra(issuer[0], issuer[1], build_tra(sandbox.clock.now())))
    ticket = ticket_from(response)
    token, sign = (
        ticket.findtext("credentials/token") or "",
        ticket.findtext("credentials/sign") or "",
    )
    status, root = post(
        client, query(token, sign, "30712345671"), "consultarMontoObligadoRecepcion"
    )
    assert status == 500 and faultstring(root) == "No autorizado, par token/sign invalido."


def test_unknown_operation_is_a_client_fault(client: Client) -> None:
    status, root = post(client, "<fec:consultarCtasCtesRequest/>", "consultarCtasCtes")
    assert status == 500
    assert root.findtext(f".//{{{SOAP11}}}Fault/faultcode") == "soapenv:Client"


def test_fault_knobs(client: Client, sandbox: Sandbox, credentials) -> None:
    operation = "consultarMontoObligadoRecepcion"
    sandbox.faults.add(http_500("wsfecred", operation))
    status, root = post(client, query(*credentials, "30712345671"), operation)
    assert status == 500 and "simulado" in faultstring(root)
    sandbox.faults.add(drop_after(operation, service="wsfecred"))
    with pytest.raises(ConnectionDropped):
        post(client, query(*credentials, "30712345671"), operation)
    assert sandbox.request_log[-1].outcome == "ok+dropped_after"
    status, _ = post(client, query(*credentials, "30712345671"), operation)
    assert status == 200
