"""The sandbox's answers have ARCA's element structure: every response body validates against
the XML schema embedded in ARCA's published WSFEv1 WSDL."""

from __future__ import annotations

import pytest
from lxml import etree
from werkzeug.test import Client

from arca.sandbox import Sandbox
from tests.sandbox.helpers import body_of, cae_request, call_wsfe, consultar_xml, detail_xml
from tests.sandbox.test_acceptance import published_wsdl

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    wsdl = etree.parse(published_wsdl("wsfev1-homologacion.wsdl"))
    embedded = wsdl.find(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")
    assert embedded is not None
    return etree.XMLSchema(etree.fromstring(etree.tostring(embedded)))


def assert_valid(schema: etree.XMLSchema, element: etree._Element) -> None:
    document = etree.fromstring(etree.tostring(element))
    assert schema.validate(document), (schema.error_log, etree.tostring(element))


def test_approved_and_rejected_cae_responses(
    client: Client, auth: str, schema: etree.XMLSchema
) -> None:
    approved = body_of(call_wsfe(client, "FECAESolicitar", cae_request(auth, [detail_xml(1)])))
    assert approved.findtext(".//{*}Resultado") == "A"
    assert_valid(schema, approved)
    for bad in (detail_xml(1), detail_xml(2, total="150")):  # 10016 as Err, 10048 as Obs
        rejected = body_of(call_wsfe(client, "FECAESolicitar", cae_request(auth, [bad])))
        assert rejected.findtext(".//{*}FeCabResp/{*}Resultado") == "R"
        assert_valid(schema, rejected)


def test_consultar_ultimo_and_errors(client: Client, auth: str, schema: etree.XMLSchema) -> None:
    tributo = (
        "<Tributos><Tributo><Id>2</Id><Desc>IIBB</Desc><BaseImp>100</BaseImp><Alic>3</Alic>"
        "<Importe>3.00</Importe></Tributo></Tributos>"
    )
    call_wsfe(
        client,
        "FECAESolicitar",
        cae_request(auth, [detail_xml(1, total="124.00", ImpTrib="3.00", Extra=tributo)]),
    )
    found = body_of(call_wsfe(client, "FECompConsultar", auth + consultar_xml(1)))
    assert found.findtext(".//{*}CodAutorizacion")
    assert_valid(schema, found)
    assert_valid(schema, body_of(call_wsfe(client, "FECompConsultar", auth + consultar_xml(9))))
    ultimo = auth + "<PtoVta>1</PtoVta><CbteTipo>6</CbteTipo>"
    assert_valid(schema, body_of(call_wsfe(client, "FECompUltimoAutorizado", ultimo)))
    assert_valid(
        schema,
        body_of(call_wsfe(client, "FECompUltimoAutorizado", ultimo.replace("AAAA", ""), "1.2")),
    )
    unauthenticated = body_of(
        call_wsfe(client, "FECompUltimoAutorizado", "<PtoVta>1</PtoVta><CbteTipo>6</CbteTipo>")
    )
    assert_valid(schema, unauthenticated)
    assert_valid(schema, body_of(call_wsfe(client, "FEDummy", "")))


@pytest.mark.parametrize(
    ("operation", "extra"),
    [
        ("FEParamGetTiposCbte", ""),
        ("FEParamGetTiposDoc", ""),
        ("FEParamGetTiposIva", ""),
        ("FEParamGetTiposConcepto", ""),
        ("FEParamGetTiposMonedas", ""),
        ("FEParamGetTiposTributos", ""),
        ("FEParamGetTiposOpcional", ""),
        ("FEParamGetPtosVenta", ""),
        ("FEParamGetCotizacion", "<MonId>DOL</MonId>"),
        ("FEParamGetCotizacion", "<MonId>XYZ</MonId>"),
        ("FEParamGetCondicionIvaReceptor", "<ClaseCmp>B</ClaseCmp>"),
        ("FEParamGetCondicionIvaReceptor", "<ClaseCmp>Z</ClaseCmp>"),
        ("FECompTotXRequest", ""),
        ("FEParamGetTiposPaises", ""),
        ("FEParamGetActividades", ""),
        ("FECAEASinMovimientoInformar", "<PtoVta>1</PtoVta><CAEA>1</CAEA>"),
    ],
)
def test_parameter_and_other_operations(
    client: Client, auth: str, schema: etree.XMLSchema, operation: str, extra: str
) -> None:
    response = call_wsfe(client, operation, auth + extra)
    assert response.status_code == 200
    assert_valid(schema, body_of(response))


def test_events_keep_every_answer_valid(
    client: Client, auth: str, sandbox: Sandbox, schema: etree.XMLSchema
) -> None:
    """`Events` sit where each result type's sequence has them (before Errors in FECAEResponse)."""
    sandbox.announce(35, "Aviso de prueba")
    for operation, inner in (
        ("FECAESolicitar", cae_request(auth, [detail_xml(1)])),
        ("FECAESolicitar", cae_request(auth, [detail_xml(5)])),  # 10016: Events, then Errors
        ("FECompConsultar", auth + consultar_xml(1)),
        ("FECompConsultar", auth + consultar_xml(9)),
        ("FECompUltimoAutorizado", auth + "<PtoVta>1</PtoVta><CbteTipo>6</CbteTipo>"),
        ("FEParamGetTiposIva", auth),
        ("FEDummy", ""),
    ):
        answer = body_of(call_wsfe(client, operation, inner))
        assert_valid(schema, answer)
        assert (answer.find(".//{*}Events") is None) == (operation == "FEDummy")
