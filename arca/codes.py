"""ARCA code tables the app needs as constants (values from ARCA's published tables)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Literal


class IssuerCondition(StrEnum):
    """The issuer's standing with respect to IVA, which decides the classes it may issue."""

    RESPONSABLE_INSCRIPTO = "responsable_inscripto"
    MONOTRIBUTO = "monotributo"
    MONOTRIBUTO_SOCIAL = "monotributo_social"
    MONOTRIBUTO_PROMOVIDO = "monotributo_promovido"
    IVA_EXENTO = "iva_exento"

    @property
    def receiver_condition_id(self) -> int:
        """This condition's `CondicionIVAReceptorId`, for when the taxpayer is the receiver."""
        return _RECEIVER_CONDITION_IDS[self]

    @property
    def voucher_classes(self) -> tuple[str, ...]:
        # RI issues A or B depending on the receiver; everyone else issues C (RG 1415).
        return ("A", "B") if self is IssuerCondition.RESPONSABLE_INSCRIPTO else ("C",)


_RECEIVER_CONDITION_IDS = {
    IssuerCondition.RESPONSABLE_INSCRIPTO: 1,
    IssuerCondition.IVA_EXENTO: 4,
    IssuerCondition.MONOTRIBUTO: 6,
    IssuerCondition.MONOTRIBUTO_SOCIAL: 13,
    IssuerCondition.MONOTRIBUTO_PROMOVIDO: 16,
}

# ARCA's own descriptions (FEParamGetCondicionIvaReceptor), shown as they are in every language.
ISSUER_CONDITION_LABELS = {
    IssuerCondition.RESPONSABLE_INSCRIPTO: "IVA Responsable Inscripto",
    IssuerCondition.MONOTRIBUTO: "Responsable Monotributo",
    IssuerCondition.MONOTRIBUTO_SOCIAL: "Monotributista Social",
    IssuerCondition.MONOTRIBUTO_PROMOVIDO: "Monotributo Trabajador Independiente Promovido",
    IssuerCondition.IVA_EXENTO: "IVA Sujeto Exento",
}


# --- WSFEv1 code tables (tables.json snapshot; refresh from FEParamGet* at run time) --------------

VoucherClass = Literal["A", "B", "C", "ALEY", "49", "E"]
"""A voucher's class (letter). ALEY is "A con leyenda operación sujeta a retención" (codes 51-54,
ex class M, renamed on 2025-12-01); "49" is the used-goods purchase voucher, a class of its own."""


class VoucherKind(StrEnum):
    """What a voucher type does: credit notes carry positive amounts, the type says "credit"."""

    INVOICE = "invoice"
    DEBIT_NOTE = "debit_note"
    CREDIT_NOTE = "credit_note"
    RECEIPT = "receipt"
    OTHER = "other"


@dataclass(frozen=True)
class VoucherType:
    """A `CbteTipo` with its class and kind; `description` is ARCA's, untranslated."""

    code: int
    description: str
    voucher_class: VoucherClass
    kind: VoucherKind


def _voucher(
    code: int, description: str, voucher_class: VoucherClass, kind: VoucherKind
) -> tuple[int, VoucherType]:
    return code, VoucherType(code, description, voucher_class, kind)


