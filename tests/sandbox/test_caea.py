"""The five CAEA operations over raw SOAP, their rules and codes, and the `wsfe_unavailable` fault.

Recorded answers quoted here are ARCA homologation's, from reingart/pyafipws
`tests/cassettes/` (paths cited per test).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from lxml import etree
from werkzeug.test import Client, TestResponse

from arca.sandbox import Sandbox, SandboxConfig, create_sandbox
from arca.sandbox.clock import ARGENTINA
from arca.sandbox.faults import wsfe_unavailable
from tests.sandbox.helpers import (
    FEV1,
    ISSUER,
    NS,
    auth_xml,
    body_of,
    cae_request,
    call_wsfe,
    codes,
    consultar_xml,
    detail_xml,
    login,
)
from tests.sandbox.test_schema import assert_valid, schema  # noqa: F401 - the fixture

CAEA_POS = 6  # SandboxConfig.caea_points_of_sale
# 2026-12-04: inside the request window of 202612/1 (from 11-26) and of nothing later.
DAY = datetime(2026, 12, 4, 10, 0, tzinfo=ARGENTINA)


def at(client: Client, sandbox: Sandbox, moment: datetime, cuit: str = ISSUER) -> str:
    """Freeze the sandbox at `moment` and log in then, with a certificate issued then (one issued
    at the real time may not be valid yet): the Auth element for that moment."""
    sandbox.clock.freeze(moment)
    key, certificate = sandbox.ca.issue_key_and_certificate(cuit, alias="caea")
    return auth_xml(*login(client, key, certificate, moment), cuit=cuit)


def result(response: TestResponse, operation: str) -> etree._Element:
    assert response.status_code == 200, response.get_data(as_text=True)
    found = body_of(response).find(f"f:{operation}Result", NS)
    assert found is not None
    return found


def get(element: etree._Element, path: str) -> str:
    """The text at `path` (names without prefix, "/"-separated), "" if absent."""
    return element.findtext("f:" + path.replace("/", "/f:"), namespaces=NS) or ""


def names(element: etree._Element) -> list[str]:
    return [etree.QName(node).localname for node in element]


def solicitar(client: Client, auth: str, periodo: int, orden: int) -> etree._Element:
    inner = f"{auth}<Periodo>{periodo}</Periodo><Orden>{orden}</Orden>"
    return result(call_wsfe(client, "FECAEASolicitar", inner), "FECAEASolicitar")


def consultar(client: Client, auth: str, periodo: int, orden: int) -> etree._Element:
    inner = f"{auth}<Periodo>{periodo}</Periodo><Orden>{orden}</Orden>"
    return result(call_wsfe(client, "FECAEAConsultar", inner), "FECAEAConsultar")


def caea_detail(number: int, caea: str, cbte_fch: str, generated: str | None = None) -> str:
    """A Factura B detail as FECAEADetRequest: CAEA and CbteFchHsGen after the FEDetRequest part."""
    plain = detail_xml(number, CbteFch=cbte_fch)
    stamp = f"{cbte_fch}093000" if generated is None else generated
    tail = f"<CAEA>{caea}</CAEA>" + (f"<CbteFchHsGen>{stamp}</CbteFchHsGen>" if stamp else "")
    inner = plain.removeprefix("<FECAEDetRequest>").removesuffix("</FECAEDetRequest>")
    return f"<FECAEADetRequest>{inner}{tail}</FECAEADetRequest>"


def informar(
    client: Client, auth: str, details: list[str], pto_vta: int = CAEA_POS, cbte_tipo: int = 6
) -> etree._Element:
    inner = (
        f"{auth}<FeCAEARegInfReq><FeCabReq><CantReg>{len(details)}</CantReg>"
        f"<PtoVta>{pto_vta}</PtoVta><CbteTipo>{cbte_tipo}</CbteTipo></FeCabReq>"
        f"<FeDetReq>{''.join(details)}</FeDetReq></FeCAEARegInfReq>"
    )
    return result(call_wsfe(client, "FECAEARegInformativo", inner), "FECAEARegInformativo")


def sin_movimiento(client: Client, auth: str, caea: str, pto_vta: int) -> etree._Element:
    inner = f"{auth}<PtoVta>{pto_vta}</PtoVta><CAEA>{caea}</CAEA>"
    response = call_wsfe(client, "FECAEASinMovimientoInformar", inner)
    return result(response, "FECAEASinMovimientoInformar")


def sin_movimiento_consultar(client: Client, auth: str, caea: str, pto_vta: int) -> etree._Element:
    inner = f"{auth}<CAEA>{caea}</CAEA><PtoVta>{pto_vta}</PtoVta>"
    response = call_wsfe(client, "FECAEASinMovimientoConsultar", inner)
    return result(response, "FECAEASinMovimientoConsultar")


def errors_of(element: etree._Element) -> list[tuple[int, str]]:
    return [
        (int(err.findtext("f:Code", namespaces=NS) or 0), err.findtext("f:Msg", namespaces=NS))
        for err in element.iterfind("f:Errors/f:Err", NS)
    ]


@pytest.fixture
def auth_day(client: Client, sandbox: Sandbox) -> str:
    return at(client, sandbox, DAY)


@pytest.fixture
def caea(client: Client, auth_day: str) -> str:
    return get(solicitar(client, auth_day, 202612, 1), "ResultGet/CAEA")


# --- FECAEASolicitar / FECAEAConsultar ------------------------------------------------------


def test_solicitar_grants_the_fortnights_caea_with_its_dates(client: Client, auth_day: str) -> None:
    answer = solicitar(client, auth_day, 202612, 1)
    get_ = answer.find("f:ResultGet", NS)
    assert get_ is not None and answer.find("f:Errors", NS) is None
    # FECAEAGet's elements in the WSDL's order.
    assert names(get_) == [
        "CAEA",
        "Periodo",
        "Orden",
        "FchVigDesde",
        "FchVigHasta",
        "FchTopeInf",
        "FchProceso",
    ]
    code = get(answer, "ResultGet/CAEA")
    assert len(code) == 14 and code.isdigit() and not code.startswith("7")
    # Shaped like ARCA's (86360849219971: 2026, ISO week 36): year digit and week of issue.
    assert code[1:4] == "649"
    assert get(answer, "ResultGet/FchVigDesde") == "20261201"
    assert get(answer, "ResultGet/FchVigHasta") == "20261215"
    # Five days after the fortnight, as in ARCA's CAEA answers (pyafipws
    # tests/cassettes/test_wsmtx/test_consultar_caea.yaml: 2021-06-16..30 -> 2021-07-05;
    # test_wsmtx_recem/test_main_solicitarcaea.yaml: 2021-08-01..15 -> 2021-08-20).
    assert get(answer, "ResultGet/FchTopeInf") == "20261220"
    assert get(answer, "ResultGet/FchProceso") == "20261204100000"


def test_a_repeated_request_answers_the_same_caea(client: Client, auth_day: str) -> None:
    first = etree.tostring(solicitar(client, auth_day, 202612, 1))
    again = etree.tostring(solicitar(client, auth_day, 202612, 1))
    assert first == again
    assert get(consultar(client, auth_day, 202612, 1), "ResultGet/CAEA") in first.decode()


def test_the_second_fortnight_ends_on_the_months_last_day(client: Client, sandbox: Sandbox) -> None:
    auth = at(client, sandbox, datetime(2027, 2, 11, 8, 0, tzinfo=ARGENTINA))
    answer = solicitar(client, auth, 202702, 2)
    assert get(answer, "ResultGet/FchVigDesde") == "20270216"
    assert get(answer, "ResultGet/FchVigHasta") == "20270228"
    assert get(answer, "ResultGet/FchTopeInf") == "20270305"


def test_outside_the_window_is_15006_with_arcas_text(client: Client, sandbox: Sandbox) -> None:
    """pyafipws tests/cassettes/test_wsfev1/test_main_solicitar_caea.yaml: on 2021-07-22 ARCA
    refused 202107/1 with exactly this answer, Errors and no ResultGet."""
    auth = at(client, sandbox, datetime(2021, 7, 22, 16, 37, tzinfo=ARGENTINA))
    answer = solicitar(client, auth, 202107, 1)
    assert names(answer) == ["Errors"]
    assert errors_of(answer) == [
        (
            15006,
            "Fecha de envío podrá ser desde 5 días corridos anteriores al inicio hasta el último "
            "dia de cada quincena. Del 6/26/2021 hasta 7/15/2021",
        )
    ]


def test_window_opens_five_days_ahead(client: Client, sandbox: Sandbox) -> None:
    early = at(client, sandbox, datetime(2026, 12, 10, 23, 0, tzinfo=ARGENTINA))
    assert errors_of(solicitar(client, early, 202612, 2))[0][0] == 15006
    opening = at(client, sandbox, datetime(2026, 12, 11, 0, 5, tzinfo=ARGENTINA))
    assert get(solicitar(client, opening, 202612, 2), "ResultGet/FchVigDesde") == "20261216"


def test_consultar_without_a_caea_is_602_with_the_fortnight_echoed(
    client: Client, auth_day: str
) -> None:
    """pyafipws tests/cassettes/test_wsfev1/test_main_solicitar_caea.yaml (FECAEAConsultar)."""
    answer = consultar(client, auth_day, 202612, 2)
    assert names(answer) == ["ResultGet", "Errors"]
    assert names(answer[0]) == ["Periodo", "Orden"]
    assert get(answer, "ResultGet/Periodo") == "202612" and get(answer, "ResultGet/Orden") == "2"
    assert errors_of(answer) == [
        (602, "No existen datos en nuestros registros para los parametros ingresados.")
    ]


def test_a_malformed_period_is_15004(client: Client, auth_day: str) -> None:
    """pyafipws tests/cassettes/test_wsfev1/test_main_prueba_caea.yaml: Periodo 202100."""
    answer = consultar(client, auth_day, 202100, 1)
    assert get(answer, "ResultGet/Periodo") == "202100"
    assert errors_of(answer) == [
        (
            15004,
            "El campo <Periodo> debe tener el formato AAAAMM, donde AAAA indica el año y MM el "
            "mes en números.",
        )
    ]
    assert errors_of(solicitar(client, auth_day, 202612, 3))[0][0] == 15005


def test_auth_errors_carry_only_errors(client: Client, auth_day: str) -> None:
    """A 600 answer has no ResultGet (pyafipws tests/cassettes/test_wsfev1_rece1/
    test_main_solicitar_caea.yaml), except SinMovimientoInformar's PtoVta
    (test_wsfev1_rece1/test_main_informarcaeanoutilizadoptovta.yaml)."""
    bad = auth_xml("x", "y")
    for answer in (solicitar(client, bad, 202612, 1), consultar(client, bad, 202612, 1)):
        assert names(answer) == ["Errors"] and errors_of(answer)[0][0] == 600
    answer = sin_movimiento(client, bad, "21073372218437", 4002)
    assert names(answer) == ["PtoVta", "Errors"] and get(answer, "PtoVta") == "4002"


# --- FECAEARegInformativo -----------------------------------------------------------------


def test_informed_vouchers_are_numbered_and_consultable(
    client: Client, auth_day: str, caea: str
) -> None:
    answer = informar(
        client, auth_day, [caea_detail(1, caea, "20261201"), caea_detail(2, caea, "20261203")]
    )
    assert get(answer, "FeCabResp/Resultado") == "A", etree.tostring(answer)
    details = answer.findall("f:FeDetResp/f:FECAEADetResponse", NS)
    assert [get(d, "CAEA") for d in details] == [caea, caea]
    assert names(details[0]) == [
        "Concepto",
        "DocTipo",
        "DocNro",
        "CbteDesde",
        "CbteHasta",
        "CbteFch",
        "Resultado",
        "CAEA",
    ]
    ultimo = call_wsfe(
        client,
        "FECompUltimoAutorizado",
        f"{auth_day}<PtoVta>{CAEA_POS}</PtoVta><CbteTipo>6</CbteTipo>",
    )
    assert get(result(ultimo, "FECompUltimoAutorizado"), "CbteNro") == "2"
    stored = call_wsfe(client, "FECompConsultar", auth_day + consultar_xml(2, 6, CAEA_POS))
    found = result(stored, "FECompConsultar")
    assert get(found, "ResultGet/EmisionTipo") == "CAEA"
    assert get(found, "ResultGet/CodAutorizacion") == caea
    assert get(found, "ResultGet/CbteFch") == "20261203"


def test_a_missing_caea_is_782_with_an_empty_caea_echoed(client: Client, auth_day: str) -> None:
    """pyafipws tests/cassettes/test_wsfev1/test_main_prueba_caea.yaml: `<CAEA></CAEA>` answered
    FeCabResp Resultado R, the detail with `<CAEA />`, and Err 782."""
    answer = informar(client, auth_day, [caea_detail(1, "", "20261201")])
    assert get(answer, "FeCabResp/Resultado") == "R"
    assert get(answer, "FeDetResp/FECAEADetResponse/Resultado") == "R"
    assert get(answer, "FeDetResp/FECAEADetResponse/CAEA") == ""
    assert errors_of(answer) == [(782, "El <CAEA> es obligatorio informarlo.")]


def test_numbering_must_follow_the_last_informed(client: Client, auth_day: str, caea: str) -> None:
    assert (
        get(informar(client, auth_day, [caea_detail(1, caea, "20261201")]), "FeCabResp/Resultado")
        == "A"
    )
    for number in (1, 3):  # again, and with a gap
        answer = informar(client, auth_day, [caea_detail(number, caea, "20261202")])
        assert get(answer, "FeCabResp/Resultado") == "R"
        assert [code for code, _ in errors_of(answer)] == [703]


def test_detail_rules_are_fecaesolicitars(client: Client, auth_day: str, caea: str) -> None:
    wrong_total = caea_detail(1, caea, "20261201").replace(
        "<ImpTotal>121.00</ImpTotal>", "<ImpTotal>125.00</ImpTotal>"
    )
    answer = informar(client, auth_day, [wrong_total])
    assert get(answer, "FeCabResp/Resultado") == "R"
    assert 10048 in codes(answer, "f:FeDetResp/f:FECAEADetResponse/f:Observaciones/f:Obs")


def test_cbtefch_must_be_in_the_caeas_fortnight(client: Client, auth_day: str, caea: str) -> None:
    answer = informar(client, auth_day, [caea_detail(1, caea, "20261130")])
    assert get(answer, "FeCabResp/Resultado") == "R"
    assert 10016 in codes(answer, "f:FeDetResp/f:FECAEADetResponse/f:Observaciones/f:Obs")


@pytest.mark.parametrize("generated", ["", "20261201", "2026120125990x"])
def test_cbtefchhsgen_is_required(client: Client, auth_day: str, caea: str, generated: str) -> None:
    answer = informar(client, auth_day, [caea_detail(1, caea, "20261201", generated)])
    assert get(answer, "FeCabResp/Resultado") == "R"
    assert 1440 in codes(answer, "f:FeDetResp/f:FECAEADetResponse/f:Observaciones/f:Obs")


def test_only_caea_points_of_sale(client: Client, auth_day: str, caea: str) -> None:
    answer = informar(client, auth_day, [caea_detail(1, caea, "20261201")], pto_vta=1)
    assert [code for code, _ in errors_of(answer)] == [10005]
    # ...and FECAESolicitar does not take the CAEA point of sale.
    refused = call_wsfe(client, "FECAESolicitar", cae_request(auth_day, [detail_xml(1)], CAEA_POS))
    assert 10005 in codes(result(refused, "FECAESolicitar"), "f:Errors/f:Err")


def test_a_caea_of_someone_else_is_1200(client: Client, sandbox: Sandbox, caea: str) -> None:
    other = at(client, sandbox, DAY + timedelta(minutes=1), cuit="30712345671")
    answer = informar(client, other, [caea_detail(1, caea, "20261201")])
    assert errors_of(answer) == [
        (1200, "El CAEA enviado no corresponde a un CAEA previamente otorgado")
    ]


def test_informing_after_fchtopeinf_is_refused(client: Client, sandbox: Sandbox, caea: str) -> None:
    on_deadline = at(client, sandbox, datetime(2026, 12, 20, 23, 0, tzinfo=ARGENTINA))
    answer = informar(client, on_deadline, [caea_detail(1, caea, "20261214")])
    assert get(answer, "FeCabResp/Resultado") == "A"
    late = at(client, sandbox, datetime(2026, 12, 21, 0, 30, tzinfo=ARGENTINA))
    answer = informar(client, late, [caea_detail(2, caea, "20261215")])
    assert [code for code, _ in errors_of(answer)] == [1201]


# --- Sin movimiento -------------------------------------------------------------------------


def test_a_cae_reported_without_movement_is_1200(client: Client, auth_day: str) -> None:
    """pyafipws tests/cassettes/test_wsfev1/test_main_sinmovimiento_caea.yaml: the same request
    got CAEA, FchProceso (yyyymmdd), PtoVta, Resultado R and this Err."""
    answer = sin_movimiento(client, auth_day, "71293955911805", 4000)
    assert names(answer) == ["CAEA", "FchProceso", "PtoVta", "Resultado", "Errors"]
    assert get(answer, "CAEA") == "71293955911805" and get(answer, "FchProceso") == "20261204"
    assert get(answer, "PtoVta") == "4000" and get(answer, "Resultado") == "R"
    assert errors_of(answer) == [(1200, "El codigo de autorizacion debe ser del tipo CAEA")]


def test_no_movement_is_recorded_once_and_consultable(
    client: Client, sandbox: Sandbox, auth_day: str, caea: str
) -> None:
    assert errors_of(sin_movimiento_consultar(client, auth_day, caea, 0))[0][0] == 602
    first = sin_movimiento(client, auth_day, caea, CAEA_POS)
    assert get(first, "Resultado") == "A" and first.find("f:Errors", NS) is None
    sandbox.clock.advance(3600 * 2)
    again = sin_movimiento(client, auth_day, caea, CAEA_POS)
    assert get(again, "FchProceso") == get(first, "FchProceso") == "20261204"
    rows = sin_movimiento_consultar(client, auth_day, caea, 0).findall(
        "f:ResultGet/f:FECAEASinMov", NS
    )
    assert [(get(r, "CAEA"), get(r, "FchProceso"), get(r, "PtoVta")) for r in rows] == [
        (caea, "20261204", str(CAEA_POS))
    ]
    assert (
        sin_movimiento_consultar(client, auth_day, caea, CAEA_POS).find("f:ResultGet", NS)
        is not None
    )


def test_no_movement_is_refused_where_vouchers_were_informed(
    client: Client, auth_day: str, caea: str
) -> None:
    informar(client, auth_day, [caea_detail(1, caea, "20261201")])
    answer = sin_movimiento(client, auth_day, caea, CAEA_POS)
    assert get(answer, "Resultado") == "R" and errors_of(answer)[0][0] == 1202
    assert errors_of(sin_movimiento(client, auth_day, caea, 1))[0][0] == 10005


# --- State and the outage fault -------------------------------------------------------------


def test_caeas_and_informed_vouchers_survive_a_restart(tmp_path: Path, ca_key_pem: bytes) -> None:
    path = str(tmp_path / "arca.db")
    config = SandboxConfig(ca_key_pem=ca_key_pem)
    first = create_sandbox(path, config)
    client = Client(first)
    auth = at(client, first, DAY)
    code = get(solicitar(client, auth, 202612, 1), "ResultGet/CAEA")
    informar(client, auth, [caea_detail(1, code, "20261201")])
    first.close()
    second = create_sandbox(path, config)
    try:
        second.clock.freeze(DAY + timedelta(minutes=1))
        client = Client(second)
        assert get(consultar(client, auth, 202612, 1), "ResultGet/CAEA") == code
        stored = call_wsfe(client, "FECompConsultar", auth + consultar_xml(1, 6, CAEA_POS))
        assert get(result(stored, "FECompConsultar"), "ResultGet/CodAutorizacion") == code
        second.reset()
        assert errors_of(consultar(client, auth, 202612, 1))[0][0] == 602
    finally:
        second.close()


def test_wsfe_unavailable_answers_503_until_cleared(
    client: Client, sandbox: Sandbox, auth_day: str
) -> None:
    sandbox.faults.add(wsfe_unavailable())
    for operation, inner in (
        ("FEDummy", ""),
        ("FECAESolicitar", cae_request(auth_day, [detail_xml(1)])),
        ("FECAEASolicitar", f"{auth_day}<Periodo>202612</Periodo><Orden>1</Orden>"),
    ):
        response = call_wsfe(client, operation, inner)
        assert response.status_code == 503
        assert response.content_type.startswith("text/html")
        assert "Service Unavailable" in response.get_data(as_text=True)
    assert sandbox.ledger.voucher_count() == 0  # nothing was processed
    assert {entry.outcome for entry in sandbox.request_log if entry.service == "wsfe"} == {
        "wsfe_unavailable"
    }
    sandbox.faults.clear()
    assert call_wsfe(client, "FEDummy", "").status_code == 200


def test_wsfe_unavailable_through_the_admin_api(client: Client, sandbox: Sandbox) -> None:
    added = client.post("/_sandbox/faults", json={"kind": "wsfe_unavailable"})
    assert added.status_code == 201, added.get_data(as_text=True)
    assert json.loads(added.get_data())["count"] is None
    assert call_wsfe(client, "FEDummy", "").status_code == 503
    assert client.delete("/_sandbox/faults").status_code in (200, 204)
    assert call_wsfe(client, "FEDummy", "").status_code == 200


def test_ptos_venta_lists_the_caea_point_of_sale(client: Client, auth_day: str) -> None:
    answer = result(call_wsfe(client, "FEParamGetPtosVenta", auth_day), "FEParamGetPtosVenta")
    rows = {
        get(row, "Nro"): get(row, "EmisionTipo")
        for row in answer.iterfind("f:ResultGet/f:PtoVenta", NS)
    }
    assert rows[str(CAEA_POS)] == "CAEA - Ri Iva"
    assert all(kind.startswith("CAE ") for nro, kind in rows.items() if nro != str(CAEA_POS))


def test_every_answer_validates_against_arcas_schema(
    client: Client,
    auth_day: str,
    caea: str,
    schema: etree.XMLSchema,  # noqa: F811
) -> None:
    answers = [
        solicitar(client, auth_day, 202612, 1),
        solicitar(client, auth_day, 202701, 1),  # 15006
        consultar(client, auth_day, 202612, 1),
        consultar(client, auth_day, 202612, 2),  # 602
        sin_movimiento_consultar(client, auth_day, caea, 0),  # 602
        sin_movimiento(client, auth_day, caea, CAEA_POS),
        sin_movimiento_consultar(client, auth_day, caea, 0),
        sin_movimiento(client, auth_day, caea, 1),  # 10005
        informar(client, auth_day, [caea_detail(1, caea, "20261201")]),
        informar(client, auth_day, [caea_detail(1, caea, "20261201")]),  # 703
        informar(client, auth_day, [caea_detail(2, caea, "20261130", "")]),  # Obs
    ]
    for answer in answers:
        response = answer.getparent()
        assert response is not None
        assert_valid(schema, response)


def test_wsfe_unavailable_over_http(sandbox: Sandbox, base_url: str) -> None:
    """The standalone server answers the outage the same way; WSAA is not affected."""
    sandbox.faults.add(wsfe_unavailable())
    envelope = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        f'<FEDummy xmlns="{FEV1}"/></soap:Body></soap:Envelope>'
    )
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{FEV1}FEDummy"'}
    with requests.Session() as http:
        down = http.post(
            f"{base_url}/wsfev1/service.asmx", data=envelope, headers=headers, timeout=10
        )
        assert down.status_code == 503 and "Service Unavailable" in down.text
        assert http.get(f"{base_url}/ws/services/LoginCms", timeout=10).status_code == 200
        sandbox.faults.clear()
        up = http.post(
            f"{base_url}/wsfev1/service.asmx", data=envelope, headers=headers, timeout=10
        )
        assert up.status_code == 200
