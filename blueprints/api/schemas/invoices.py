"""Invoices in the API: the editor's fields, typed, and the voucher as a client reads it.

The models only shape the data (numbers as decimal strings with "." for decimals; dates ISO
8601). Whether a draft can be saved is the editor's judgement (`invoices.forms`' checks on
values, then `services.save_draft` and `totals`), the same for a page and for the API.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from arca.codes import (
    DOCUMENT_TYPES,
    RECEIVER_CONDITIONS,
    TAX_TYPES,
    VAT_RATES,
    VOUCHER_TYPES,
    VoucherKind,
)
from arca.export_codes import ARGENTINA, export_codes
from blueprints.api.schemas.common import ApiModel, CodeName, CursorQuery, Money, Page
from blueprints.api.schemas.customers import RULES_FIELDS, CustomerDetails, as_text
from blueprints.customers.rules import CustomerFields
from blueprints.invoices.bulk import BulkProgress
from blueprints.invoices.forms import MAX_LINES
from blueprints.invoices.models import Invoice as InvoiceRow
from blueprints.invoices.models import InvoiceLine as InvoiceLineRow
from blueprints.invoices.models import InvoiceStatus
from blueprints.invoices.totals import Problem as PreflightProblemRow
from core.inputs import MAX_ID, has_unsafe_characters

# Up to 20 digits on each side: the columns' limits (and their messages) are the editor's.
DECIMAL_PATTERN = r"^-?[0-9]{1,20}(\.[0-9]{1,20})?$"
_DECIMAL = re.compile(DECIMAL_PATTERN, re.ASCII)
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", re.ASCII)
MAX_BATCH = 5000


def _parse_decimal(value: Any) -> Decimal:
    """A decimal string ("1500.50", "-2", "0.125") or a JSON integer; never a float (a JSON
    number with decimals has already been rounded by most clients)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str) and _DECIMAL.match(value):
        return Decimal(value)
    shown = value if isinstance(value, str) else repr(value)
    raise ValueError(
        _(
            "No entendimos «%(text)s»: escribí el número como texto, con punto decimal y sin "
            'separador de miles, por ejemplo "1500.50".',
            text=str(shown)[:40],
        )
    )


def _iso_date(value: Any) -> Any:
    """Only "YYYY-MM-DD" (pydantic alone would also take a number of seconds since 1970)."""
    if isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise ValueError(_("Tiene que ser una fecha AAAA-MM-DD."))


def _safe_text(value: str) -> str:
    if has_unsafe_characters(value):
        raise ValueError(_("Tiene caracteres de control o invisibles que no se pueden guardar."))
    return value


Number = Annotated[
    Decimal,
    BeforeValidator(_parse_decimal),
    PlainSerializer(lambda value: format(value, "f"), return_type=str),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": DECIMAL_PATTERN}, {"type": "integer"}],
            "examples": ["1500.50"],
        }
    ),
]
Text = Annotated[str, AfterValidator(_safe_text)]
Day = Annotated[dt.date, BeforeValidator(_iso_date)]
# In bodies, JSON's own types only: no "5" for 5, no 0 for false.
Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
Code = Annotated[StrictInt, Field(ge=0, le=MAX_ID)]
VatCode = StrictInt | Literal["exempt", "untaxed"]
RETRY_AFTER_SECONDS = 1  # how soon to ask again while ARCA is being asked

VAT_DESCRIPTION = (
    "ARCA's VAT rate id (Id of AlicIva): 3 0 %, 4 10.5 %, 5 21 %, 6 27 %, 8 5 %, 9 2.5 %; or "
    '"exempt" or "untaxed". Default 5. Ignored on class C vouchers.'
)


class LineIn(ApiModel):
    """A line as the editor takes it."""

    description: Text = Field(max_length=1000, description="Up to 300 characters.")
    quantity: Number = Field(description="Up to 6 decimals; not 0.", examples=["2"])
    unit_price: Number = Field(
        description="Up to 4 decimals; with or without VAT as `prices_include_vat` says.",
        examples=["12100.00"],
    )
    discount_percent: Number = Field(Decimal(0), description="0 to 100, up to 2 decimals.")
    vat: VatCode = Field(5, description=VAT_DESCRIPTION)


