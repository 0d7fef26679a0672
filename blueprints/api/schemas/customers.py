"""Customers in the API: the page's form fields, typed, and the customer as a client reads it.

The models only shape the data. Whether a customer is valid (the CUIT's check digit, the
document type an IVA condition needs, lengths, emails) is `customers.rules`' judgement, the
same the form and the CSV import get: the request becomes the form's text (`CustomerFields`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from flask_babel import gettext as _
from pydantic import BaseModel, Field, field_validator
from pydantic.json_schema import JsonDict, SkipJsonSchema
from pydantic_core import PydanticCustomError

from arca.codes import DOCUMENT_TYPES, RECEIVER_CONDITIONS
from arca.export_codes import country_name
from blueprints.api.schemas.common import ApiModel, CodeName, CursorQuery, Page
from blueprints.customers.models import Customer as CustomerRow
from blueprints.customers.rules import MAX_EMAILS, CustomerFields
from core.inputs import MAX_ID

# `customers.rules` names two fields as the form does; the API spells them out.
API_FIELDS = {"doc_type": "document_type", "doc_number": "document_number"}
RULES_FIELDS = {api: rules for rules, api in API_FIELDS.items()}
REQUIRED = ("document_type", "document_number", "legal_name", "iva_condition")

DOCUMENT_TYPE = (
    "ARCA document type (DocTipo): 80 CUIT, 86 CUIL, 96 DNI, 94 pasaporte, 99 «Doc. (Otro)» "
    "for an anonymous final consumer. See GET /api/v1/parameters/document-types."
)
DOCUMENT_NUMBER = (
    "With or without dashes and dots. A CUIT, CUIL or CDI must have a valid check digit; "
    "0 for «Doc. (Otro)»."
)
LEGAL_NAME = "Name or legal name, up to 200 characters."
IVA_CONDITION = (
    "Receiver IVA condition (CondicionIVAReceptorId): 1 IVA Responsable Inscripto, 4 exento, "
    "5 consumidor final, 6 monotributo… The registered ones need a CUIT. "
    "See GET /api/v1/parameters/iva-conditions."
)


def no_default(schema: JsonDict) -> None:
    # Left out means "unchanged"; null is refused, so the document shows no null default.
    schema.pop("default", None)


def api_field(rules_field: str) -> str:
    """The API's name for a field `customers.rules` reports a problem on."""
    return API_FIELDS.get(rules_field, rules_field)


class CustomerDetails(ApiModel):
    """The optional fields of a customer; null or left out: none."""

    emails: list[str] | None = Field(
        None, max_length=MAX_EMAILS, description="Where vouchers are sent (up to 5)."
    )
    address: str | None = Field(None, description="Up to 300 characters.")
    phone: str | None = Field(None, description="Up to 50 characters.")
    notes: str | None = Field(None, description="Private notes, up to 2000 characters.")
    payment_terms_days: int | None = Field(
        None, description="Days to pay, 0 (cash) to 365; null for none."
    )
    country: int | None = Field(
        None,
        description="A customer abroad: ARCA's country code (WSFEX FEXGetPARAM_DST_pais, e.g. "
        "212 Estados Unidos; not 200). Its vouchers are Factura E; its IVA condition is 9 "
        "(Cliente del Exterior) and its document its country's CUIT (document type 80, "
        "e.g. 55000002126) or 99 with number 0 and a `foreign_tax_id`. Null: a customer here.",
        examples=[212],
    )
    foreign_tax_id: str | None = Field(
        None, description="A customer abroad's tax id in its country, up to 30 characters."
    )

    def changes(self) -> dict[str, str]:
        """The fields sent, as the form's text under the rules' names (null: empty)."""
        return {
            RULES_FIELDS.get(name, name): as_text(getattr(self, name))
            for name in self.model_fields_set
        }


