"""Which voucher class (letter) and type code to issue, and why (pure).

The class depends on the issuer's IVA condition and the receiver's `CondicionIVAReceptorId`
(RG 1415 arts. 15-16, NOTES §8): a Responsable Inscripto issues A to other registered taxpayers
(RI and every kind of monotributista) and B to everyone else; monotributistas and IVA-exempt
issuers always issue C. An RI that ARCA has not cleared for plain A issues "A con leyenda
operación sujeta a retención" (ALEY, codes 51-53) instead, which is ARCA's decision, not ours.
"""

from __future__ import annotations

from typing import Literal

from flask_babel import gettext as _

from arca.codes import (
    ALLOWED_ASSOCIATED_TYPES,
    RECEIVER_CONDITIONS,
    VOUCHER_TYPES,
    IssuerCondition,
    VoucherKind,
)
from arca.fce import is_fce

VoucherLetter = Literal["A", "B", "C", "ALEY", "E"]
"""The classes Talonario issues. ALEY is "A con leyenda operación sujeta a retención" (ex M);
E is the export voucher (WSFEXv1: 19 invoice, 20 debit note, 21 credit note)."""

# Receivers that get class A from an RI: RI (1) and the three monotributo conditions (6, 13, 16).
# Exactly the conditions whose `allowed_classes` include A in RECEIVER_CONDITIONS (NOTES §7.6).
A_RECEIVER_CONDITIONS = frozenset({1, 6, 13, 16})
# Ley 27.618: an A voucher to a monotributista carries a legend restricting the VAT credit, and
# ARCA answers it with observation 10217 (not a rejection).
MONOTRIBUTO_RECEIVER_CONDITIONS = frozenset({6, 13, 16})

# Printed verbatim on the voucher, in Spanish whatever the UI language: it is legal text (RG 1415
# as amended by RG 5003/2021, quoted in NOTES §8; confirm the wording with an accountant).
MONOTRIBUTO_LEGEND = (
    "El crédito fiscal discriminado en el presente comprobante, sólo podrá ser computado a "
    "efectos del Régimen de Sostenimiento e Inclusión Fiscal para Pequeños Contribuyentes de "
    "la Ley Nº 27.618"
)

# (invoice, debit note, credit note) per class (NOTES §7.1). Receipts (4, 9, 15, 54) and the
# "other" types are not issued by Talonario, so they have no entry here.
TYPE_CODES: dict[VoucherLetter, dict[VoucherKind, int]] = {
    "A": {VoucherKind.INVOICE: 1, VoucherKind.DEBIT_NOTE: 2, VoucherKind.CREDIT_NOTE: 3},
    "B": {VoucherKind.INVOICE: 6, VoucherKind.DEBIT_NOTE: 7, VoucherKind.CREDIT_NOTE: 8},
    "C": {VoucherKind.INVOICE: 11, VoucherKind.DEBIT_NOTE: 12, VoucherKind.CREDIT_NOTE: 13},
    "ALEY": {VoucherKind.INVOICE: 51, VoucherKind.DEBIT_NOTE: 52, VoucherKind.CREDIT_NOTE: 53},
    "E": {VoucherKind.INVOICE: 19, VoucherKind.DEBIT_NOTE: 20, VoucherKind.CREDIT_NOTE: 21},
}
# FCE MiPyME (Ley 27.440, NOTES §7.1): the A, B and C of a MiPyME invoicing a large company.
FCE_TYPE_CODES: dict[str, dict[VoucherKind, int]] = {
    "A": {VoucherKind.INVOICE: 201, VoucherKind.DEBIT_NOTE: 202, VoucherKind.CREDIT_NOTE: 203},
    "B": {VoucherKind.INVOICE: 206, VoucherKind.DEBIT_NOTE: 207, VoucherKind.CREDIT_NOTE: 208},
    "C": {VoucherKind.INVOICE: 211, VoucherKind.DEBIT_NOTE: 212, VoucherKind.CREDIT_NOTE: 213},
}
EXPORT_TYPES = frozenset(TYPE_CODES["E"].values())
NOTE_KINDS = frozenset({VoucherKind.DEBIT_NOTE, VoucherKind.CREDIT_NOTE})
ISSUED_KINDS = NOTE_KINDS | {VoucherKind.INVOICE}


def letter_for(
    issuer: IssuerCondition,
    receiver_condition_id: int,
    a_with_legend: bool = False,
    export: bool = False,
) -> VoucherLetter:
    """The class to issue from `issuer` to a receiver in `receiver_condition_id`.

    An `export` (a customer abroad, with its country): E, whoever issues it. Otherwise RI: A
    (ALEY when `a_with_legend`) to conditions 1, 6, 13, 16; B to any other id, including ids
    unknown to `RECEIVER_CONDITIONS` (the preflight reports those with 10242). Every other
    issuer: C, whatever the receiver; `a_with_legend` is ignored for them.
    """
    if export:
        return "E"
    if issuer is not IssuerCondition.RESPONSABLE_INSCRIPTO:
        return "C"
    if receiver_condition_id in A_RECEIVER_CONDITIONS:
        return "ALEY" if a_with_legend else "A"
    return "B"


