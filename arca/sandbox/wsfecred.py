"""wsfecred (FCE MiPyME, Registro de Facturas de Crédito) in the sandbox: `dummy` and
`consultarMontoObligadoRecepcion` over SOAP 1.1 at ARCA's path, `?wsdl` served.

Shaped after the WSDL (document/literal, no `elementFormDefault`): the response wrapper is
qualified in the service's namespace and everything inside it unqualified, in schema order.
Business answers come with HTTP 200 (`arrayErrores` for a refused query, as the WSDL's return
type allows); token, sign and represented-CUIT problems are SOAP faults (HTTP 500,
`soapenv:Server`) with the padrón's texts, since ARCA's own for this service are not recorded
**[UNCERTAIN]** (docs/arca-sandbox.md, "FCE"). Every other FECredService operation answers a
`soapenv:Client` fault: the sandbox does not simulate the FCE accounts (ctas. ctes.).

Who is obligated and from what amount comes from `arca.sandbox.wsfecred_data`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from lxml import etree
from werkzeug.wrappers import Request, Response

from arca.cuit import is_valid_cuit
from arca.sandbox.padron import BAD_SIGN, MALFORMED_TOKEN, NO_TOKEN, NOT_AUTHORIZED
from arca.sandbox.soap import (
    SOAP11,
    EmptyBody,
    MalformedXml,
    Node,
    NotSoap,
    axis_envelope,
    parse_envelope,
    render,
)
from arca.sandbox.wsaa import TokenInvalid, verify_token
from arca.sandbox.wsfecred_data import threshold_for

if TYPE_CHECKING:
    from arca.sandbox.app import Sandbox

NAMESPACE = "http://ar.gob.afip.wsfecred/FECredService/"
SERVICE = "wsfecred"
WSDL_FILE = "wsfecred.wsdl"
CONTENT_TYPE = "text/xml;charset=UTF-8"

# The sandbox's own codes and texts for a refused query (ARCA's are not recorded).
INVALID_CUIT = (1001, "El campo cuitConsultada no es una CUIT valida.")
INVALID_DATE = (1002, "El campo fechaEmision no es una fecha valida (yyyy-mm-dd).")
NOT_REPRESENTED = "El token no le permite actuar en representacion de la CUIT "


class WsfecredFault(Exception):
    """Answered as a SOAP fault (HTTP 500) with this text."""

    def __init__(self, text: str, client: bool = False) -> None:
        super().__init__(text)
        self.text = text
        self.client = client


def handle_wsfecred(sandbox: Sandbox, request: Request) -> Response:
    """The answer to a request at the service's path."""
    if request.method == "GET":
        if "wsdl" in {key.lower() for key in request.args}:
            from arca.sandbox.app import wsdl_response  # app imports this module

            return wsdl_response(request, WSDL_FILE)
        return Response("<h1>FECredService</h1><p>Hi there, this is a Web service!</p>", 200)
    try:
        soap = parse_envelope(request.get_data())
    except EmptyBody:
        # `dummy` has an empty request message: routed on SOAPAction, like ARCA's stack.
        return _call(sandbox, _action_of(request), None)
    except (MalformedXml, NotSoap) as error:
        return fault(WsfecredFault(f"Error reading the request: {error}", client=True))
    if soap.version != "1.1" or soap.namespace != NAMESPACE:
        return fault(WsfecredFault(f"No such operation '{soap.operation}'", client=True))
    return _call(sandbox, _operation_of(soap.operation), soap.body)


def _action_of(request: Request) -> str:
    action = (request.headers.get("SOAPAction") or "").strip('"')
    return action.rsplit("/", 1)[-1]


def _operation_of(element_name: str) -> str:
    """The operation of a request element (`consultarMontoObligadoRecepcionRequest`)."""
    return element_name.removesuffix("Request")


def _call(sandbox: Sandbox, operation: str, body: etree._Element | None) -> Response:
    handler = OPERATIONS.get(operation)
    if handler is None:
        return fault(WsfecredFault(f"No such operation '{operation}'", client=True))
    represented = _represented(body)
    if sandbox._before(SERVICE, operation, represented):
        return fault(WsfecredFault("Error interno simulado por el sandbox."))
    try:
        result = handler(sandbox, body)
    except WsfecredFault as error:
        sandbox._after(SERVICE, operation, represented, "fault")
        return fault(error)
    sandbox._after(SERVICE, operation, represented, "ok")
    wrapper = f"{operation}Response"
    envelope = render((f"ns1:{wrapper}", [result])).replace(
        f"<ns1:{wrapper}>", f'<ns1:{wrapper} xmlns:ns1="{NAMESPACE}">', 1
    )
    return Response(axis_envelope(envelope), 200, content_type=CONTENT_TYPE)


