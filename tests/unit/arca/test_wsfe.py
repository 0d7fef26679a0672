from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import requests
from lxml import etree
from requests.adapters import BaseAdapter
from zeep.wsdl.utils import etree_to_string as to_bytes

from arca import errors
from arca.environments import get_environment
from arca.transport import ConnectionDropped, Timeouts, build_session
from arca.wsfe import (
    AssociatedVoucher,
    Buyer,
    CaeRequest,
    OptionalValue,
    TaxAmount,
    VatAmount,
    VoucherDetail,
    WsfeClient,
    build_cae_envelope,
    build_cae_request,
    format_money,
    format_rate,
    parse_date,
    static_auth,
)
from tests.unit.arca.soap import FEV1, SOAP, Responder, Tree, fault, wsfe_response

ENV = get_environment("sandbox")
F = f"{{{FEV1}}}"


def factura_a() -> VoucherDetail:
    return VoucherDetail(
        concept=2,
        doc_type=80,
        doc_number=30000000007,
        number_from=43,
        number_to=43,
        date=dt.date(2026, 11, 21),
        total=Decimal("121.00"),
        untaxed=Decimal("0"),
        net=Decimal("100"),
        exempt=Decimal("0"),
        vat_total=Decimal("21.00"),
        other_taxes_total=Decimal("0"),
        service_from=dt.date(2026, 11, 1),
        service_to=dt.date(2026, 11, 30),
        payment_due=dt.date(2026, 12, 10),
        receiver_iva_condition=1,
        vat=[VatAmount(5, Decimal("100"), Decimal("21"))],
    )


def client_for(responder: Any) -> tuple[WsfeClient, requests.Session]:
    session = build_session(ENV, wsgi_app=responder)
    return WsfeClient(
        ENV, session, Timeouts(), static_auth("TOKEN-X", "SIGN-Y", "20111111112")
    ), session


def call(responder: Any, method: str, *args: Any) -> Any:
    client, session = client_for(responder)
    with session:
        return getattr(client, method)(*args)


# --- request building ---


def test_envelope_uses_arca_names_namespace_and_two_decimals() -> None:
    request = CaeRequest(point_of_sale=3, invoice_type=1, details=[factura_a()])
    message = build_cae_envelope({"Token": "t", "Sign": "s", "Cuit": 20111111112}, request)
    body = message.find(f"{{{SOAP}}}Body")
    (operation,) = body
    assert operation.tag == f"{F}FECAESolicitar"
    assert operation.findtext(f"{F}Auth/{F}Cuit") == "20111111112"
    header = operation.find(f"{F}FeCAEReq/{F}FeCabReq")
    assert [(c.tag.split("}")[1], c.text) for c in header] == [
        ("CantReg", "1"),
        ("PtoVta", "3"),
        ("CbteTipo", "1"),
    ]
    detail = operation.find(f"{F}FeCAEReq/{F}FeDetReq/{F}FECAEDetRequest")
    names = [child.tag for child in detail]
    assert all(name.startswith(F) for name in names)  # elementFormDefault="qualified"
    values = {child.tag.split("}")[1]: child.text for child in detail}
    assert values["CbteFch"] == "20261121" and values["FchVtoPago"] == "20261210"
    assert values["ImpTotal"] == "121.00" and values["ImpNeto"] == "100.00"
    assert values["ImpTotConc"] == "0.00" and values["MonCotiz"] == "1"
    assert values["CondicionIVAReceptorId"] == "1" and values["MonId"] == "PES"
    assert "Tributos" not in values and "CanMisMonExt" not in values  # absent, not empty (10024)
    vat = detail.find(f"{F}Iva/{F}AlicIva")
    assert [c.text for c in vat] == ["5", "100.00", "21.00"]
    # WSDL sequence order, which ARCA's manual asks to keep
    order = [n.split("}")[1] for n in names]
    assert (
        order.index("ImpTotal")
        < order.index("FchServDesde")
        < order.index("MonId")
        < order.index("Iva")
    )


