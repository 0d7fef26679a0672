"""`arca.wsfecred`: parsing wsfecred's answers (pure) and the client against the in-process
sandbox (real SOAP built by zeep from the project's WSDL copy)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests
from lxml import etree

from arca.environments import get_environment, sandbox_environment
from arca.errors import ServiceUnavailable
from arca.fce import invoice_optionals, is_fce, is_valid_cbu, note_optionals
from arca.sandbox import Sandbox, SandboxConfig, create_sandbox
from arca.sandbox.faults import http_500
from arca.sandbox.wsfecred_data import FCE_THRESHOLD
from arca.transport import Timeouts, build_session
from arca.wsaa import WsaaClient, build_tra, sign_tra
from arca.wsfecred import (
    SERVICE,
    FceObligation,
    WsfecredAuthRejected,
    WsfecredClient,
    WsfecredFault,
    WsfecredRejected,
    fault_for,
    parse_obligation,
)

ISSUER = "20111111112"
LARGE_COMPANY = "30500010912"
DAY = dt.date(2026, 12, 4)


# --- pure -----------------------------------------------------------------------------------------


def test_parse_obligated_with_observations() -> None:
    ret = etree.fromstring(
        "<r><obligado>S</obligado><montoDesde>3958316.00</montoDesde><arrayObservacion>"
        "<codigoDescripcion><codigo>7</codigo><descripcion>Aviso</descripcion>"
        "</codigoDescripcion></arrayObservacion></r>"
    )
    obligation = parse_obligation(ret, LARGE_COMPANY, DAY)
    assert obligation.obligated and obligation.amount_from == Decimal("3958316.00")
    assert [(m.code, m.text) for m in obligation.observations] == [(7, "Aviso")]


def test_parse_errors_raise_with_their_codes() -> None:
    ret = etree.fromstring(
        "<r><arrayErrores><codigoDescripcion><codigo>1001</codigo><descripcion>CUIT</descripcion>"
        "</codigoDescripcion></arrayErrores><arrayErroresFormato><codigoDescripcionString>"
        "<codigo>fechaEmision</codigo><descripcion>formato</descripcion>"
        "</codigoDescripcionString></arrayErroresFormato></r>"
    )
    with pytest.raises(WsfecredRejected) as caught:
        parse_obligation(ret, LARGE_COMPANY, DAY)
    assert caught.value.codes == [1001, 0]
    assert caught.value.errors[1].text == "fechaEmision: formato"


def test_requires_fce() -> None:
    obligation = FceObligation(LARGE_COMPANY, DAY, True, Decimal("1000"))
    assert obligation.requires_fce(Decimal("1000")) and not obligation.requires_fce(Decimal("999"))
    assert not FceObligation(LARGE_COMPANY, DAY, False, None).requires_fce(Decimal(10**9))


def test_faults_by_text() -> None:
    assert isinstance(fault_for("soapenv:Server", "Falta token y/o sign."), WsfecredAuthRejected)
    assert type(fault_for("soapenv:Server", "Error interno")) is WsfecredFault


def test_urls_per_environment() -> None:
    assert get_environment("homologacion").wsfecred_url.startswith("https://fwshomo.afip.gov.ar")
    url = sandbox_environment("http://127.0.0.1:8085/").wsfecred_url
    assert url == "http://127.0.0.1:8085/wsfecred/FECredService"


# --- against the in-process sandbox ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    box = create_sandbox(config=SandboxConfig())
    yield box
    box.close()


@pytest.fixture(scope="module")
def http(sandbox: Sandbox) -> Iterator[requests.Session]:
    session = build_session(sandbox_environment(), wsgi_app=sandbox)
    yield session
    session.close()


@pytest.fixture(scope="module")
def client(sandbox: Sandbox, http: requests.Session) -> WsfecredClient:
    key, cert = sandbox.ca.issue_key_and_certificate(ISSUER, alias="wsfecred")
    wsaa = WsaaClient(sandbox_environment(), http, Timeouts())
    ticket = wsaa.login(sign_tra(build_tra(SERVICE, sandbox.clock.now()), cert, key))
    return WsfecredClient(
        sandbox_environment(), http, Timeouts(), lambda: (ticket.token, ticket.sign, ISSUER)
    )


def test_dummy(client: WsfecredClient) -> None:
    assert client.dummy().ok


def test_large_company(client: WsfecredClient) -> None:
    obligation = client.obligation("30-50001091-2", DAY)
    assert obligation == FceObligation(LARGE_COMPANY, DAY, True, FCE_THRESHOLD)
    assert obligation.requires_fce(FCE_THRESHOLD)


def test_not_obligated(client: WsfecredClient) -> None:
    obligation = client.obligation("30712345671", DAY)
    assert not obligation.obligated and obligation.amount_from is None


def test_bad_check_digit_is_not_sent(client: WsfecredClient, sandbox: Sandbox) -> None:
    before = len(sandbox.request_log)
    with pytest.raises(ValueError):
        client.obligation("30712345670", DAY)
    assert len(sandbox.request_log) == before


def test_wrong_ticket_is_auth_rejected(sandbox: Sandbox, http: requests.Session) -> None:
    bad = WsfecredClient(sandbox_environment(), http, Timeouts(), lambda: ("x", "y", ISSUER))
    with pytest.raises(WsfecredAuthRejected):
        bad.obligation(LARGE_COMPANY, DAY)


def test_server_fault(client: WsfecredClient, sandbox: Sandbox) -> None:
    sandbox.faults.add(http_500(SERVICE, "consultarMontoObligadoRecepcion"))
    with pytest.raises(WsfecredFault):
        client.obligation(LARGE_COMPANY, DAY)


def test_unreachable_is_service_unavailable() -> None:
    environment = sandbox_environment("http://127.0.0.1:9/")
    with requests.Session() as session:
        client = WsfecredClient(
            environment, session, Timeouts(connect=1, read=1), lambda: ("", "", ISSUER)
        )
        with pytest.raises(ServiceUnavailable):
            client.dummy()


# --- arca.fce -------------------------------------------------------------------------------------


def test_fce_optionals() -> None:
    cbu = "2850590940090418135201"  # pyafipws' homologation CBU (test_main_prueba_fce.yaml)
    assert is_valid_cbu(cbu) and not is_valid_cbu(cbu[:-1] + "2")
    values = invoice_optionals(cbu, "ADC", alias="mi.alias", references=["OC-1", "OC-1"])
    assert [(v.optional_id, v.value) for v in values] == [
        ("2101", cbu),
        ("2102", "mi.alias"),
        ("27", "ADC"),
        ("23", "OC-1"),
    ]
    assert [(v.optional_id, v.value) for v in note_optionals(True)] == [("22", "S")]
    with pytest.raises(ValueError):
        invoice_optionals(cbu[:-1])
    with pytest.raises(ValueError):
        invoice_optionals(cbu, "XYZ")
    assert is_fce(203) and not is_fce(3)