def fault(error: WsfecredFault) -> Response:
    """HTTP 500 with `soapenv:Server` (`soapenv:Client` for an unreadable or unknown request)."""
    code = "soapenv:Client" if error.client else "soapenv:Server"
    body = (
        f"<soapenv:Fault><faultcode>{code}</faultcode><faultstring>{escape(error.text)}"
        "</faultstring></soapenv:Fault>"
    )
    return Response(axis_envelope(body), 500, content_type=CONTENT_TYPE)


def _child_text(element: etree._Element | None, path: str) -> str:
    """An unqualified descendant's text (the WSDL leaves local elements unqualified)."""
    found = None if element is None else element.find(path)
    return (found.text or "").strip() if found is not None else ""


def _represented(body: etree._Element | None) -> str | None:
    return _child_text(body, "authRequest/cuitRepresentada") or None


# --- authentication -------------------------------------------------------------------------------


def authenticate(sandbox: Sandbox, body: etree._Element | None) -> str:
    """The represented CUIT once token, sign and cuitRepresentada pass; WsfecredFault otherwise."""
    token = _child_text(body, "authRequest/token")
    sign = _child_text(body, "authRequest/sign")
    if not token or not sign:
        raise WsfecredFault(NO_TOKEN)
    try:
        info = verify_token(sandbox.state.ca, token, sign, sandbox.clock.now())
    except TokenInvalid as error:
        raise WsfecredFault(_token_fault(str(error))) from error
    if info.service != SERVICE:
        raise WsfecredFault(NOT_AUTHORIZED)
    represented = _child_text(body, "authRequest/cuitRepresentada")
    if represented not in info.cuits:
        raise WsfecredFault(NOT_REPRESENTED + represented)
    return represented


def _token_fault(message: str) -> str:
    lowered = message.lower()
    if "parsear" in lowered:
        return MALFORMED_TOKEN
    if "hash" in lowered:
        return BAD_SIGN
    return NOT_AUTHORIZED


# --- operations -----------------------------------------------------------------------------------


def dummy(sandbox: Sandbox, body: etree._Element | None) -> Node:
    """No ticket needed: the three servers' state."""
    return ("dummyReturn", [("appserver", "OK"), ("authserver", "OK"), ("dbserver", "OK")])


def consultar_monto_obligado_recepcion(sandbox: Sandbox, body: etree._Element | None) -> Node:
    """Whether `cuitConsultada` must receive FCE and from what amount (`montoDesde`), as of
    `fechaEmision`. Unknown companies are simply not obligated."""
    authenticate(sandbox, body)
    cuit = _child_text(body, "cuitConsultada")
    errors: list[tuple[int, str]] = []
    if not (cuit.isdigit() and is_valid_cuit(cuit)):
        errors.append(INVALID_CUIT)
    if not _is_date(_child_text(body, "fechaEmision")):
        errors.append(INVALID_DATE)
    if errors:
        return ("consultarMontoObligadoRecepcionReturn", [_codes("arrayErrores", errors)])
    threshold = threshold_for(cuit)
    if threshold is None:
        return ("consultarMontoObligadoRecepcionReturn", [("obligado", "N")])
    nodes: list[Node] = [("obligado", "S"), ("montoDesde", f"{threshold:.2f}")]
    return ("consultarMontoObligadoRecepcionReturn", nodes)


def _is_date(value: str) -> bool:
    """An xsd:date (`yyyy-mm-dd`, optionally followed by a zone such as `-03:00`)."""
    try:
        dt.date.fromisoformat(value[:10])
    except ValueError:
        return False
    return "T" not in value


def _codes(name: str, findings: list[tuple[int, str]]) -> Node:
    return (
        name,
        [("codigoDescripcion", [("codigo", str(c)), ("descripcion", d)]) for c, d in findings],
    )


OPERATIONS = {
    "dummy": dummy,
    "consultarMontoObligadoRecepcion": consultar_monto_obligado_recepcion,
}

__all__ = ["NAMESPACE", "SOAP11", "handle_wsfecred"]
