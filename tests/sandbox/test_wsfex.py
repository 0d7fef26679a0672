"""WSFEXv1 (Factura E) in the sandbox over raw SOAP: operations, rules with their codes, the
request-Id rule, fault knobs, and every answer valid against the WSDL's schema.

Recorded answers quoted here are ARCA homologation's, from reingart/pyafipws
`tests/cassettes/test_wsfexv1*/` (paths cited per test).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib import resources

import pytest
from lxml import etree
from werkzeug.test import Client, TestResponse

from arca.sandbox import Sandbox
from arca.sandbox.clock import ARGENTINA
from arca.sandbox.faults import drop_after, reject_next, wsfe_unavailable
from arca.transport import ConnectionDropped
from tests.sandbox.helpers import (
    ISSUER,
    SOAP11,
    build_tra,
    post_login,
    sign_tra,
    ticket_from,
)

FEX = "http://ar.gov.afip.dif.fexv1/"
N = {"x": FEX}
PATH = "/wsfexv1/service.asmx"
DAY = datetime(2026, 12, 4, 10, 0, tzinfo=ARGENTINA)
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    """The schema embedded in our copy of ARCA's WSFEXv1 WSDL."""
    text = resources.files("arca.sandbox").joinpath("wsdl", "wsfexv1.wsdl").read_bytes()
    embedded = etree.fromstring(text).find(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")
    assert embedded is not None
    return etree.XMLSchema(etree.fromstring(etree.tostring(embedded)))


def ticket_auth(client: Client, sandbox: Sandbox, service: str) -> str:
    """`Auth` for ISSUER with a ticket for `service`, from a certificate issued at DAY (the
    session's certificate starts later than DAY)."""
    sandbox.clock.freeze(DAY)
    key, certificate = sandbox.ca.issue_key_and_certificate(ISSUER, alias=service)
    tra = build_tra(sandbox.clock.now(), service=service)
    ticket = ticket_from(post_login(client, sign_tra(key, certificate, tra)))
    token = ticket.findtext("credentials/token") or ""
    sign = ticket.findtext("credentials/sign") or ""
    return f"<Auth><Token>{token}</Token><Sign>{sign}</Sign><Cuit>{ISSUER}</Cuit></Auth>"


@pytest.fixture
def fex_auth(client: Client, sandbox: Sandbox) -> str:
    return ticket_auth(client, sandbox, "wsfex")


def call(client: Client, operation: str, inner: str) -> TestResponse:
    envelope = (
        f'<soap:Envelope xmlns:soap="{SOAP11}"><soap:Body><{operation} xmlns="{FEX}">{inner}'
        f"</{operation}></soap:Body></soap:Envelope>"
    )
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{FEX}{operation}"'}
    return client.post(PATH, data=envelope.encode(), headers=headers)


def result_of(response: TestResponse, schema: etree.XMLSchema | None = None) -> etree._Element:
    """The `<Op>Result` element (the Response element checked against the schema first)."""
    assert response.status_code == 200, response.get_data(as_text=True)
    body = etree.fromstring(response.get_data()).find(f"{{{SOAP11}}}Body")
    assert body is not None
    if schema is not None:
        schema.assertValid(body[0])
    return body[0][0]


def err(result: etree._Element) -> tuple[int, str]:
    return int(result.findtext("x:FEXErr/x:ErrCode", namespaces=N) or -1), (
        result.findtext("x:FEXErr/x:ErrMsg", namespaces=N) or ""
    )


def cmp_xml(number: int = 1, request_id: int = 1, **overrides: str) -> str:
    """A Factura E of services (Tipo_expo 2) in dollars to a Brazilian company."""
    fields = {
        "Id": str(request_id),
        "Fecha_cbte": "20261204",
        "Cbte_Tipo": "19",
        "Punto_vta": "1",
        "Cbte_nro": str(number),
        "Tipo_expo": "2",
        "Permiso_existente": "",
        "Permisos": "",
        "Dst_cmp": "203",
        "Cliente": "Joao Da Silva",
        "Cuit_pais_cliente": "50000000059",
        "Domicilio_cliente": "Rua 76 km 34.5 Alagoas",
        "Id_impositivo": "PJ54482221-l",
        "Moneda_Id": "DOL",
        "Moneda_ctz": "1050",
        "Imp_total": "250.00",
        "Incoterms": "",
        "Idioma_cbte": "1",
        "Items": (
            "<Item><Pro_codigo>SRV1</Pro_codigo><Pro_ds>Consultoria</Pro_ds><Pro_qty>2</Pro_qty>"
            "<Pro_umed>7</Pro_umed><Pro_precio_uni>150.00</Pro_precio_uni>"
            "<Pro_bonificacion>50.00</Pro_bonificacion><Pro_total_item>250.00</Pro_total_item>"
            "</Item>"
        ),
        "Fecha_pago": "20261220",
    }
    fields.update(overrides)
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items() if v != "-")
    return f"<Cmp>{inner}</Cmp>"