class CustomerCreate(CustomerDetails):
    """A new customer."""

    document_type: int = Field(description=DOCUMENT_TYPE, examples=[80])
    document_number: str = Field(description=DOCUMENT_NUMBER, examples=["30-71234567-1"])
    legal_name: str = Field(description=LEGAL_NAME, examples=["Ferretería Nueva SA"])
    iva_condition: int = Field(description=IVA_CONDITION, examples=[1])

    def fields(self) -> CustomerFields:
        """The whole form: what was not sent is empty."""
        return CustomerFields(
            **{**dict.fromkeys(CustomerFields.__dataclass_fields__, ""), **self.changes()}
        )


class CustomerChanges(CustomerDetails):
    """Some of a customer's fields; those left out keep their values."""

    document_type: int | SkipJsonSchema[None] = Field(
        None, description=DOCUMENT_TYPE, examples=[80], json_schema_extra=no_default
    )
    document_number: str | SkipJsonSchema[None] = Field(
        None, description=DOCUMENT_NUMBER, json_schema_extra=no_default
    )
    legal_name: str | SkipJsonSchema[None] = Field(
        None, description=LEGAL_NAME, json_schema_extra=no_default
    )
    iva_condition: int | SkipJsonSchema[None] = Field(
        None, description=IVA_CONDITION, examples=[1], json_schema_extra=no_default
    )

    @field_validator(*REQUIRED, mode="before")
    @classmethod
    def not_null(cls, value: Any) -> Any:
        # Runs only for a value sent: null cannot clear what every customer has.
        if value is None:
            raise PydanticCustomError("required", _("Completá este dato."))
        return value


def as_text(value: object) -> str:
    """A typed value as the form would have sent it."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


class CustomerListQuery(CursorQuery):
    q: str = Field(
        "",
        max_length=200,
        description="Words in the name, the document (with or without dashes) or an email, "
        "as in the customers page's search box.",
    )
    status: Literal["active", "archived", "all"] = Field(
        "active", description="Archived customers are left out unless asked for."
    )
    sort: Literal["name", "document", "newest"] = Field(
        "name", description="The order (ties broken by id); a cursor only works in its own."
    )


class CustomerPath(BaseModel):
    customer_id: int = Field(ge=1, le=MAX_ID)


class Customer(BaseModel):
    """A customer of the organization."""

    id: int
    document_type: CodeName
    document_number: str = Field(description="Normalized: only digits for numeric documents.")
    legal_name: str
    iva_condition: CodeName
    emails: list[str]
    address: str | None
    phone: str | None
    notes: str | None
    payment_terms_days: int | None
    country: CodeName | None = Field(description="Abroad: ARCA's country code; null: here.")
    foreign_tax_id: str | None
    archived: bool
    archived_at: dt.datetime | None
    erased_at: dt.datetime | None = Field(
        None, description="When the customer's data was erased on request (Ley 25.326)."
    )
    created_at: dt.datetime
    updated_at: dt.datetime


class CustomerPage(Page[Customer]):
    """A page of customers."""


Labels = tuple[Mapping[int, str], Mapping[int, str]]
"""ARCA's names of document types and receiver IVA conditions (`document_types()`,
`receiver_conditions()`), read once per request."""


def customer_of(row: CustomerRow, labels: Labels) -> Customer:
    document_types, conditions = labels
    return Customer(
        id=row.id,
        document_type=code_name(row.doc_type, document_types, DOCUMENT_TYPES),
        document_number=row.doc_number,
        legal_name=row.legal_name,
        iva_condition=code_name(row.iva_condition, conditions, condition_names()),
        emails=row.email_list,
        address=row.address,
        phone=row.phone,
        notes=row.notes,
        payment_terms_days=row.payment_terms_days,
        country=None if row.country is None else country_of(row.country),
        foreign_tax_id=row.foreign_tax_id,
        archived=row.archived,
        archived_at=row.archived_at,
        erased_at=row.erased_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def code_name(code: int, current: Mapping[int, str], known: Mapping[int, str]) -> CodeName:
    # A code no longer in force keeps the name ARCA gave it.
    return CodeName(code=code, name=current.get(code) or known.get(code) or str(code))


def country_of(code: int) -> CodeName:
    return CodeName(code=code, name=country_name(code))


def condition_names() -> dict[int, str]:
    return {code: condition.description for code, condition in RECEIVER_CONDITIONS.items()}