def every_part() -> VoucherDetail:
    """A foreign-currency credit note with every optional part WSFEv1 has, a few repeated."""
    return VoucherDetail(
        **{
            **factura_a().__dict__,
            "total": Decimal("1331.50"),
            "untaxed": Decimal("10.25"),
            "exempt": Decimal("5.00"),
            "other_taxes_total": Decimal("6.25"),
            "currency": "DOL",
            "currency_rate": Decimal("1450.500000"),
            "same_currency_quantity": True,
            "vat": [
                VatAmount(5, Decimal("100"), Decimal("21")),
                VatAmount(4, Decimal("1000"), Decimal("105")),
            ],
            "taxes": [
                TaxAmount(99, Decimal("100"), Decimal("3"), Decimal("3"), "Tasa <municipal> & co"),
                TaxAmount(2, Decimal("100"), Decimal("3.25"), Decimal("3.25")),  # no Desc
            ],
            "associated": [
                AssociatedVoucher(1, 3, 42, "20111111112", dt.date(2026, 11, 2)),
                AssociatedVoucher(1, 3, 41),
            ],
            "optionals": [
                OptionalValue("2101", "0170001240000012345678"),
                OptionalValue("27", "SCA"),
            ],
            "buyers": [
                Buyer(80, 20111111112, Decimal("60")),
                Buyer(80, 30000000007, Decimal("40")),
            ],
            "period_from": dt.date(2026, 11, 1),
            "period_to": dt.date(2026, 11, 30),
            "activities": [620100, 631100],
        }
    )


def zeep_envelope(client: WsfeClient, auth: dict[str, Any], request: CaeRequest) -> bytes:
    message = client._client.create_message(  # zeep's own rendering from the WSDL, offline
        client._service, "FECAESolicitar", Auth=auth, FeCAEReq=build_cae_request(request)
    )
    return bytes(to_bytes(message))


@pytest.mark.parametrize(
    "details",
    [
        [factura_a()],
        [every_part()],
        [
            VoucherDetail(**{**factura_a().__dict__, "number_from": n, "number_to": n})
            for n in range(1, 251)
        ],
    ],
    ids=["factura", "every-part", "batch-of-250"],
)
def test_cae_envelope_is_byte_for_byte_what_zeep_renders(details: list[VoucherDetail]) -> None:
    auth = {"Token": "PD94bWwg+/=", "Sign": "c2lnbg==", "Cuit": 20111111112}
    request = CaeRequest(point_of_sale=3, invoice_type=3, details=details)
    client, session = client_for(Responder())
    with session:
        expected = zeep_envelope(client, auth, request)
    assert bytes(to_bytes(build_cae_envelope(auth, request))) == expected


def test_cae_envelope_refuses_values_it_cannot_write() -> None:
    auth: dict[str, Any] = {"Token": "t", "Sign": "s", "Cuit": 20111111112}
    request = CaeRequest(3, 1, [factura_a()])
    with pytest.raises(ValueError, match="Cuit"):
        build_cae_envelope({**auth, "Cuit": 20111111112.0}, request)
    with pytest.raises(ValueError, match="Token"):
        build_cae_envelope({**auth, "Token": True}, request)


def test_money_is_never_rounded_silently() -> None:
    assert format_money(Decimal("121")) == "121.00"
    assert format_money(Decimal("0.1") + Decimal("0.2")) == "0.30"
    assert format_rate(Decimal("1450.500000")) == "1450.5"
    assert format_rate(Decimal("1")) == "1"
    with pytest.raises(ValueError):
        format_money(Decimal("1.005"))
    with pytest.raises(ValueError):
        format_rate(Decimal("1.0000001"))


