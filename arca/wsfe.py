"""WSFEv1: authorise vouchers (CAE), look them up, and read ARCA's parameter tables.

The only module that knows WSFEv1's Spanish element names. Callers pass and receive frozen
dataclasses with English names, `Decimal` money and `datetime.date` dates; conversion to ARCA's
`yyyymmdd` strings and 2-decimal amounts happens here, at the boundary.

Outcomes, by kind (see `arca.errors`):

* Read-only calls (`dummy`, `last_authorized`, `consult`, `max_batch_size`, parameters) return
  data or raise: `ArcaRejected`/`AuthenticationRejected` for `Errors/Err` in an HTTP 200 answer,
  `SoapFault` when ARCA refused the message itself, `ServiceUnavailable` for any transport
  failure (they change nothing, so retrying is always safe).
* `authorize` (FECAESolicitar) returns a `CaeResponse` whenever ARCA answered, approved or not:
  a rejection, request-level errors included (even 600), is a normal outcome to be stored.
  It raises `ServiceUnavailable` or `SoapFault` only when the request certainly did not take
  effect, and `OutcomeUnknown` whenever it may have. It is never retried here.
* `caea_inform` (FECAEARegInformativo, contingency: see `arca.caea`) follows `authorize`'s
  contract; the other CAEA calls are read-only in that sense (ARCA answers them idempotently).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal, cast

import requests
from lxml import etree
from zeep.exceptions import Error as ZeepError
from zeep.wsdl.utils import etree_to_string

from arca.environments import Environment
from arca.errors import (
    Message,
    OutcomeUnknown,
    ServiceUnavailable,
    rejection_for,
)
from arca.transport import (
    SOAP11_ENVELOPE,
    SoapAnswer,
    Timeouts,
    build_client,
    post_operation,
)
from arca.wsdl import WSFE_BINDING, WSFE_NAMESPACE, WSFE_WSDL

if TYPE_CHECKING:
    from arca.caea import Caea, NoMovementReport

logger = logging.getLogger(__name__)

NS = f"{{{WSFE_NAMESPACE}}}"
ARGENTINA = dt.timezone(dt.timedelta(hours=-3))
NO_DATA = 602  # "Sin resultados": FECompConsultar on a number ARCA never authorised
REDACTED = "[redacted]"

CENT = Decimal("0.01")
RATE_QUANTUM = Decimal("0.000001")

AuthProvider = Callable[[], tuple[str, str, str]]
"""Returns (token, sign, cuit) for the next call; called once per call that needs `Auth`."""


# --- Request dataclasses --------------------------------------------------------------------------


@dataclass(frozen=True)
class VatAmount:
    """One `AlicIva`: a VAT rate id (see `arca.codes.VAT_RATES`), its taxed base and the VAT."""

    rate_id: int
    base: Decimal
    amount: Decimal


@dataclass(frozen=True)
class TaxAmount:
    """One `Tributo` (other taxes: perceptions, internal taxes…); `description` required for 99."""

    tax_id: int
    base: Decimal
    rate: Decimal
    amount: Decimal
    description: str = ""


@dataclass(frozen=True)
class AssociatedVoucher:
    """One `CbteAsoc`: the voucher a credit or debit note refers to."""

    invoice_type: int
    point_of_sale: int
    number: int
    cuit: str | None = None
    date: dt.date | None = None


@dataclass(frozen=True)
class OptionalValue:
    """One `Opcional`: additional data some regimes require (FCE, rentals…), strings both."""

    optional_id: str
    value: str


@dataclass(frozen=True)
class Buyer:
    """One `Comprador`, for vouchers with several buyers (products only)."""

    doc_type: int
    doc_number: int
    percentage: Decimal


@dataclass(frozen=True)
class VoucherDetail:
    """One voucher (`FECAEDetRequest`), or a range of class B vouchers (number_from..number_to).

    Money is `Decimal` with at most 2 decimals (ARCA rejects more with 10056; nothing is rounded
    here), `currency_rate` at most 6. `same_currency_quantity` is `CanMisMonExt` (True = "S":
    paid in that same foreign currency; None = omitted, as PES requires). `untaxed` is
    `ImpTotConc` (no gravado), `exempt` is `ImpOpEx`, `other_taxes_total` is `ImpTrib`.
    `receiver_iva_condition` is `CondicionIVAReceptorId`: send it always (RG 5616).
    """

    concept: int
    doc_type: int
    doc_number: int
    number_from: int
    number_to: int
    date: dt.date | None
    total: Decimal
    untaxed: Decimal
    net: Decimal
    exempt: Decimal
    vat_total: Decimal
    other_taxes_total: Decimal
    service_from: dt.date | None = None
    service_to: dt.date | None = None
    payment_due: dt.date | None = None
    currency: str = "PES"
    currency_rate: Decimal | None = Decimal(1)
    same_currency_quantity: bool | None = None
    receiver_iva_condition: int | None = None
    vat: list[VatAmount] = field(default_factory=list)
    taxes: list[TaxAmount] = field(default_factory=list)
    associated: list[AssociatedVoucher] = field(default_factory=list)
    optionals: list[OptionalValue] = field(default_factory=list)
    buyers: list[Buyer] = field(default_factory=list)
    period_from: dt.date | None = None
    period_to: dt.date | None = None
    activities: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class CaeRequest:
    """A FECAESolicitar: vouchers sharing point of sale and type. Prefer one per request."""

    point_of_sale: int
    invoice_type: int
    details: list[VoucherDetail]


# --- Response dataclasses -------------------------------------------------------------------------

Result = Literal["A", "R", "P"]


@dataclass(frozen=True)
class CaeDetail:
    """ARCA's verdict on one voucher: `result` "A" (with `cae` and `cae_due`) or "R"."""

    number: int
    number_to: int
    result: str
    cae: str | None
    cae_due: dt.date | None
    observations: list[Message]
    concept: int | None = None
    doc_type: int | None = None
    doc_number: int | None = None
    date: dt.date | None = None


