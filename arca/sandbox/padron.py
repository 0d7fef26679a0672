"""ARCA's padrón services in the sandbox: personaServiceA5 (constancia de inscripción:
`getPersona_v2`, `getPersona`, the list forms, `dummy`) and personaServiceA13 (`getPersona`,
`getIdPersonaListByDocumento`, `dummy`), over SOAP 1.1 at ARCA's paths.

Shaped as ARCA's Apache CXF answers them: no XML declaration, `soap` prefix, the response
wrapper qualified (`ns2:`) and everything inside it unqualified, children in schema
(alphabetical) order; faults with HTTP 500 and `soap:Server`. The taxpayers come from
`arca.sandbox.padron_data`. Which texts are ARCA's and which are our best guess is listed in
docs/arca-sandbox.md, "Padrón".
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from lxml import etree
from werkzeug.wrappers import Request, Response

from arca.cuit import is_valid_cuit
from arca.sandbox.padron_data import (
    EXENTO,
    MONOTRIBUTO,
    RI,
    PadronEntry,
    Place,
    cuits_for_document,
    find_entry,
)
from arca.sandbox.soap import SOAP11, MalformedXml, Node, NotSoap, parse_envelope, render
from arca.sandbox.wsaa import TokenInvalid, verify_token

if TYPE_CHECKING:
    from arca.sandbox.app import Sandbox

PADRON_PREFIX = "/sr-padron/webservices/"
A5 = "personaServiceA5"
A13 = "personaServiceA13"
NAMESPACES = {A5: "http://a5.soap.ws.server.puc.sr/", A13: "http://a13.soap.ws.server.puc.sr/"}
WSDL_FILES = {A5: "ws_sr_constancia_inscripcion.wsdl", A13: "ws_sr_padron_a13.wsdl"}
SERVICES = {A5: "ws_sr_constancia_inscripcion", A13: "ws_sr_padron_a13"}
CONTENT_TYPE = "text/xml;charset=UTF-8"

# Fault texts. Observed live (docs/arca-sandbox.md): missing token, malformed token, bad sign.
# From ARCA's manuals (table 5.3): the rest.
NO_TOKEN = "Falta token y/o sign."  # noqa: S105 (a fault text, not a secret)
MALFORMED_TOKEN = "Token malformado"  # noqa: S105
BAD_SIGN = "No se pudo verificar que <sign> contenga una firma valida de <token>"
NOT_AUTHORIZED = "No autorizado, par token/sign invalido."
NO_REPRESENTED = "Debe enviar la CUIT representada"
NOT_REPRESENTED = "Este token no le permite actuar en representacion de la CUIT "
NOT_FOUND = "No existe persona con ese Id"
INVALID_ID = "El Id de la persona no es valido"
INACTIVE = "La clave (CUIT/CUIL) consultada se encuentra INACTIVA"
# Recorded (pyafipws tests/cassettes/test_ws_sr_padron/test_consultar.yaml).
NO_MONOTRIBUTO = (
    "Datos de monotributo incompletos- no posee categoría",
    "No cumple con las condiciones para enviar datos monotributo",
)
NO_GENERAL_REGIME = "No cumple con las condiciones para enviar datos del regimen general"
MAX_LIST = 250
ARGENTINA = dt.timezone(dt.timedelta(hours=-3))


class PadronFault(Exception):
    """Answered as a CXF fault (HTTP 500) with this text."""

    def __init__(self, text: str, client: bool = False) -> None:
        super().__init__(text)
        self.text = text
        self.client = client


def handle_padron(sandbox: Sandbox, request: Request) -> Response:
    """The answer to a request under PADRON_PREFIX."""
    service = request.path[len(PADRON_PREFIX) :].strip("/")
    if service not in NAMESPACES:
        return Response("Not Found", 404, content_type="text/plain; charset=utf-8")
    if request.method == "GET":
        if "wsdl" in {key.lower() for key in request.args}:
            from arca.sandbox.app import wsdl_response  # app imports this module

            return wsdl_response(request, WSDL_FILES[service])
        return Response(
            "<html><body>No service was found.</body></html>", 200, content_type="text/html"
        )
    try:
        soap = parse_envelope(request.get_data())
    except (MalformedXml, NotSoap) as error:
        return fault(service, PadronFault(f"Error reading XMLStreamReader: {error}", True))
    namespace = NAMESPACES[service]
    if soap.version != "1.1" or soap.namespace != namespace:
        return fault(
            service,
            PadronFault(
                f"Unexpected wrapper element {{{soap.namespace}}}{soap.operation} found.", True
            ),
        )
    return _call(sandbox, service, soap.operation, soap.body)


def _call(sandbox: Sandbox, service: str, operation: str, body: etree._Element) -> Response:
    handler = OPERATIONS.get((service, operation))
    if handler is None:
        return fault(
            service,
            PadronFault(
                f"Unexpected wrapper element {{{NAMESPACES[service]}}}{operation} found.", True
            ),
        )
    represented = _child_text(body, "cuitRepresentada") or None
    log_service = SERVICES[service]
    if sandbox._before(log_service, operation, represented):
        return fault(service, PadronFault("Error interno simulado por el sandbox."))
    try:
        result = handler(sandbox, body)
    except PadronFault as error:
        sandbox._after(log_service, operation, represented, "fault")
        return fault(service, error)
    sandbox._after(log_service, operation, represented, "ok")
    envelope = render((f"ns2:{operation}Response", [result]))
    envelope = envelope.replace(
        f"<ns2:{operation}Response>",
        f'<ns2:{operation}Response xmlns:ns2="{NAMESPACES[service]}">',
        1,
    )
    return Response(_envelope(envelope), 200, content_type=CONTENT_TYPE)


def _envelope(body: str) -> bytes:
    return (
        f'<soap:Envelope xmlns:soap="{SOAP11}"><soap:Body>{body}</soap:Body></soap:Envelope>'
    ).encode()


def fault(service: str, error: PadronFault) -> Response:
    """CXF's fault: HTTP 500, `soap:Server` (or `soap:Client` for unreadable requests) and,
    for the service's own validations, an empty `SRValidationException` as detail."""
    code = "soap:Client" if error.client else "soap:Server"
    detail = (
        ""
        if error.client
        else f'<detail><ns1:SRValidationException xmlns:ns1="{NAMESPACES[service]}"/></detail>'
    )
    body = (
        f"<soap:Fault><faultcode>{code}</faultcode><faultstring>{escape(error.text)}"
        f"</faultstring>{detail}</soap:Fault>"
    )
    return Response(_envelope(body), 500, content_type=CONTENT_TYPE)