def test_notes_carry_associated_vouchers_and_taxes() -> None:
    from arca.wsfe import build_detail

    detail = build_detail(
        VoucherDetail(
            **{
                **factura_a().__dict__,
                "other_taxes_total": Decimal("3.00"),
                "total": Decimal("124.00"),
            },
        )
    )
    assert detail["ImpTrib"] == "3.00"
    note = build_detail(
        VoucherDetail(
            **{
                **factura_a().__dict__,
                "associated": [AssociatedVoucher(1, 3, 42, "20111111112", dt.date(2026, 11, 2))],
                "taxes": [TaxAmount(99, Decimal("100"), Decimal("3"), Decimal("3"), "Tasa")],
                "same_currency_quantity": False,
            }
        )
    )
    assert note["CbtesAsoc"] == {
        "CbteAsoc": [
            {"Tipo": 1, "PtoVta": 3, "Nro": 42, "Cuit": "20111111112", "CbteFch": "20261102"}
        ]
    }
    assert note["Tributos"]["Tributo"][0] == {
        "Id": 99,
        "Desc": "Tasa",
        "BaseImp": "100.00",
        "Alic": "3.00",
        "Importe": "3.00",
    }
    assert note["CanMisMonExt"] == "N"


# --- authorize ---

APPROVED: Tree = [
    (
        "FeCabResp",
        [
            ("Cuit", "20111111112"),
            ("PtoVta", "3"),
            ("CbteTipo", "1"),
            ("FchProceso", "20261121100005"),
            ("CantReg", "1"),
            ("Resultado", "A"),
            ("Reproceso", "N"),
        ],
    ),
    (
        "FeDetResp",
        [
            (
                "FECAEDetResponse",
                [
                    ("Concepto", "2"),
                    ("DocTipo", "80"),
                    ("DocNro", "30000000007"),
                    ("CbteDesde", "43"),
                    ("CbteHasta", "43"),
                    ("CbteFch", "20261121"),
                    ("Resultado", "A"),
                    ("Observaciones", [("Obs", [("Code", "10217"), ("Msg", "Monotributo")])]),
                    ("CAE", "70417054367476"),
                    ("CAEFchVto", "20261201"),
                ],
            )
        ],
    ),
    ("Events", [("Evt", [("Code", "35"), ("Msg", "Aviso")])]),
]


def test_authorize_returns_the_cae_and_the_redacted_exchange() -> None:
    responder = Responder(body=wsfe_response("FECAESolicitar", APPROVED))
    response = call(responder, "authorize", CaeRequest(3, 1, [factura_a()]))
    assert response.result == "A" and response.approved
    (detail,) = response.details
    assert detail.cae == "70417054367476" and detail.cae_due == dt.date(2026, 12, 1)
    assert detail.number == 43 and [o.code for o in detail.observations] == [10217]
    assert [e.code for e in response.events] == [35] and response.errors == []
    assert response.processed_at == dt.datetime(
        2026, 11, 21, 10, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=-3))
    )
    assert "TOKEN-X" not in response.raw_request_xml and "SIGN-Y" not in response.raw_request_xml
    assert (
        "[redacted]" in response.raw_request_xml
        and "<ns0:ImpTotal>121.00" in response.raw_request_xml
    )
    assert "70417054367476" in response.raw_response_xml
    (sent,) = responder.received
    assert sent.headers["SOAPACTION"] == '"http://ar.gov.afip.dif.FEV1/FECAESolicitar"'
    assert sent.headers["CONTENT_TYPE"] == "text/xml; charset=utf-8"
    assert b"TOKEN-X" in sent.body  # redaction is for the record, not the wire
    auth = {"Token": "TOKEN-X", "Sign": "SIGN-Y", "Cuit": 20111111112}
    client, session = client_for(Responder())
    with session:
        assert sent.body == zeep_envelope(client, auth, CaeRequest(3, 1, [factura_a()]))
    # The record is the same envelope with Token and Sign replaced.
    assert response.raw_request_xml == sent.body.decode().replace("TOKEN-X", "[redacted]").replace(
        "SIGN-Y", "[redacted]"
    )


