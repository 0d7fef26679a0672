"""One case per ARCA code the sandbox implements, sent through the client over HTTP.

Each case changes a valid Factura B (or builds the voucher the rule is about) and expects ARCA's
code in Errors or Observations, with the voucher's result. Codes the client itself makes
impossible to send (CantReg mismatches, more than 2 decimals, CanMisMonExt other than S/N, dates
that are not dates) are covered at the SOAP level in tests/sandbox.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from arca.errors import ArcaRejected
from arca.sandbox import Sandbox
from arca.wsfe import AssociatedVoucher, CaeRequest, TaxAmount, VatAmount, WsfeClient
from tests.integration.arca.conftest import ISSUER_CUIT, factura_b

D = Decimal
MONOTRIBUTISTA = 20111111112
Build = Callable[[WsfeClient, dt.date], CaeRequest]


def request(
    wsfe: WsfeClient, today: dt.date, pos: int = 1, kind: int = 6, **changes: object
) -> CaeRequest:
    """The next voucher of that point of sale and type (number 1 where ARCA would refuse to
    say), as a Factura B with `changes` applied."""
    number = wsfe.last_authorized(pos, kind) + 1 if 1 <= pos <= 5 and kind in (1, 6, 8, 11) else 1
    detail = dataclasses.replace(factura_b(number, today), **changes)  # type: ignore[arg-type]
    return CaeRequest(point_of_sale=pos, invoice_type=kind, details=[detail])


def b(**changes: object) -> Build:
    return lambda wsfe, today: request(wsfe, today, **changes)


def on(pos: int = 1, kind: int = 6, **changes: object) -> Build:
    return lambda wsfe, today: request(wsfe, today, pos=pos, kind=kind, **changes)


def service(**changes: object) -> Build:
    def build(wsfe: WsfeClient, today: dt.date) -> CaeRequest:
        dates = {"service_from": today, "service_to": today, "payment_due": today}
        return request(wsfe, today, concept=2, **{**dates, **changes})

    return build


def factura_a(**changes: object) -> Build:
    base = {"doc_type": 80, "doc_number": MONOTRIBUTISTA, "receiver_iva_condition": 1}
    return on(kind=1, **{**base, **changes})


def credit_note(**changes: object) -> Build:
    return on(kind=8, **changes)


def vat(*items: tuple[int, str, str]) -> list[VatAmount]:
    return [VatAmount(rate_id, D(base), D(amount)) for rate_id, base, amount in items]


def above_the_final_consumer_threshold() -> Build:
    """An unidentified final consumer may not buy this much (RG 5700: identify the buyer)."""
    return b(
        net=D("9000000.00"),
        vat=vat((5, "9000000.00", "1890000.00")),
        vat_total=D("1890000.00"),
        total=D("10890000.00"),
    )


def batch_of(size: int) -> Build:
    def build(wsfe: WsfeClient, today: dt.date) -> CaeRequest:
        first = wsfe.last_authorized(1, 6) + 1
        details = [factura_b(first + n, today) for n in range(size)]
        return CaeRequest(point_of_sale=1, invoice_type=6, details=details)

    return build


CASES: list[tuple[int, str, Build]] = [
    # request level (Errors/Err)
    (10003, "R", batch_of(251)),
    (10004, "R", on(pos=100_000)),
    (10005, "R", on(pos=7)),
    (10007, "R", on(kind=999)),
    (10016, "R", lambda wsfe, today: request(wsfe, today, number_from=900, number_to=900)),
    # identification of the receiver
    (10013, "R", on(kind=1, receiver_iva_condition=1)),
    (10014, "R", lambda wsfe, today: range_to_a_dni(wsfe, today)),
    (
        10011,
        "R",
        lambda wsfe, today: as_range(
            request(
                wsfe,
                today,
                kind=1,
                doc_type=80,
                doc_number=MONOTRIBUTISTA,
                receiver_iva_condition=1,
            )
        ),
    ),
    (
        10012,
        "R",
        lambda wsfe, today: as_range(
            request(wsfe, today, kind=11, vat=[], vat_total=D("0"), total=D("100.00"))
        ),
    ),
    (10015, "R", b(doc_number=123)),
    (10015, "R", above_the_final_consumer_threshold()),
    (10069, "R", factura_a(doc_number=int(ISSUER_CUIT))),
    (10217, "A", factura_a(receiver_iva_condition=6)),
    # dates
    (10016, "R", lambda wsfe, today: request(wsfe, today, date=today - dt.timedelta(days=30))),
    (10049, "R", b(concept=2)),
    (
        10032,
        "R",
        lambda wsfe, today: service(service_from=today, service_to=today - dt.timedelta(days=1))(
            wsfe, today
        ),
    ),
    (
        10036,
        "R",
        lambda wsfe, today: service(payment_due=today - dt.timedelta(days=1))(wsfe, today),
    ),
    # amounts
    (10043, "R", b(untaxed=D("-1.00"), total=D("120.00"))),
    (10044, "R", b(exempt=D("-1.00"), total=D("120.00"))),
    (10065, "R", b(other_taxes_total=D("-1.00"), total=D("120.00"))),
    (10048, "R", b(total=D("125.00"))),
    (10070, "R", b(vat=[], vat_total=D("0"), total=D("100.00"))),
    (10018, "R", b(net=D("0"), vat=[], vat_total=D("21.00"), total=D("21.00"))),
    (10019, "R", b(vat=vat((99, "100.00", "21.00")))),
    (10020, "R", b(vat=vat((5, "0.00", "21.00")))),
    (10022, "R", b(vat=vat((5, "50.00", "10.50"), (5, "50.00", "10.50")))),
    (10023, "R", b(vat=vat((5, "100.00", "20.00")))),
    (10051, "R", b(vat=vat((5, "100.00", "20.00")), vat_total=D("20.00"), total=D("120.00"))),
    (10061, "R", b(vat=vat((5, "90.00", "18.90")), vat_total=D("18.90"), total=D("118.90"))),
    (10024, "R", b(other_taxes_total=D("5.00"), total=D("126.00"))),
    (
        10029,
        "R",
        b(
            other_taxes_total=D("5.00"),
            total=D("126.00"),
            taxes=[TaxAmount(2, D("100.00"), D("3.00"), D("3.00"), "IIBB")],
        ),
    ),
    (10071, "R", on(kind=11, vat_total=D("0"), total=D("100.00"))),
    (10047, "R", on(kind=11, vat=[], vat_total=D("21.00"), total=D("121.00"))),
    # currency
    (10037, "R", b(currency="XXX")),
    (10038, "R", b(currency="DOL", currency_rate=D("0"))),
    (10039, "R", b(currency_rate=D("2"))),
    (10119, "R", b(currency="DOL", currency_rate=D("1"))),
    (10241, "R", b(same_currency_quantity=True)),
    # receiver IVA condition (RG 5616)
    (10242, "R", b(receiver_iva_condition=99)),
    (10243, "R", b(receiver_iva_condition=1)),
    (10245, "A", b(receiver_iva_condition=None)),
    # notes
    (10197, "R", credit_note()),
    (10198, "R", b(period_from=dt.date(2026, 1, 1), period_to=dt.date(2026, 1, 31))),
    (10040, "R", credit_note(associated=[AssociatedVoucher(1, 1, 1)])),
    (10041, "A", credit_note(associated=[AssociatedVoucher(6, 1, 999)])),
]


def range_to_a_dni(wsfe: WsfeClient, today: dt.date) -> CaeRequest:
    return as_range(request(wsfe, today, doc_type=96, doc_number=30123456))


def as_range(built: CaeRequest) -> CaeRequest:
    """The same voucher as a range of two numbers (only class B to final consumers may)."""
    detail = built.details[0]
    wider = dataclasses.replace(detail, number_to=detail.number_from + 1)
    return dataclasses.replace(built, details=[wider])


@pytest.mark.parametrize(("code", "result", "build"), CASES, ids=[f"{c[0]}" for c in CASES])
def test_each_code_through_the_client(
    wsfe: WsfeClient, sandbox: Sandbox, code: int, result: str, build: Build
) -> None:
    if code == 10245 and sandbox.clock.today() >= dt.date(2026, 12, 1):
        code, result = 10246, "R"  # from December 2026 a missing condition rejects
    response = wsfe.authorize(build(wsfe, sandbox.clock.today()))
    codes = {e.code for e in response.errors}
    for detail in response.details:
        codes |= {o.code for o in detail.observations}
    assert code in codes, (code, response.errors, [d.observations for d in response.details])
    results = {d.result for d in response.details} or {response.result}
    assert result in results


def test_credit_note_above_its_invoice_is_approved_with_10237(
    wsfe: WsfeClient, sandbox: Sandbox
) -> None:
    today = sandbox.clock.today()
    invoice = request(wsfe, today)
    assert wsfe.authorize(invoice).result == "A"
    number = invoice.details[0].number_from
    note = request(
        wsfe, today, kind=8,
        net=D("200.00"), vat=vat((5, "200.00", "42.00")), vat_total=D("42.00"),
        total=D("242.00"), associated=[AssociatedVoucher(6, 1, number)],
    )  # fmt: skip
    response = wsfe.authorize(note)
    assert response.result == "A"
    assert 10237 in {o.code for d in response.details for o in d.observations}


@pytest.fixture
def near_month_end(sandbox: Sandbox) -> None:
    """Frozen before the certificate and ticket are made, so both are valid at that time."""
    sandbox.clock.freeze(dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC))


@pytest.mark.usefixtures("near_month_end")
def test_a_future_date_in_another_month_gets_10152(wsfe: WsfeClient) -> None:
    response = wsfe.authorize(request(wsfe, dt.date(2026, 12, 2)))
    assert response.result == "R"
    assert 10152 in {o.code for d in response.details for o in d.observations}


@pytest.mark.parametrize(
    ("code", "call"),
    [
        (11000, lambda wsfe: wsfe.last_authorized(100_000, 6)),
        (11001, lambda wsfe: wsfe.last_authorized(1, 999)),
        (11002, lambda wsfe: wsfe.last_authorized(7, 6)),
        (12000, lambda wsfe: wsfe.exchange_rate("XXX")),
        (10244, lambda wsfe: wsfe.receiver_iva_conditions("Z")),
    ],
    ids=["11000", "11001", "11002", "12000", "10244"],
)
def test_read_only_operations_raise_their_codes(
    wsfe: WsfeClient, code: int, call: Callable[[WsfeClient], object]
) -> None:
    with pytest.raises(ArcaRejected) as raised:
        call(wsfe)
    assert code in raised.value.codes
