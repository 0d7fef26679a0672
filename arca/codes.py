"""ARCA code tables the app needs as constants (values from ARCA's published tables)."""

from __future__ import annotations

from enum import StrEnum


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