def test_authorize_returns_rejections_and_request_errors() -> None:
    rejected: Tree = [
        (
            "FeCabResp",
            [
                ("Cuit", "20111111112"),
                ("PtoVta", "3"),
                ("CbteTipo", "1"),
                ("CantReg", "1"),
                ("Resultado", "R"),
            ],
        ),
        (
            "FeDetResp",
            [
                (
                    "FECAEDetResponse",
                    [
                        ("Concepto", "2"),
                        ("DocTipo", "80"),
                        ("DocNro", "30000000007"),
                        ("CbteDesde", "43"),
                        ("CbteHasta", "43"),
                        ("CbteFch", "20261121"),
                        ("Resultado", "R"),
                        ("Observaciones", [("Obs", [("Code", "10016"), ("Msg", "numero")])]),
                        ("CAE", ""),
                        ("CAEFchVto", ""),
                    ],
                )
            ],
        ),
    ]
    response = call(
        Responder(body=wsfe_response("FECAESolicitar", rejected)),
        "authorize",
        CaeRequest(3, 1, [factura_a()]),
    )
    assert response.result == "R" and response.details[0].cae is None
    assert response.details[0].cae_due is None

    auth_error: Tree = [("Errors", [("Err", [("Code", "600"), ("Msg", "ValidacionDeToken: x")])])]
    response = call(
        Responder(body=wsfe_response("FECAESolicitar", auth_error)),
        "authorize",
        CaeRequest(3, 1, [factura_a()]),
    )
    assert response.result == "R" and response.authentication_rejected


def _raise(exc: BaseException) -> Any:
    def action() -> None:
        raise exc

    return action


@pytest.mark.parametrize(
    ("responder", "expected"),
    [
        (Responder(action=_raise(ConnectionDropped(after_processing=True))), errors.OutcomeUnknown),
        (
            Responder(action=_raise(ConnectionDropped(after_processing=False))),
            errors.OutcomeUnknown,
        ),
        (Responder(status="502 Bad Gateway", body=b"<html>proxy</html>"), errors.OutcomeUnknown),
        (Responder(status="200 OK", body=b"<html>captive portal</html>"), errors.OutcomeUnknown),
        (
            Responder(status="500 Internal Server Error", body=fault("soap:Server", "boom")),
            errors.OutcomeUnknown,
        ),
        (
            Responder(status="500 Internal Server Error", body=fault("soap:Client", "bad int")),
            errors.SoapFault,
        ),
        (Responder(status="400 Bad Request", body=b"Bad Request"), errors.SoapFault),
        (Responder(status="429 Too Many Requests", body=b""), errors.ServiceUnavailable),
    ],
)
def test_authorize_classifies_failures(responder: Responder, expected: type[Exception]) -> None:
    with pytest.raises(expected) as caught:
        call(responder, "authorize", CaeRequest(3, 1, [factura_a()]))
    assert type(caught.value) is expected
    if isinstance(caught.value, errors.OutcomeUnknown):
        assert "[redacted]" in caught.value.raw_request_xml
    assert len(responder.received) == 1  # never retried


class Failing(BaseAdapter):
    def __init__(self, exc: Exception) -> None:
        super().__init__()
        self.exc = exc

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        raise self.exc

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("exc", "authorize_error"),
    [
        (requests.ReadTimeout("read timed out"), errors.OutcomeUnknown),
        (requests.ConnectTimeout("connect timed out"), errors.ServiceUnavailable),
    ],
)
def test_timeouts(exc: Exception, authorize_error: type[Exception]) -> None:
    with requests.Session() as session:
        session.mount("http://arca-sandbox.invalid/", Failing(exc))
        client = WsfeClient(ENV, session, Timeouts(), static_auth("t", "s", "20111111112"))
        with pytest.raises(authorize_error):
            client.authorize(CaeRequest(3, 1, [factura_a()]))
        with pytest.raises(errors.ServiceUnavailable):
            client.last_authorized(3, 1)


def test_refused_connection_is_unavailable_even_for_authorize() -> None:
    # arca-sandbox.invalid never resolves: the request cannot have left.
    with requests.Session() as session:
        client = WsfeClient(ENV, session, Timeouts(connect=1, read=1), static_auth("t", "s", "1"))
        with pytest.raises(errors.ServiceUnavailable):
            client.authorize(CaeRequest(3, 1, [factura_a()]))


# --- read-only calls ---


