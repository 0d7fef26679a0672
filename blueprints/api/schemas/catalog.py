"""Points of sale and ARCA's parameter tables as the API lists them.

Codes and names are ARCA's (`arca.codes`, and the FEParamGet* tables the app keeps), untranslated
in every language, as on the ARCA parameters page.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from arca.codes import VAT_RATES, VOUCHER_TYPES, VoucherClass, VoucherKind
from arca.defaults import ParameterRow
from blueprints.api.schemas.common import CodeName, Money, Page
from blueprints.points_of_sale.models import PointOfSale as PointOfSaleRow
from blueprints.points_of_sale.models import VoucherCounter


class LastNumber(BaseModel):
    """The last number ARCA authorized for a voucher type, as last asked."""

    voucher_type: CodeName
    last_number: int
    checked_at: dt.datetime


class PointOfSale(BaseModel):
    """A point of sale (punto de venta) the organization issues from."""

    id: int
    number: int = Field(description="ARCA's number, 1-99999.")
    name: str | None
    emission_type: str = Field(description="ARCA's emission type: CAE, CAEA…")
    blocked: bool
    closed_on: dt.date | None
    usable: bool = Field(description="Neither blocked nor closed: vouchers can be issued.")
    address: str | None = Field(description="Printed on its vouchers; null: the organization's.")
    synced_at: dt.datetime | None = Field(
        description="When ARCA last listed it; null for one only added by hand."
    )
    last_numbers: list[LastNumber]


class PointOfSalePage(Page[PointOfSale]):
    """A page of points of sale, by number."""


def point_of_sale_of(row: PointOfSaleRow) -> PointOfSale:
    return PointOfSale(
        id=row.id,
        number=row.number,
        name=row.name,
        emission_type=row.emission_type,
        blocked=row.blocked,
        closed_on=row.closed_on,
        usable=row.usable,
        address=row.address,
        synced_at=row.synced_at,
        last_numbers=[last_number_of(counter) for counter in row.counters],
    )


def last_number_of(counter: VoucherCounter) -> LastNumber:
    known = VOUCHER_TYPES.get(counter.invoice_type)
    name = known.description if known else str(counter.invoice_type)
    return LastNumber(
        voucher_type=CodeName(code=counter.invoice_type, name=name),
        last_number=counter.last_number,
        checked_at=counter.checked_at,
    )


# --- parameter tables ----------------------------------------------------------------------------


class ParameterEntry(BaseModel):
    name: str = Field(description="ARCA's description.")
    valid_from: dt.date | None = Field(description="Null: not published.")
    valid_to: dt.date | None = Field(description="Null: no end date.")
    in_force: bool = Field(description="Whether ARCA accepts the code today.")


class VoucherType(ParameterEntry):
    """A voucher type (CbteTipo)."""

    code: int
    voucher_class: VoucherClass | None = Field(
        description="A, B, C, ALEY (A con leyenda) or 49; null for a type the app does not know."
    )
    kind: VoucherKind | None


class DocumentType(ParameterEntry):
    """A receiver document type (DocTipo)."""

    code: int


class VatRate(ParameterEntry):
    """A VAT rate (AlicIva Id). Exempt and untaxed amounts are not rates."""

    code: int
    rate: Money | None = Field(
        description='Percent, e.g. "10.5"; null if the app does not know it.'
    )


class Currency(ParameterEntry):
    """A currency (MonId)."""

    code: str = Field(examples=["PES", "DOL", "060"])


class IvaCondition(ParameterEntry):
    """A receiver IVA condition (CondicionIVAReceptorId, RG 5616)."""

    code: int
    voucher_classes: list[str] = Field(description="The classes that may be issued to it.")


class VoucherTypePage(Page[VoucherType]):
    """Voucher types, by code."""


class DocumentTypePage(Page[DocumentType]):
    """Document types, by code."""


class VatRatePage(Page[VatRate]):
    """VAT rates, by code."""


class CurrencyPage(Page[Currency]):
    """Currencies, by code."""


class IvaConditionPage(Page[IvaCondition]):
    """Receiver IVA conditions, by code."""


def entry_fields(row: ParameterRow, today: dt.date) -> dict[str, object]:
    return {
        "code": row.id,
        "name": row.description,
        "valid_from": row.valid_from,
        "valid_to": row.valid_to,
        "in_force": row.in_force(today),
    }


def voucher_type_of(row: ParameterRow, today: dt.date) -> VoucherType:
    known = VOUCHER_TYPES.get(int(row.id))
    return VoucherType.model_validate(
        {
            **entry_fields(row, today),
            "voucher_class": known.voucher_class if known else None,
            "kind": known.kind if known else None,
        }
    )


def document_type_of(row: ParameterRow, today: dt.date) -> DocumentType:
    return DocumentType.model_validate(entry_fields(row, today))


def vat_rate_of(row: ParameterRow, today: dt.date) -> VatRate:
    rate = VAT_RATES.get(int(row.id))
    return VatRate.model_validate({**entry_fields(row, today), "rate": rate})


def currency_of(row: ParameterRow, today: dt.date) -> Currency:
    return Currency.model_validate({**entry_fields(row, today), "code": str(row.id)})


def iva_condition_of(row: ParameterRow, today: dt.date) -> IvaCondition:
    classes = list(row.voucher_classes)
    return IvaCondition.model_validate({**entry_fields(row, today), "voucher_classes": classes})
