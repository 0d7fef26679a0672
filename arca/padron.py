"""ARCA's padrón: the constancia de inscripción (`ws_sr_constancia_inscripcion`, personaServiceA5,
`getPersona_v2`) and padrón A13 (`ws_sr_padron_a13`, `getPersona`), as one typed `Taxpayer`.

The only module that knows the padrón's Spanish element names. Each service needs its own WSAA
ticket (`CONSTANCIA_SERVICE`, `A13_SERVICE`), asked for with the same certificate as WSFEv1's.

Outcomes (see `arca.errors` for the shared ones):

* A `Taxpayer` whenever ARCA answered with data, inactive and deceased persons included: check
  `is_active`, `deceased_on` and `notices` (ARCA's `errorConstancia`/`errorRegimenGeneral`/
  `errorMonotributo` texts) before trusting `iva_condition`.
* `TaxpayerNotFound`: ARCA has nobody with that CUIT (or the id is not a valid one).
* `TaxpayerInactive`: A13 refuses inactive keys with a fault (A5 answers with the data).
* `PadronAuthRejected`: token, sign or represented CUIT refused: a new ticket or a delegation.
* `PadronFault`: any other fault; `ServiceUnavailable`: transport failures and non-SOAP answers.

Every call is read-only, so retrying is always safe; nothing here retries.

The padrón runs on Apache CXF: faults come with HTTP 500 and `faultcode` `soap:Server`, whatever
their cause (NOTES-like live observations in docs/arca-sandbox.md, "Padrón"), so faults are told
apart by their text. Both shapes of "unknown CUIT" are accepted: a fault (what clients see from
`getPersona`) and a `personaReturn` whose only content is `errorConstancia` (what the manual
shows for `getPersonaList_v2`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import requests
from zeep.exceptions import Error as ZeepError
from zeep.wsdl.utils import etree_to_string

from arca.cuit import is_valid_cuit, normalize_cuit
from arca.environments import Environment
from arca.errors import ArcaError
from arca.transport import Timeouts, build_client, post_query
from arca.wsdl import WSDL_DIR

CONSTANCIA_SERVICE = "ws_sr_constancia_inscripcion"
A13_SERVICE = "ws_sr_padron_a13"
CONSTANCIA_WSDL = WSDL_DIR / "ws_sr_constancia_inscripcion.wsdl"
A13_WSDL = WSDL_DIR / "ws_sr_padron_a13.wsdl"
A5_NAMESPACE = "http://a5.soap.ws.server.puc.sr/"
A13_NAMESPACE = "http://a13.soap.ws.server.puc.sr/"
A5_BINDING = f"{{{A5_NAMESPACE}}}PersonaServiceA5SoapBinding"
A13_BINDING = f"{{{A13_NAMESPACE}}}PersonaServiceA13SoapBinding"
# CXF declares soapAction="" for every operation and routes on the body element.
SOAP_HEADERS = {"SOAPAction": '""', "Content-Type": "text/xml; charset=utf-8"}

ACTIVE = "ACTIVO"
INACTIVE = "INACTIVO"
PERSON = "FISICA"
COMPANY = "JURIDICA"

# The receiver IVA conditions of FEParamGetCondicionIvaReceptor the padrón can tell apart.
RESPONSABLE_INSCRIPTO = 1
EXENTO = 4
CONSUMIDOR_FINAL = 5
MONOTRIBUTO = 6
# idImpuesto: 30 IVA, 32 IVA exento, 20/21 monotributo (ARCA's tax table; NOTES §8).
IVA_TAX = 30
IVA_EXEMPT_TAX = 32
MONOTRIBUTO_TAXES = frozenset({20, 21})
# Tax states that mean "not in force" (estadoImpuesto: AC active, BD baja definitiva…).
ENDED_TAX_STATES = frozenset({"BD", "BP", "EX", "BAJA"})

# Fault texts (ARCA's manuals, table 5.3; and live answers, see docs/arca-sandbox.md).
NOT_FOUND_TEXTS = (
    "no existe persona con ese id",
    "consultada es inexistente",
    "el id de la persona no es valido",
)
INACTIVE_TEXTS = ("se encuentra inactiva",)
AUTH_TEXTS = (
    "token",
    "sign",
    "cuit representada",
    "representacion de la cuit",
)


class PadronFault(ArcaError):
    """The padrón refused the request with a SOAP fault; `message` is ARCA's text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.message = message


