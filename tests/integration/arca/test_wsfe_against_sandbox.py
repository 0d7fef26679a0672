"""WSFEv1 through the client, against the standalone sandbox over HTTP."""

from __future__ import annotations

import dataclasses
import time
from decimal import Decimal

import pytest

from arca.errors import ArcaRejected, AuthenticationRejected, OutcomeUnknown, ServiceUnavailable
from arca.sandbox import Sandbox, drop_after, drop_before, http_500, latency, reject_next
from arca.transport import Timeouts
from arca.wsaa import AccessTicket
from arca.wsfe import CaeRequest, WsfeClient, static_auth
from tests.integration.arca.conftest import ISSUER_CUIT, NextInvoice, factura_b


def test_dummy(wsfe: WsfeClient) -> None:
    status = wsfe.dummy()
    assert status.ok


def test_factura_b_to_final_consumer_gets_a_cae(
    wsfe: WsfeClient, next_factura_b: NextInvoice, ticket: AccessTicket
) -> None:
    request = next_factura_b()
    response = wsfe.authorize(request)
    assert response.result == "A", response
    (detail,) = response.details
    assert detail.result == "A"
    assert detail.cae is not None and len(detail.cae) == 14 and detail.cae.isdigit()
    assert detail.cae_due is not None and detail.cae_due > request.details[0].date
    assert wsfe.last_authorized(1, 6) == request.details[0].number_from
    stored = wsfe.consult(1, 6, request.details[0].number_from)
    assert stored is not None
    assert stored.authorization_code == detail.cae
    assert stored.detail.total == Decimal("121.00")
    # What is kept of the exchange never carries the credentials.
    assert "Token>" in response.raw_request_xml
    assert ticket.token not in response.raw_request_xml
    assert ticket.sign not in response.raw_request_xml


def test_resending_a_number_gets_10016(wsfe: WsfeClient, next_factura_b: NextInvoice) -> None:
    request = next_factura_b()
    assert wsfe.authorize(request).result == "A"
    again = wsfe.authorize(request)
    assert again.result == "R"
    assert 10016 in codes_of(again)


def test_a_total_that_does_not_add_up_gets_10048(
    wsfe: WsfeClient, next_factura_b: NextInvoice
) -> None:
    response = wsfe.authorize(next_factura_b(total=Decimal("125.00")))
    assert response.result == "R"
    assert 10048 in codes_of(response)


def test_a_batch_is_authorized_in_one_request(wsfe: WsfeClient, sandbox: Sandbox) -> None:
    first = wsfe.last_authorized(1, 6) + 1
    today = sandbox.clock.now().date()
    details = [factura_b(first + offset, today) for offset in range(3)]
    response = wsfe.authorize(CaeRequest(point_of_sale=1, invoice_type=6, details=details))
    assert [d.result for d in response.details] == ["A", "A", "A"]
    assert len({d.cae for d in response.details}) == 3
    assert wsfe.last_authorized(1, 6) == first + 2
    logged = [r for r in sandbox.request_log if r.operation == "FECAESolicitar"]
    assert logged[-1].cant_reg == 3


def test_consulting_a_number_arca_never_issued_is_none(wsfe: WsfeClient) -> None:
    assert wsfe.consult(1, 6, 999_999) is None


def test_a_foreign_ticket_is_an_authentication_rejection(
    wsfe: WsfeClient,
    environment,
    http,
    ticket,  # type: ignore[no-untyped-def]
) -> None:
    other = WsfeClient(
        environment, http, Timeouts(2, 5), static_auth(ticket.token, ticket.sign, "20111111112")
    )
    with pytest.raises(AuthenticationRejected) as raised:
        other.last_authorized(1, 6)
    assert 601 in raised.value.codes
    forged = WsfeClient(
        environment, http, Timeouts(2, 5), static_auth("bm90LWEtdG9rZW4=", ticket.sign, ISSUER_CUIT)
    )
    with pytest.raises(AuthenticationRejected) as raised:
        forged.last_authorized(1, 6)
    assert 600 in raised.value.codes