def _child_text(element: etree._Element, name: str) -> str:
    """An unqualified child's text (CXF reads the parameters unqualified)."""
    found = element.find(name)
    return (found.text or "").strip() if found is not None else ""


# --- authentication -------------------------------------------------------------------------------


def authenticate(sandbox: Sandbox, body: etree._Element, service: str) -> str:
    """The represented CUIT once token, sign and cuitRepresentada pass; PadronFault otherwise."""
    token, sign = _child_text(body, "token"), _child_text(body, "sign")
    if not token or not sign:
        raise PadronFault(NO_TOKEN)
    try:
        info = verify_token(sandbox.state.ca, token, sign, sandbox.clock.now())
    except TokenInvalid as error:
        raise PadronFault(_token_fault(str(error))) from error
    if info.service != SERVICES[service]:
        raise PadronFault(NOT_AUTHORIZED)
    represented = _child_text(body, "cuitRepresentada")
    if not represented:
        raise PadronFault(NO_REPRESENTED)
    if represented not in info.cuits:
        raise PadronFault(NOT_REPRESENTED + represented)
    return represented


def _token_fault(message: str) -> str:
    lowered = message.lower()
    if "parsear" in lowered or "mal formado" in lowered:
        return MALFORMED_TOKEN
    if "hash" in lowered or "firma" in lowered:
        return BAD_SIGN
    return NOT_AUTHORIZED  # expired: ARCA's exact text is not known (docs/arca-sandbox.md)


def _requested_entry(body: etree._Element) -> PadronEntry:
    id_persona = _child_text(body, "idPersona")
    if not id_persona.isdigit() or not is_valid_cuit(id_persona):
        raise PadronFault(INVALID_ID)
    entry = find_entry(id_persona)
    if entry is None:
        raise PadronFault(NOT_FOUND)
    return entry


# --- A5: constancia de inscripción ----------------------------------------------------------------