class InlineCustomer(CustomerDetails):
    """The receiver by document: the organization's customer with it, else a new customer made
    from these fields (then `legal_name` and `iva_condition` are required, as on the customer
    form). Document type 99 with number 0 is an anonymous final consumer."""

    document_type: Code = Field(description="ARCA document type: 80 CUIT, 96 DNI, 99 Otro.")
    document_number: Text = Field(max_length=40, examples=["30-71234567-1"])
    legal_name: Text | None = Field(None, max_length=1000)
    iva_condition: Code | None = Field(
        None, description="Receiver IVA condition: 1 RI, 4 exento, 5 consumidor final, 6 mono."
    )

    def fields(self) -> CustomerFields:
        """The customer form's text (what was not sent is empty)."""
        sent = {
            RULES_FIELDS.get(name, name): as_text(getattr(self, name))
            for name in type(self).model_fields
        }
        return CustomerFields(**sent)


MAX_PERMITS = 50
COUNTRY_DESCRIPTION = (
    "ARCA's destination-country code (WSFEX FEXGetPARAM_DST_pais): 212 Estados Unidos, "
    "203 Brasil… Not 200 (Argentina)."
)


def country_code(value: int) -> int:
    """A WSFEX country code other than Argentina's (ValueError with the reason otherwise)."""
    if value == ARGENTINA:
        raise ValueError(_("Una exportación no tiene como destino la Argentina (200)."))
    if value not in export_codes().countries:
        raise ValueError(_("No es un código de país de ARCA (FEXGetPARAM_DST_pais)."))
    return value


Country = Annotated[StrictInt, Field(ge=1, le=MAX_ID), AfterValidator(country_code)]


# `Text` whose length is checked as a string's (a Field limit on an Annotated type would be
# reported as a list's, "elementos", not "caracteres").
PermitId = Annotated[
    str, StringConstraints(min_length=1, max_length=16), AfterValidator(_safe_text)
]
Incoterms = Annotated[str, StringConstraints(max_length=3), AfterValidator(_safe_text)]
IncotermsDetail = Annotated[str, StringConstraints(max_length=20), AfterValidator(_safe_text)]
PaymentTerms = Annotated[str, StringConstraints(max_length=50), AfterValidator(_safe_text)]
TaxId = Annotated[str, StringConstraints(max_length=30), AfterValidator(_safe_text)]


class PermitIn(ApiModel):
    """A customs shipping permit of exported goods (WSFEX `Permiso`)."""

    permit_id: PermitId = Field(description="16 characters.")
    destination_country: Country = Field(description=COUNTRY_DESCRIPTION, examples=[212])


class ExportIn(ApiModel):
    """A Factura E's export data (the receiver is a customer abroad: one with a `country`).
    On an update, the fields sent replace the draft's and the rest keep their values."""

    destination_country: Country | None = Field(
        None, description=COUNTRY_DESCRIPTION + " Default: the customer's country.", examples=[212]
    )
    language: Literal[1, 2, 3] = Field(
        1, description="The voucher's language (Idioma_cbte): 1 Spanish, 2 English, 3 Portuguese."
    )
    incoterms: Incoterms | None = Field(
        None, description='Goods only: "FOB", "CIF", "EXW"… (FEXGetPARAM_Incoterms).'
    )
    incoterms_detail: IncotermsDetail | None = None
    payment_terms: PaymentTerms | None = Field(
        None, description="How it is paid (Forma_pago), printed."
    )
    receiver_tax_id: TaxId | None = Field(
        None, description="The receiver's tax id abroad; default the customer's."
    )
    permit_existing: StrictBool | None = Field(
        None, description="Goods only: whether there is a shipping permit (Permiso_existente)."
    )
    permits: list[PermitIn] = Field(default_factory=list, max_length=MAX_PERMITS)

    @field_validator("incoterms")
    @classmethod
    def known_incoterms(cls, value: str | None) -> str | None:
        if value is not None and value not in export_codes().incoterms:
            known = ", ".join(sorted(export_codes().incoterms))
            raise ValueError(_("Incoterms posibles: %(known)s.", known=known))
        return value