# --- faults: each knob gives the client's typed outcome ----------------------------------------


def test_latency_beyond_the_read_timeout_leaves_the_outcome_unknown(
    sandbox: Sandbox,
    environment,
    http,
    ticket,
    next_factura_b: NextInvoice,  # type: ignore[no-untyped-def]
) -> None:
    request = next_factura_b()
    impatient = WsfeClient(
        environment,
        http,
        Timeouts(connect=2, read=0.5),
        static_auth(ticket.token, ticket.sign, ISSUER_CUIT),
    )
    sandbox.faults.add(latency(1.5, service="wsfe", operation="FECAESolicitar"))
    with pytest.raises(OutcomeUnknown):
        impatient.authorize(request)
    sandbox.faults.add(latency(1.5, service="wsfe", operation="FEDummy"))
    with pytest.raises(ServiceUnavailable):
        impatient.dummy()
    # The sandbox goes on after the client gave up: wait for both late answers, or they would
    # land in the next test (and take its faults).
    wait_for_logged(sandbox, {"FECAESolicitar", "FEDummy"})


def test_http_500_on_authorize_is_an_unknown_outcome(
    sandbox: Sandbox, wsfe: WsfeClient, next_factura_b: NextInvoice
) -> None:
    request = next_factura_b()
    sandbox.faults.add(http_500(service="wsfe", operation="FECAESolicitar"))
    with pytest.raises(OutcomeUnknown):
        wsfe.authorize(request)
    # Nothing was processed: ARCA has no such voucher, so the number is still the next one.
    assert wsfe.consult(1, 6, request.details[0].number_from) is None


def test_dropped_before_processing(
    sandbox: Sandbox, wsfe: WsfeClient, next_factura_b: NextInvoice
) -> None:
    request = next_factura_b()
    sandbox.faults.add(drop_before(service="wsfe", operation="FECAESolicitar"))
    with pytest.raises(OutcomeUnknown):
        wsfe.authorize(request)
    assert wsfe.consult(1, 6, request.details[0].number_from) is None
    assert wsfe.authorize(request).result == "A"  # safely sent again after asking ARCA


def test_cae_granted_then_connection_dropped(
    sandbox: Sandbox, wsfe: WsfeClient, next_factura_b: NextInvoice
) -> None:
    request = next_factura_b()
    sandbox.faults.add(drop_after(operation="FECAESolicitar"))
    with pytest.raises(OutcomeUnknown):
        wsfe.authorize(request)
    stored = wsfe.consult(1, 6, request.details[0].number_from)
    assert (
        stored is not None and stored.authorization_code
    )  # the CAE exists: recover it, never re-send
    assert wsfe.authorize(request).result == "R"  # re-sending would be refused (10016)


def test_reject_next_with_a_chosen_code(
    sandbox: Sandbox, wsfe: WsfeClient, next_factura_b: NextInvoice
) -> None:
    sandbox.faults.add(reject_next(10015))
    response = wsfe.authorize(next_factura_b())
    assert response.result == "R"
    assert 10015 in codes_of(response)
    assert wsfe.authorize(next_factura_b()).result == "A"  # only the next one


def test_read_only_calls_raise_business_errors(wsfe: WsfeClient) -> None:
    with pytest.raises(ArcaRejected):
        wsfe.last_authorized(99, 6)  # a point of sale the sandbox does not enable


def wait_for_logged(sandbox: Sandbox, operations: set[str], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if operations <= {entry.operation for entry in sandbox.request_log}:
            return
        time.sleep(0.05)
    raise AssertionError(f"the sandbox never finished {operations}")


def codes_of(response) -> set[int]:  # type: ignore[no-untyped-def]
    found = {error.code for error in response.errors}
    for detail in response.details:
        found |= {observation.code for observation in detail.observations}
    return found


def test_dataclasses_not_zeep_objects(wsfe: WsfeClient, next_factura_b: NextInvoice) -> None:
    response = wsfe.authorize(next_factura_b())
    assert dataclasses.is_dataclass(response)
    assert all(dataclasses.is_dataclass(d) for d in response.details)