@dataclass(frozen=True)
class CaeResponse:
    """ARCA's answer to FECAESolicitar, whatever it decided.

    `result` is "A" (all approved), "R" (rejected: reasons in `errors` and/or each detail's
    `observations`; the same code may appear in either) or "P" (partial, batches only).
    `raw_request_xml` and `raw_response_xml` are what went over the wire, with Token and Sign
    redacted: store them with the attempt.
    """

    result: Result
    details: list[CaeDetail]
    errors: list[Message]
    events: list[Message]
    raw_request_xml: str
    raw_response_xml: str
    processed_at: dt.datetime | None = None

    @property
    def approved(self) -> bool:
        return self.result == "A"

    @property
    def error_codes(self) -> list[int]:
        return [error.code for error in self.errors]

    @property
    def authentication_rejected(self) -> bool:
        """True for 600/601: nothing was processed; get a new ticket (or fix the delegation)."""
        return any(code in (600, 601) for code in self.error_codes)


@dataclass(frozen=True)
class StoredVoucher:
    """A voucher as ARCA has it recorded (FECompConsultar): what was sent and what was decided.

    `authorization_code` is the CAE (or CAEA, per `emission_type`) and `due_date` its expiry.
    Compare `detail` with what you sent before adopting the CAE (NOTES §12.1).
    """

    point_of_sale: int
    invoice_type: int
    detail: VoucherDetail
    result: str
    authorization_code: str | None
    emission_type: str
    due_date: dt.date | None
    processed_at: dt.datetime | None
    observations: list[Message]


@dataclass(frozen=True)
class ServerStatus:
    """FEDummy: the state of ARCA's application, database and authentication servers."""

    app_server: str
    db_server: str
    auth_server: str

    @property
    def ok(self) -> bool:
        return all(value == "OK" for value in (self.app_server, self.db_server, self.auth_server))


@dataclass(frozen=True)
class ParamItem:
    """A row of an FEParamGet* table. `id` is an int, except currencies and optionals (str).

    ARCA writes "no end date" as the literal `NULL`; it becomes None here.
    """

    id: int | str
    description: str
    valid_from: dt.date | None
    valid_to: dt.date | None


@dataclass(frozen=True)
class PointOfSale:
    """A point of sale the CUIT has (FEParamGetPtosVenta). Usable when not blocked nor closed."""

    number: int
    emission_type: str
    blocked: bool
    closed_on: dt.date | None


@dataclass(frozen=True)
class ReceiverIvaCondition:
    """A `CondicionIVAReceptorId` and the voucher classes (A, ALEY, B, C, 49) that accept it."""

    id: int
    description: str
    voucher_classes: tuple[str, ...]


# --- Boundary conversions -------------------------------------------------------------------------


def format_money(value: Decimal) -> str:
    """`value` with exactly 2 decimals and a dot, e.g. `121.00`.

    ARCA accepts at most 2 decimals (10056) and reads `xsd:double`; building the text from a
    Decimal avoids float artefacts such as `121.00000000000001`. Raises `ValueError` if `value`
    has more precision than that: rounding is the caller's decision, not the transport's.
    """
    return _format_fixed(value, CENT)


def format_rate(value: Decimal) -> str:
    """An exchange rate (`MonCotiz`, 4 integer + 6 decimal digits) without trailing zeros."""
    text = _format_fixed(value, RATE_QUANTUM).rstrip("0").rstrip(".")
    return text or "0"


def _format_fixed(value: Decimal, quantum: Decimal) -> str:
    try:
        quantized = Decimal(value).quantize(quantum)
    except InvalidOperation as exc:
        raise ValueError(f"not a finite amount: {value!r}") from exc
    if quantized != value:
        raise ValueError(f"{value} has more decimals than ARCA accepts ({quantum})")
    return f"{quantized:f}"


def format_date(value: dt.date) -> str:
    """ARCA's `yyyymmdd`."""
    return value.strftime("%Y%m%d")