class DraftFields(ApiModel):
    """The header and lines of a draft; every field optional (see the operations)."""

    point_of_sale: StrictInt | None = Field(
        None, ge=1, le=99999, description="ARCA's point of sale number (or `point_of_sale_id`)."
    )
    point_of_sale_id: Id | None = None
    customer_id: Id | None = Field(
        None, description="The receiver; null: an anonymous final consumer."
    )
    customer: InlineCustomer | None = Field(None, description="The receiver by document.")
    kind: VoucherKind | None = Field(
        None,
        description="Fixed when the draft is created (default invoice); a note needs "
        "`associated_invoice_id` (or use POST /invoices/{id}/credit-notes).",
    )
    associated_invoice_id: Id | None = None
    concept: Literal[1, 2, 3] | None = Field(
        None, description="1 products (default), 2 services, 3 products and services."
    )
    issue_date: Day | None = Field(None, description="Default: today in Argentina.")
    service_from: Day | None = Field(None, description="Services (concept 2, 3) only.")
    service_to: Day | None = None
    payment_due: Day | None = None
    currency: str | None = Field(
        None, max_length=3, description='ARCA currency id: "PES" (default), "DOL", "060".'
    )
    currency_rate: Number | None = Field(None, description="Pesos per unit; 1 in pesos.")
    same_currency_payment: StrictBool | None = None
    prices_include_vat: StrictBool | None = Field(
        None, description="Unit prices include VAT (default false)."
    )
    notes: Text | None = Field(None, max_length=5000, description="Printed on the voucher.")
    fce: StrictBool | None = Field(
        None,
        description="Issue it as a Factura de Crédito Electrónica MiPyME (201/206/211, with the "
        "organization's CBU; `payment_due` required): the preflight's `fce` says when ARCA "
        "requires it. Invoices only; a note follows its original.",
    )
    fce_cancels_rejected: StrictBool | None = Field(
        None, description="FCE notes: it cancels an FCE the buyer rejected (optional 22)."
    )
    export: ExportIn | None = Field(
        None,
        description="Factura E (19/20/21): the export data. A customer abroad (with a "
        "`country`) makes the voucher an E; null clears it back to the customer's defaults.",
    )
    lines: list[LineIn] | None = Field(None, max_length=MAX_LINES)

    @model_validator(mode="after")
    def one_way_each(self) -> DraftFields:
        """The point of sale by number or by id, the receiver by id or by document: not both."""
        for first, second in (("point_of_sale", "point_of_sale_id"), ("customer_id", "customer")):
            if {first, second} <= self.model_fields_set:
                raise ValueError(
                    _("Enviá %(first)s o %(second)s, no los dos.", first=first, second=second)
                )
        return self


class InvoiceCreate(DraftFields):
    """A new draft. Give the point of sale and the lines; the receiver by `customer_id`, by
    document (`customer`) or none (an anonymous final consumer)."""

    lines: list[LineIn] = Field(max_length=MAX_LINES)


class InvoiceChanges(DraftFields):
    """Some of a draft's fields; those left out keep their values. `lines`, when sent,
    replace all the lines. The kind and the associated invoice never change."""


class NoteCreate(ApiModel):
    """A credit or debit note on an authorized invoice: its lines copied, or `lines` instead
    (a partial note)."""

    lines: list[LineIn] | None = Field(None, max_length=MAX_LINES)

    @model_validator(mode="before")
    @classmethod
    def no_body(cls, data: Any) -> Any:
        return {} if data is None else data  # no body at all: every line copied


class InvoicePath(BaseModel):
    invoice_id: int = Field(ge=1, le=MAX_ID)


class WaitQuery(BaseModel):
    wait: int = Field(
        0,
        ge=0,
        le=30,
        description="Seconds to wait for the final state (authorized or rejected) before "
        "answering; 0 answers at once with 202.",
    )


