"""The sandbox's padrón (constancia de inscripción A5 and padrón A13), driven by raw SOAP and by
the project's own client (`arca.padron`) through the in-process transport."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from lxml import etree
from werkzeug.test import Client

from arca.environments import sandbox_environment
from arca.padron import (
    A13_SERVICE,
    CONSTANCIA_SERVICE,
    CONSUMIDOR_FINAL,
    EXENTO,
    MONOTRIBUTO,
    RESPONSABLE_INSCRIPTO,
    PadronAuthRejected,
    PadronClient,
    PadronFault,
    TaxpayerInactive,
    TaxpayerNotFound,
)
from arca.sandbox import Sandbox
from arca.sandbox.faults import http_500
from arca.sandbox.padron_data import find_entry
from arca.transport import Timeouts, build_session
from arca.wsaa import WsaaClient, build_tra, sign_tra
from tests.sandbox.helpers import ISSUER, SOAP11

A5_URL = "/sr-padron/webservices/personaServiceA5"
A13_URL = "/sr-padron/webservices/personaServiceA13"
A5_NS = "http://a5.soap.ws.server.puc.sr/"


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[requests.Session]:
    session = build_session(sandbox_environment(), wsgi_app=sandbox)
    yield session
    session.close()


def ticket_for(
    sandbox: Sandbox, http: requests.Session, issuer: tuple[bytes, bytes], service: str
) -> tuple[str, str]:
    wsaa = WsaaClient(sandbox_environment(), http, Timeouts())
    cms = sign_tra(build_tra(service, sandbox.clock.now()), issuer[1], issuer[0])
    ticket = wsaa.login(cms)
    return ticket.token, ticket.sign


def padron(
    sandbox: Sandbox,
    http: requests.Session,
    issuer: tuple[bytes, bytes],
    service: str = CONSTANCIA_SERVICE,
) -> PadronClient:
    token, sign = ticket_for(sandbox, http, issuer, service)
    return PadronClient(
        sandbox_environment(), http, Timeouts(), lambda: (token, sign, ISSUER), service
    )


def raw_call(
    client: Client, operation: str, inner: str, url: str = A5_URL, namespace: str = A5_NS
) -> tuple[int, etree._Element]:
    envelope = (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP11}" xmlns:ser="{namespace}"><soapenv:Body>'
        f"<ser:{operation}>{inner}</ser:{operation}></soapenv:Body></soapenv:Envelope>"
    )
    response = client.post(
        url, data=envelope, headers={"SOAPAction": '""', "Content-Type": "text/xml"}
    )
    return response.status_code, etree.fromstring(response.get_data())


def faultstring(root: etree._Element) -> str:
    return root.findtext(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault/faultstring") or ""


# --- fixed taxpayers ------------------------------------------------------------------------------


def test_responsable_inscripto_company(sandbox, http, issuer):
    taxpayer = padron(sandbox, http, issuer).taxpayer("30-71234567-1")
    assert taxpayer.name == "TALLERES DEL PLATA S.A."
    assert taxpayer.kind == "JURIDICA" and taxpayer.is_active
    assert taxpayer.iva_condition == RESPONSABLE_INSCRIPTO
    assert taxpayer.address is not None
    assert taxpayer.address.province == "CIUDAD AUTONOMA BUENOS AIRES"
    assert taxpayer.address.postal_code == "1043"
    assert taxpayer.activities[0].id == 331101


def test_monotributista_person(sandbox, http, issuer):
    taxpayer = padron(sandbox, http, issuer).taxpayer("20123456786")
    assert taxpayer.name == "PEREYRA JUAN CARLOS"
    assert taxpayer.iva_condition == MONOTRIBUTO
    assert taxpayer.monotributo_category == "D LOCACIONES DE SERVICIO"
    assert taxpayer.address is not None and taxpayer.address.city == "ROSARIO"


def test_exento(sandbox, http, issuer):
    taxpayer = padron(sandbox, http, issuer).taxpayer("30700000083")
    assert taxpayer.iva_condition == EXENTO


def test_inactive_answers_with_data_and_an_error(sandbox, http, issuer):
    taxpayer = padron(sandbox, http, issuer).taxpayer("20234567897")
    assert taxpayer.state == "INACTIVO" and not taxpayer.is_active
    assert "La clave (CUIT/CUIL) consultada se encuentra INACTIVA" in taxpayer.notices
    assert taxpayer.iva_condition is None  # an errorConstancia: the blocks are not trusted


def test_deceased_carries_the_date(sandbox, http, issuer):
    taxpayer = padron(sandbox, http, issuer).taxpayer("27298765433")
    assert taxpayer.deceased_on is not None and taxpayer.deceased_on.isoformat() == "2024-03-15"
    assert not taxpayer.is_active


def test_unknown_cuit_is_a_fault(sandbox, http, issuer):
    client = padron(sandbox, http, issuer)
    with pytest.raises(TaxpayerNotFound, match="No existe persona con ese Id"):
        client.taxpayer("20301112220")
    with pytest.raises(TaxpayerNotFound):  # a valid CUIT with no taxpayer's prefix
        client.taxpayer("55000000018")


def test_the_recorded_taxpayer_matches_arcas_answer(sandbox, client, issuer, http):
    """ARCA's answer for 20201797064 (pyafipws tests/cassettes/test_ws_sr_padron/
    test_consultar.yaml): datosGenerales' children in this order, the fiscal address, the
    taxes 11/30/936, and errorMonotributo with its two texts."""
    token, sign = ticket_for(sandbox, http, issuer, CONSTANCIA_SERVICE)
    inner = (
        f"<token>{token}</token><sign>{sign}</sign><cuitRepresentada>{ISSUER}"
        "</cuitRepresentada><idPersona>20201797064</idPersona>"
    )
    status, root = raw_call(client, "getPersona", inner)
    assert status == 200
    response = root.find(f"{{{SOAP11}}}Body/{{{A5_NS}}}getPersonaResponse")
    assert response is not None
    persona = response.find("personaReturn")
    general = persona.find("datosGenerales")
    assert [child.tag for child in general] == [
        "apellido",
        "domicilioFiscal",
        "estadoClave",
        "idPersona",
        "mesCierre",
        "nombre",
        "tipoClave",
        "tipoPersona",
    ]
    assert general.findtext("domicilioFiscal/direccion") == "LARREA 1"
    assert general.findtext("domicilioFiscal/codPostal") == "1030"
    assert [child.tag for child in persona] == [
        "datosGenerales",
        "datosRegimenGeneral",
        "errorMonotributo",
        "metadata",
    ]
    taxes = [int(t) for t in persona.xpath("datosRegimenGeneral/impuesto/idImpuesto/text()")]
    assert taxes == [11, 30, 936]
    assert persona.findtext("errorMonotributo/mensaje") == (
        "No cumple con las condiciones para enviar datos monotributo"
    )


# --- deterministic padrón -------------------------------------------------------------------------


def test_any_valid_cuit_has_a_stable_taxpayer(sandbox, http, issuer):
    client = padron(sandbox, http, issuer)
    first = client.taxpayer("30-55061658-7")
    again = client.taxpayer("30550616587")
    assert first == again
    assert first.kind == "JURIDICA" and first.is_active
    assert first.iva_condition in (RESPONSABLE_INSCRIPTO, EXENTO)


@pytest.mark.parametrize("cuit", ["20111111112", "27222222228", "23333333333"])
def test_people_get_a_name_an_address_and_a_condition(sandbox, http, issuer, cuit):
    entry = find_entry(cuit)
    assert entry is not None and entry.kind == "FISICA"
    taxpayer = padron(sandbox, http, issuer).taxpayer(cuit)
    assert taxpayer.name and taxpayer.address is not None and taxpayer.address.street
    assert taxpayer.iva_condition in (RESPONSABLE_INSCRIPTO, EXENTO, CONSUMIDOR_FINAL, MONOTRIBUTO)


# --- errors and authentication --------------------------------------------------------------------


def test_missing_token_is_refused(client):
    status, root = raw_call(
        client,
        "getPersona_v2",
        "<cuitRepresentada>20111111112</cuitRepresentada><idPersona>30712345671</idPersona>",
    )
    assert status == 500
    assert faultstring(root) == "Falta token y/o sign."


def test_malformed_token_is_refused(client):
    inner = (
        "<token>abc</token><sign>abc</sign><cuitRepresentada>20111111112</cuitRepresentada>"
        "<idPersona>30712345671</idPersona>"
    )
    status, root = raw_call(client, "getPersona_v2", inner)
    assert status == 500 and faultstring(root) == "Token malformado"


def test_a_wsfe_ticket_is_not_a_padron_ticket(sandbox, http, issuer):
    token, sign = ticket_for(sandbox, http, issuer, "wsfe")
    client = PadronClient(sandbox_environment(), http, Timeouts(), lambda: (token, sign, ISSUER))
    with pytest.raises(PadronAuthRejected):
        client.taxpayer("30712345671")


def test_another_represented_cuit_is_refused(sandbox, http, issuer):
    token, sign = ticket_for(sandbox, http, issuer, CONSTANCIA_SERVICE)
    client = PadronClient(
        sandbox_environment(), http, Timeouts(), lambda: (token, sign, "30712345671")
    )
    with pytest.raises(PadronAuthRejected, match="representacion de la CUIT 30712345671"):
        client.taxpayer("20123456786")


def test_dummy_needs_no_ticket(sandbox, http):
    client = PadronClient(sandbox_environment(), http, Timeouts(), lambda: ("", "", ISSUER))
    assert client.dummy().ok


def test_wsdl_is_served_with_this_hosts_address(client):
    response = client.get(A5_URL + "?wsdl")
    assert response.status_code == 200
    assert 'location="http://localhost/sr-padron/webservices/personaServiceA5"' in (
        response.get_data(as_text=True)
    )


def test_http_500_fault_knob_is_a_server_fault(sandbox, http, issuer):
    client = padron(sandbox, http, issuer)
    sandbox.faults.add(http_500(CONSTANCIA_SERVICE, "getPersona_v2"))
    with pytest.raises(PadronFault) as caught:
        client.taxpayer("30712345671")
    assert type(caught.value) is PadronFault  # neither "not found" nor an auth problem


# --- A13 ------------------------------------------------------------------------------------------


def test_a13_gives_the_address_without_a_condition(sandbox, http, issuer):
    taxpayer = padron(sandbox, http, issuer, A13_SERVICE).taxpayer("20123456786")
    assert taxpayer.source == "A13" and taxpayer.iva_condition is None
    assert taxpayer.address is not None and taxpayer.address.postal_code == "2000"


def test_a13_refuses_an_inactive_key(sandbox, http, issuer):
    with pytest.raises(TaxpayerInactive):
        padron(sandbox, http, issuer, A13_SERVICE).taxpayer("20234567897")


def test_a13_finds_cuits_by_document(sandbox, client, http, issuer):
    token, sign = ticket_for(sandbox, http, issuer, A13_SERVICE)
    inner = (
        f"<token>{token}</token><sign>{sign}</sign><cuitRepresentada>{ISSUER}"
        "</cuitRepresentada><documento>12345678</documento>"
    )
    status, root = raw_call(
        client, "getIdPersonaListByDocumento", inner, A13_URL, "http://a13.soap.ws.server.puc.sr/"
    )
    assert status == 200
    assert root.xpath("//idPersona/text()") == ["20123456786"]