class TaxpayerNotFound(PadronFault):
    """ARCA has no person with that CUIT (or refuses it as an id)."""


class TaxpayerInactive(PadronFault):
    """A13's answer for an inactive key: a fault, not the data."""


class PadronAuthRejected(PadronFault):
    """The token, the sign or the represented CUIT was refused (ARCA's text says which)."""


@dataclass(frozen=True)
class Address:
    """The fiscal address as ARCA keeps it (CABA has no `city`)."""

    street: str = ""
    city: str = ""
    province: str = ""
    postal_code: str = ""
    province_id: int | None = None

    def one_line(self) -> str:
        """`LARREA 1, CIUDAD (1030), PROVINCIA`, leaving out the parts ARCA did not send."""
        parts = (self.city, f"({self.postal_code})" if self.postal_code else "")
        place = " ".join(part for part in parts if part)
        return ", ".join(part for part in (self.street, place, self.province) if part)


@dataclass(frozen=True)
class Activity:
    """One registered activity (F.883 nomenclator code); `order` 1 is the main one."""

    id: int
    description: str
    order: int | None = None


@dataclass(frozen=True)
class Taxpayer:
    """A person or company as ARCA's padrón describes it.

    `kind` is `FISICA` or `JURIDICA`, `state` `ACTIVO` or `INACTIVO`. `iva_condition` is the
    receiver IVA condition code (FEParamGetCondicionIvaReceptor) derived from the registered
    taxes, None when the answer cannot tell (A13 carries no taxes; a constancia with errors).
    `notices` are ARCA's own texts about missing or refused parts of the answer.
    """

    cuit: str
    name: str
    kind: str
    state: str
    address: Address | None
    iva_condition: int | None
    monotributo_category: str | None = None
    activities: tuple[Activity, ...] = ()
    tax_ids: tuple[int, ...] = ()
    deceased_on: dt.date | None = None
    notices: tuple[str, ...] = ()
    source: str = "A5"

    @property
    def is_active(self) -> bool:
        return self.state == ACTIVE and self.deceased_on is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (dates as ISO strings): for caches."""
        data = asdict(self)
        data["deceased_on"] = self.deceased_on.isoformat() if self.deceased_on else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Taxpayer:
        """The inverse of `to_dict`."""
        address = data.get("address")
        deceased = data.get("deceased_on")
        return cls(
            cuit=data["cuit"],
            name=data["name"],
            kind=data["kind"],
            state=data["state"],
            address=Address(**address) if address else None,
            iva_condition=data.get("iva_condition"),
            monotributo_category=data.get("monotributo_category"),
            activities=tuple(Activity(**item) for item in data.get("activities", [])),
            tax_ids=tuple(data.get("tax_ids", [])),
            deceased_on=dt.date.fromisoformat(deceased) if deceased else None,
            notices=tuple(data.get("notices", [])),
            source=data.get("source", "A5"),
        )


@dataclass(frozen=True)
class PadronStatus:
    """`dummy`: the padrón's own health report (OK when each part works)."""

    app_server: str
    db_server: str
    auth_server: str

    @property
    def ok(self) -> bool:
        return (self.app_server, self.db_server, self.auth_server) == ("OK", "OK", "OK")


# --- parsing (pure) -------------------------------------------------------------------------------


def _text(element: Any, name: str) -> str:
    found = None if element is None else element.find(name)
    return _clean(found.text) if found is not None else ""


def _clean(text: str | None) -> str:
    """Whitespace runs as one space: texts are compared and shown, never laid out."""
    return " ".join((text or "").split())


