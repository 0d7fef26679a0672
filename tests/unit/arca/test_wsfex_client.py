"""`arca.wsfex.WsfexClient` against the in-process sandbox (real SOAP, no sockets): a Factura E
of services in dollars, numbering, consult, and the exactly-once contract when the answer is
lost."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import pytest
import requests

from arca.environments import sandbox_environment
from arca.errors import AuthenticationRejected, OutcomeUnknown, ServiceUnavailable
from arca.sandbox import Sandbox, SandboxConfig, create_sandbox
from arca.sandbox.ca import SandboxCA
from arca.sandbox.clock import ARGENTINA
from arca.sandbox.faults import drop_after, drop_before, wsfe_unavailable
from arca.transport import Timeouts, build_session
from arca.wsaa import WsaaClient, build_tra, sign_tra
from arca.wsfe import static_auth
from arca.wsfex import (
    SERVICES,
    ExportItem,
    ExportVoucher,
    LastVoucher,
    WsfexClient,
    build_cmp,
)

CUIT = "30712345671"
DAY = dt.datetime(2026, 12, 4, 10, 0, tzinfo=ARGENTINA)
TIMEOUTS = Timeouts(connect=2, read=5)


@pytest.fixture(scope="module")
def ca_key() -> bytes:
    return SandboxCA.new_key_pem()


@pytest.fixture
def sandbox(ca_key: bytes) -> Iterator[Sandbox]:
    box = create_sandbox(config=SandboxConfig(ca_key_pem=ca_key))
    box.clock.freeze(DAY)
    yield box
    box.close()


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[requests.Session]:
    session = build_session(sandbox_environment(), sandbox)
    yield session
    session.close()


def client_for(sandbox: Sandbox, http: requests.Session, service: str = "wsfex") -> WsfexClient:
    environment = sandbox_environment()
    key, certificate = sandbox.ca.issue_key_and_certificate(CUIT, alias=service)
    cms = sign_tra(build_tra(service, sandbox.clock.now()), certificate, key)
    ticket = WsaaClient(environment, http, TIMEOUTS).login(cms)
    return WsfexClient(environment, http, TIMEOUTS, static_auth(ticket.token, ticket.sign, CUIT))


@pytest.fixture
def wsfex(sandbox: Sandbox, http: requests.Session) -> WsfexClient:
    return client_for(sandbox, http)


def services_invoice(number: int = 1, request_id: int = 1, rate: str = "1050") -> ExportVoucher:
    """A Factura E of software services to a Brazilian company, USD 250 at `rate`."""
    return ExportVoucher(
        request_id=request_id,
        invoice_type=19,
        point_of_sale=1,
        number=number,
        export_type=SERVICES,
        destination_country=203,
        customer_name="Joao Da Silva Ltda",
        customer_address="Rua 76 km 34.5, Alagoas",
        customer_country_cuit=50000000059,
        customer_tax_id="PJ54482221-l",
        currency="DOL",
        currency_rate=Decimal(rate),
        total=Decimal("250.00"),
        language=2,
        date=dt.date(2026, 12, 4),
        payment_date=dt.date(2026, 12, 20),
        payment_terms="30 days",
        items=[
            ExportItem(
                description="Software development, November",
                quantity=Decimal(2),
                unit=7,
                unit_price=Decimal("150.00"),
                discount=Decimal("50.00"),
                total=Decimal("250.00"),
                code="SRV1",
            )
        ],
    )


def test_build_cmp_leaves_out_empty_parts() -> None:
    cmp = build_cmp(services_invoice())
    assert cmp["Moneda_ctz"] == "1050"
    assert cmp["Items"]["Item"][0]["Pro_total_item"] == "250.00"
    assert "Permisos" not in cmp and "Incoterms" not in cmp and "Cmps_asoc" not in cmp
    assert cmp["Permiso_existente"] == ""
    with pytest.raises(ValueError, match="finite"):
        build_cmp(services_invoice(rate="NaN"))


def test_authorize_a_services_invoice_in_dollars(wsfex: WsfexClient) -> None:
    assert wsfex.dummy().ok
    assert wsfex.last_authorized(1, 19) == LastVoucher(0, None)
    next_id = wsfex.last_request_id() + 1
    answer = wsfex.authorize(services_invoice(1, next_id))
    assert answer.approved and answer.error is None
    assert answer.cae is not None and len(answer.cae) == 14
    assert answer.cae_due == dt.date(2026, 12, 4)
    assert not answer.reprocessed
    assert "[redacted]" in answer.raw_request_xml
    assert "<ns0:Token>[redacted]</ns0:Token>" in answer.raw_request_xml
    assert answer.cae in answer.raw_response_xml
    assert wsfex.last_authorized(1, 19) == LastVoucher(1, dt.date(2026, 12, 4))
    assert wsfex.last_request_id() == next_id

    stored = wsfex.consult(19, 1, 1)
    assert stored is not None
    assert stored.cae == answer.cae and stored.result == "A"
    assert stored.voucher == services_invoice(1, next_id)  # Decimal equality: 250 == 250.00
    assert wsfex.consult(19, 1, 2) is None


def test_a_rejection_is_an_answer_not_an_exception(wsfex: WsfexClient) -> None:
    answer = wsfex.authorize(services_invoice(rate="19.8"))
    assert answer.result == "R" and answer.cae is None
    assert answer.error is not None and answer.error.code == 1667
    assert wsfex.last_authorized(1, 19).number == 0


def test_dropped_answer_is_outcome_unknown_then_consult_finds_it(
    sandbox: Sandbox, wsfex: WsfexClient
) -> None:
    sandbox.faults.add(drop_after(operation="FEXAuthorize"))
    voucher = services_invoice()
    with pytest.raises(OutcomeUnknown) as raised:
        wsfex.authorize(voucher)
    assert "[redacted]" in raised.value.raw_request_xml
    stored = wsfex.consult(19, 1, 1)
    assert stored is not None and stored.cae is not None
    # The sandbox answers the same request (same Id) again with the stored CAE, reprocessed.
    again = wsfex.authorize(voucher)
    assert again.approved and again.reprocessed and again.cae == stored.cae


def test_dropped_before_processing_is_also_unknown_and_consult_says_absent(
    sandbox: Sandbox, wsfex: WsfexClient
) -> None:
    sandbox.faults.add(drop_before(operation="FEXAuthorize"))
    with pytest.raises(OutcomeUnknown):
        wsfex.authorize(services_invoice())
    assert wsfex.consult(19, 1, 1) is None
    assert wsfex.authorize(services_invoice()).approved


def test_read_only_calls_while_wsfex_is_down(sandbox: Sandbox, wsfex: WsfexClient) -> None:
    sandbox.faults.add(wsfe_unavailable(service="wsfex", count=1))
    with pytest.raises(ServiceUnavailable):
        wsfex.dummy()
    assert wsfex.dummy().ok


def test_a_wsfe_ticket_is_rejected(sandbox: Sandbox, http: requests.Session) -> None:
    client = client_for(sandbox, http, service="wsfe")
    with pytest.raises(AuthenticationRejected) as raised:
        client.last_request_id()
    assert raised.value.codes == [1000]
    answer = client.authorize(services_invoice())
    assert answer.authentication_rejected and not answer.approved


def test_parameter_tables(wsfex: WsfexClient) -> None:
    assert [item.id for item in wsfex.voucher_types()][:3] == [19, 20, 21]
    assert {item.id for item in wsfex.export_types()} == {1, 2, 4}
    assert "FOB" in {item.id for item in wsfex.incoterms()}
    assert "DOL" in {item.id for item in wsfex.currencies()}
    assert 7 in {item.id for item in wsfex.units()}
    assert [item.id for item in wsfex.languages()] == [1, 2, 3]
    assert any(country.code == 203 for country in wsfex.countries())
    assert any(row.code == 50000000059 for row in wsfex.foreign_cuits())
    assert wsfex.exchange_rate("DOL") == (Decimal("1050"), dt.date(2026, 12, 4))
    assert [point.number for point in wsfex.points_of_sale()][:1] == [1]
    assert wsfex.check_permit("26001EC01000001A", 203) == "OK"
    assert wsfex.optional_types() == []
    assert wsfex.activities()


def test_empty_voucher_is_refused_before_sending(wsfex: WsfexClient) -> None:
    voucher = services_invoice()
    with pytest.raises(ValueError, match="at least one item"):
        wsfex.authorize(replace(voucher, items=[]))