def authorize(client: Client, auth: str, cmp: str) -> TestResponse:
    return call(client, "FEXAuthorize", auth + cmp)


def test_dummy_with_empty_body_is_routed_on_soap_action(client: Client) -> None:
    # pyafipws tests/cassettes/test_wsfexv1_recex1/test_main_dummy.yaml: an empty Body with
    # SOAPAction FEXDummy answers OK/OK/OK.
    envelope = f'<soap:Envelope xmlns:soap="{SOAP11}"><soap:Body></soap:Body></soap:Envelope>'
    headers = {"Content-Type": "text/xml", "SOAPAction": f'"{FEX}FEXDummy"'}
    result = result_of(client.post(PATH, data=envelope, headers=headers))
    assert [e.text for e in result] == ["OK", "OK", "OK"]


def test_wsdl_is_served_with_this_host(client: Client) -> None:
    response = client.get(PATH + "?WSDL")
    assert response.status_code == 200
    assert 'location="http://localhost/wsfexv1/service.asmx"' in response.get_data(as_text=True)


def test_authorize_then_numbering_id_and_consult(
    client: Client, fex_auth: str, schema: etree.XMLSchema
) -> None:
    last = f"<Auth>{fex_auth[6:-7]}<Pto_venta>1</Pto_venta><Cbte_Tipo>19</Cbte_Tipo></Auth>"
    before = result_of(call(client, "FEXGetLast_CMP", last), schema)
    assert before.findtext("x:FEXResult_LastCMP/x:Cbte_nro", namespaces=N) == "0"

    result = result_of(authorize(client, fex_auth, cmp_xml()), schema)
    auth = result.find("x:FEXResultAuth", N)
    assert auth is not None
    assert auth.findtext("x:Resultado", namespaces=N) == "A"
    assert auth.findtext("x:Reproceso", namespaces=N) == "N"
    cae = auth.findtext("x:Cae", namespaces=N) or ""
    assert len(cae) == 14
    # Success carries FEXErr 0 "OK" and FEXEvents 0 "Ok", as every recorded answer does
    # (pyafipws tests/cassettes/test_wsfexv1/test_autorizar.yaml).
    assert err(result) == (0, "OK")
    assert result.findtext("x:FEXEvents/x:EventMsg", namespaces=N) == "Ok"

    after = result_of(call(client, "FEXGetLast_CMP", last), schema)
    assert after.findtext("x:FEXResult_LastCMP/x:Cbte_nro", namespaces=N) == "1"
    assert after.findtext("x:FEXResult_LastCMP/x:Cbte_fecha", namespaces=N) == "20261204"
    last_id = result_of(call(client, "FEXGetLast_ID", fex_auth), schema)
    assert last_id.findtext("x:FEXResultGet/x:Id", namespaces=N) == "1"

    query = "<Cmp><Cbte_tipo>19</Cbte_tipo><Punto_vta>1</Punto_vta><Cbte_nro>1</Cbte_nro></Cmp>"
    got = result_of(call(client, "FEXGetCMP", fex_auth + query), schema)
    stored = got.find("x:FEXResultGet", N)
    assert stored is not None
    assert stored.findtext("x:Cae", namespaces=N) == cae
    assert stored.findtext("x:Resultado", namespaces=N) == "A"
    assert stored.findtext("x:Imp_total", namespaces=N) == "250"
    assert stored.findtext("x:Items/x:Item/x:Pro_ds", namespaces=N) == "Consultoria"
    # ARCA's recorded CAE expires on the voucher's own date (pyafipws
    # tests/cassettes/test_wsfexv1/test_consulta.yaml: Fecha_cbte = Fch_venc_Cae = 20210618).
    assert stored.findtext("x:Fch_venc_Cae", namespaces=N) == "20261204"