def invoice_type_for(letter: VoucherLetter, kind: VoucherKind, fce: bool = False) -> int:
    """The `CbteTipo` of a `kind` voucher of class `letter` (A 1/2/3, B 6/7/8, C 11/12/13,
    ALEY 51/52/53, E 19/20/21 for invoice/debit note/credit note; with `fce`, the FCE MiPyME
    A 201/202/203, B 206/207/208, C 211/212/213). Raises ValueError for any other kind, and for
    an FCE of a class that has none (ALEY, E)."""
    if fce:
        if letter not in FCE_TYPE_CODES:
            raise ValueError(f"there is no FCE MiPyME of class {letter}")
        return FCE_TYPE_CODES[letter][kind]
    codes = TYPE_CODES[letter]
    if kind not in codes:
        raise ValueError(f"Talonario issues no {kind.value} vouchers (class {letter})")
    return codes[kind]


def note_type_for(original_invoice_type: int, kind: VoucherKind) -> int:
    """The debit or credit note (`kind`) of the same class as `original_invoice_type`, e.g. 6 ->
    8 (credit) or 7 (debit). The original may be anything that note may reference (validation
    10040: invoices, notes, receipts… of that class). Raises ValueError for any other kind, or an
    original that no A/B/C/ALEY note may reference (FCE, unknown codes, delivery notes)."""
    if kind not in NOTE_KINDS:
        raise ValueError(f"{kind.value} is not a debit or credit note")
    if original_invoice_type in EXPORT_TYPES:
        return TYPE_CODES["E"][kind]
    if is_fce(original_invoice_type):
        # An FCE note goes with FCE vouchers of its class (10040: 202/203 associate 201-203).
        fce_class = VOUCHER_TYPES[original_invoice_type].voucher_class
        return FCE_TYPE_CODES[fce_class][kind]
    original = VOUCHER_TYPES.get(original_invoice_type)
    if original is None or original.voucher_class not in TYPE_CODES:
        raise ValueError(f"no note can reference voucher type {original_invoice_type}")
    note = invoice_type_for(original.voucher_class, kind)
    # FCE vouchers (201…) are class A/B/C too, but only FCE notes may reference them.
    if original_invoice_type not in ALLOWED_ASSOCIATED_TYPES[note]:
        raise ValueError(f"no note can reference voucher type {original_invoice_type}")
    return note


def is_export(invoice_type: int) -> bool:
    """A Factura E or one of its notes: WSFEXv1's, not WSFEv1's."""
    return invoice_type in EXPORT_TYPES


def requires_monotributo_legend(letter: VoucherLetter, receiver_condition_id: int) -> bool:
    """Whether the printed voucher must carry `MONOTRIBUTO_LEGEND` (Ley 27.618): an A voucher,
    with or without the "operación sujeta a retención" legend, to a monotributista."""
    return letter in ("A", "ALEY") and receiver_condition_id in MONOTRIBUTO_RECEIVER_CONDITIONS


def explain_letter(
    issuer: IssuerCondition, receiver_condition_id: int, letter: VoucherLetter
) -> str:
    """One sentence for the UI saying why `letter` is the class for this issuer and receiver.

    `letter` must be what `letter_for` gives for them (with `a_with_legend` = letter is ALEY);
    anything else raises ValueError, since there is no reason to explain.
    """
    if letter == "E":
        return _("Factura E: el cliente está en el exterior; se autoriza como exportación.")
    if letter != letter_for(issuer, receiver_condition_id, a_with_legend=letter == "ALEY"):
        raise ValueError(f"{letter} is not the class {issuer.value} issues to that receiver")
    if letter == "C":
        if issuer is IssuerCondition.IVA_EXENTO:
            return _("Factura C: los exentos en IVA emiten siempre clase C.")
        return _("Factura C: los monotributistas emiten siempre clase C.")
    condition = receiver_name(receiver_condition_id)
    if letter == "A":
        return _(
            "Factura A: sos Responsable Inscripto y el cliente es %(condition)s.",
            condition=condition,
        )
    if letter == "ALEY":
        return _(
            "Factura A con leyenda «operación sujeta a retención»: sos Responsable Inscripto, "
            "el cliente es %(condition)s y ARCA te exige esa leyenda.",
            condition=condition,
        )
    if receiver_condition_id not in RECEIVER_CONDITIONS:
        return _(
            "Factura B: sos Responsable Inscripto y el cliente no es Responsable Inscripto "
            "ni monotributista."
        )
    return _(
        "Factura B: sos Responsable Inscripto y el cliente es %(condition)s.",
        condition=condition,
    )


def receiver_name(receiver_condition_id: int) -> str:
    """ARCA's description of a receiver condition (untranslated, as ARCA words it), with the
    leading "IVA " dropped where it reads as a prefix ("IVA Responsable Inscripto")."""
    condition = RECEIVER_CONDITIONS.get(receiver_condition_id)
    if condition is None:
        return str(receiver_condition_id)
    # Only 1 and 4 read well without it; "IVA No Alcanzado" and "IVA Liberado…" need it.
    if receiver_condition_id in (1, 4):
        return condition.description.removeprefix("IVA ")
    return condition.description