VOUCHER_TYPES: dict[int, VoucherType] = dict(
    [
        _voucher(1, "Factura A", "A", VoucherKind.INVOICE),
        _voucher(2, "Nota de Débito A", "A", VoucherKind.DEBIT_NOTE),
        _voucher(3, "Nota de Crédito A", "A", VoucherKind.CREDIT_NOTE),
        _voucher(4, "Recibos A", "A", VoucherKind.RECEIPT),
        _voucher(5, "Notas de Venta al contado A", "A", VoucherKind.OTHER),
        _voucher(6, "Factura B", "B", VoucherKind.INVOICE),
        _voucher(7, "Nota de Débito B", "B", VoucherKind.DEBIT_NOTE),
        _voucher(8, "Nota de Crédito B", "B", VoucherKind.CREDIT_NOTE),
        _voucher(9, "Recibos B", "B", VoucherKind.RECEIPT),
        _voucher(10, "Notas de Venta al contado B", "B", VoucherKind.OTHER),
        _voucher(11, "Factura C", "C", VoucherKind.INVOICE),
        _voucher(12, "Nota de Débito C", "C", VoucherKind.DEBIT_NOTE),
        _voucher(13, "Nota de Crédito C", "C", VoucherKind.CREDIT_NOTE),
        _voucher(15, "Recibo C", "C", VoucherKind.RECEIPT),
        _voucher(
            34, "Cbtes. A del Anexo I, Apartado A,inc.f),R.G.Nro. 1415", "A", VoucherKind.OTHER
        ),
        _voucher(
            35, "Cbtes. B del Anexo I,Apartado A,inc. f),R.G. Nro. 1415", "B", VoucherKind.OTHER
        ),
        _voucher(39, "Otros comprobantes A que cumplan con R.G.Nro. 1415", "A", VoucherKind.OTHER),
        _voucher(40, "Otros comprobantes B que cumplan con R.G.Nro. 1415", "B", VoucherKind.OTHER),
        _voucher(
            49, "Comprobante de Compra de Bienes Usados a Consumidor Final", "49", VoucherKind.OTHER
        ),
        _voucher(
            51, 'Factura A con Leyenda "Operación Sujeta a Retención"', "ALEY", VoucherKind.INVOICE
        ),
        _voucher(
            52,
            'Nota de Débito A con Leyenda "Operación Sujeta a Retención"',
            "ALEY",
            VoucherKind.DEBIT_NOTE,
        ),
        _voucher(
            53,
            'Nota de Crédito A con Leyenda "Operación Sujeta a Retención"',
            "ALEY",
            VoucherKind.CREDIT_NOTE,
        ),
        _voucher(
            54, 'Recibo A con Leyenda "Operación Sujeta a Retención"', "ALEY", VoucherKind.RECEIPT
        ),
        _voucher(60, "Cta de Vta y Liquido prod. A", "A", VoucherKind.OTHER),
        _voucher(61, "Cta de Vta y Liquido prod. B", "B", VoucherKind.OTHER),
        _voucher(63, "Liquidacion A", "A", VoucherKind.OTHER),
        _voucher(64, "Liquidacion B", "B", VoucherKind.OTHER),
        _voucher(201, "Factura de Crédito electrónica MiPyMEs (FCE) A", "A", VoucherKind.INVOICE),
        _voucher(202, "Nota de Débito electrónica MiPyMEs (FCE) A", "A", VoucherKind.DEBIT_NOTE),
        _voucher(203, "Nota de Crédito electrónica MiPyMEs (FCE) A", "A", VoucherKind.CREDIT_NOTE),
        _voucher(206, "Factura de Crédito electrónica MiPyMEs (FCE) B", "B", VoucherKind.INVOICE),
        _voucher(207, "Nota de Débito electrónica MiPyMEs (FCE) B", "B", VoucherKind.DEBIT_NOTE),
        _voucher(208, "Nota de Crédito electrónica MiPyMEs (FCE) B", "B", VoucherKind.CREDIT_NOTE),
        _voucher(211, "Factura de Crédito electrónica MiPyMEs (FCE) C", "C", VoucherKind.INVOICE),
        _voucher(212, "Nota de Débito electrónica MiPyMEs (FCE) C", "C", VoucherKind.DEBIT_NOTE),
        _voucher(213, "Nota de Crédito electrónica MiPyMEs (FCE) C", "C", VoucherKind.CREDIT_NOTE),
        # WSFEXv1's own types (FEXGetPARAM_Cbte_Tipo), not WSFEv1's: export vouchers, class E.
        _voucher(19, "Factura de Exportación", "E", VoucherKind.INVOICE),
        _voucher(20, "Nota de Débito por Operaciones con el Exterior", "E", VoucherKind.DEBIT_NOTE),
        _voucher(
            21, "Nota de Crédito por Operaciones con el Exterior", "E", VoucherKind.CREDIT_NOTE
        ),
    ]
)
EXPORT_VOUCHER_CODES = frozenset({19, 20, 21})

# Debit and credit notes may reference only these types (validation 10040). 88 and 991 are
# electronic delivery notes; 990-995 are FCE-specific documents.
ALLOWED_ASSOCIATED_TYPES: dict[int, frozenset[int]] = {
    1: frozenset({88, 991}),
    2: frozenset({1, 2, 3, 4, 5, 34, 39, 60, 63, 88, 991}),
    3: frozenset({1, 2, 3, 4, 5, 34, 39, 60, 63, 88, 991}),
    6: frozenset({88, 991}),
    7: frozenset({6, 7, 8, 9, 10, 35, 40, 61, 64, 88, 991}),
    8: frozenset({6, 7, 8, 9, 10, 35, 40, 61, 64, 88, 991}),
    12: frozenset({11, 12, 13, 15}),
    13: frozenset({11, 12, 13, 15}),
    51: frozenset({88, 991}),
    52: frozenset({51, 52, 53, 54, 88, 991}),
    53: frozenset({51, 52, 53, 54, 88, 991}),
    201: frozenset({91, 990, 991, 993, 994, 995}),
    202: frozenset({201, 202, 203}),
    203: frozenset({201, 202, 203}),
    206: frozenset({91, 990, 991, 993, 994, 995}),
    207: frozenset({206, 207, 208}),
    208: frozenset({206, 207, 208}),
    211: frozenset({91, 990, 991, 993, 994, 995}),
    212: frozenset({211, 212, 213}),
    213: frozenset({211, 212, 213}),
}