def test_consult_of_a_missing_voucher_is_1020(
    client: Client, fex_auth: str, schema: etree.XMLSchema
) -> None:
    # pyafipws tests/cassettes/test_wsfexv1_recex1/test_main_get.yaml: zeros and 1020.
    query = "<Cmp><Cbte_tipo>21</Cbte_tipo><Punto_vta>1</Punto_vta><Cbte_nro>28</Cbte_nro></Cmp>"
    result = result_of(call(client, "FEXGetCMP", fex_auth + query), schema)
    assert err(result) == (1020, "Comprobante inexistente")
    assert result.findtext("x:FEXResultGet/x:Cbte_nro", namespaces=N) == "0"


def test_expired_ticket_is_1000_with_the_token_problem(
    client: Client, sandbox: Sandbox, fex_auth: str, schema: etree.XMLSchema
) -> None:
    sandbox.clock.freeze(DAY + timedelta(hours=13))
    result = result_of(authorize(client, fex_auth, cmp_xml()), schema)
    code, text = err(result)
    # pyafipws tests/cassettes/test_wsfexv1_recex1/test_main_formato.yaml
    assert code == 1000
    assert text.startswith(
        "Usuario no autorizado a realizar esta operacion. ValidacionDeToken: No validaron las "
        "fechas del token GenTime, ExpTime, NowUTC:"
    )
    assert result.find("x:FEXResultAuth", N) is None


def test_a_wsfe_ticket_is_refused(
    client: Client, sandbox: Sandbox, schema: etree.XMLSchema
) -> None:
    auth = ticket_auth(client, sandbox, "wsfe")
    assert err(result_of(call(client, "FEXGetLast_ID", auth), schema))[0] == 1000


GOODS_ITEM = (
    "<Item><Pro_ds>Vino</Pro_ds><Pro_qty>10</Pro_qty><Pro_umed>7</Pro_umed>"
    "<Pro_precio_uni>25</Pro_precio_uni><Pro_bonificacion>0</Pro_bonificacion>"
    "<Pro_total_item>250</Pro_total_item></Item>"
)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        # Recorded text: pyafipws tests/cassettes/test_wsfexv1_recex1/test_main_ayuda.yaml.
        ({"Moneda_ctz": "19.8"}, 1667),
        ({"Moneda_ctz": "2101"}, 1667),
        ({"Cbte_Tipo": "6"}, 1501),
        ({"Punto_vta": "77"}, 1502),
        ({"Cbte_nro": "2"}, 1503),
        ({"Id": "0"}, 1504),
        ({"Fecha_cbte": "20261101"}, 1506),
        ({"Fecha_pago": "2026-12-20"}, 1527),
        ({"Tipo_expo": "3"}, 1508),
        ({"Permiso_existente": "N"}, 1510),
        ({"Dst_cmp": "999"}, 1513),
        ({"Cuit_pais_cliente": "50000000000"}, 1514),
        ({"Cuit_pais_cliente": "0", "Id_impositivo": "-"}, 1515),
        ({"Cliente": "-"}, 1516),
        ({"Moneda_Id": "XXX"}, 1517),
        ({"Moneda_Id": "PES", "Moneda_ctz": "2"}, 1518),
        ({"Idioma_cbte": "9"}, 1519),
        ({"Incoterms": "XYZ"}, 1521),
        ({"Items": "-"}, 1522),
        ({"Imp_total": "300.00"}, 1525),
        ({"Imp_total": "0"}, 1526),
        (
            {
                "Items": GOODS_ITEM.replace("<Pro_umed>7", "<Pro_umed>12345"),
                "Imp_total": "250",
            },
            1523,
        ),
        ({"Items": GOODS_ITEM.replace("<Pro_total_item>250", "<Pro_total_item>240")}, 1524),
        # Goods: Permiso_existente S or N, permits with S only, Incoterms required.
        ({"Tipo_expo": "1", "Permiso_existente": "", "Incoterms": "FOB"}, 1509),
        ({"Tipo_expo": "1", "Permiso_existente": "S", "Incoterms": "FOB"}, 1511),
        ({"Tipo_expo": "1", "Permiso_existente": "N"}, 1520),
        (
            {
                "Tipo_expo": "1",
                "Permiso_existente": "N",
                "Incoterms": "FOB",
                "Permisos": "<Permiso><Id_permiso>26001EC01000001A</Id_permiso>"
                "<Dst_merc>203</Dst_merc></Permiso>",
            },
            1512,
        ),
    ],
)
def test_rules_answer_their_codes(
    client: Client,
    fex_auth: str,
    schema: etree.XMLSchema,
    overrides: dict[str, str],
    code: int,
) -> None:
    result = result_of(authorize(client, fex_auth, cmp_xml(**overrides)), schema)
    assert err(result)[0] == code
    assert result.find("x:FEXResultAuth", N) is None
    last_id = result_of(call(client, "FEXGetLast_ID", fex_auth))
    assert last_id.findtext("x:FEXResultGet/x:Id", namespaces=N) == "0"  # nothing stored