def parse_date(value: str | None) -> dt.date | None:
    """ARCA's `yyyymmdd` as a date; empty, `NULL` (ARCA's "no date") or None give None."""
    text = (value or "").strip()
    if not text or text.upper() == "NULL":
        return None
    digits = text[:8]
    if len(digits) == 8 and digits.isascii() and digits.isdigit():
        # ARCA's usual form, read without strptime (a sixth of its cost, twice a voucher).
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    return dt.datetime.strptime(digits, "%Y%m%d").date()


def parse_timestamp(value: str | None) -> dt.datetime | None:
    """ARCA's `yyyymmddhhmmss` (Argentina time) as an aware datetime; empty gives None."""
    text = (value or "").strip()
    if not text or text.upper() == "NULL":
        return None
    if len(text) == 8:
        return dt.datetime.strptime(text, "%Y%m%d").replace(tzinfo=ARGENTINA)
    return dt.datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=ARGENTINA)


def build_detail(detail: VoucherDetail) -> dict[str, Any]:
    """`detail` as zeep's `FECAEDetRequest` value (ARCA's names; optional parts left out)."""
    data: dict[str, Any] = {
        "Concepto": detail.concept,
        "DocTipo": detail.doc_type,
        "DocNro": detail.doc_number,
        "CbteDesde": detail.number_from,
        "CbteHasta": detail.number_to,
        "CbteFch": _optional_date(detail.date),
        "ImpTotal": format_money(detail.total),
        "ImpTotConc": format_money(detail.untaxed),
        "ImpNeto": format_money(detail.net),
        "ImpOpEx": format_money(detail.exempt),
        "ImpTrib": format_money(detail.other_taxes_total),
        "ImpIVA": format_money(detail.vat_total),
        "FchServDesde": _optional_date(detail.service_from),
        "FchServHasta": _optional_date(detail.service_to),
        "FchVtoPago": _optional_date(detail.payment_due),
        "MonId": detail.currency,
        "MonCotiz": None if detail.currency_rate is None else format_rate(detail.currency_rate),
        "CanMisMonExt": _yes_no(detail.same_currency_quantity),
        "CondicionIVAReceptorId": detail.receiver_iva_condition,
    }
    if detail.associated:
        data["CbtesAsoc"] = {"CbteAsoc": [_associated(item) for item in detail.associated]}
    # Tributos and Iva must be absent, not empty, when there is nothing in them (10024, 10071).
    if detail.taxes:
        data["Tributos"] = {"Tributo": [_tax(item) for item in detail.taxes]}
    if detail.vat:
        data["Iva"] = {"AlicIva": [_vat(item) for item in detail.vat]}
    if detail.optionals:
        data["Opcionales"] = {
            "Opcional": [{"Id": item.optional_id, "Valor": item.value} for item in detail.optionals]
        }
    if detail.buyers:
        data["Compradores"] = {"Comprador": [_buyer(item) for item in detail.buyers]}
    if detail.period_from is not None or detail.period_to is not None:
        data["PeriodoAsoc"] = {
            "FchDesde": _optional_date(detail.period_from),
            "FchHasta": _optional_date(detail.period_to),
        }
    if detail.activities:
        data["Actividades"] = {"Actividad": [{"Id": item} for item in detail.activities]}
    return {key: value for key, value in data.items() if value is not None}


def build_cae_request(request: CaeRequest) -> dict[str, Any]:
    """`request` as zeep's `FeCAEReq` value. `CantReg` is always the number of details."""
    return {
        "FeCabReq": {
            "CantReg": len(request.details),
            "PtoVta": request.point_of_sale,
            "CbteTipo": request.invoice_type,
        },
        "FeDetReq": {"FECAEDetRequest": [build_detail(item) for item in request.details]},
    }


def build_cae_envelope(auth: dict[str, Any], request: CaeRequest) -> Any:
    """FECAESolicitar's whole SOAP envelope (an lxml element), `auth` as `Auth` in it.

    Built directly from `build_cae_request`'s values, whose keys are in the WSDL's sequence
    order: the same elements, prefixes and bytes zeep renders from the WSDL for the same
    arguments (a unit test holds the two equal, every optional part included), at a quarter
    of the cost (some 11 ms for a batch of 250 where zeep takes 43). Raises `ValueError` for
    a value that is neither text nor an integer (nothing is sent).
    """
    envelope = etree.Element(f"{{{SOAP11_ENVELOPE}}}Envelope", nsmap={"soap-env": SOAP11_ENVELOPE})
    body = etree.SubElement(envelope, f"{{{SOAP11_ENVELOPE}}}Body")
    operation = etree.SubElement(body, NS + "FECAESolicitar", nsmap={"ns0": WSFE_NAMESPACE})
    _append_values(operation, {"Auth": auth, "FeCAEReq": build_cae_request(request)})
    return envelope


def _append_values(parent: Any, values: dict[str, Any]) -> None:
    # A list is a repeated element; None is an absent one (as zeep leaves out minOccurs=0).
    for name, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            child = etree.SubElement(parent, NS + name)
            if isinstance(item, dict):
                _append_values(child, item)
            elif isinstance(item, str) or (isinstance(item, int) and not isinstance(item, bool)):
                child.text = str(item)
            else:
                raise ValueError(f"FECAESolicitar: {name} is not text nor an integer: {item!r}")