def test_dummy_needs_no_auth() -> None:
    responder = Responder(
        body=wsfe_response(
            "FEDummy", [("AppServer", "OK"), ("DbServer", "OK"), ("AuthServer", "OK")]
        )
    )
    status = call(responder, "dummy")
    assert status.ok
    (sent,) = responder.received
    assert b"Auth" not in sent.body
    assert sent.path == "/wsfev1/service.asmx"
    assert sent.headers["SOAPACTION"] == '"http://ar.gov.afip.dif.FEV1/FEDummy"'
    assert sent.headers["CONTENT_TYPE"] == "text/xml; charset=utf-8"
    assert sent.body.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<soap-env:Envelope")


def test_last_authorized_and_its_errors() -> None:
    ok = wsfe_response(
        "FECompUltimoAutorizado", [("PtoVta", "3"), ("CbteTipo", "1"), ("CbteNro", "42")]
    )
    assert call(Responder(body=ok), "last_authorized", 3, 1) == 42
    bad = wsfe_response(
        "FECompUltimoAutorizado",
        [
            ("PtoVta", "3"),
            ("CbteTipo", "1"),
            ("CbteNro", "0"),
            ("Errors", [("Err", [("Code", "11002"), ("Msg", "no habilitado")])]),
        ],
    )
    with pytest.raises(errors.ArcaRejected) as caught:
        call(Responder(body=bad), "last_authorized", 3, 1)
    assert caught.value.codes == [11002] and not isinstance(
        caught.value, errors.AuthenticationRejected
    )
    auth = wsfe_response(
        "FECompUltimoAutorizado",
        [
            ("PtoVta", "0"),
            ("CbteTipo", "0"),
            ("CbteNro", "0"),
            ("Errors", [("Err", [("Code", "600"), ("Msg", "ValidacionDeToken")])]),
        ],
    )
    with pytest.raises(errors.AuthenticationRejected):
        call(Responder(body=auth), "last_authorized", 3, 1)
    with pytest.raises(errors.SoapFault):
        call(
            Responder(status="500 Internal Server Error", body=fault("soap:Server", "x")),
            "last_authorized",
            3,
            1,
        )
    with pytest.raises(errors.ServiceUnavailable):
        call(Responder(status="503 Service Unavailable", body=b""), "last_authorized", 3, 1)


def test_consult_parses_the_stored_voucher_and_602_is_none() -> None:
    stored: Tree = [
        (
            "ResultGet",
            [
                ("Concepto", "2"),
                ("DocTipo", "80"),
                ("DocNro", "30000000007"),
                ("CbteDesde", "43"),
                ("CbteHasta", "43"),
                ("CbteFch", "20261121"),
                ("ImpTotal", "121"),
                ("ImpTotConc", "0"),
                ("ImpNeto", "100"),
                ("ImpOpEx", "0"),
                ("ImpTrib", "0"),
                ("ImpIVA", "21"),
                ("FchServDesde", "20261101"),
                ("FchServHasta", "20261130"),
                ("FchVtoPago", "20261210"),
                ("MonId", "PES"),
                ("MonCotiz", "1"),
                ("CondicionIVAReceptorId", "1"),
                ("Iva", [("AlicIva", [("Id", "5"), ("BaseImp", "100"), ("Importe", "21")])]),
                ("Resultado", "A"),
                ("CodAutorizacion", "70417054367476"),
                ("EmisionTipo", "CAE"),
                ("FchVto", "20261201"),
                ("FchProceso", "20261121100005"),
                ("PtoVta", "3"),
                ("CbteTipo", "1"),
            ],
        )
    ]
    voucher = call(Responder(body=wsfe_response("FECompConsultar", stored)), "consult", 3, 1, 43)
    assert voucher.authorization_code == "70417054367476" and voucher.emission_type == "CAE"
    assert voucher.due_date == dt.date(2026, 12, 1)
    sent = factura_a()
    assert voucher.detail.total == sent.total and voucher.detail.vat == sent.vat
    assert voucher.detail.date == sent.date and voucher.detail.doc_number == sent.doc_number
    missing = wsfe_response(
        "FECompConsultar", [("Errors", [("Err", [("Code", "602"), ("Msg", "Sin Resultados")])])]
    )
    assert call(Responder(body=missing), "consult", 3, 1, 44) is None