def test_goods_with_permits_and_a_discount_line(
    client: Client, fex_auth: str, schema: etree.XMLSchema
) -> None:
    # A unit-99 line carries its own (negative) total, as in pyafipws
    # tests/cassettes/test_wsfexv1/test_main_prueba.yaml.
    discount = (
        "<Item><Pro_ds>Bonificacion</Pro_ds><Pro_qty>0</Pro_qty><Pro_umed>99</Pro_umed>"
        "<Pro_precio_uni>0</Pro_precio_uni><Pro_bonificacion>0</Pro_bonificacion>"
        "<Pro_total_item>-50.0</Pro_total_item></Item>"
    )
    cmp = cmp_xml(
        Tipo_expo="1",
        Permiso_existente="S",
        Permisos="<Permiso><Id_permiso>26001EC01000001A</Id_permiso><Dst_merc>203</Dst_merc>"
        "</Permiso>",
        Incoterms="FOB",
        Items=GOODS_ITEM + discount,
        Imp_total="200",
    )
    result = result_of(authorize(client, fex_auth, cmp), schema)
    assert err(result) == (0, "OK")


def test_repeated_id_returns_the_same_authorisation_or_1505(
    client: Client, fex_auth: str, schema: etree.XMLSchema
) -> None:
    first = result_of(authorize(client, fex_auth, cmp_xml()), schema)
    again = result_of(authorize(client, fex_auth, cmp_xml()), schema)
    cae = first.findtext("x:FEXResultAuth/x:Cae", namespaces=N)
    assert again.findtext("x:FEXResultAuth/x:Cae", namespaces=N) == cae
    assert again.findtext("x:FEXResultAuth/x:Reproceso", namespaces=N) == "S"
    other = result_of(authorize(client, fex_auth, cmp_xml(number=2)), schema)
    assert err(other)[0] == 1505
    assert err(result_of(authorize(client, fex_auth, cmp_xml(2, 2)), schema)) == (0, "OK")