class DocumentType(IntEnum):
    """The receiver document types the app offers (`DocTipo`); all of ARCA's in DOCUMENT_TYPES."""

    CUIT = 80
    CUIL = 86
    CDI = 87
    PASSPORT = 94
    DNI = 96
    OTHER = 99  # with DocNro 0: the anonymous final consumer


DOCUMENT_TYPES: dict[int, str] = {
    0: "CI Policía Federal",
    1: "CI Buenos Aires",
    2: "CI Catamarca",
    3: "CI Córdoba",
    4: "CI Corrientes",
    5: "CI Entre Ríos",
    6: "CI Jujuy",
    7: "CI Mendoza",
    8: "CI La Rioja",
    9: "CI Salta",
    10: "CI San Juan",
    11: "CI San Luis",
    12: "CI Santa Fe",
    13: "CI Santiago del Estero",
    14: "CI Tucumán",
    16: "CI Chaco",
    17: "CI Chubut",
    18: "CI Formosa",
    19: "CI Misiones",
    20: "CI Neuquén",
    21: "CI La Pampa",
    22: "CI Río Negro",
    23: "CI Santa Cruz",
    24: "CI Tierra del Fuego",
    80: "CUIT",
    86: "CUIL",
    87: "CDI",
    89: "LE",
    90: "LC",
    91: "CI Extranjera",
    92: "en trámite",
    93: "Acta Nacimiento",
    94: "Pasaporte",
    95: "CI Bs. As. RNP",
    96: "DNI",
    99: "Doc. (Otro)",
}

# `AlicIva.Id` -> rate in percent. Exempt and untaxed amounts are not rates: they go in ImpOpEx
# and ImpTotConc. Id 3 is 0 % *taxed*, which is different (NOTES §7.3, §12.8).
VAT_RATES: dict[int, Decimal] = {
    3: Decimal("0"),
    4: Decimal("10.5"),
    5: Decimal("21"),
    6: Decimal("27"),
    8: Decimal("5"),
    9: Decimal("2.5"),
}


class Concept(IntEnum):
    """`Concepto`. Services (2, 3) require service dates and a payment due date (10049)."""

    PRODUCTS = 1
    SERVICES = 2
    PRODUCTS_AND_SERVICES = 3


# `Tributo.Id` (other taxes); 99 requires a description.
TAX_TYPES: dict[int, str] = {
    1: "Impuestos nacionales",
    2: "Impuestos provinciales",
    3: "Impuestos municipales",
    4: "Impuestos Internos",
    5: "IIBB",
    6: "Percepción de IVA",
    7: "Percepción de IIBB",
    8: "Percepciones por Impuestos Municipales",
    9: "Otras Percepciones",
    13: "Percepción de IVA a no Categorizado",
    99: "Otro",
}


@dataclass(frozen=True)
class ReceiverCondition:
    """A `CondicionIVAReceptorId` and the voucher classes that may be issued to it (10243)."""

    id: int
    description: str
    allowed_classes: frozenset[str]


def _receiver(
    id_: int, description: str, classes: tuple[str, ...]
) -> tuple[int, ReceiverCondition]:
    return id_, ReceiverCondition(id_, description, frozenset(classes))


RECEIVER_CONDITIONS: dict[int, ReceiverCondition] = dict(
    [
        _receiver(1, "IVA Responsable Inscripto", ("A", "ALEY", "C")),
        _receiver(4, "IVA Sujeto Exento", ("B", "C")),
        _receiver(5, "Consumidor Final", ("B", "C", "49")),
        _receiver(6, "Responsable Monotributo", ("A", "ALEY", "C")),
        _receiver(7, "Sujeto No Categorizado", ("B", "C")),
        _receiver(8, "Proveedor del Exterior", ("B", "C")),
        _receiver(9, "Cliente del Exterior", ("B", "C")),
        _receiver(10, "IVA Liberado – Ley N° 19.640", ("B", "C")),
        _receiver(13, "Monotributista Social", ("A", "ALEY", "C")),
        _receiver(15, "IVA No Alcanzado", ("B", "C")),
        _receiver(16, "Monotributo Trabajador Independiente Promovido", ("A", "ALEY", "C")),
    ]
)