def test_parameter_tables() -> None:
    rows = [
        (
            "CbteTipo",
            [("Id", "1"), ("Desc", "Factura A"), ("FchDesde", "20100917"), ("FchHasta", "NULL")],
        )
    ]
    (item,) = call(
        Responder(body=wsfe_response("FEParamGetTiposCbte", [("ResultGet", rows)])), "voucher_types"
    )
    assert item.id == 1 and item.valid_from == dt.date(2010, 9, 17) and item.valid_to is None
    money = [
        (
            "Moneda",
            [("Id", "060"), ("Desc", "Euro"), ("FchDesde", "20090403"), ("FchHasta", "NULL")],
        )
    ]
    (euro,) = call(
        Responder(body=wsfe_response("FEParamGetTiposMonedas", [("ResultGet", money)])),
        "currencies",
    )
    assert euro.id == "060"
    rate = [
        ("ResultGet", [("MonId", "DOL"), ("MonCotiz", "1450.123456"), ("FchCotiz", "20261120")])
    ]
    assert call(
        Responder(body=wsfe_response("FEParamGetCotizacion", rate)), "exchange_rate", "DOL"
    ) == (Decimal("1450.123456"), dt.date(2026, 11, 20))
    points = [
        (
            "ResultGet",
            [
                (
                    "PtoVenta",
                    [
                        ("Nro", "3"),
                        ("EmisionTipo", "CAE - Ri Iva"),
                        ("Bloqueado", "N"),
                        ("FchBaja", "NULL"),
                    ],
                )
            ],
        )
    ]
    (point,) = call(Responder(body=wsfe_response("FEParamGetPtosVenta", points)), "points_of_sale")
    assert point.number == 3 and not point.blocked and point.closed_on is None
    conditions = [
        (
            "ResultGet",
            [
                (
                    "CondicionIvaReceptor",
                    [("Id", "1"), ("Desc", "IVA Responsable Inscripto"), ("Cmp_Clase", "A/M/C")],
                )
            ],
        )
    ]
    (condition,) = call(
        Responder(body=wsfe_response("FEParamGetCondicionIvaReceptor", conditions)),
        "receiver_iva_conditions",
        "A",
    )
    assert condition.voucher_classes == ("A", "M", "C")
    none = wsfe_response(
        "FEParamGetPtosVenta", [("Errors", [("Err", [("Code", "602"), ("Msg", "Sin Resultados")])])]
    )
    assert call(Responder(body=none), "points_of_sale") == []
    assert (
        call(
            Responder(body=wsfe_response("FECompTotXRequest", [("RegXReq", "250")])),
            "max_batch_size",
        )
        == 250
    )


def test_parsing_keeps_decimals_exact() -> None:
    body = wsfe_response(
        "FEParamGetCotizacion",
        [("ResultGet", [("MonId", "DOL"), ("MonCotiz", "0.1"), ("FchCotiz", "20261120")])],
    )
    rate, _ = call(Responder(body=body), "exchange_rate", "DOL")
    assert rate == Decimal("0.1") and isinstance(rate, Decimal)
    assert etree  # lxml builds every fixture above


@pytest.mark.parametrize(
    "text",
    [
        "20261121",
        "20240229",
        " 20260101 ",
        "2026010100",
        "20261301",
        "20230229",
        "2026-1-1",
        "2026121",
        "２０２６１１２１",
    ],
)
def test_parse_date_reads_as_strptime_does(text: str) -> None:
    try:
        expected: Any = dt.datetime.strptime(text.strip()[:8], "%Y%m%d").date()
    except ValueError:
        expected = ValueError
    if expected is ValueError:
        with pytest.raises(ValueError):
            parse_date(text)
    else:
        assert parse_date(text) == expected


def test_parse_date_none_and_null() -> None:
    assert parse_date(None) is None and parse_date("") is None and parse_date(" NULL ") is None
    assert parse_date("NULL") is None and parse_date("null") is None