def _optional_date(value: dt.date | None) -> str | None:
    return None if value is None else format_date(value)


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else ("S" if value else "N")


def _associated(item: AssociatedVoucher) -> dict[str, Any]:
    data = {
        "Tipo": item.invoice_type,
        "PtoVta": item.point_of_sale,
        "Nro": item.number,
        "Cuit": item.cuit,
        "CbteFch": _optional_date(item.date),
    }
    return {key: value for key, value in data.items() if value is not None}


def _tax(item: TaxAmount) -> dict[str, Any]:
    return {
        "Id": item.tax_id,
        "Desc": item.description or None,
        "BaseImp": format_money(item.base),
        "Alic": format_money(item.rate),
        "Importe": format_money(item.amount),
    }


def _vat(item: VatAmount) -> dict[str, Any]:
    return {
        "Id": item.rate_id,
        "BaseImp": format_money(item.base),
        "Importe": format_money(item.amount),
    }


def _buyer(item: Buyer) -> dict[str, Any]:
    return {
        "DocTipo": item.doc_type,
        "DocNro": item.doc_number,
        "Porcentaje": format_money(item.percentage),
    }


# --- Response parsing -----------------------------------------------------------------------------


def _text(element: Any, name: str) -> str | None:
    # The first child so named, as findtext, without its path parsing (half the cost).
    child = next(element.iterchildren(NS + name), None) if element is not None else None
    return None if child is None else (child.text or "").strip()


def _int(element: Any, name: str, default: int | None = None) -> int:
    value = _text(element, name)
    if not value:
        if default is None:
            raise ValueError(f"missing {name}")
        return default
    return int(value)


def _decimal(element: Any, name: str) -> Decimal:
    # Read as Decimal from the text: zeep would go through float (xsd:double).
    return Decimal(_text(element, name) or "0")


def parse_messages(element: Any, container: str, item: str) -> list[Message]:
    """`Code`/`Msg` pairs under `container/item`: Errors/Err, Events/Evt, Observaciones/Obs."""
    if element is None:
        return []
    return [
        Message(code=_int(node, "Code"), text=_text(node, "Msg") or "")
        for node in element.findall(f"{NS}{container}/{NS}{item}")
    ]


def parse_detail(element: Any) -> VoucherDetail:
    """A `FECAEDetRequest`-shaped element (as inside FECompConsultar's ResultGet)."""
    currency_rate = _text(element, "MonCotiz")
    same_currency = _text(element, "CanMisMonExt")
    period = element.find(NS + "PeriodoAsoc")
    return VoucherDetail(
        concept=_int(element, "Concepto"),
        doc_type=_int(element, "DocTipo"),
        doc_number=_int(element, "DocNro"),
        number_from=_int(element, "CbteDesde"),
        number_to=_int(element, "CbteHasta"),
        date=parse_date(_text(element, "CbteFch")),
        total=_decimal(element, "ImpTotal"),
        untaxed=_decimal(element, "ImpTotConc"),
        net=_decimal(element, "ImpNeto"),
        exempt=_decimal(element, "ImpOpEx"),
        vat_total=_decimal(element, "ImpIVA"),
        other_taxes_total=_decimal(element, "ImpTrib"),
        service_from=parse_date(_text(element, "FchServDesde")),
        service_to=parse_date(_text(element, "FchServHasta")),
        payment_due=parse_date(_text(element, "FchVtoPago")),
        currency=_text(element, "MonId") or "PES",
        currency_rate=Decimal(currency_rate) if currency_rate else None,
        same_currency_quantity=None if not same_currency else same_currency.upper() == "S",
        receiver_iva_condition=_int(element, "CondicionIVAReceptorId", 0) or None,
        vat=[
            VatAmount(_int(node, "Id"), _decimal(node, "BaseImp"), _decimal(node, "Importe"))
            for node in element.findall(f"{NS}Iva/{NS}AlicIva")
        ],
        taxes=[
            TaxAmount(
                tax_id=_int(node, "Id"),
                base=_decimal(node, "BaseImp"),
                rate=_decimal(node, "Alic"),
                amount=_decimal(node, "Importe"),
                description=_text(node, "Desc") or "",
            )
            for node in element.findall(f"{NS}Tributos/{NS}Tributo")
        ],
        associated=[
            AssociatedVoucher(
                invoice_type=_int(node, "Tipo"),
                point_of_sale=_int(node, "PtoVta"),
                number=_int(node, "Nro"),
                cuit=_text(node, "Cuit") or None,
                date=parse_date(_text(node, "CbteFch")),
            )
            for node in element.findall(f"{NS}CbtesAsoc/{NS}CbteAsoc")
        ],
        optionals=[
            OptionalValue(_text(node, "Id") or "", _text(node, "Valor") or "")
            for node in element.findall(f"{NS}Opcionales/{NS}Opcional")
        ],
        buyers=[
            Buyer(_int(node, "DocTipo"), _int(node, "DocNro"), _decimal(node, "Porcentaje"))
            for node in element.findall(f"{NS}Compradores/{NS}Comprador")
        ],
        period_from=parse_date(_text(period, "FchDesde")) if period is not None else None,
        period_to=parse_date(_text(period, "FchHasta")) if period is not None else None,
        activities=[_int(node, "Id") for node in element.findall(f"{NS}Actividades/{NS}Actividad")],
    )


