"""Which class and type to issue: every issuer condition × every receiver condition (pure)."""

from __future__ import annotations

import itertools

import pytest

from arca.codes import (
    ALLOWED_ASSOCIATED_TYPES,
    RECEIVER_CONDITIONS,
    VOUCHER_TYPES,
    IssuerCondition,
    ReceiverCondition,
    VoucherKind,
)
from blueprints.invoices.letters import (
    MONOTRIBUTO_LEGEND,
    VoucherLetter,
    explain_letter,
    invoice_type_for,
    letter_for,
    note_type_for,
    requires_monotributo_legend,
)

RI = IssuerCondition.RESPONSABLE_INSCRIPTO
NON_RI = [condition for condition in IssuerCondition if condition is not RI]
LETTERS: tuple[VoucherLetter, ...] = ("A", "B", "C", "ALEY")
ISSUED_KINDS = (VoucherKind.INVOICE, VoucherKind.DEBIT_NOTE, VoucherKind.CREDIT_NOTE)
EVERY_CASE = list(itertools.product(IssuerCondition, RECEIVER_CONDITIONS.values(), (False, True)))


@pytest.mark.parametrize(("issuer", "receiver", "a_with_legend"), EVERY_CASE)
def test_the_letter_is_always_one_the_receiver_may_get(
    issuer: IssuerCondition, receiver: ReceiverCondition, a_with_legend: bool
) -> None:
    letter = letter_for(issuer, receiver.id, a_with_legend)
    assert letter in receiver.allowed_classes
    assert letter in (*issuer.voucher_classes, "ALEY")
    assert explain_letter(issuer, receiver.id, letter).startswith("Factura ")


@pytest.mark.parametrize("condition_id", sorted(RECEIVER_CONDITIONS))
def test_responsable_inscripto_issues_a_to_registered_taxpayers_and_b_to_the_rest(
    condition_id: int,
) -> None:
    expected = "A" if condition_id in (1, 6, 13, 16) else "B"
    assert letter_for(RI, condition_id) == expected
    with_legend = letter_for(RI, condition_id, a_with_legend=True)
    assert with_legend == ("ALEY" if expected == "A" else "B")
    # The rule agrees with ARCA's table: A exactly where the receiver may get A.
    assert (expected == "A") == ("A" in RECEIVER_CONDITIONS[condition_id].allowed_classes)


@pytest.mark.parametrize(
    ("issuer", "condition_id"), list(itertools.product(NON_RI, sorted(RECEIVER_CONDITIONS)))
)
def test_monotributo_and_exento_issue_c_to_anyone(
    issuer: IssuerCondition, condition_id: int
) -> None:
    assert letter_for(issuer, condition_id) == "C"
    assert letter_for(issuer, condition_id, a_with_legend=True) == "C"


def test_an_unknown_receiver_condition_gets_b_from_an_ri() -> None:
    assert letter_for(RI, 99) == "B"
    assert letter_for(IssuerCondition.MONOTRIBUTO, 99) == "C"
    assert "no es Responsable Inscripto ni monotributista" in explain_letter(RI, 99, "B")


@pytest.mark.parametrize(
    ("letter", "codes"),
    [("A", (1, 2, 3)), ("B", (6, 7, 8)), ("C", (11, 12, 13)), ("ALEY", (51, 52, 53))],
)
def test_type_codes(letter: VoucherLetter, codes: tuple[int, int, int]) -> None:
    assert tuple(invoice_type_for(letter, kind) for kind in ISSUED_KINDS) == codes
    for code, kind in zip(codes, ISSUED_KINDS, strict=True):
        assert VOUCHER_TYPES[code].kind is kind
        assert VOUCHER_TYPES[code].voucher_class == letter


@pytest.mark.parametrize(
    ("letter", "kind"), list(itertools.product(LETTERS, (VoucherKind.RECEIPT, VoucherKind.OTHER)))
)
def test_kinds_without_a_code_raise(letter: VoucherLetter, kind: VoucherKind) -> None:
    with pytest.raises(ValueError, match=kind.value):
        invoice_type_for(letter, kind)


@pytest.mark.parametrize(
    ("original", "debit", "credit"),
    [
        (1, 2, 3),
        (2, 2, 3),
        (3, 2, 3),
        (4, 2, 3),
        (6, 7, 8),
        (8, 7, 8),
        (11, 12, 13),
        (15, 12, 13),
        (51, 52, 53),
        (53, 52, 53),
    ],
)
def test_notes_keep_the_class_of_the_original(original: int, debit: int, credit: int) -> None:
    assert note_type_for(original, VoucherKind.DEBIT_NOTE) == debit
    assert note_type_for(original, VoucherKind.CREDIT_NOTE) == credit
    assert original in ALLOWED_ASSOCIATED_TYPES[credit]


