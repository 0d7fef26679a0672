"""FCE MiPyME (Factura de Crédito Electrónica, Ley 27.440) on the WSFEv1 side: which voucher
types are FCE and the "datos opcionales" ARCA requires on them, built for `arca.wsfe`.

What ARCA checks (manual codes in docs/arca-sandbox.md, "FCE"): an FCE invoice (201/206/211)
carries the issuer's CBU (2101, 22 digits), optionally its alias (2102), the transfer option
(27: SCA or ADC) and `FchVtoPago` (≥ the later of the voucher date and today); an FCE note
(202/203, 207/208, 212/213) carries 22 (S: it cancels a voucher the buyer rejected; N: it does
not), no 2101/2102/27, and `CbtesAsoc` with the issuer's `Cuit` and the associated `CbteFch`.
One FCE voucher per request; the receiver is identified by CUIT (DocTipo 80). Whether a
receiver must get an FCE, and from what amount, is `arca.wsfecred.WsfecredClient.obligation`.
"""

from __future__ import annotations

from collections.abc import Iterable

from arca.wsfe import OptionalValue

FCE_INVOICE_TYPES = frozenset({201, 206, 211})
FCE_NOTE_TYPES = frozenset({202, 203, 207, 208, 212, 213})
FCE_TYPES = FCE_INVOICE_TYPES | FCE_NOTE_TYPES
# The FCE invoice type of each class (A, B, C): what a plain FCE note associates.
FCE_INVOICE_OF_CLASS = {"A": 201, "B": 206, "C": 211}

CBU = "2101"
ALIAS = "2102"
ANULACION = "22"
COMMERCIAL_REFERENCE = "23"
TRANSFER = "27"
# 27's values: SCA "Transferencia al Sistema de Circulacion Abierta", ADC "Agente de Deposito
# Colectivo".
TRANSFER_OPTIONS = ("SCA", "ADC")


def is_fce(invoice_type: int) -> bool:
    return invoice_type in FCE_TYPES


def is_valid_cbu(cbu: str) -> bool:
    """22 digits with both BCRA check digits right (ARCA only checks the length, 10165, and
    that it is the issuer's registered CBU, 10174)."""
    if len(cbu) != 22 or not cbu.isdigit():
        return False
    return _cbu_block_ok(cbu[:8], (7, 1, 3, 9, 7, 1, 3)) and _cbu_block_ok(
        cbu[8:], (3, 9, 7, 1, 3, 9, 7, 1, 3, 9, 7, 1, 3)
    )


def _cbu_block_ok(block: str, weights: tuple[int, ...]) -> bool:
    total = sum(int(digit) * weight for digit, weight in zip(block, weights, strict=False))
    return (10 - total % 10) % 10 == int(block[-1])


def invoice_optionals(
    cbu: str, transfer: str = "SCA", alias: str | None = None, references: Iterable[str] = ()
) -> list[OptionalValue]:
    """The Opcionales of an FCE invoice. Raises ValueError for values ARCA would refuse."""
    if len(cbu) != 22 or not cbu.isdigit():
        raise ValueError("the CBU (optional 2101) must be 22 digits")
    if transfer not in TRANSFER_OPTIONS:
        raise ValueError("the transfer option (optional 27) must be SCA or ADC")
    values = [OptionalValue(CBU, cbu)]
    if alias:
        values.append(OptionalValue(ALIAS, alias))
    values.append(OptionalValue(TRANSFER, transfer))
    return values + _references(references)


def note_optionals(cancels_rejected: bool, references: Iterable[str] = ()) -> list[OptionalValue]:
    """The Opcionales of an FCE debit or credit note: 22 = S when it cancels a voucher the buyer
    rejected, N otherwise."""
    return [OptionalValue(ANULACION, "S" if cancels_rejected else "N"), *_references(references)]


def _references(references: Iterable[str]) -> list[OptionalValue]:
    unique = list(dict.fromkeys(references))  # 10190: no repeated reference
    if any(len(reference) > 50 for reference in unique):
        raise ValueError("a commercial reference (optional 23) has at most 50 characters")
    return [OptionalValue(COMMERCIAL_REFERENCE, reference) for reference in unique]