def test_parameter_tables(client: Client, fex_auth: str, schema: etree.XMLSchema) -> None:
    # pyafipws tests/cassettes/test_wsfexv1/test_main_params.yaml
    expected = {
        "FEXGetPARAM_Cbte_Tipo": ("Cbte_Id", "19"),
        "FEXGetPARAM_Tipo_Expo": ("Tex_Id", "2"),
        "FEXGetPARAM_Incoterms": ("Inc_Id", "FOB"),
        "FEXGetPARAM_Idiomas": ("Idi_Id", "3"),
        "FEXGetPARAM_UMed": ("Umed_Id", "99"),
        "FEXGetPARAM_MON": ("Mon_Id", "DOL"),
        "FEXGetPARAM_DST_pais": ("DST_Codigo", "203"),
        "FEXGetPARAM_DST_CUIT": ("DST_CUIT", "50000000059"),
        "FEXGetPARAM_PtoVenta": ("Pve_Nro", "1"),
        "FEXGetPARAM_Actividades": ("Id", "620100"),
        "FEXGetPARAM_MON_CON_COTIZACION": ("Mon_Id", "DOL"),
    }
    for operation, (element, value) in expected.items():
        result = result_of(call(client, operation, fex_auth), schema)
        assert err(result) == (0, "OK"), operation
        values = [e.text for e in result.iterfind(f"x:FEXResultGet/*/x:{element}", N)]
        assert value in values, operation
    incoterms = result_of(call(client, "FEXGetPARAM_Incoterms", fex_auth))
    assert len(incoterms.findall("x:FEXResultGet/*", N)) == 11
    ctz = result_of(call(client, "FEXGetPARAM_Ctz", fex_auth + "<Mon_id>DOL</Mon_id>"), schema)
    assert ctz.findtext("x:FEXResultGet/x:Mon_ctz", namespaces=N) == "1050"
    assert ctz.findtext("x:FEXResultGet/x:Mon_fecha", namespaces=N) == "20261204"
    opcionales = result_of(call(client, "FEXGetPARAM_Opcionales", fex_auth), schema)
    assert err(opcionales) == (0, "OK")
    permit = "<ID_Permiso>26001EC01000001A</ID_Permiso><Dst_merc>203</Dst_merc>"
    checked = result_of(call(client, "FEXCheck_Permiso", fex_auth + permit), schema)
    assert checked.findtext("x:FEXResultGet/x:Status", namespaces=N) == "OK"


def test_a_value_dotnet_cannot_read_is_a_client_fault(client: Client, fex_auth: str) -> None:
    response = authorize(client, fex_auth, cmp_xml(Cbte_nro="uno"))
    assert response.status_code == 500
    assert b"<faultcode>soap:Client</faultcode>" in response.get_data()


def test_wrong_soap_action_is_refused(client: Client, fex_auth: str) -> None:
    envelope = (
        f'<soap:Envelope xmlns:soap="{SOAP11}"><soap:Body><FEXGetLast_ID xmlns="{FEX}">'
        f"{fex_auth}</FEXGetLast_ID></soap:Body></soap:Envelope>"
    )
    headers = {"Content-Type": "text/xml", "SOAPAction": f'"{FEX}FEXDummy"'}
    response = client.post(PATH, data=envelope, headers=headers)
    assert response.status_code == 500
    assert b"Server did not recognize the value of HTTP Header SOAPAction" in response.get_data()


def test_fault_knobs(client: Client, sandbox: Sandbox, fex_auth: str) -> None:
    sandbox.faults.add(wsfe_unavailable(service="wsfex", count=1))
    assert call(client, "FEXGetLast_ID", fex_auth).status_code == 503
    sandbox.faults.add(reject_next(1667, operation="FEXAuthorize", service="wsfex"))
    assert err(result_of(authorize(client, fex_auth, cmp_xml())))[0] == 1667
    sandbox.faults.add(drop_after(operation="FEXAuthorize"))
    with pytest.raises(ConnectionDropped):
        authorize(client, fex_auth, cmp_xml())
    # The voucher was authorised before the connection dropped.
    last_id = result_of(call(client, "FEXGetLast_ID", fex_auth))
    assert last_id.findtext("x:FEXResultGet/x:Id", namespaces=N) == "1"
    outcomes = [(r.service, r.operation, r.outcome) for r in sandbox.request_log]
    assert ("wsfex", "FEXAuthorize", "A+dropped_after") in outcomes
    assert ("wsfex", "FEXGetLast_ID", "wsfe_unavailable") in outcomes
