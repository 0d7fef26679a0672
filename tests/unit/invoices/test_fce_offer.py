"""FCE MiPyME's pure parts: when the editor offers FCE, the obligation's cache form, and the
preflight's FCE checks (CBU, CUIT receiver, payment due date, date window, the warning)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from arca.codes import IssuerCondition, VoucherKind
from arca.errors import Message
from arca.wsfecred import FceObligation
from blueprints.invoices.fce import _dumps, _loads, cuit_digits, offers_fce
from blueprints.invoices.pdf import PdfVoucher, fce_legends
from blueprints.invoices.preflight import (
    PreflightInput,
    fce_draft_problems,
    fce_warnings,
    run_preflight,
)
from blueprints.invoices.totals import Line, compute_totals

TODAY = date(2026, 11, 20)
BIG_COMPANY = "30500010912"
THRESHOLD = D("3958316.00")
OBLIGED = FceObligation(BIG_COMPANY, TODAY, True, THRESHOLD, (Message(1, "obs"),))
NOT_OBLIGED = FceObligation("30712345671", TODAY, False, None)
CBU = "2850590940090418135201"
LINES = (Line("Acero", D(1), D("4000000.00")),)

FCE_A = PreflightInput(
    issuer_cuit="20-11111111-2",
    issuer_condition=IssuerCondition.RESPONSABLE_INSCRIPTO,
    point_of_sale=1,
    invoice_type=201,
    kind=VoucherKind.INVOICE,
    concept=1,
    issue_date=TODAY,
    today=TODAY,
    doc_type=80,
    doc_number=BIG_COMPANY,
    receiver_condition_id=1,
    lines=LINES,
    totals=compute_totals(LINES, "A", prices_include_vat=False),
    certificate_active=True,
    point_of_sale_known=True,
    point_of_sale_usable=True,
    emission_type="CAE",
    payment_due=TODAY + timedelta(days=30),
    fce_cbu=CBU,
)


def codes(data: PreflightInput) -> list[tuple[str, int | None]]:
    return [(problem.field, problem.code) for problem in run_preflight(data)]


def test_offered_from_arca_s_amount_on_a_b_c_to_a_cuit() -> None:
    assert offers_fce(OBLIGED, "A", 80, THRESHOLD)
    assert offers_fce(OBLIGED, "C", 80, D("5000000"))
    assert not offers_fce(OBLIGED, "A", 80, THRESHOLD - D("0.01"))  # below montoDesde
    assert not offers_fce(OBLIGED, "ALEY", 80, THRESHOLD)  # FCE exists for A, B and C only
    assert not offers_fce(OBLIGED, "E", 80, THRESHOLD)
    assert not offers_fce(OBLIGED, "B", 96, THRESHOLD)  # an FCE goes to a CUIT
    assert not offers_fce(NOT_OBLIGED, "A", 80, D("99999999"))
    assert not offers_fce(None, "A", 80, D("99999999"))  # ARCA could not be asked


def test_the_cached_answer_reads_back_the_same() -> None:
    assert _loads(_dumps(OBLIGED)) == OBLIGED
    assert _loads(_dumps(NOT_OBLIGED)) == NOT_OBLIGED


@pytest.mark.parametrize(
    ("value", "digits"),
    [("30-50001091-2", BIG_COMPANY), ("30500010913", None), ("0", None), (None, None)],
)
def test_only_valid_cuits_are_asked_about(value: str | None, digits: str | None) -> None:
    assert cuit_digits(value) == digits


def test_a_complete_fce_invoice_passes() -> None:
    assert run_preflight(FCE_A) == []
    assert run_preflight(replace(FCE_A, concept=2, service_from=TODAY, service_to=TODAY)) == []


def test_an_fce_needs_the_cbu_a_cuit_and_the_payment_due_date() -> None:
    assert ("fce_cbu", 10168) in codes(replace(FCE_A, fce_cbu=None))
    assert ("fce_cbu", 10168) in codes(replace(FCE_A, fce_cbu="123"))
    b_to_dni = replace(
        FCE_A,
        invoice_type=206,
        doc_type=96,
        doc_number="20111222",
        receiver_condition_id=5,
        totals=compute_totals(LINES, "B", prices_include_vat=True),
    )
    assert ("doc_type", 10015) in codes(b_to_dni)
    assert codes(replace(FCE_A, payment_due=None)) == [("payment_due", 10163)]
    yesterday = replace(
        FCE_A, issue_date=TODAY - timedelta(days=2), payment_due=TODAY - timedelta(1)
    )
    assert codes(yesterday) == [("payment_due", 10164)]
    # Services report a missing due date once, as services do (10049).
    services = replace(FCE_A, concept=2, service_from=TODAY, service_to=TODAY, payment_due=None)
    assert codes(services) == [("payment_due", 10049)]


def test_the_fce_date_window_is_five_days_back_one_ahead() -> None:
    assert run_preflight(replace(FCE_A, issue_date=TODAY - timedelta(days=5))) == []
    assert codes(replace(FCE_A, issue_date=TODAY - timedelta(days=6))) == [("issue_date", 10016)]
    later = replace(FCE_A, issue_date=TODAY + timedelta(days=2))
    assert ("issue_date", 10016) in codes(later)
    # An ordinary A of products may go five days ahead; its FCE may not.
    plain = replace(FCE_A, invoice_type=1, issue_date=TODAY + timedelta(days=2))
    assert ("issue_date", 10016) not in codes(plain)


def test_an_fce_is_the_receiver_s_class() -> None:
    # 201 is an A: to a final consumer (B) it is the wrong class.
    to_consumer = replace(FCE_A, receiver_condition_id=5, doc_type=80)
    assert ("invoice_type", 10243) in codes(to_consumer)


def test_the_editor_lists_what_an_fce_still_lacks() -> None:
    problems = fce_draft_problems(None, 80, 1, TODAY + timedelta(days=3), TODAY, None)
    assert [(p.field, p.code) for p in problems] == [
        ("issue_date", 10016),
        ("fce_cbu", 10168),
        ("payment_due", 10163),
    ]
    assert fce_draft_problems(CBU, 80, 1, TODAY, TODAY, TODAY) == []
    assert "CBU" in fce_draft_problems(None, 80, 1, TODAY, TODAY, TODAY)[0].message


def test_a_plain_invoice_to_an_obliged_buyer_is_warned_not_refused() -> None:
    total = THRESHOLD
    [warning] = fce_warnings(1, VoucherKind.INVOICE, 80, total, OBLIGED)
    assert warning.code == 10188 and "gran empresa" in warning.message
    assert "3.958.316,00" in warning.message
    assert fce_warnings(1, VoucherKind.INVOICE, 80, total - 1, OBLIGED) == []
    assert fce_warnings(201, VoucherKind.INVOICE, 80, total, OBLIGED) == []  # it is an FCE
    assert fce_warnings(3, VoucherKind.CREDIT_NOTE, 80, total, OBLIGED) == []
    assert fce_warnings(1, VoucherKind.INVOICE, 80, total, NOT_OBLIGED) == []
    assert fce_warnings(1, VoucherKind.INVOICE, 80, total, None) == []


def test_the_printed_fce_legends() -> None:
    base = PdfVoucher(
        invoice_type=201,
        letter="A",
        voucher_name="Factura de Crédito electrónica MiPyMEs (FCE) A",
        point_of_sale=1,
        number=1,
        issue_date=TODAY,
        lines=(),
        total=D("4840000.00"),
        fce_cbu=CBU,
        fce_alias="acero.sur",
        fce_transfer="ADC",
    )
    assert fce_legends(base) == (
        f"CBU del emisor: {CBU}",
        "Alias del CBU: acero.sur",
        "Opción de transferencia: Agente de Depósito Colectivo",
    )
    note = replace(base, invoice_type=203, fce_cbu=None, fce_alias=None, fce_transfer=None)
    assert fce_legends(replace(note, fce_cancels_rejected=True)) == (
        "Anula una FCE rechazada por el comprador: Sí",
    )
    assert fce_legends(replace(note, fce_cancels_rejected=False))[0].endswith(": No")
    assert fce_legends(replace(base, invoice_type=1)) == ()  # an ordinary A prints none