def _int_or_none(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _date_or_none(value: str) -> dt.date | None:
    """xs:dateTime (`1998-07-04T12:00:00-03:00`) or a bare date, as a date."""
    try:
        return dt.date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def person_name(element: Any) -> str:
    """`razonSocial`, or `apellido nombre` for a person (as the constancia prints it)."""
    company = _text(element, "razonSocial")
    if company:
        return company
    return " ".join(part for part in (_text(element, "apellido"), _text(element, "nombre")) if part)


def parse_a5_address(element: Any) -> Address | None:
    if element is None:
        return None
    return Address(
        street=_text(element, "direccion"),
        city=_text(element, "localidad"),
        province=_text(element, "descripcionProvincia"),
        postal_code=_text(element, "codPostal"),
        province_id=_int_or_none(_text(element, "idProvincia")),
    )


def _in_force(tax: Any) -> bool:
    return _text(tax, "estadoImpuesto").upper() not in ENDED_TAX_STATES


def compute_iva_condition(tax_ids: set[int], monotributo_category: str | None) -> int:
    """The receiver IVA condition from the taxes in force (pyafipws' order, NOTES §8):
    exempt (32) → 4, IVA (30) → 1, a monotributo category or tax (20/21) → 6, else 5."""
    if IVA_EXEMPT_TAX in tax_ids:
        return EXENTO
    if IVA_TAX in tax_ids:
        return RESPONSABLE_INSCRIPTO
    if monotributo_category or tax_ids & MONOTRIBUTO_TAXES:
        return MONOTRIBUTO
    return CONSUMIDOR_FINAL


def _notices(persona: Any) -> list[str]:
    texts: list[str] = []
    for block in ("errorConstancia", "errorRegimenGeneral", "errorMonotributo"):
        for node in persona.findall(block):
            texts.extend(_clean(item.text) for item in node.findall("error"))
    return [text for text in texts if text]


def _activities(persona: Any) -> tuple[Activity, ...]:
    nodes = [
        *persona.findall("datosRegimenGeneral/actividad"),
        *persona.findall("datosMonotributo/actividadMonotributista"),
        *persona.findall("datosMonotributo/actividad"),
    ]
    found: dict[int, Activity] = {}
    for node in nodes:
        code = _int_or_none(_text(node, "idActividad"))
        if code is not None and code not in found:
            order = _int_or_none(_text(node, "orden"))
            found[code] = Activity(code, _text(node, "descripcionActividad"), order)
    return tuple(sorted(found.values(), key=lambda item: (item.order or 99, item.id)))


def parse_constancia(persona: Any, cuit: str) -> Taxpayer:
    """A `personaReturn` of getPersona_v2 (or getPersona) as a Taxpayer.

    Raises `TaxpayerNotFound` when it carries no `datosGenerales` (only `errorConstancia`).
    The IVA condition is left None when `errorConstancia` is present: a block may be missing
    and the rule would then say "consumidor final" without knowing.
    """
    general = persona.find("datosGenerales")
    notices = _notices(persona)
    if general is None:
        raise TaxpayerNotFound("", "; ".join(notices) or "No existe persona con ese Id")
    taxes = [
        *persona.findall("datosRegimenGeneral/impuesto"),
        *persona.findall("datosMonotributo/impuesto"),
    ]
    tax_ids = {
        code for tax in taxes if _in_force(tax) and (code := _int_or_none(_text(tax, "idImpuesto")))
    }
    category = _text(persona.find("datosMonotributo/categoriaMonotributo"), "descripcionCategoria")
    certain = persona.find("errorConstancia") is None
    return Taxpayer(
        cuit=_text(general, "idPersona") or cuit,
        name=person_name(general),
        kind=_text(general, "tipoPersona"),
        state=_text(general, "estadoClave"),
        address=parse_a5_address(general.find("domicilioFiscal")),
        iva_condition=compute_iva_condition(tax_ids, category or None) if certain else None,
        monotributo_category=category or None,
        activities=_activities(persona),
        tax_ids=tuple(sorted(tax_ids)),
        deceased_on=_date_or_none(_text(general, "fechaFallecimiento")),
        notices=tuple(notices),
        source="A5",
    )


def parse_a13(persona: Any, cuit: str) -> Taxpayer:
    """A13's `persona` as a Taxpayer (no taxes: `iva_condition` None). The FISCAL address
    first, then LEGAL/REAL."""
    addresses = sorted(
        persona.findall("domicilio"), key=lambda node: _text(node, "tipoDomicilio") != "FISCAL"
    )
    first = addresses[0] if addresses else None
    address = None
    if first is not None:
        address = Address(
            street=_text(first, "direccion"),
            city=_text(first, "localidad"),
            province=_text(first, "descripcionProvincia"),
            postal_code=_text(first, "codigoPostal"),
            province_id=_int_or_none(_text(first, "idProvincia")),
        )
    main = _int_or_none(_text(persona, "idActividadPrincipal"))
    activities = (
        (Activity(main, _text(persona, "descripcionActividadPrincipal"), 1),) if main else ()
    )
    return Taxpayer(
        cuit=_text(persona, "idPersona") or cuit,
        name=person_name(persona),
        kind=_text(persona, "tipoPersona"),
        state=_text(persona, "estadoClave"),
        address=address,
        iva_condition=None,
        activities=activities,
        deceased_on=_date_or_none(_text(persona, "fechaFallecimiento")),
        source="A13",
    )


def fault_for(code: str, message: str) -> PadronFault:
    """The typed error for a padrón fault, told apart by ARCA's text (CXF says soap:Server
    for all of them)."""
    lowered = message.lower()
    if any(text in lowered for text in NOT_FOUND_TEXTS):
        return TaxpayerNotFound(code, message)
    if any(text in lowered for text in INACTIVE_TEXTS):
        return TaxpayerInactive(code, message)
    if any(text in lowered for text in AUTH_TEXTS):
        return PadronAuthRejected(code, message)
    return PadronFault(code, message)


# --- the client -----------------------------------------------------------------------------------

PadronAuth = Callable[[], tuple[str, str, str]]
"""Returns (token, sign, cuitRepresentada) for the next call, from the service's own ticket."""


@dataclass
class PadronClient:
    """One padrón service (`CONSTANCIA_SERVICE` or `A13_SERVICE`) for one environment.

    `auth` returns (token, sign, cuitRepresentada) for the service's own ticket. Each method
    sends exactly one request. Safe to share between threads (no per-call state).
    """

    environment: Environment
    session: requests.Session
    timeouts: Timeouts
    auth: PadronAuth
    service: str = CONSTANCIA_SERVICE
    _client: Any = field(init=False, repr=False)
    _binding: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        a5 = self.service == CONSTANCIA_SERVICE
        wsdl, binding = (CONSTANCIA_WSDL, A5_BINDING) if a5 else (A13_WSDL, A13_BINDING)
        self._client = build_client(wsdl, self.environment, self.session, self.timeouts)
        self._binding = self._client.create_service(binding, self.url)

    @property
    def url(self) -> str:
        if self.service == CONSTANCIA_SERVICE:
            return self.environment.padron_a5_url
        return self.environment.padron_a13_url

    def dummy(self) -> PadronStatus:
        """`dummy` (no ticket): the service's health."""
        payload = self._post("dummy", {})
        result = payload.find("return")
        return PadronStatus(
            _text(result, "appserver"), _text(result, "dbserver"), _text(result, "authserver")
        )

    def taxpayer(self, cuit: str) -> Taxpayer:
        """The person or company with `cuit` (digits, separators allowed).

        Raises `ValueError` for a CUIT whose check digit is wrong (nothing is sent), then as
        the module docstring says.
        """
        digits = normalize_cuit(cuit)
        if not is_valid_cuit(digits):
            raise ValueError(f"not a valid CUIT: {cuit!r}")
        token, sign, represented = self.auth()
        arguments = {
            "token": token,
            "sign": sign,
            "cuitRepresentada": int(normalize_cuit(represented)),
            "idPersona": int(digits),
        }
        if self.service == CONSTANCIA_SERVICE:
            persona = self._post("getPersona_v2", arguments).find("personaReturn")
            if persona is None:
                raise TaxpayerNotFound("", "No existe persona con ese Id")
            return parse_constancia(persona, digits)
        persona = self._post("getPersona", arguments).find("personaReturn/persona")
        if persona is None:
            raise TaxpayerNotFound("", "No existe persona con ese Id")
        return parse_a13(persona, digits)

    def _post(self, operation: str, arguments: dict[str, Any]) -> Any:
        """Render with zeep (names and namespace from the WSDL), send, return the payload."""
        try:
            envelope = self._client.create_message(self._binding, operation, **arguments)
        except (ZeepError, TypeError) as exc:
            raise ValueError(f"{operation} request does not fit the WSDL: {exc}") from exc
        body = etree_to_string(envelope)
        transport = self._client.transport
        return post_query(transport, self.url, SOAP_HEADERS, operation, body, fault_for)