class InvoiceListQuery(CursorQuery):
    """The invoice list's filters (the invoices page's)."""

    status: InvoiceStatus | None = None
    date_from: Day | None = Field(None, description="Issue date from (inclusive).")
    date_to: Day | None = Field(None, description="Issue date to (inclusive).")
    customer_id: int | None = Field(None, ge=1, le=MAX_ID)
    type: int | None = Field(None, ge=1, le=999, description="ARCA voucher type code.")
    point_of_sale: int | None = Field(None, ge=1, le=99999)
    amount_min: Money | None = Field(None, description="Total from.")
    amount_max: Money | None = Field(None, description="Total up to.")
    q: Text | None = Field(
        None,
        max_length=100,
        description='Voucher number ("00001-00000023" or "23"), receiver name or document.',
    )


class BatchCreate(ApiModel):
    """Drafts to authorize together; those the preflight refuses are left out (`skipped`)."""

    invoice_ids: list[Id] = Field(min_length=1, max_length=MAX_BATCH)


class BatchPath(BaseModel):
    key: str = Field(max_length=64)


# --- responses ---------------------------------------------------------------------------------


class ArcaMessage(BaseModel):
    """An observation or error, ARCA's (with its code) or Talonario's (code null)."""

    code: int | None
    text: str


class Receiver(BaseModel):
    customer_id: int | None
    name: str
    document_type: CodeName
    document_number: str
    iva_condition: CodeName
    address: str | None


class LineOut(BaseModel):
    position: int
    description: str
    quantity: Money
    unit_price: Money
    discount_percent: Money
    vat: CodeName = Field(description="code: the VAT rate id, or 0 for exempt/untaxed.")
    vat_treatment: str = Field(description='"taxed", "exempt" or "untaxed".')
    net: Money
    vat_amount: Money
    total: Money


class VatRow(BaseModel):
    rate: CodeName
    base: Money
    amount: Money


class TaxRow(BaseModel):
    tax: CodeName
    description: str
    base: Money
    rate: Money
    amount: Money


class Totals(BaseModel):
    untaxed: Money
    net: Money
    exempt: Money
    vat: Money
    other_taxes: Money
    total: Money


class AssociatedInvoice(BaseModel):
    id: int
    type: CodeName
    point_of_sale: int
    number: int | None


class InvoiceLinks(BaseModel):
    self: str
    status: str
    pdf: str


class Fce(BaseModel):
    """An FCE MiPyME's own data, as sent to ARCA (the invoice's `payment_due` is FchVtoPago)."""

    cbu: str | None = Field(description="The issuer's CBU (optional 2101); invoices only.")
    alias: str | None = Field(description="The CBU's alias (optional 2102).")
    transfer: str | None = Field(
        description='Invoices: "SCA" (Sistema de Circulación Abierta) or "ADC" (Agente de '
        "Depósito Colectivo), optional 27."
    )
    cancels_rejected: bool | None = Field(
        description="Notes: it cancels an FCE the buyer rejected (optional 22)."
    )


class Permit(BaseModel):
    permit_id: str
    destination_country: CodeName


class Export(BaseModel):
    """A Factura E's export data, as sent to WSFEXv1."""

    export_type: CodeName | None = Field(
        description="Tipo_expo, from the concept: 1 goods, 2 services, 4 other."
    )
    destination_country: CodeName | None
    language: CodeName | None
    receiver_country_cuit: str | None = Field(
        description="ARCA's CUIT for the receiver's country (Cuit_pais_cliente)."
    )
    receiver_tax_id: str | None = Field(description="The receiver's tax id abroad.")
    incoterms: str | None
    incoterms_detail: str | None
    payment_terms: str | None
    permit_existing: bool | None
    permits: list[Permit]


class Invoice(BaseModel):
    """A voucher (invoice, credit or debit note) from draft to CAE."""

    id: int
    kind: VoucherKind
    type: CodeName = Field(description="ARCA voucher type (CbteTipo): 6 Factura B…")
    letter: str
    point_of_sale: int
    point_of_sale_id: int
    number: int | None
    status: InvoiceStatus
    concept: CodeName
    issue_date: dt.date
    service_from: dt.date | None
    service_to: dt.date | None
    payment_due: dt.date | None
    currency: str
    currency_rate: Money
    same_currency_payment: bool
    prices_include_vat: bool
    receiver: Receiver
    lines: list[LineOut]
    vat: list[VatRow]
    other_taxes: list[TaxRow]
    totals: Totals
    cae: str | None
    cae_due: dt.date | None
    authorized_at: dt.datetime | None
    associated_invoice: AssociatedInvoice | None
    fce: Fce | None = Field(description="FCE MiPyME vouchers (201-213) only.")
    export: Export | None = Field(description="Factura E and its notes (19-21) only.")
    observations: list[ArcaMessage]
    errors: list[ArcaMessage]
    notes: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    links: InvoiceLinks