def parse_cae_result(
    result: Any,
    raw_request_xml: str,
    raw_response_xml: str,
    operation: str = "FECAESolicitar",
    code: str = "CAE",
) -> CaeResponse:
    """A `FECAESolicitarResult` element as a `CaeResponse` (or, with `operation`
    "FECAEARegInformativo" and `code` "CAEA", its result: each detail's `cae` then holds the
    CAEA ARCA echoed and `cae_due` is None).

    Raises `ValueError` when it carries no usable `Resultado` and no errors: an answer that
    says nothing cannot be trusted to mean "rejected".
    """
    header = result.find(NS + "FeCabResp")
    errors = parse_messages(result, "Errors", "Err")
    outcome = _text(header, "Resultado") if header is not None else None
    if not outcome and errors:
        outcome = "R"  # request-level errors without a header: nothing was processed
    if outcome not in ("A", "R", "P"):
        raise ValueError(f"{operation} answered without a valid Resultado ({outcome!r})")
    detail_tag = "FECAEADetResponse" if code == "CAEA" else "FECAEDetResponse"
    details = [
        _cae_detail(node, code) for node in result.findall(f"{NS}FeDetResp/{NS}{detail_tag}")
    ]
    return CaeResponse(
        result=cast(Result, outcome),
        details=details,
        errors=errors,
        events=parse_messages(result, "Events", "Evt"),
        raw_request_xml=raw_request_xml,
        raw_response_xml=raw_response_xml,
        processed_at=parse_timestamp(_text(header, "FchProceso")) if header is not None else None,
    )


def _cae_detail(node: Any, code: str) -> CaeDetail:
    return CaeDetail(
        number=_int(node, "CbteDesde"),
        number_to=_int(node, "CbteHasta"),
        result=_text(node, "Resultado") or "",
        cae=_text(node, code) or None,  # "<CAE />" (or "<CAEA />") on rejection
        cae_due=parse_date(_text(node, "CAEFchVto")),  # absent for CAEA: None
        observations=parse_messages(node, "Observaciones", "Obs"),
        concept=_int(node, "Concepto", 0) or None,
        doc_type=_int(node, "DocTipo", -1) if _text(node, "DocTipo") else None,
        doc_number=_int(node, "DocNro", 0) if _text(node, "DocNro") else None,
        date=parse_date(_text(node, "CbteFch")),
    )


def parse_stored_voucher(result_get: Any) -> StoredVoucher:
    """FECompConsultar's `ResultGet` as a `StoredVoucher`."""
    return StoredVoucher(
        point_of_sale=_int(result_get, "PtoVta"),
        invoice_type=_int(result_get, "CbteTipo"),
        detail=parse_detail(result_get),
        result=_text(result_get, "Resultado") or "",
        authorization_code=_text(result_get, "CodAutorizacion") or None,
        emission_type=_text(result_get, "EmisionTipo") or "",
        due_date=parse_date(_text(result_get, "FchVto")),
        processed_at=parse_timestamp(_text(result_get, "FchProceso")),
        observations=parse_messages(result_get, "Observaciones", "Obs"),
    )


def parse_param_items(result: Any, item: str) -> list[ParamItem]:
    """`ResultGet/<item>` rows ({Id, Desc, FchDesde, FchHasta}) as `ParamItem`s."""
    rows = []
    for node in result.findall(f"{NS}ResultGet/{NS}{item}"):
        raw_id = _text(node, "Id") or ""
        rows.append(
            ParamItem(
                id=int(raw_id) if raw_id.lstrip("-").isdigit() and item != "Moneda" else raw_id,
                description=_text(node, "Desc") or "",
                valid_from=parse_date(_text(node, "FchDesde")),
                valid_to=parse_date(_text(node, "FchHasta")),
            )
        )
    return rows


def _split_classes(value: str) -> tuple[str, ...]:
    # Cmp_Clase's exact format is not documented (seen as "A/ALEY/C", "B/C", "C/49"):
    # accept slashes, commas, semicolons and spaces as separators.
    for separator in ",; ":
        value = value.replace(separator, "/")
    return tuple(part.strip().upper() for part in value.split("/") if part.strip())


def build_soap_actions(client: Any) -> dict[str, str]:
    """Each WSFEv1 operation's SOAPAction header as zeep sends it: the WSDL's, quoted."""
    operations = client.wsdl.bindings[WSFE_BINDING].all()
    return {
        name: f'"{operation.soapaction}"' if operation.soapaction else '""'
        for name, operation in operations.items()
    }