def a5_get_persona(sandbox: Sandbox, body: etree._Element) -> Node:
    """getPersona_v2 and getPersona: the constancia of one CUIT (inactive and deceased persons
    answer with their data and an errorConstancia; unknown ones with a fault)."""
    authenticate(sandbox, body, A5)
    entry = _requested_entry(body)
    return ("personaReturn", [*constancia(entry), _metadata(sandbox)])


def a5_get_persona_list(sandbox: Sandbox, body: etree._Element) -> Node:
    """getPersonaList_v2 / getPersonaList: up to 250 CUITs; an unknown one is a `persona` with
    only `errorConstancia` (the manual's example)."""
    authenticate(sandbox, body, A5)
    ids = [(node.text or "").strip() for node in body.findall("idPersona")][:MAX_LIST]
    people: list[Node] = []
    for id_persona in ids:
        entry = find_entry(id_persona) if id_persona.isdigit() else None
        if entry is None:
            error: list[Node] = [("error", NOT_FOUND), ("idPersona", id_persona)]
            people.append(("persona", [("errorConstancia", error)]))
        else:
            people.append(("persona", constancia(entry)))
    return ("personaListReturn", [_metadata(sandbox), *people])


def constancia(entry: PadronEntry) -> list[Node]:
    """datosGenerales, the tax blocks and the error blocks, in ARCA's order."""
    nodes: list[Node] = [("datosGenerales", _general(entry))]
    if entry.iva == MONOTRIBUTO:
        nodes.append(("datosMonotributo", _monotributo(entry)))
    if entry.iva in (RI, EXENTO):
        nodes.append(("datosRegimenGeneral", _general_regime(entry)))
    if entry.state != "ACTIVO":
        nodes.append(
            (
                "errorConstancia",
                [
                    ("apellido", entry.last_name or entry.company_name),
                    ("error", INACTIVE),
                    ("idPersona", entry.cuit),
                    *([("nombre", entry.first_name)] if entry.first_name else []),
                ],
            )
        )
    if entry.iva != MONOTRIBUTO:
        nodes.append(
            ("errorMonotributo", [("error", NO_MONOTRIBUTO[0]), ("mensaje", NO_MONOTRIBUTO[1])])
        )
    if entry.iva not in (RI, EXENTO):
        nodes.append(("errorRegimenGeneral", [("mensaje", NO_GENERAL_REGIME)]))
    return nodes


def _general(entry: PadronEntry) -> list[Node]:
    nodes: list[Node] = []
    if entry.last_name:
        nodes.append(("apellido", entry.last_name))
    if entry.place is not None:
        nodes.append(("domicilioFiscal", _address(entry.place)))
    nodes.append(("estadoClave", entry.state))
    if entry.deceased_on is not None:
        nodes.append(("fechaFallecimiento", f"{entry.deceased_on.isoformat()}T00:00:00-03:00"))
    nodes += [("idPersona", entry.cuit), ("mesCierre", "12")]
    if entry.first_name:
        nodes.append(("nombre", entry.first_name))
    if entry.company_name:
        nodes.append(("razonSocial", entry.company_name))
    return [*nodes, ("tipoClave", "CUIT"), ("tipoPersona", entry.kind)]


def _address(place: Place) -> list[Node]:
    nodes: list[Node] = [
        ("codPostal", place.postal_code),
        ("descripcionProvincia", place.province),
        ("direccion", place.street),
        ("idProvincia", str(place.province_id)),
    ]
    if place.city:
        nodes.append(("localidad", place.city))
    return [*nodes, ("tipoDomicilio", "FISCAL")]


def _activities(entry: PadronEntry, name: str) -> list[Node]:
    return [
        (
            name,
            [
                ("descripcionActividad", description),
                ("idActividad", str(code)),
                ("nomenclador", "883"),
                ("orden", str(order)),
                ("periodo", str(entry.since)),
            ],
        )
        for order, (code, description) in enumerate(entry.activities, start=1)
    ]


def _tax(entry: PadronEntry, code: int, description: str) -> Node:
    return (
        "impuesto",
        [
            ("descripcionImpuesto", description),
            ("estadoImpuesto", "AC"),
            ("idImpuesto", str(code)),
            ("periodo", str(entry.since)),
        ],
    )