class InvoicePage(Page[Invoice]):
    """A page of invoices, newest first (issue date, then id)."""


class AuthorizationStatus(BaseModel):
    """Where the authorization stands."""

    id: int
    status: InvoiceStatus
    queued: bool = Field(
        description="The authorization request is open: queued, running, or waiting to be "
        "retried by itself (ARCA unreachable, another voucher of its sequence unconfirmed); "
        "`errors` then says what it waits for and when it tries again."
    )
    settled: bool = Field(description="Nothing more will happen without a new request.")
    retry_after: int | None = Field(description="Seconds to wait before asking again.")
    number: int | None
    cae: str | None
    cae_due: dt.date | None
    observations: list[ArcaMessage]
    errors: list[ArcaMessage]
    links: InvoiceLinks


class PreflightIssue(BaseModel):
    """A reason ARCA would refuse the voucher. (In a 422 problem from authorize, `errors`
    holds these.)"""

    field: str
    message: str
    code: int | None = Field(None, description="The ARCA error it would cost; null: ours.")


class FceOffer(BaseModel):
    """What ARCA's wsfecred says of the receiver (consultarMontoObligadoRecepcion)."""

    required: bool = Field(
        description="This invoice must be an FCE MiPyME (send `fce: true`): the receiver is "
        "obligated and the total, in pesos, reaches the threshold."
    )
    threshold: Money | None = Field(
        description="Pesos from which the receiver must get FCE; null: ARCA gave none."
    )
    chosen: bool = Field(description="The draft is already an FCE.")


class Preflight(BaseModel):
    """«Would ARCA accept it?»: every problem at once, nothing sent."""

    ok: bool
    problems: list[PreflightIssue]
    warnings: list[PreflightIssue] = Field(
        default_factory=list,
        description="Worth a look, never blocking: e.g. the receiver's IVA condition differs "
        "from ARCA's padrón (as last looked up, within a day).",
    )
    type: CodeName
    totals: Totals
    fce: FceOffer | None = Field(
        None,
        description="For an invoice of class A, B or C to a CUIT, what ARCA says of FCE "
        "MiPyME for it; null for other vouchers, or when ARCA could not be asked.",
    )


class Rejection(BaseModel):
    id: int
    receiver: str
    reasons: list[str]


class Blocker(BaseModel):
    id: int
    name: str = Field(description='The unsettled voucher, e.g. "Factura B 00001-00000001".')


class WaitingDraft(Rejection):
    waiting_for: list[Blocker] = Field(
        description="The unsettled vouchers of its sequence it waits for."
    )


class SkippedDraft(BaseModel):
    id: int
    type: CodeName
    point_of_sale: int
    receiver: str
    problems: list[str]


class Batch(BaseModel):
    """A bulk authorization: its progress while it runs, its outcome once finished."""

    key: str
    total: int = Field(description="Drafts sent to ARCA (the skipped ones not counted).")
    done: int
    authorized: int
    percent: int
    finished: bool
    failure: str | None
    rejected: list[Rejection] = Field(description="Refused by ARCA, with its reasons.")
    waiting: list[WaitingDraft] = Field(
        description="Not sent yet, retried automatically: another voucher of its sequence is "
        "unsettled (`waiting_for`), or ARCA failed (`reasons`)."
    )
    retry_at: dt.datetime | None = Field(
        description="When the waiting drafts are tried again (while `finished` is false)."
    )
    unsettled: list[Rejection] = Field(
        description="Sent, ARCA has not said whether it got it: settled by a query, never resent."
    )
    not_sent: list[Rejection] = Field(
        description="Not sent, with why (no certificate, retries given up): it can be sent again."
    )
    skipped: list[SkippedDraft] = Field(description="Left out by the preflight, with why.")
    links: dict[str, str]


# --- from the app's objects --------------------------------------------------------------------