def redact_auth(envelope: Any) -> str:
    """The envelope as text, with `Auth/Token` and `Auth/Sign` replaced (the tree is changed)."""
    for name in ("Token", "Sign"):
        for node in envelope.iter(NS + name):
            node.text = REDACTED
    return bytes(etree_to_string(envelope)).decode("utf-8")


# --- The client -----------------------------------------------------------------------------------


class WsfeClient:
    """WSFEv1 for one environment and one set of credentials (`auth` gives token, sign, CUIT).

    Cheap to build (the WSDL is parsed once per process); keeps no per-call state, so it can be
    shared between threads. Every method sends exactly one request and never retries. Every
    method raises `ValueError` for a request that does not fit the contract (nothing is sent).
    """

    def __init__(
        self,
        environment: Environment,
        session: requests.Session,
        timeouts: Timeouts,
        auth: AuthProvider,
    ) -> None:
        self.environment = environment
        self._auth = auth
        client = build_client(WSFE_WSDL, environment, session, timeouts)
        self._client = client
        self._service = client.create_service(WSFE_BINDING, environment.wsfe_url)
        self._soap_actions = build_soap_actions(client)

    # -- health and numbering --

    def dummy(self) -> ServerStatus:
        """FEDummy (no authentication): ARCA's own health report. Use as a probe."""
        result = self._call("FEDummy").result
        return ServerStatus(
            app_server=_text(result, "AppServer") or "",
            db_server=_text(result, "DbServer") or "",
            auth_server=_text(result, "AuthServer") or "",
        )

    def last_authorized(self, point_of_sale: int, invoice_type: int) -> int:
        """The last number ARCA authorised for this sequence (0 if none): the next is that + 1.

        Raises `ArcaRejected` (e.g. 11002: point of sale not enabled for web services).
        """
        answer = self._call(
            "FECompUltimoAutorizado",
            Auth=self._auth_value(),
            PtoVta=point_of_sale,
            CbteTipo=invoice_type,
        )
        self._raise_errors(answer.result)
        return _int(answer.result, "CbteNro")

    def max_batch_size(self) -> int:
        """FECompTotXRequest: how many details one FECAESolicitar may carry."""
        answer = self._call("FECompTotXRequest", Auth=self._auth_value())
        self._raise_errors(answer.result)
        return _int(answer.result, "RegXReq")

    # -- authorisation --

    def authorize(self, request: CaeRequest) -> CaeResponse:
        """Send FECAESolicitar once and return ARCA's verdict, approved or rejected.

        Contract: persist the voucher with its number as pending, and commit, before calling;
        never call it inside a database transaction. Returns a `CaeResponse` whenever ARCA
        answered, with `errors` (even 600/601) and per-voucher `observations` inside: a
        rejection is a normal outcome. Raises `ServiceUnavailable` (not sent: retry later),
        `SoapFault` (refused as a message: not processed, a bug to fix) or `OutcomeUnknown`
        (may have been processed: resolve with `consult`, never by re-sending).
        """
        if not request.details:
            raise ValueError("a CaeRequest needs at least one voucher")
        # Built once, without zeep (its rendering was most of the client's cost for a batch of
        # 250): the bytes for the wire first, then the same tree redacted for the record.
        envelope = build_cae_envelope(self._auth_value(), request)
        body = etree_to_string(envelope)
        raw_request = redact_auth(envelope)
        answer = self._post("FECAESolicitar", body, mutating=True, raw_request=raw_request)
        try:
            return parse_cae_result(answer.result, raw_request, answer.raw_response_xml)
        except (ValueError, InvalidOperation) as exc:
            raise OutcomeUnknown(f"unreadable FECAESolicitar answer: {exc}", raw_request) from exc

    def consult(self, point_of_sale: int, invoice_type: int, number: int) -> StoredVoucher | None:
        """FECompConsultar: the voucher as ARCA recorded it, or None if ARCA has no such number.

        None (error 602) means ARCA never authorised it: after an `OutcomeUnknown`, the number
        may be sent again once `last_authorized` confirms it is still next. Raises
        `ArcaRejected` for other errors.
        """
        request = {"CbteTipo": invoice_type, "CbteNro": number, "PtoVta": point_of_sale}
        answer = self._call("FECompConsultar", Auth=self._auth_value(), FeCompConsReq=request)
        errors = parse_messages(answer.result, "Errors", "Err")
        if errors and all(error.code == NO_DATA for error in errors):
            return None
        if errors:
            raise rejection_for(errors)
        result_get = answer.result.find(NS + "ResultGet")
        if result_get is None:
            return None
        return parse_stored_voucher(result_get)

    # -- CAEA (contingency; builders and parsers in arca.caea) --
    # arca.caea imports this module, so it is imported inside each method.

    def caea_request(self, period: int, order: int) -> Caea:
        """FECAEASolicitar: the CAEA for fortnight (`period` yyyymm, `order` 1 or 2).

        Safe to repeat: ARCA keeps one CAEA per CUIT and fortnight, and `caea_consult` reads it
        back, so a lost answer loses nothing. Raises `ArcaRejected` with ARCA's code and text
        (e.g. 15006 outside the request window, 15004 a malformed period),
        `ServiceUnavailable` for a transport failure or an answer without a CAEA.
        """
        from arca.caea import parse_caea

        answer = self._call("FECAEASolicitar", Auth=self._auth_value(), Periodo=period, Orden=order)
        self._raise_errors(answer.result)
        caea = parse_caea(answer.result.find(NS + "ResultGet"))
        if caea is None:
            raise ServiceUnavailable("FECAEASolicitar answered without a CAEA")
        return caea

    def caea_consult(self, period: int, order: int) -> Caea | None:
        """FECAEAConsultar: the CAEA already granted for that fortnight, or None (602)."""
        from arca.caea import parse_caea

        answer = self._call("FECAEAConsultar", Auth=self._auth_value(), Periodo=period, Orden=order)
        errors = parse_messages(answer.result, "Errors", "Err")
        if errors and all(error.code == NO_DATA for error in errors):
            return None
        self._raise_errors(answer.result)
        return parse_caea(answer.result.find(NS + "ResultGet"))

    def caea_inform(
        self, request: CaeRequest, caea: str, generated_at: Sequence[dt.datetime]
    ) -> CaeResponse:
        """FECAEARegInformativo: inform vouchers already issued with `caea`, once.

        `generated_at` holds each detail's `CbteFchHsGen`. The contract is `authorize`'s: a
        `CaeResponse` whenever ARCA answered (its details' `cae` is the CAEA ARCA echoed, None
        when rejected; `cae_due` is None), `ServiceUnavailable`/`SoapFault` when it certainly
        was not processed and `OutcomeUnknown` when it may have been (check with `consult`:
        an informed voucher has `emission_type` "CAEA"). Raises `ValueError` (nothing sent)
        for a request that does not fit (see `arca.caea.build_caea_inform_request`).
        """
        from arca.caea import build_caea_inform_request

        if not request.details:
            raise ValueError("a CAEA report needs at least one voucher")
        values = build_caea_inform_request(request, caea, generated_at)
        envelope = self._render(
            "FECAEARegInformativo", {"Auth": self._auth_value(), "FeCAEARegInfReq": values}
        )
        body = etree_to_string(envelope)
        raw_request = redact_auth(envelope)
        answer = self._post("FECAEARegInformativo", body, mutating=True, raw_request=raw_request)
        try:
            return parse_cae_result(
                answer.result,
                raw_request,
                answer.raw_response_xml,
                operation="FECAEARegInformativo",
                code="CAEA",
            )
        except (ValueError, InvalidOperation) as exc:
            message = f"unreadable FECAEARegInformativo answer: {exc}"
            raise OutcomeUnknown(message, raw_request) from exc

    def caea_no_movement_inform(self, caea: str, point_of_sale: int) -> NoMovementReport:
        """FECAEASinMovimientoInformar: `point_of_sale` issued nothing with `caea`.

        Returns the accepted report; raises `ArcaRejected` for ARCA's errors (e.g. 1200, not
        a CAEA of this CUIT), `ServiceUnavailable` for a transport failure. Safe to repeat.
        """
        from arca.caea import parse_no_movement

        answer = self._call(
            "FECAEASinMovimientoInformar", Auth=self._auth_value(), PtoVta=point_of_sale, CAEA=caea
        )
        self._raise_errors(answer.result)
        return parse_no_movement(answer.result)

    def caea_no_movement_consult(
        self, caea: str, point_of_sale: int | None
    ) -> list[NoMovementReport]:
        """FECAEASinMovimientoConsultar: the no-movement reports of `caea` (on `point_of_sale`,
        or on every point of sale when None, sent as PtoVta 0). None found gives []."""
        from arca.caea import parse_no_movement

        answer = self._call(
            "FECAEASinMovimientoConsultar",
            Auth=self._auth_value(),
            CAEA=caea,
            PtoVta=point_of_sale or 0,
        )
        self._raise_errors(answer.result, no_data_ok=True)
        rows = answer.result.findall(f"{NS}ResultGet/{NS}FECAEASinMov")
        return [parse_no_movement(row) for row in rows]

    # -- parameter tables --

    def voucher_types(self) -> list[ParamItem]:
        """FEParamGetTiposCbte."""
        return self._params("FEParamGetTiposCbte", "CbteTipo")

    def document_types(self) -> list[ParamItem]:
        """FEParamGetTiposDoc."""
        return self._params("FEParamGetTiposDoc", "DocTipo")

    def vat_rates(self) -> list[ParamItem]:
        """FEParamGetTiposIva (ids are numeric strings in the WSDL; ints here)."""
        return self._params("FEParamGetTiposIva", "IvaTipo")

    def concepts(self) -> list[ParamItem]:
        """FEParamGetTiposConcepto."""
        return self._params("FEParamGetTiposConcepto", "ConceptoTipo")

    def currencies(self) -> list[ParamItem]:
        """FEParamGetTiposMonedas (ids are 3-character strings: `PES`, `DOL`, `060`…)."""
        return self._params("FEParamGetTiposMonedas", "Moneda")

    def tax_types(self) -> list[ParamItem]:
        """FEParamGetTiposTributos."""
        return self._params("FEParamGetTiposTributos", "TributoTipo")

    def optional_types(self) -> list[ParamItem]:
        """FEParamGetTiposOpcional (ids as ARCA sends them, strings)."""
        items = self._params("FEParamGetTiposOpcional", "OpcionalTipo")
        return [
            ParamItem(str(item.id), item.description, item.valid_from, item.valid_to)
            for item in items
        ]

    def exchange_rate(self, currency: str, on: dt.date | None = None) -> tuple[Decimal, dt.date]:
        """FEParamGetCotizacion: ARCA's rate for `currency` on `on` (else latest), and its date."""
        arguments: dict[str, Any] = {"Auth": self._auth_value(), "MonId": currency}
        if on is not None:
            arguments["FchCotiz"] = format_date(on)
        answer = self._call("FEParamGetCotizacion", **arguments)
        self._raise_errors(answer.result)
        result_get = answer.result.find(NS + "ResultGet")
        rate_date = parse_date(_text(result_get, "FchCotiz"))
        if result_get is None or rate_date is None:
            raise ServiceUnavailable("FEParamGetCotizacion answered without a rate")
        return _decimal(result_get, "MonCotiz"), rate_date

    def points_of_sale(self) -> list[PointOfSale]:
        """FEParamGetPtosVenta: the CUIT's points of sale (none gives an empty list)."""
        answer = self._call("FEParamGetPtosVenta", Auth=self._auth_value())
        self._raise_errors(answer.result, no_data_ok=True)
        return [
            PointOfSale(
                number=_int(node, "Nro"),
                emission_type=_text(node, "EmisionTipo") or "",
                blocked=(_text(node, "Bloqueado") or "N").upper() == "S",
                closed_on=parse_date(_text(node, "FchBaja")),
            )
            for node in answer.result.findall(f"{NS}ResultGet/{NS}PtoVenta")
        ]

    def receiver_iva_conditions(
        self, voucher_class: str | None = None
    ) -> list[ReceiverIvaCondition]:
        """FEParamGetCondicionIvaReceptor, for `voucher_class` (A, ALEY, B, C, 49) or all."""
        arguments: dict[str, Any] = {"Auth": self._auth_value()}
        if voucher_class is not None:
            arguments["ClaseCmp"] = voucher_class
        answer = self._call("FEParamGetCondicionIvaReceptor", **arguments)
        self._raise_errors(answer.result, no_data_ok=True)
        return [
            ReceiverIvaCondition(
                id=_int(node, "Id"),
                description=_text(node, "Desc") or "",
                voucher_classes=_split_classes(_text(node, "Cmp_Clase") or ""),
            )
            for node in answer.result.findall(f"{NS}ResultGet/{NS}CondicionIvaReceptor")
        ]

    # -- plumbing --

    def _auth_value(self) -> dict[str, Any]:
        token, sign, cuit = self._auth()
        return {"Token": token, "Sign": sign, "Cuit": int(cuit)}

    def _params(self, operation: str, item: str) -> list[ParamItem]:
        answer = self._call(operation, Auth=self._auth_value())
        self._raise_errors(answer.result, no_data_ok=True)
        return parse_param_items(answer.result, item)

    def _raise_errors(self, result: Any, no_data_ok: bool = False) -> None:
        for event in parse_messages(result, "Events", "Evt"):
            # ARCA announces changes through events; someone should read them.
            logger.warning("ARCA event %s: %s", event.code, event.text)
        errors = parse_messages(result, "Errors", "Err")
        if no_data_ok:
            errors = [error for error in errors if error.code != NO_DATA]
        if errors:
            raise rejection_for(errors)

    def _render(self, operation: str, arguments: dict[str, Any]) -> Any:
        """The envelope zeep builds from the WSDL for `operation` (an lxml element, unredacted).

        Raises `ValueError` when `arguments` do not fit the WSDL (nothing is sent).
        """
        try:
            return self._client.create_message(self._service, operation, **arguments)
        except (ZeepError, TypeError) as exc:
            raise ValueError(f"{operation} request does not fit the WSDL: {exc}") from exc

    def _call(self, operation: str, **arguments: Any) -> SoapAnswer:
        """Render and send one read-only request; see `_post`."""
        return self._post(operation, etree_to_string(self._render(operation, arguments)))

    def _post(
        self, operation: str, body: bytes, mutating: bool = False, raw_request: str = ""
    ) -> SoapAnswer:
        """Send one rendered envelope; return its `<operation>Result` or raise (see
        `arca.transport.check_reply`)."""
        action = self._soap_actions[operation]
        result_tag = f"{NS}{operation}Result"
        url = self.environment.wsfe_url
        return post_operation(
            self._client.transport, url, action, result_tag, body, mutating, raw_request
        )


def static_auth(token: str, sign: str, cuit: str) -> AuthProvider:
    """An `AuthProvider` that always returns the same credentials (scripts and tests)."""
    return lambda: (token, sign, cuit)