def _general_regime(entry: PadronEntry) -> list[Node]:
    iva = (32, "IVA EXENTO") if entry.iva == EXENTO else (30, "IVA")
    taxes = sorted([iva, *entry.extra_taxes])
    if entry.kind == "JURIDICA":
        taxes = sorted([*taxes, (10, "GANANCIAS SOCIEDADES")])
    return [
        *_activities(entry, "actividad"),
        *(_tax(entry, code, description) for code, description in taxes),
    ]


def _monotributo(entry: PadronEntry) -> list[Node]:
    nodes: list[Node] = _activities(entry, "actividadMonotributista")[:1]
    nodes.append(
        (
            "categoriaMonotributo",
            [
                ("descripcionCategoria", f"{entry.category} LOCACIONES DE SERVICIO"),
                ("idCategoria", str("ABCDEFGHIJK".index(entry.category) + 1)),
                ("idImpuesto", "20"),
                ("periodo", str(entry.since)),
            ],
        )
    )
    nodes.append(_tax(entry, 20, "MONOTRIBUTO"))
    return nodes


def _metadata(sandbox: Sandbox) -> Node:
    moment = sandbox.clock.now().astimezone(ARGENTINA).isoformat(timespec="milliseconds")
    return ("metadata", [("fechaHora", moment), ("servidor", "sandbox")])


# --- A13 ------------------------------------------------------------------------------------------


def a13_get_persona(sandbox: Sandbox, body: etree._Element) -> Node:
    """A13's getPersona: the person and their addresses; inactive keys are refused."""
    authenticate(sandbox, body, A13)
    entry = _requested_entry(body)
    if entry.state != "ACTIVO":
        raise PadronFault(INACTIVE)
    return ("personaReturn", [_metadata(sandbox), ("persona", _a13_persona(entry))])


def _a13_persona(entry: PadronEntry) -> list[Node]:
    nodes: list[Node] = []
    if entry.last_name:
        nodes.append(("apellido", entry.last_name))
    if entry.activities:
        nodes.append(("descripcionActividadPrincipal", entry.activities[0][1]))
    if entry.place is not None:
        place = entry.place
        address: list[Node] = [
            ("codigoPostal", place.postal_code),
            ("descripcionProvincia", place.province),
            ("direccion", place.street),
            ("estadoDomicilio", "CONFIRMADO"),
            ("idProvincia", str(place.province_id)),
        ]
        if place.city:
            address.append(("localidad", place.city))
        nodes.append(("domicilio", [*address, ("tipoDomicilio", "FISCAL")]))
    nodes.append(("estadoClave", entry.state))
    if entry.activities:
        nodes.append(("idActividadPrincipal", str(entry.activities[0][0])))
    nodes += [("idPersona", entry.cuit), ("mesCierre", "12")]
    if entry.first_name:
        nodes.append(("nombre", entry.first_name))
    if entry.document:
        nodes.append(("numeroDocumento", entry.document))
    if entry.company_name:
        nodes.append(("razonSocial", entry.company_name))
    nodes.append(("tipoClave", "CUIT"))
    if entry.document:
        nodes.append(("tipoDocumento", "DNI"))
    return [*nodes, ("tipoPersona", entry.kind)]


def a13_get_id_persona_list(sandbox: Sandbox, body: etree._Element) -> Node:
    """getIdPersonaListByDocumento: the CUITs of a DNI (none: an empty list)."""
    authenticate(sandbox, body, A13)
    cuits = cuits_for_document(_child_text(body, "documento"))
    return ("idPersonaListReturn", [*(("idPersona", cuit) for cuit in cuits), _metadata(sandbox)])


def dummy(sandbox: Sandbox, body: etree._Element) -> Node:
    """No token needed: the three servers' state."""
    return ("return", [("appserver", "OK"), ("authserver", "OK"), ("dbserver", "OK")])


OPERATIONS = {
    (A5, "getPersona_v2"): a5_get_persona,
    (A5, "getPersona"): a5_get_persona,
    (A5, "getPersonaList_v2"): a5_get_persona_list,
    (A5, "getPersonaList"): a5_get_persona_list,
    (A5, "dummy"): dummy,
    (A13, "getPersona"): a13_get_persona,
    (A13, "getIdPersonaListByDocumento"): a13_get_id_persona_list,
    (A13, "dummy"): dummy,
}