CONCEPTS = {1: "Productos", 2: "Servicios", 3: "Productos y Servicios"}
VAT_TREATMENTS = {"exempt": "Exento", "untaxed": "No gravado"}


def code_name(code: int, names: Mapping[int, object]) -> CodeName:
    """`code` with its ARCA name (the code itself for one ARCA's table lacks)."""
    name = names.get(code)
    return CodeName(code=code, name=str(getattr(name, "description", name) or code))


def voucher_type(code: int) -> CodeName:
    return code_name(code, VOUCHER_TYPES)


def vat_rate(rate_id: int) -> CodeName:
    rate = VAT_RATES.get(rate_id)
    return CodeName(code=rate_id, name=f"{rate.normalize():f}%" if rate is not None else "")


def messages_of(items: list[dict[str, Any]]) -> list[ArcaMessage]:
    return [ArcaMessage(code=item.get("code"), text=str(item.get("text", ""))) for item in items]


def totals_of(invoice: InvoiceRow) -> Totals:
    return Totals(
        untaxed=invoice.untaxed,
        net=invoice.net,
        exempt=invoice.exempt,
        vat=invoice.vat_total,
        other_taxes=invoice.other_taxes_total,
        total=invoice.total,
    )


def line_of(line: InvoiceLineRow) -> LineOut:
    taxed = line.vat not in VAT_TREATMENTS
    return LineOut(
        position=line.position,
        description=line.description,
        quantity=line.quantity.normalize(),
        unit_price=line.unit_price,
        discount_percent=line.discount_percent,
        vat=vat_rate(int(line.vat)) if taxed else CodeName(code=0, name=VAT_TREATMENTS[line.vat]),
        vat_treatment="taxed" if taxed else line.vat,
        net=line.net,
        vat_amount=line.vat_amount,
        total=line.total,
    )


def receiver_of(invoice: InvoiceRow) -> Receiver:
    return Receiver(
        customer_id=invoice.customer_id,
        name=invoice.receiver_name,
        document_type=code_name(invoice.receiver_doc_type, DOCUMENT_TYPES),
        document_number=invoice.receiver_doc_number,
        iva_condition=code_name(invoice.receiver_condition, RECEIVER_CONDITIONS),
        address=invoice.receiver_address,
    )


def associated_of(original: InvoiceRow | None) -> AssociatedInvoice | None:
    if original is None:
        return None
    return AssociatedInvoice(
        id=original.id,
        type=voucher_type(original.invoice_type),
        point_of_sale=original.point_of_sale_number,
        number=original.number,
    )


def invoice_of(invoice: InvoiceRow, links: InvoiceLinks) -> Invoice:
    return Invoice(
        id=invoice.id,
        kind=VoucherKind(invoice.kind),
        type=voucher_type(invoice.invoice_type),
        letter=invoice.letter,
        point_of_sale=invoice.point_of_sale_number,
        point_of_sale_id=invoice.point_of_sale_id,
        number=invoice.number,
        status=InvoiceStatus(invoice.status),
        concept=code_name(invoice.concept, CONCEPTS),
        issue_date=invoice.issue_date,
        service_from=invoice.service_from,
        service_to=invoice.service_to,
        payment_due=invoice.payment_due,
        currency=invoice.currency,
        currency_rate=invoice.currency_rate.normalize(),
        same_currency_payment=invoice.same_currency_payment,
        prices_include_vat=invoice.prices_include_vat,
        receiver=receiver_of(invoice),
        lines=[line_of(line) for line in invoice.lines],
        vat=[
            VatRow(rate=vat_rate(r.rate_id), base=r.base, amount=r.amount) for r in invoice.vat_rows
        ],
        other_taxes=[
            TaxRow(
                tax=code_name(t.tax_id, TAX_TYPES),
                description=t.description,
                base=t.base,
                rate=t.rate.normalize(),
                amount=t.amount,
            )
            for t in invoice.tax_rows
        ],
        totals=totals_of(invoice),
        cae=invoice.cae,
        cae_due=invoice.cae_due,
        authorized_at=invoice.authorized_at,
        associated_invoice=associated_of(invoice.associated_invoice),
        fce=fce_of(invoice),
        export=export_of(invoice),
        observations=messages_of(invoice.observations),
        errors=messages_of(invoice.errors),
        notes=invoice.notes,
        created_at=invoice.created_at,
        updated_at=invoice.updated_at,
        links=links,
    )


