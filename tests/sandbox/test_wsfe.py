"""WSFEv1 over raw SOAP: transport behaviour, auth errors, numbering, Err vs Obs, batches."""

from __future__ import annotations

from datetime import datetime, timedelta

from werkzeug.test import Client

from arca.sandbox import Sandbox
from arca.sandbox.clock import ARGENTINA
from tests.sandbox.helpers import (
    FEV1,
    ISSUER,
    auth_xml,
    body_of,
    cae_request,
    call_wsfe,
    codes,
    consultar_xml,
    detail_xml,
    login,
)

ULTIMO = "<PtoVta>1</PtoVta><CbteTipo>6</CbteTipo>"


def test_dummy_has_the_header_info_and_one_line(client: Client) -> None:
    response = call_wsfe(client, "FEDummy", "")
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "\n" not in text
    assert "<FEHeaderInfo" in text and "<AppServer>OK</AppServer>" in text


def test_soap_12_with_action_in_the_content_type(client: Client, auth: str) -> None:
    response = call_wsfe(client, "FECompUltimoAutorizado", auth + ULTIMO, version="1.2")
    assert response.status_code == 200
    assert response.content_type.startswith("application/soap+xml")
    assert body_of(response).findtext(".//{*}CbteNro") == "0"


def test_transport_errors(client: Client, auth: str) -> None:
    wrong_action = client.post(
        "/wsfev1/service.asmx",
        data=(
            '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
            f'<FEDummy xmlns="{FEV1}"/></soap:Body></soap:Envelope>'
        ),
        headers={"Content-Type": "text/xml", "SOAPAction": f'"{FEV1}FECAESolicitar"'},
    )
    assert wrong_action.status_code == 500 and b"soap:Client" in wrong_action.get_data()
    malformed = client.post("/wsfev1/service.asmx", data=b"<soap:Envelope", content_type="text/xml")
    assert malformed.status_code == 400
    not_a_number = call_wsfe(
        client, "FECompUltimoAutorizado", auth + "<PtoVta>uno</PtoVta><CbteTipo>6</CbteTipo>"
    )
    assert not_a_number.status_code == 500 and b"soap:Client" in not_a_number.get_data()


def test_auth_errors(client: Client, sandbox: Sandbox, auth: str) -> None:
    missing = body_of(call_wsfe(client, "FECompUltimoAutorizado", ULTIMO))
    assert codes(missing, ".//f:Err") == [500]
    forged = body_of(
        call_wsfe(client, "FECompUltimoAutorizado", auth_xml("dG9rZW4=", "c2lnbg==") + ULTIMO)
    )
    assert codes(forged, ".//f:Err") == [600]
    other_cuit = auth.replace("<Cuit>20111111112</Cuit>", "<Cuit>30000000007</Cuit>")
    assert codes(
        body_of(call_wsfe(client, "FECompUltimoAutorizado", other_cuit + ULTIMO)), ".//f:Err"
    ) == [601]
    sandbox.clock.advance(13 * 3600)
    expired = body_of(call_wsfe(client, "FECompUltimoAutorizado", auth + ULTIMO))
    assert codes(expired, ".//f:Err") == [600]
    assert "ValidacionDeToken" in (expired.findtext(".//{*}Msg") or "")


def test_numbering_and_consultar(client: Client, auth: str) -> None:
    first = body_of(call_wsfe(client, "FECAESolicitar", cae_request(auth, [detail_xml(1)])))
    cae = first.findtext(".//{*}CAE")
    assert first.findtext(".//{*}FeCabResp/{*}Resultado") == "A" and len(cae or "") == 14
    assert (
        body_of(call_wsfe(client, "FECompUltimoAutorizado", auth + ULTIMO)).findtext(
            ".//{*}CbteNro"
        )
        == "1"
    )
    skipped = body_of(call_wsfe(client, "FECAESolicitar", cae_request(auth, [detail_xml(3)])))
    assert codes(skipped, ".//f:Errors/f:Err") == [10016]
    other_type = body_of(
        call_wsfe(client, "FECAESolicitar", cae_request(auth, [detail_xml(1)], cbte_tipo=7))
    )
    assert codes(other_type, ".//f:Obs") == [10197]  # a debit note without CbtesAsoc
    consultar = auth + consultar_xml(1)
    stored = body_of(call_wsfe(client, "FECompConsultar", consultar))
    assert stored.findtext(".//{*}CodAutorizacion") == cae
    missing = body_of(
        call_wsfe(client, "FECompConsultar", consultar.replace("<CbteNro>1<", "<CbteNro>2<"))
    )
    assert codes(missing, ".//f:Err") == [602]


def test_header_errors(client: Client, auth: str) -> None:
    disabled = body_of(
        call_wsfe(client, "FECAESolicitar", cae_request(auth, [detail_xml(1)], pto_vta=9))
    )
    assert codes(disabled, ".//f:Errors/f:Err") == [10005]
    mismatch = body_of(
        call_wsfe(client, "FECAESolicitar", cae_request(auth, [detail_xml(1)], cant_reg=2))
    )
    assert codes(mismatch, ".//f:Errors/f:Err") == [10002]
    ultimo = body_of(
        call_wsfe(
            client, "FECompUltimoAutorizado", auth + "<PtoVta>9</PtoVta><CbteTipo>6</CbteTipo>"
        )
    )
    assert codes(ultimo, ".//f:Err") == [11002]


def test_observation_only_approves_and_batch_partial(client: Client, sandbox: Sandbox) -> None:
    sandbox.clock.freeze(datetime(2026, 11, 20, 12, tzinfo=ARGENTINA))  # before RG 5616's 10246
    key, cert = sandbox.ca.issue_key_and_certificate(ISSUER)
    auth = auth_xml(*login(client, key, cert, sandbox.clock.now()))
    no_condition = detail_xml(1, CondicionIVAReceptorId="-")
    result = body_of(call_wsfe(client, "FECAESolicitar", cae_request(auth, [no_condition])))
    assert result.findtext(".//{*}FECAEDetResponse/{*}Resultado") == "A"
    assert codes(result, ".//f:Obs") == [10245]
    batch = [detail_xml(2), detail_xml(3, total="1"), detail_xml(4)]
    partial = body_of(call_wsfe(client, "FECAESolicitar", cae_request(auth, batch)))
    assert partial.findtext(".//{*}FeCabResp/{*}Resultado") == "P"
    results = [r.text for r in partial.iterfind(".//{*}FECAEDetResponse/{*}Resultado")]
    assert results == ["A", "R", "R"]


def test_back_dated_and_consumidor_final_threshold(
    client: Client, sandbox: Sandbox, auth: str
) -> None:
    old = (sandbox.clock.now() - timedelta(days=6)).strftime("%Y%m%d")
    late = body_of(
        call_wsfe(client, "FECAESolicitar", cae_request(auth, [detail_xml(1, CbteFch=old)]))
    )
    assert codes(late, ".//f:Obs") == [10016]
    big = detail_xml(
        1,
        total="12100000.00",
        ImpNeto="10000000.00",
        ImpIVA="2100000.00",
        Iva="<Iva><AlicIva><Id>5</Id><BaseImp>10000000.00</BaseImp><Importe>2100000.00</Importe></AlicIva></Iva>",
    )
    refused = body_of(call_wsfe(client, "FECAESolicitar", cae_request(auth, [big])))
    assert codes(refused, ".//f:Obs") == [10015]