@pytest.mark.parametrize("original", [49, 88, 9999])
def test_no_note_for_used_goods_or_unknown_types(original: int) -> None:
    with pytest.raises(ValueError, match=str(original)):
        note_type_for(original, VoucherKind.CREDIT_NOTE)


@pytest.mark.parametrize(
    ("original", "debit", "credit"),
    [(201, 202, 203), (203, 202, 203), (206, 207, 208), (211, 212, 213), (19, 20, 21)],
)
def test_fce_and_export_vouchers_get_notes_of_their_own(
    original: int, debit: int, credit: int
) -> None:
    # An FCE is amended only by FCE notes (10040), a Factura E by the E notes (WSFEXv1).
    assert note_type_for(original, VoucherKind.DEBIT_NOTE) == debit
    assert note_type_for(original, VoucherKind.CREDIT_NOTE) == credit
    if original != 19:
        assert original in ALLOWED_ASSOCIATED_TYPES[credit]


def test_fce_types_by_class_and_export_letter() -> None:
    assert invoice_type_for("A", VoucherKind.INVOICE, fce=True) == 201
    assert invoice_type_for("C", VoucherKind.CREDIT_NOTE, fce=True) == 213
    assert letter_for(IssuerCondition.MONOTRIBUTO, 9, export=True) == "E"
    assert invoice_type_for("E", VoucherKind.INVOICE) == 19
    with pytest.raises(ValueError, match="no FCE"):
        invoice_type_for("ALEY", VoucherKind.INVOICE, fce=True)


def test_note_type_needs_a_note_kind() -> None:
    with pytest.raises(ValueError, match="not a debit or credit note"):
        note_type_for(6, VoucherKind.INVOICE)


@pytest.mark.parametrize(
    ("issuer", "condition_id", "letter", "expected"),
    [
        (
            RI,
            6,
            "A",
            "Factura A: sos Responsable Inscripto y el cliente es Responsable Monotributo.",
        ),
        (
            RI,
            1,
            "A",
            "Factura A: sos Responsable Inscripto y el cliente es Responsable Inscripto.",
        ),
        (RI, 5, "B", "Factura B: sos Responsable Inscripto y el cliente es Consumidor Final."),
        (RI, 4, "B", "Factura B: sos Responsable Inscripto y el cliente es Sujeto Exento."),
        (RI, 15, "B", "Factura B: sos Responsable Inscripto y el cliente es IVA No Alcanzado."),
        (
            RI,
            13,
            "ALEY",
            "Factura A con leyenda «operación sujeta a retención»: sos Responsable Inscripto, "
            "el cliente es Monotributista Social y ARCA te exige esa leyenda.",
        ),
        (
            IssuerCondition.MONOTRIBUTO_SOCIAL,
            1,
            "C",
            "Factura C: los monotributistas emiten siempre clase C.",
        ),
        (
            IssuerCondition.IVA_EXENTO,
            5,
            "C",
            "Factura C: los exentos en IVA emiten siempre clase C.",
        ),
    ],
)
def test_explanations(
    issuer: IssuerCondition, condition_id: int, letter: VoucherLetter, expected: str
) -> None:
    assert explain_letter(issuer, condition_id, letter) == expected


@pytest.mark.parametrize(
    ("issuer", "condition_id", "letter"),
    [(RI, 5, "A"), (RI, 1, "B"), (RI, 1, "C"), (IssuerCondition.MONOTRIBUTO, 1, "A")],
)
def test_explaining_the_wrong_letter_raises(
    issuer: IssuerCondition, condition_id: int, letter: VoucherLetter
) -> None:
    with pytest.raises(ValueError, match="is not the class"):
        explain_letter(issuer, condition_id, letter)


@pytest.mark.parametrize(
    ("letter", "condition_id"), list(itertools.product(LETTERS, sorted(RECEIVER_CONDITIONS)))
)
def test_the_ley_27618_legend_goes_on_a_vouchers_to_monotributistas(
    letter: VoucherLetter, condition_id: int
) -> None:
    expected = letter in ("A", "ALEY") and condition_id in (6, 13, 16)
    assert requires_monotributo_legend(letter, condition_id) is expected


def test_the_legend_text() -> None:
    assert MONOTRIBUTO_LEGEND.startswith("El crédito fiscal discriminado en el presente")
    assert MONOTRIBUTO_LEGEND.endswith("de la Ley Nº 27.618")
