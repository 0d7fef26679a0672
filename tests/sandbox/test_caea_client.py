"""`arca.caea` and WsfeClient's CAEA methods, in process against the sandbox (real SOAP)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests

from arca.caea import (
    Caea,
    build_caea_inform_request,
    format_generated_at,
    fortnight_dates,
    fortnight_of,
    next_fortnight,
    request_window,
)
from arca.environments import sandbox_environment
from arca.errors import ArcaRejected, OutcomeUnknown, ServiceUnavailable
from arca.sandbox import Sandbox
from arca.sandbox.clock import ARGENTINA
from arca.sandbox.faults import wsfe_unavailable
from arca.transport import Timeouts, build_session
from arca.wsaa import WsaaClient, build_tra, sign_tra
from arca.wsfe import CaeRequest, VatAmount, VoucherDetail, WsfeClient, static_auth

CUIT = "30712345671"
CAEA_POS = 6
DAY = dt.datetime(2026, 12, 4, 10, 0, tzinfo=ARGENTINA)
TIMEOUTS = Timeouts(connect=2, read=5)


# --- Pure helpers -------------------------------------------------------------------------------


def test_fortnights() -> None:
    assert fortnight_of(dt.date(2026, 12, 15)) == (202612, 1)
    assert fortnight_of(dt.date(2026, 12, 16)) == (202612, 2)
    assert fortnight_dates(202402, 2) == (dt.date(2024, 2, 16), dt.date(2024, 2, 29))
    assert next_fortnight(202612, 1) == (202612, 2)
    assert next_fortnight(202612, 2) == (202701, 1)
    # ARCA's own window text for 202107/1: "Del 6/26/2021 hasta 7/15/2021" (pyafipws
    # tests/cassettes/test_wsfev1/test_main_solicitar_caea.yaml).
    assert request_window(202107, 1) == (dt.date(2021, 6, 26), dt.date(2021, 7, 15))
    for period, order in ((202113, 1), (202100, 1), (202612, 3)):
        with pytest.raises(ValueError):
            fortnight_dates(period, order)


def test_generated_at_is_argentina_time() -> None:
    moment = dt.datetime(2026, 12, 4, 13, 5, 9, tzinfo=dt.UTC)
    assert format_generated_at(moment) == "20261204100509"
    assert format_generated_at(dt.datetime(2026, 12, 4, 10, 5, 9)) == "20261204100509"


def detail(number: int, day: dt.date | None) -> VoucherDetail:
    """A Factura B to an anonymous final consumer: 100 + 21 % VAT."""
    return VoucherDetail(
        concept=1,
        doc_type=99,
        doc_number=0,
        number_from=number,
        number_to=number,
        date=day,
        total=Decimal("121.00"),
        untaxed=Decimal(0),
        net=Decimal("100.00"),
        exempt=Decimal(0),
        vat_total=Decimal("21.00"),
        other_taxes_total=Decimal(0),
        receiver_iva_condition=5,
        vat=[VatAmount(5, Decimal("100.00"), Decimal("21.00"))],
    )


def test_inform_request_appends_caea_and_generation_time() -> None:
    request = CaeRequest(CAEA_POS, 6, [detail(1, dt.date(2026, 12, 1))])
    values = build_caea_inform_request(request, "86491234567890", [DAY])
    (item,) = values["FeDetReq"]["FECAEADetRequest"]
    # FECAEADetRequest extends FEDetRequest with CAEA, then CbteFchHsGen (the WSDL's order).
    assert list(item)[-2:] == ["CAEA", "CbteFchHsGen"]
    assert item["CAEA"] == "86491234567890" and item["CbteFchHsGen"] == "20261204100000"
    assert values["FeCabReq"] == {"CantReg": 1, "PtoVta": CAEA_POS, "CbteTipo": 6}
    with pytest.raises(ValueError):
        build_caea_inform_request(request, "86491234567890", [])
    with pytest.raises(ValueError):
        build_caea_inform_request(request, "123", [DAY])
    undated = CaeRequest(CAEA_POS, 6, [detail(1, None)])
    with pytest.raises(ValueError):
        build_caea_inform_request(undated, "86491234567890", [DAY])


# --- Against the sandbox ----------------------------------------------------------------------


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[requests.Session]:
    session = build_session(sandbox_environment(), sandbox)
    yield session
    session.close()


@pytest.fixture
def wsfe(sandbox: Sandbox, http: requests.Session) -> WsfeClient:
    sandbox.clock.freeze(DAY)
    environment = sandbox_environment()
    key, certificate = sandbox.ca.issue_key_and_certificate(CUIT, alias="caea")
    cms = sign_tra(build_tra("wsfe", sandbox.clock.now()), certificate, key)
    ticket = WsaaClient(environment, http, TIMEOUTS).login(cms)
    return WsfeClient(environment, http, TIMEOUTS, static_auth(ticket.token, ticket.sign, CUIT))


@pytest.fixture
def caea(wsfe: WsfeClient) -> Caea:
    return wsfe.caea_request(202612, 1)


def test_request_and_consult(wsfe: WsfeClient) -> None:
    assert wsfe.caea_consult(202612, 1) is None
    caea = wsfe.caea_request(202612, 1)
    assert len(caea.code) == 14 and caea.code.isdigit()
    assert (caea.period, caea.order) == (202612, 1)
    assert (caea.valid_from, caea.valid_to) == (dt.date(2026, 12, 1), dt.date(2026, 12, 15))
    assert caea.report_deadline == dt.date(2026, 12, 20)
    assert caea.processed_at == DAY
    assert caea.covers(dt.date(2026, 12, 15)) and not caea.covers(dt.date(2026, 12, 16))
    assert wsfe.caea_request(202612, 1) == caea
    assert wsfe.caea_consult(202612, 1) == caea


def test_outside_the_window_raises_arcas_code(wsfe: WsfeClient) -> None:
    with pytest.raises(ArcaRejected) as raised:
        wsfe.caea_request(202701, 1)
    (error,) = raised.value.errors
    assert error.code == 15006 and "Del 12/27/2026 hasta 1/15/2027" in error.text
    with pytest.raises(ArcaRejected) as raised:
        wsfe.caea_consult(202613, 1)
    assert [error.code for error in raised.value.errors] == [15004]


def test_inform_then_consult_as_caea(wsfe: WsfeClient, caea: Caea) -> None:
    days = [dt.date(2026, 12, 1), dt.date(2026, 12, 3)]
    request = CaeRequest(CAEA_POS, 6, [detail(1, days[0]), detail(2, days[1])])
    generated = [dt.datetime.combine(day, dt.time(9, 30), ARGENTINA) for day in days]
    response = wsfe.caea_inform(request, caea.code, generated)
    assert response.approved, response
    assert [d.cae for d in response.details] == [caea.code, caea.code]
    assert all(d.cae_due is None for d in response.details)
    assert response.processed_at == DAY
    assert "<ns0:CbteFchHsGen>20261201093000</ns0:CbteFchHsGen>" in response.raw_request_xml
    assert "[redacted]" in response.raw_request_xml
    assert "FECAEARegInformativoResult" in response.raw_response_xml
    assert wsfe.last_authorized(CAEA_POS, 6) == 2
    stored = wsfe.consult(CAEA_POS, 6, 2)
    assert stored is not None
    assert (stored.emission_type, stored.authorization_code) == ("CAEA", caea.code)
    assert stored.detail.date == days[1]
    again = wsfe.caea_inform(request, caea.code, generated)
    assert not again.approved and again.error_codes == [703]
    assert all(d.cae is None for d in again.details)


def test_no_movement(wsfe: WsfeClient, caea: Caea) -> None:
    assert wsfe.caea_no_movement_consult(caea.code, None) == []
    report = wsfe.caea_no_movement_inform(caea.code, CAEA_POS)
    assert (report.caea, report.point_of_sale, report.result) == (caea.code, CAEA_POS, "A")
    assert report.processed_on == DAY.date()
    assert wsfe.caea_no_movement_consult(caea.code, CAEA_POS) == [report]
    assert wsfe.caea_no_movement_consult(caea.code, None) == [report]
    with pytest.raises(ArcaRejected) as raised:
        wsfe.caea_no_movement_inform("71293955911805", CAEA_POS)
    assert [error.code for error in raised.value.errors] == [1200]


def test_while_wsfe_is_down(sandbox: Sandbox, wsfe: WsfeClient, caea: Caea) -> None:
    sandbox.faults.add(wsfe_unavailable())
    with pytest.raises(ServiceUnavailable):
        wsfe.dummy()
    with pytest.raises(ServiceUnavailable):
        wsfe.caea_consult(202612, 1)
    request = CaeRequest(CAEA_POS, 6, [detail(1, dt.date(2026, 12, 2))])
    # A 5xx after the request was sent: the client cannot rule out that it was processed.
    with pytest.raises(OutcomeUnknown):
        wsfe.caea_inform(request, caea.code, [DAY])
    sandbox.faults.clear()
    assert wsfe.consult(CAEA_POS, 6, 1) is None  # it was not
    assert wsfe.caea_inform(request, caea.code, [DAY]).approved
