"""WSFEXv1: authorise export vouchers (Factura E 19, debit note 20, credit note 21), look them up,
and read the service's parameter tables.

The only module that knows WSFEXv1's Spanish element names. Callers pass and receive frozen
dataclasses with English names, `Decimal` money and `datetime.date` dates.

WSFEXv1 differs from WSFEv1 in shape, not in contract: one voucher per request, identified by a
request `Id` the caller chooses (next after `last_request_id()`), and every answer carries a
single `FEXErr` (ErrCode 0 "OK" when all went well) and a single `FEXEvents`.

Outcomes, by kind (see `arca.errors`):

* Read-only calls return data or raise: `AuthenticationRejected` (ErrCode 1000, the ticket or
  the CUIT's relation) or `ArcaRejected` for any other `FEXErr`, `SoapFault` when ARCA refused
  the message itself, `ServiceUnavailable` for any transport failure.
* `authorize` (FEXAuthorize) returns an `ExportAuthorization` whenever ARCA answered, approved
  or not (a rejection is a normal outcome to be stored). It raises `ServiceUnavailable` or
  `SoapFault` only when the request certainly did not take effect, and `OutcomeUnknown` whenever
  it may have: then `consult` the number that was sent. Never retried here.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import requests
from zeep.exceptions import Error as ZeepError
from zeep.wsdl.utils import etree_to_string

from arca.environments import Environment
from arca.errors import (
    ArcaRejected,
    AuthenticationRejected,
    Message,
    OutcomeUnknown,
    ServiceUnavailable,
)
from arca.transport import SoapAnswer, Timeouts, build_client, post_operation
from arca.wsdl import WSDL_DIR
from arca.wsfe import (
    REDACTED,
    AuthProvider,
    ParamItem,
    PointOfSale,
    ServerStatus,
    format_date,
    parse_date,
)

logger = logging.getLogger(__name__)

WSFEX_WSDL = WSDL_DIR / "wsfexv1.wsdl"
WSFEX_NAMESPACE = "http://ar.gov.afip.dif.fexv1/"
WSFEX_BINDING = f"{{{WSFEX_NAMESPACE}}}ServiceSoap"
NS = f"{{{WSFEX_NAMESPACE}}}"

EXPORT_INVOICE, EXPORT_DEBIT_NOTE, EXPORT_CREDIT_NOTE = 19, 20, 21
GOODS, SERVICES, OTHER = 1, 2, 4  # Tipo_expo
AUTHENTICATION_ERROR = 1000  # "Usuario no autorizado a realizar esta operacion. …"
NOT_FOUND = 1020  # FEXGetCMP: "Comprobante inexistente"


# --- Request dataclasses --------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportPermit:
    """One `Permiso`: a customs shipping permit and the country the goods go to."""

    permit_id: str
    destination_country: int


@dataclass(frozen=True)
class AssociatedExport:
    """One `Cmp_asoc`: the export voucher a note refers to (`cuit`: its issuer)."""

    invoice_type: int
    point_of_sale: int
    number: int
    cuit: int


@dataclass(frozen=True)
class ExportItem:
    """One `Item`. `total` = quantity x unit_price - discount (ARCA checks it), except for
    units 97/99 (advance, discount lines), whose `total` stands alone (may be negative)."""

    description: str
    quantity: Decimal
    unit: int
    unit_price: Decimal
    discount: Decimal
    total: Decimal
    code: str = ""


@dataclass(frozen=True)
class ExportVoucher:
    """One export voucher (`Cmp` of FEXAuthorize, and what FEXGetCMP returns).

    `request_id` is `Id`: unique per CUIT, the next after `WsfexClient.last_request_id()`.
    `export_type` is `Tipo_expo` (1 goods, 2 services, 4 other). `permit_existing` is
    `Permiso_existente`: True "S" / False "N" for an invoice of goods, None (empty) otherwise.
    `customer_country_cuit` is `Cuit_pais_cliente` (the foreign-CUIT table; 0 = none, then
    `customer_tax_id` is required). `incoterms` is required for goods. `total` must be the sum
    of the items' totals, in `currency` at `currency_rate` pesos per unit.
    """

    request_id: int
    invoice_type: int
    point_of_sale: int
    number: int
    export_type: int
    destination_country: int
    customer_name: str
    customer_address: str
    currency: str
    currency_rate: Decimal
    total: Decimal
    items: list[ExportItem]
    date: dt.date | None = None
    language: int = 1
    permit_existing: bool | None = None
    permits: list[ExportPermit] = field(default_factory=list)
    customer_country_cuit: int = 0
    customer_tax_id: str = ""
    same_currency_quantity: bool | None = None
    commercial_notes: str = ""
    notes: str = ""
    associated: list[AssociatedExport] = field(default_factory=list)
    payment_terms: str = ""
    incoterms: str = ""
    incoterms_description: str = ""
    payment_date: dt.date | None = None
    optionals: list[tuple[str, str]] = field(default_factory=list)
    activities: list[int] = field(default_factory=list)


# --- Response dataclasses -------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportAuthorization:
    """ARCA's answer to FEXAuthorize, whatever it decided.

    `result` "A" with `cae` and `cae_due`, or "R" with the reason in `error` (WSFEX answers one
    error, never a list). `reprocessed` is ARCA's `Reproceso` "S": ARCA says it answered an
    earlier authorisation again (the sandbox does so for a repeated Id with the same voucher).
    `raw_request_xml`/`raw_response_xml` are what went over the wire with Token and Sign
    redacted: store them with the attempt.
    """

    result: Literal["A", "R"]
    request_id: int | None
    number: int | None
    cae: str | None
    cae_due: dt.date | None
    date: dt.date | None
    reprocessed: bool
    observations: str
    error: Message | None
    event: Message | None
    raw_request_xml: str
    raw_response_xml: str

    @property
    def approved(self) -> bool:
        return self.result == "A"

    @property
    def authentication_rejected(self) -> bool:
        """True for 1000: nothing was processed; get a new ticket (or fix the delegation)."""
        return self.error is not None and self.error.code == AUTHENTICATION_ERROR


@dataclass(frozen=True)
class StoredExportVoucher:
    """An export voucher as ARCA has it (FEXGetCMP): compare `voucher` with what was sent
    before adopting the CAE."""

    voucher: ExportVoucher
    cae: str | None
    cae_due: dt.date | None
    result: str
    observations: str


@dataclass(frozen=True)
class LastVoucher:
    """FEXGetLast_CMP: the last number of a sequence (0 if none; the next is + 1), its date."""

    number: int
    date: dt.date | None


@dataclass(frozen=True)
class CodeDescription:
    """A row of the destination tables: a country code or a foreign CUIT, and its name."""

    code: int
    description: str


# --- Boundary conversions -------------------------------------------------------------------------


def _decimal_text(value: Decimal) -> str:
    """`value` as plain text (xsd:decimal), refusing NaN and infinities (nothing is sent)."""
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal: {value!r}") from exc
    if not number.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return f"{number:f}"


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else ("S" if value else "N")


def build_cmp(voucher: ExportVoucher) -> dict[str, Any]:
    """`voucher` as zeep's `ClsFEXRequest` value (ARCA's names; empty optional parts left out)."""
    data: dict[str, Any] = {
        "Id": voucher.request_id,
        "Fecha_cbte": None if voucher.date is None else format_date(voucher.date),
        "Cbte_Tipo": voucher.invoice_type,
        "Punto_vta": voucher.point_of_sale,
        "Cbte_nro": voucher.number,
        "Tipo_expo": voucher.export_type,
        "Permiso_existente": _yes_no(voucher.permit_existing) or "",
        "Permisos": _array("Permiso", [_permit(p) for p in voucher.permits]),
        "Dst_cmp": voucher.destination_country,
        "Cliente": voucher.customer_name,
        "Cuit_pais_cliente": voucher.customer_country_cuit,
        "Domicilio_cliente": voucher.customer_address,
        "Id_impositivo": voucher.customer_tax_id or None,
        "Moneda_Id": voucher.currency,
        "Moneda_ctz": _decimal_text(voucher.currency_rate),
        "CanMisMonExt": _yes_no(voucher.same_currency_quantity),
        "Obs_comerciales": voucher.commercial_notes or None,
        "Imp_total": _decimal_text(voucher.total),
        "Obs": voucher.notes or None,
        "Cmps_asoc": _array("Cmp_asoc", [_associated(a) for a in voucher.associated]),
        "Forma_pago": voucher.payment_terms or None,
        "Incoterms": voucher.incoterms or None,
        "Incoterms_Ds": voucher.incoterms_description or None,
        "Idioma_cbte": voucher.language,
        "Items": _array("Item", [_item(i) for i in voucher.items]),
        "Opcionales": _array("Opcional", [{"Id": k, "Valor": v} for k, v in voucher.optionals]),
        "Fecha_pago": None if voucher.payment_date is None else format_date(voucher.payment_date),
        "Actividades": _array("Actividad", [{"Id": a} for a in voucher.activities]),
    }
    return {key: value for key, value in data.items() if value is not None}


def _array(item: str, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    return {item: rows} if rows else None


def _permit(permit: ExportPermit) -> dict[str, Any]:
    return {"Id_permiso": permit.permit_id, "Dst_merc": permit.destination_country}


def _associated(item: AssociatedExport) -> dict[str, Any]:
    return {
        "Cbte_tipo": item.invoice_type,
        "Cbte_punto_vta": item.point_of_sale,
        "Cbte_nro": item.number,
        "Cbte_cuit": item.cuit,
    }


def _item(item: ExportItem) -> dict[str, Any]:
    return {
        "Pro_codigo": item.code or None,
        "Pro_ds": item.description,
        "Pro_qty": _decimal_text(item.quantity),
        "Pro_umed": item.unit,
        "Pro_precio_uni": _decimal_text(item.unit_price),
        "Pro_bonificacion": _decimal_text(item.discount),
        "Pro_total_item": _decimal_text(item.total),
    }


# --- Response parsing -----------------------------------------------------------------------------


def _text(element: Any, name: str) -> str | None:
    child = None if element is None else element.find(NS + name)
    return None if child is None else (child.text or "").strip()


def _int(element: Any, name: str, default: int = 0) -> int:
    value = _text(element, name)
    return int(value) if value else default


def _dec(element: Any, name: str) -> Decimal:
    return Decimal(_text(element, name) or "0")


def parse_message(result: Any, container: str, code: str, text: str) -> Message | None:
    """`FEXErr` (ErrCode/ErrMsg) or `FEXEvents` (EventCode/EventMsg); None when absent or 0."""
    node = None if result is None else result.find(NS + container)
    if node is None:
        return None
    number = _int(node, code)
    return None if number == 0 else Message(code=number, text=_text(node, text) or "")


def parse_voucher(node: Any) -> ExportVoucher:
    """A `ClsFEXGetCMPR` (FEXGetCMP's FEXResultGet) as the `ExportVoucher` it records."""
    permit = (_text(node, "Permiso_existente") or "").upper()
    same = _text(node, "CanMisMonExt")
    return ExportVoucher(
        request_id=_int(node, "Id"),
        invoice_type=_int(node, "Cbte_tipo"),
        point_of_sale=_int(node, "Punto_vta"),
        number=_int(node, "Cbte_nro"),
        export_type=_int(node, "Tipo_expo"),
        destination_country=_int(node, "Dst_cmp"),
        customer_name=_text(node, "Cliente") or "",
        customer_address=_text(node, "Domicilio_cliente") or "",
        currency=_text(node, "Moneda_Id") or "",
        currency_rate=_dec(node, "Moneda_ctz"),
        total=_dec(node, "Imp_total"),
        items=[
            ExportItem(
                description=_text(item, "Pro_ds") or "",
                quantity=_dec(item, "Pro_qty"),
                unit=_int(item, "Pro_umed"),
                unit_price=_dec(item, "Pro_precio_uni"),
                discount=_dec(item, "Pro_bonificacion"),
                total=_dec(item, "Pro_total_item"),
                code=_text(item, "Pro_codigo") or "",
            )
            for item in node.findall(f"{NS}Items/{NS}Item")
        ],
        date=parse_date(_text(node, "Fecha_cbte")),
        language=_int(node, "Idioma_cbte", 1),
        permit_existing={"S": True, "N": False}.get(permit),
        permits=[
            ExportPermit(_text(p, "Id_permiso") or "", _int(p, "Dst_merc"))
            for p in node.findall(f"{NS}Permisos/{NS}Permiso")
        ],
        customer_country_cuit=_int(node, "Cuit_pais_cliente"),
        customer_tax_id=_text(node, "Id_impositivo") or "",
        same_currency_quantity=None if not same else same.upper() == "S",
        commercial_notes=_text(node, "Obs_comerciales") or "",
        notes=_text(node, "Obs") or "",
        associated=[
            AssociatedExport(
                _int(a, "Cbte_tipo"),
                _int(a, "Cbte_punto_vta"),
                _int(a, "Cbte_nro"),
                _int(a, "Cbte_cuit"),
            )
            for a in node.findall(f"{NS}Cmps_asoc/{NS}Cmp_asoc")
        ],
        payment_terms=_text(node, "Forma_pago") or "",
        incoterms=_text(node, "Incoterms") or "",
        incoterms_description=_text(node, "Incoterms_Ds") or "",
        payment_date=parse_date(_text(node, "Fecha_pago")),
        optionals=[
            (_text(o, "Id") or "", _text(o, "Valor") or "")
            for o in node.findall(f"{NS}Opcionales/{NS}Opcional")
        ],
        activities=[_int(a, "Id") for a in node.findall(f"{NS}Actividades/{NS}Actividad")],
    )


def parse_authorization(
    result: Any, raw_request_xml: str, raw_response_xml: str
) -> ExportAuthorization:
    """A `FEXAuthorizeResult` as an `ExportAuthorization`.

    Raises `ValueError` when it holds neither an approval nor an error: an answer that says
    nothing cannot be trusted to mean "rejected".
    """
    error = parse_message(result, "FEXErr", "ErrCode", "ErrMsg")
    auth = result.find(NS + "FEXResultAuth")
    outcome = (_text(auth, "Resultado") or "").upper() if auth is not None else ""
    if error is None and outcome != "A":
        raise ValueError(f"FEXAuthorize answered without a result or an error ({outcome!r})")
    approved = error is None and outcome == "A"
    return ExportAuthorization(
        result="A" if approved else "R",
        request_id=_int(auth, "Id") or None if auth is not None else None,
        number=_int(auth, "Cbte_nro") or None if auth is not None else None,
        cae=(_text(auth, "Cae") or None) if approved else None,
        cae_due=parse_date(_text(auth, "Fch_venc_Cae")) if approved else None,
        date=parse_date(_text(auth, "Fch_cbte")),
        reprocessed=(_text(auth, "Reproceso") or "").upper() == "S",
        observations=_text(auth, "Motivos_Obs") or "",
        error=error,
        event=parse_message(result, "FEXEvents", "EventCode", "EventMsg"),
        raw_request_xml=raw_request_xml,
        raw_response_xml=raw_response_xml,
    )


def redact_auth(envelope: Any) -> str:
    """The envelope as text, with `Auth/Token` and `Auth/Sign` replaced (the tree is changed)."""
    for name in ("Token", "Sign"):
        for node in envelope.iter(NS + name):
            node.text = REDACTED
    return bytes(etree_to_string(envelope)).decode("utf-8")


def _rejection(error: Message) -> ArcaRejected:
    if error.code == AUTHENTICATION_ERROR:
        return AuthenticationRejected([error])
    return ArcaRejected([error])


# --- The client -----------------------------------------------------------------------------------


# (operation, FEXResultGet item, id element, description element, valid-from prefix or None)
_TABLES: dict[str, tuple[str, str, str, str]] = {
    "voucher_types": ("FEXGetPARAM_Cbte_Tipo", "ClsFEXResponse_Cbte_Tipo", "Cbte_Id", "Cbte"),
    "export_types": ("FEXGetPARAM_Tipo_Expo", "ClsFEXResponse_Tex", "Tex_Id", "Tex"),
    "incoterms": ("FEXGetPARAM_Incoterms", "ClsFEXResponse_Inc", "Inc_Id", "Inc"),
    "languages": ("FEXGetPARAM_Idiomas", "ClsFEXResponse_Idi", "Idi_Id", "Idi"),
    "units": ("FEXGetPARAM_UMed", "ClsFEXResponse_UMed", "Umed_Id", "Umed"),
    "currencies": ("FEXGetPARAM_MON", "ClsFEXResponse_Mon", "Mon_Id", "Mon"),
    "optional_types": ("FEXGetPARAM_Opcionales", "ClsFEXResponse_Opc", "Opc_Id", "Opc"),
}


class WsfexClient:
    """WSFEXv1 for one environment and one set of credentials (`auth`: token, sign, CUIT of a
    ticket for service "wsfex").

    Cheap to build (the WSDL is parsed once per process); keeps no per-call state. Every method
    sends exactly one request and never retries; each raises `ValueError` for a request that
    does not fit the WSDL (nothing is sent).
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
        client = build_client(WSFEX_WSDL, environment, session, timeouts)
        self._client = client
        self._service = client.create_service(WSFEX_BINDING, environment.wsfex_url)
        operations = client.wsdl.bindings[WSFEX_BINDING].all()
        self._soap_actions = {
            name: f'"{operation.soapaction}"' for name, operation in operations.items()
        }

    # -- health and numbering --

    def dummy(self) -> ServerStatus:
        """FEXDummy (no authentication): ARCA's own health report."""
        result = self._call("FEXDummy", {}).result
        return ServerStatus(
            app_server=_text(result, "AppServer") or "",
            db_server=_text(result, "DbServer") or "",
            auth_server=_text(result, "AuthServer") or "",
        )

    def last_authorized(self, point_of_sale: int, invoice_type: int) -> LastVoucher:
        """FEXGetLast_CMP: the sequence's last number (0 if none) and its date."""
        token, sign, cuit = self._auth()
        auth = {
            "Token": token,
            "Sign": sign,
            "Cuit": int(cuit),
            "Pto_venta": point_of_sale,
            "Cbte_Tipo": invoice_type,
        }
        answer = self._call("FEXGetLast_CMP", {"Auth": auth})
        self._raise_errors(answer.result)
        last = answer.result.find(NS + "FEXResult_LastCMP")
        return LastVoucher(_int(last, "Cbte_nro"), parse_date(_text(last, "Cbte_fecha")))

    def last_request_id(self) -> int:
        """FEXGetLast_ID: the highest request Id this CUIT used; send the next one."""
        answer = self._call("FEXGetLast_ID", {"Auth": self._auth_value()})
        self._raise_errors(answer.result)
        return _int(answer.result.find(NS + "FEXResultGet"), "Id")

    # -- authorisation --

    def authorize(self, voucher: ExportVoucher) -> ExportAuthorization:
        """Send FEXAuthorize once and return ARCA's verdict, approved or rejected.

        Contract: persist the voucher with its number and request Id as pending, and commit,
        before calling. Returns an `ExportAuthorization` whenever ARCA answered (a rejection,
        1000 included, is a normal outcome). Raises `ServiceUnavailable` (not sent: retry
        later), `SoapFault` (refused as a message: not processed) or `OutcomeUnknown` (may have
        been processed: resolve with `consult` of the number sent, never by re-sending blindly;
        what ARCA answers to a repeated Id is not established, docs/arca-sandbox.md).
        """
        if not voucher.items:
            raise ValueError("an export voucher needs at least one item")
        arguments = {"Auth": self._auth_value(), "Cmp": build_cmp(voucher)}
        envelope = self._render("FEXAuthorize", arguments)
        body = etree_to_string(envelope)
        raw_request = redact_auth(envelope)
        answer = self._post("FEXAuthorize", body, mutating=True, raw_request=raw_request)
        try:
            return parse_authorization(answer.result, raw_request, answer.raw_response_xml)
        except (ValueError, InvalidOperation) as exc:
            raise OutcomeUnknown(f"unreadable FEXAuthorize answer: {exc}", raw_request) from exc

    def consult(
        self, invoice_type: int, point_of_sale: int, number: int
    ) -> StoredExportVoucher | None:
        """FEXGetCMP: the voucher as ARCA recorded it, or None (1020: ARCA never authorised it,
        so after an `OutcomeUnknown` the number may be sent again). Raises for other errors."""
        cmp = {"Cbte_tipo": invoice_type, "Punto_vta": point_of_sale, "Cbte_nro": number}
        answer = self._call("FEXGetCMP", {"Auth": self._auth_value(), "Cmp": cmp})
        error = parse_message(answer.result, "FEXErr", "ErrCode", "ErrMsg")
        if error is not None and error.code == NOT_FOUND:
            return None
        self._raise_errors(answer.result)
        node = answer.result.find(NS + "FEXResultGet")
        if node is None:
            return None
        return StoredExportVoucher(
            voucher=parse_voucher(node),
            cae=_text(node, "Cae") or None,
            cae_due=parse_date(_text(node, "Fch_venc_Cae")),
            result=_text(node, "Resultado") or "",
            observations=_text(node, "Motivos_Obs") or "",
        )

    # -- parameter tables --

    def voucher_types(self) -> list[ParamItem]:
        """FEXGetPARAM_Cbte_Tipo (19, 20, 21…)."""
        return self._table("voucher_types")

    def export_types(self) -> list[ParamItem]:
        """FEXGetPARAM_Tipo_Expo (1 goods, 2 services, 4 other)."""
        return self._table("export_types")

    def incoterms(self) -> list[ParamItem]:
        """FEXGetPARAM_Incoterms (ids are strings: FOB, CIF…)."""
        return self._table("incoterms", text_ids=True)

    def languages(self) -> list[ParamItem]:
        """FEXGetPARAM_Idiomas (1 Spanish, 2 English, 3 Portuguese)."""
        return self._table("languages")

    def units(self) -> list[ParamItem]:
        """FEXGetPARAM_UMed (7 units, 1 kilograms, 99 discount…)."""
        return self._table("units")

    def currencies(self) -> list[ParamItem]:
        """FEXGetPARAM_MON (ids are strings: PES, DOL, 060…)."""
        return self._table("currencies", text_ids=True)

    def optional_types(self) -> list[ParamItem]:
        """FEXGetPARAM_Opcionales."""
        return self._table("optional_types")

    def countries(self) -> list[CodeDescription]:
        """FEXGetPARAM_DST_pais: destination countries (`Dst_cmp`, `Dst_merc`)."""
        rows = self._rows("FEXGetPARAM_DST_pais", "ClsFEXResponse_DST_pais")
        return [CodeDescription(_int(r, "DST_Codigo"), _text(r, "DST_Ds") or "") for r in rows]

    def foreign_cuits(self) -> list[CodeDescription]:
        """FEXGetPARAM_DST_CUIT: the generic CUITs per country and kind of person
        (`Cuit_pais_cliente`)."""
        rows = self._rows("FEXGetPARAM_DST_CUIT", "ClsFEXResponse_DST_cuit")
        return [CodeDescription(_int(r, "DST_CUIT"), _text(r, "DST_Ds") or "") for r in rows]

    def activities(self) -> list[ParamItem]:
        """FEXGetPARAM_Actividades (no validity dates in this table)."""
        rows = self._rows("FEXGetPARAM_Actividades", "ClsFEXResponse_ActividadTipo")
        return [ParamItem(_int(r, "Id"), _text(r, "Desc") or "", None, None) for r in rows]

    def points_of_sale(self) -> list[PointOfSale]:
        """FEXGetPARAM_PtoVenta: the CUIT's export points of sale (none: an empty list)."""
        rows = self._rows("FEXGetPARAM_PtoVenta", "ClsFEXResponse_PtoVenta")
        return [
            PointOfSale(
                number=_int(r, "Pve_Nro"),
                emission_type="",
                blocked=(_text(r, "Pve_Bloqueado") or "N").upper() == "S",
                closed_on=parse_date(_text(r, "Pve_FchBaja")),
            )
            for r in rows
        ]

    def exchange_rate(self, currency: str, on: dt.date | None = None) -> tuple[Decimal, dt.date]:
        """FEXGetPARAM_Ctz: ARCA's reference rate for `currency` (on `on`, else the latest) and
        its date. `authorize` refuses a rate more than 20 % below or 100 % above it (1667)."""
        arguments: dict[str, Any] = {"Auth": self._auth_value(), "Mon_id": currency}
        if on is not None:
            arguments["FchCotiz"] = format_date(on)
        answer = self._call("FEXGetPARAM_Ctz", arguments)
        self._raise_errors(answer.result)
        node = answer.result.find(NS + "FEXResultGet")
        day = parse_date(_text(node, "Mon_fecha"))
        if node is None or day is None:
            raise ServiceUnavailable("FEXGetPARAM_Ctz answered without a rate")
        return _dec(node, "Mon_ctz"), day

    def check_permit(self, permit_id: str, destination_country: int) -> str:
        """FEXCheck_Permiso: ARCA's status text for a shipping permit ("OK" when valid)."""
        arguments = {
            "Auth": self._auth_value(),
            "ID_Permiso": permit_id,
            "Dst_merc": destination_country,
        }
        answer = self._call("FEXCheck_Permiso", arguments)
        self._raise_errors(answer.result)
        return _text(answer.result.find(NS + "FEXResultGet"), "Status") or ""

    # -- plumbing --

    def _auth_value(self) -> dict[str, Any]:
        token, sign, cuit = self._auth()
        return {"Token": token, "Sign": sign, "Cuit": int(cuit)}

    def _table(self, name: str, text_ids: bool = False) -> list[ParamItem]:
        operation, item, id_name, prefix = _TABLES[name]
        rows = self._rows(operation, item)
        items = []
        for row in rows:
            raw_id = _text(row, id_name) or ""
            identifier: int | str = raw_id if text_ids or not raw_id.isdigit() else int(raw_id)
            items.append(
                ParamItem(
                    id=identifier,
                    description=_text(row, f"{prefix}_Ds") or "",
                    valid_from=parse_date(_text(row, f"{prefix}_vig_desde")),
                    valid_to=parse_date(_text(row, f"{prefix}_vig_hasta")),
                )
            )
        return items

    def _rows(self, operation: str, item: str) -> list[Any]:
        answer = self._call(operation, {"Auth": self._auth_value()})
        self._raise_errors(answer.result)
        return list(answer.result.findall(f"{NS}FEXResultGet/{NS}{item}"))

    def _raise_errors(self, result: Any) -> None:
        event = parse_message(result, "FEXEvents", "EventCode", "EventMsg")
        if event is not None:
            logger.warning("ARCA WSFEX event %s: %s", event.code, event.text)
        error = parse_message(result, "FEXErr", "ErrCode", "ErrMsg")
        if error is not None:
            raise _rejection(error)

    def _render(self, operation: str, arguments: dict[str, Any]) -> Any:
        """The envelope zeep builds from the WSDL (unredacted); ValueError if it does not fit."""
        try:
            return self._client.create_message(self._service, operation, **arguments)
        except (ZeepError, TypeError, ValueError) as exc:
            raise ValueError(f"{operation} request does not fit the WSDL: {exc}") from exc

    def _call(self, operation: str, arguments: dict[str, Any]) -> SoapAnswer:
        """Render and send one read-only request."""
        return self._post(operation, etree_to_string(self._render(operation, arguments)))

    def _post(
        self, operation: str, body: bytes, mutating: bool = False, raw_request: str = ""
    ) -> SoapAnswer:
        """Send one rendered envelope; return its `<operation>Result` or raise (module doc)."""
        action = self._soap_actions[operation]
        result_tag = f"{NS}{operation}Result"
        url = self.environment.wsfex_url
        return post_operation(
            self._client.transport, url, action, result_tag, body, mutating, raw_request
        )