def fce_of(invoice: InvoiceRow) -> Fce | None:
    if not invoice.is_fce:
        return None
    return Fce(
        cbu=invoice.fce_cbu,
        alias=invoice.fce_alias,
        transfer=invoice.fce_transfer,
        cancels_rejected=invoice.fce_cancels_rejected,
    )


def export_of(invoice: InvoiceRow) -> Export | None:
    if not invoice.is_export:
        return None
    codes = export_codes()
    return Export(
        export_type=optional_code(invoice.export_type, codes.export_types),
        destination_country=optional_code(invoice.destination_country, codes.countries),
        language=optional_code(invoice.language, codes.languages),
        receiver_country_cuit=invoice.receiver_country_cuit,
        receiver_tax_id=invoice.receiver_tax_id,
        incoterms=invoice.incoterms,
        incoterms_detail=invoice.incoterms_detail,
        payment_terms=invoice.export_payment_terms,
        permit_existing=invoice.permit_existing,
        permits=[
            Permit(
                permit_id=str(permit["permit_id"]),
                destination_country=code_name(int(permit["destination_country"]), codes.countries),
            )
            for permit in invoice.permits
        ],
    )


def optional_code(code: int | None, names: Mapping[int, object]) -> CodeName | None:
    return None if code is None else code_name(code, names)


def status_of(
    invoice: InvoiceRow, queued: bool, settled: bool, links: InvoiceLinks
) -> AuthorizationStatus:
    return AuthorizationStatus(
        id=invoice.id,
        status=InvoiceStatus(invoice.status),
        queued=queued,
        settled=settled,
        retry_after=None if settled else RETRY_AFTER_SECONDS,
        number=invoice.number,
        cae=invoice.cae,
        cae_due=invoice.cae_due,
        observations=messages_of(invoice.observations),
        errors=messages_of(invoice.errors),
        links=links,
    )


def preflight_of(
    invoice: InvoiceRow,
    problems: list[PreflightProblemRow],
    warnings: list[PreflightProblemRow] | None = None,
    fce: FceOffer | None = None,
) -> Preflight:
    return Preflight(
        ok=not problems,
        problems=[issue_of(p) for p in problems],
        warnings=[issue_of(w) for w in warnings or []],
        type=voucher_type(invoice.invoice_type),
        totals=totals_of(invoice),
        fce=fce,
    )


def issue_of(problem: PreflightProblemRow) -> PreflightIssue:
    return PreflightIssue(
        field=request_field(problem.field), message=problem.message, code=problem.code
    )


def batch_of(key: str, progress: BulkProgress, links: dict[str, str]) -> Batch:
    return Batch(
        key=key,
        total=progress.total,
        done=progress.done,
        authorized=progress.authorized,
        percent=progress.percent,
        finished=progress.finished,
        failure=progress.failure,
        rejected=[Rejection(**r) for r in progress.rejected],
        waiting=[WaitingDraft(**w) for w in progress.waiting],
        retry_at=dt.datetime.fromisoformat(progress.retry_at) if progress.retry_at else None,
        unsettled=[Rejection(**u) for u in progress.unsettled],
        not_sent=[Rejection(**n) for n in progress.not_sent],
        skipped=[
            SkippedDraft(
                id=s["id"],
                type=voucher_type(s["invoice_type"]),
                point_of_sale=s["point_of_sale"],
                receiver=s["receiver"],
                problems=s["problems"],
            )
            for s in progress.skipped
        ],
        links=links,
    )


# The editor's field names (`invoices.forms`, `totals`, `services`) as the request names them.
EDITOR_FIELDS = {
    "point_of_sale_id": "point_of_sale",
    "customer_label": "customer_id",
    "totals": "lines",
}


def request_field(editor_field: str) -> str:
    """ "lines-0-quantity" → "lines.0.quantity"; the editor's other names as the API's."""
    if editor_field.startswith("lines-"):
        return editor_field.replace("-", ".")
    return EDITOR_FIELDS.get(editor_field, editor_field)
