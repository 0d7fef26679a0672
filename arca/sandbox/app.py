"""The sandbox as a WSGI app: ARCA's URLs, SOAP dispatch, fault knobs and the admin API.

`Sandbox` is the public object (see `arca.sandbox.create_sandbox`). The app raises
`arca.transport.ConnectionDropped` to simulate a dropped connection: the in-process transport
and the standalone server (`arca.sandbox.server`) turn it into a connection that closes
without a response.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from importlib import resources
from typing import TYPE_CHECKING

from lxml import etree
from werkzeug.wrappers import Request, Response

from arca.environments import WSFECRED_PATH, WSFEX_PATH
from arca.pki import cuit_of
from arca.sandbox import caea, wsfe, wsfe_params
from arca.sandbox.ca import SandboxCA
from arca.sandbox.clock import SandboxClock
from arca.sandbox.cms import verify_signed_data
from arca.sandbox.faults import OUTAGE_RESPONSE, FaultBook
from arca.sandbox.ledger import Ledger, LoggedRequest
from arca.sandbox.soap import (
    EmptyBody,
    MalformedXml,
    Node,
    NotSoap,
    SoapRequest,
    SoapVersion,
    aspnet_envelope,
    aspnet_fault,
    axis_envelope,
    axis_fault,
    parse_envelope,
    render,
)
from arca.sandbox.state import SandboxConfig, State
from arca.sandbox.vouchers import FEV1, BadValue, child, text
from arca.sandbox.wsaa import (
    WsaaFault,
    check_tra,
    decode_cms,
    dn_string,
    issue_ticket,
    parse_tra,
    verified_certificate,
)
from arca.transport import ConnectionDropped

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

WSAA_PATH = "/ws/services/LoginCms"
WSFE_PATH = "/wsfev1/service.asmx"
WSAA_NS = "http://wsaa.view.sua.dvadac.desein.afip.gov"
# Axis accepts loginCms in the schema's namespace and in the WSDL's targetNamespace (what
# clients built from the WSDL's operation namespace send; pyafipws
# tests/cassettes/test_wsaa/test_login_cms.yaml: `<ser:loginCms xmlns:ser="https://wsaahomo…">`).
WSAA_NAMESPACES = frozenset(
    {
        WSAA_NS,
        "https://wsaahomo.afip.gov.ar/ws/services/LoginCms",
        "https://wsaa.afip.gov.ar/ws/services/LoginCms",
    }
)
Handler = Callable[[State, etree._Element], wsfe.OpResult]
OPERATIONS: dict[str, Handler] = {
    "FEDummy": wsfe.fe_dummy,
    "FECAESolicitar": wsfe.fe_cae_solicitar,
    "FECompUltimoAutorizado": wsfe.fe_comp_ultimo_autorizado,
    "FECompConsultar": wsfe.fe_comp_consultar,
    "FECompTotXRequest": wsfe.fe_comp_tot_x_request,
    "FEParamGetTiposCbte": wsfe_params.fe_param_get_tipos_cbte,
    "FEParamGetTiposDoc": wsfe_params.fe_param_get_tipos_doc,
    "FEParamGetTiposIva": wsfe_params.fe_param_get_tipos_iva,
    "FEParamGetTiposConcepto": wsfe_params.fe_param_get_tipos_concepto,
    "FEParamGetTiposMonedas": wsfe_params.fe_param_get_tipos_monedas,
    "FEParamGetTiposTributos": wsfe_params.fe_param_get_tipos_tributos,
    "FEParamGetTiposOpcional": wsfe_params.fe_param_get_tipos_opcional,
    "FEParamGetCotizacion": wsfe_params.fe_param_get_cotizacion,
    "FEParamGetPtosVenta": wsfe_params.fe_param_get_ptos_venta,
    "FEParamGetCondicionIvaReceptor": wsfe_params.fe_param_get_condicion_iva_receptor,
    "FEParamGetTiposPaises": wsfe_params.fe_param_get_tipos_paises,
    "FEParamGetActividades": wsfe_params.fe_param_get_actividades,
    "FECAEASolicitar": caea.fe_caea_solicitar,
    "FECAEAConsultar": caea.fe_caea_consultar,
    "FECAEARegInformativo": caea.fe_caea_reg_informativo,
    "FECAEASinMovimientoInformar": caea.fe_caea_sin_movimiento_informar,
    "FECAEASinMovimientoConsultar": caea.fe_caea_sin_movimiento_consultar,
}
NOT_IMPLEMENTED: frozenset[str] = frozenset()  # every WSDL operation is simulated
# Result types whose WSDL sequence puts Events before Errors (FECAEResponse, FECAEAResponse);
# the others end with Errors, Events; FEDummy and FECAEASinMovimientoInformar have no Events.
_EVENTS_BEFORE_ERRORS = frozenset({"FECAESolicitar", "FECAEARegInformativo"})
_NO_EVENTS = frozenset({"FEDummy", "FECAEASinMovimientoInformar"})
# ASP.NET's SoapException for a SOAP 1.1 request without the SOAPAction header.
NO_ACTION = (
    "Unable to handle request without a valid action parameter. Please supply a valid soap action."
)
_LOCATION = re.compile(r'(location=")https?://[^"/]+(/[^"]*")')


class Sandbox:
    """A local ARCA (WSAA + WSFEv1). Call it as a WSGI app; see the package docstring."""

    def __init__(self, state_path: str | None = None, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.clock = SandboxClock()
        self.ledger = Ledger(state_path)
        self.ca = SandboxCA(self._ca_key(), self.clock)
        self.faults = FaultBook()
        self.state = State(self.config, self.clock, self.ca, self.ledger, self.faults)
        self._login_lock = threading.Lock()
        self.events: list[tuple[int, str]] = []

    def _ca_key(self) -> bytes:
        if self.config.ca_key_pem is not None:
            return self.config.ca_key_pem
        stored = self.ledger.get_meta("ca_key_pem")
        if stored is None:
            stored = SandboxCA.new_key_pem().decode()
            self.ledger.set_meta("ca_key_pem", stored)
        return stored.encode()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = self.dispatch(Request(environ))
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """The response for `request`; raises ConnectionDropped for the drop faults."""
        from arca.sandbox.admin import handle_admin  # admin imports this module
        from arca.sandbox.padron import PADRON_PREFIX, handle_padron  # padron imports this module
        from arca.sandbox.wsfecred import handle_wsfecred  # imports this module
        from arca.sandbox.wsfex import handle_wsfex  # imports this module

        if request.path.rstrip("/") == WSAA_PATH:
            return self._wsaa(request)
        if request.path.rstrip("/").lower() == WSFE_PATH:
            return self._wsfe(request)
        if request.path.rstrip("/").lower() == WSFEX_PATH:
            return handle_wsfex(self, request)
        if request.path.rstrip("/") == WSFECRED_PATH:
            return handle_wsfecred(self, request)
        if request.path.startswith(PADRON_PREFIX):
            return handle_padron(self, request)
        if request.path.startswith("/_sandbox/"):
            return handle_admin(self, request)
        return Response("Not Found", 404, content_type="text/plain; charset=utf-8")

    # --- public helpers -------------------------------------------------------------------

    def reset(self) -> None:
        """Ledger, tickets, faults and request log back to empty; the CA key and clock stay."""
        self.ledger.reset()
        self.faults.clear()
        self.events = []

    @property
    def request_log(self) -> list[LoggedRequest]:
        return self.ledger.requests()

    def announce(self, code: int, message: str) -> None:
        """Add an `Events/Evt` that every WSFE answer carries from now on, as ARCA announces
        changes (NOTES §5.1: e.g. the RG 5616 dates). `reset()` clears them."""
        self.events.append((code, message))

    def login_count(self, cuit: str | None = None) -> int:
        """loginCms calls that reached the sandbox (refused and dropped ones included)."""
        return self.ledger.login_count(cuit)

    def close(self) -> None:
        """Close the ledger's connection (call once, when done with the sandbox)."""
        self.ledger.close()

    # --- shared fault handling ------------------------------------------------------------

    def _log(
        self,
        service: str,
        operation: str,
        cuit: str | None,
        outcome: str,
        cant_reg: int | None = None,
    ) -> None:
        entry = LoggedRequest(service, operation, cuit, self.clock.now(), cant_reg, outcome)
        self.ledger.log_request(entry)

    def _before(self, service: str, operation: str, cuit: str | None) -> bool:
        """Latency and drop_before; True if an http_500 fault hit this request."""
        delay = self.faults.take("latency", service, operation)
        if delay is not None:
            time.sleep(delay.seconds)
        if self.faults.take("drop_before", service, operation) is not None:
            self._log(service, operation, cuit, "dropped_before")
            raise ConnectionDropped(after_processing=False)
        if self.faults.take("http_500", service, operation) is not None:
            self._log(service, operation, cuit, "http_500")
            return True
        return False

    def _after(
        self,
        service: str,
        operation: str,
        cuit: str | None,
        outcome: str,
        cant_reg: int | None = None,
    ) -> None:
        if self.faults.take("drop_after", service, operation) is not None:
            self._log(service, operation, cuit, f"{outcome}+dropped_after", cant_reg)
            raise ConnectionDropped(after_processing=True)
        self._log(service, operation, cuit, outcome, cant_reg)

    # --- WSAA -----------------------------------------------------------------------------

    def _wsaa(self, request: Request) -> Response:
        if request.method == "GET":
            if "wsdl" in {key.lower() for key in request.args}:
                return wsdl_response(request, "wsaa.wsdl")
            return Response("Hi there, this is an AXIS service!", content_type="text/html")
        soap, problem = _wsaa_envelope(request)
        if soap is None:
            return _axis(problem or axis_fault("Client", "Peticion invalida"))
        in0 = _in0(soap.body)
        cuit = _peek_wsaa_cuit(in0)
        if self._before("wsaa", "loginCms", cuit):
            return _axis(
                axis_fault("wsaa.internalError", "No se ha podido procesar el requerimiento")
            )
        if self.faults.take("wsaa_unavailable", "wsaa", "loginCms") is not None:
            self._log("wsaa", "loginCms", cuit, "wsaa.unavailable")
            error = WsaaFault("wsaa.unavailable")
            return _axis(axis_fault(error.code, error.text))
        try:
            ticket_xml = self._login(in0)
        except WsaaFault as error:
            self._after("wsaa", "loginCms", cuit, error.code)
            return _axis(axis_fault(error.code, error.text))
        self._after("wsaa", "loginCms", cuit, "ok")
        # Axis answers in the namespace the request used (the recorded answer to a request in the
        # WSDL's namespace is `<loginCmsResponse xmlns="https://wsaahomo.afip.gov.ar/…">`).
        response: Node = ("loginCmsResponse", [("loginCmsReturn", ticket_xml)])
        body = render(response, xmlns=soap.namespace)
        return Response(axis_envelope(body), 200, content_type="text/xml;charset=utf-8")

    def _login(self, in0: str) -> str:
        """loginCms proper: the TA's XML, or WsaaFault."""
        now = self.clock.now()
        tra_bytes, certificate = verified_certificate(decode_cms(in0), self.ca, now)
        subject = dn_string(certificate.subject)
        tra = parse_tra(tra_bytes)
        check_tra(tra, subject, now)
        window = self.config.already_authenticated_window_seconds
        with self._login_lock:
            previous = self.ledger.latest_ticket(subject, tra.service)
            if previous and previous[1] > now and (now - previous[0]).total_seconds() < window:
                raise WsaaFault("coe.alreadyAuthenticated")
            ticket = issue_ticket(self.ca, certificate, tra, now, self.config.ta_hours)
            self.ledger.record_ticket(subject, ticket.cuit, tra.service, now, ticket.expires_at)
        return ticket.xml

    # --- WSFEv1 ---------------------------------------------------------------------------

    def _wsfe(self, request: Request) -> Response:
        if request.method == "GET":
            if "wsdl" in {key.lower() for key in request.args}:
                return wsdl_response(request, "wsfev1.wsdl")
            return Response("<html><body>Service</body></html>", content_type="text/html")
        try:
            soap = parse_envelope(request.get_data())
        except MalformedXml:
            return Response("Bad Request", 400, content_type="text/html; charset=utf-8")
        except EmptyBody as empty:
            routed = _routed_on_action(request, empty.version)
            if routed is None:
                return aspnet_fault_response(
                    empty.version, True, _empty_body_refusal(request, empty)
                )
            soap = routed
        except NotSoap as error:
            return aspnet_fault_response(
                "1.1", True, f"Server was unable to read request. ---> {error}"
            )
        operation, refusal = _wsfe_operation(request, soap)
        if refusal is not None:
            return aspnet_fault_response(soap.version, True, refusal)
        return self._wsfe_call(soap, operation)

    def _wsfe_call(self, soap: SoapRequest, operation: str) -> Response:
        cuit = text(child(soap.body, "Auth"), "Cuit")
        if self.faults.take("wsfe_unavailable", "wsfe", operation) is not None:
            self._log("wsfe", operation, cuit, "wsfe_unavailable")
            status, page, content_type = OUTAGE_RESPONSE
            return Response(page, status, content_type=content_type)
        if self._before("wsfe", operation, cuit):
            return aspnet_fault_response(
                soap.version,
                False,
                "Server was unable to process request. ---> Error interno simulado por el sandbox.",
            )
        try:
            result = self._run(soap.body, operation)
        except BadValue as error:
            self._log("wsfe", operation, cuit, "bad_request")
            return aspnet_fault_response(
                soap.version,
                True,
                "Server was unable to read request. ---> There is an error in XML document. "
                f"---> {error}",
            )
        self._after("wsfe", operation, result.cuit or cuit, result.outcome, result.cant_reg)
        node = _with_events(operation, result.node, self.events)
        body = render((f"{operation}Response", [node]), xmlns=FEV1)
        envelope = aspnet_envelope(soap.version, body, self._header_info())
        return Response(envelope, 200, content_type=soap_content_type(soap.version))

    def _run(self, body: etree._Element, operation: str) -> wsfe.OpResult:
        if operation in NOT_IMPLEMENTED:
            return wsfe.not_implemented(self.state, body, operation)
        if operation != "FECAESolicitar":
            forced = self.faults.take("reject_next", "wsfe", operation)
            if forced is not None:
                return wsfe.forced_error(operation, forced)
        return OPERATIONS[operation](self.state, body)

    def _header_info(self) -> str:
        fecha = self.clock.now().isoformat(timespec="milliseconds")
        return render(
            (
                "FEHeaderInfo",
                [
                    ("ambiente", self.config.environment_label),
                    ("fecha", fecha),
                    ("id", "sandbox-1.0"),
                ],
            ),
            xmlns=FEV1,
        )


def _in0(login: etree._Element) -> str:
    """loginCms's `in0`, qualified or not (a request in the WSDL's namespace often leaves `in0`
    unqualified, as in the recorded one); "" when absent."""
    for element in login:
        if isinstance(element.tag, str) and etree.QName(element).localname == "in0":
            return element.text or ""
    return ""


def _with_events(operation: str, node: Node, events: list[tuple[int, str]]) -> Node:
    """`node` with `Events/Evt(Code, Msg)` placed where the operation's WSDL sequence has them."""
    name, children = node
    if not events or operation in _NO_EVENTS or isinstance(children, str):
        return node
    evts: Node = ("Events", [("Evt", [("Code", str(c)), ("Msg", m)]) for c, m in events])
    if operation in _EVENTS_BEFORE_ERRORS and children and children[-1][0] == "Errors":
        return (name, [*children[:-1], evts, children[-1]])
    return (name, [*children, evts])


def _axis(payload: bytes) -> Response:
    return Response(payload, 500, content_type="text/xml;charset=utf-8")


def aspnet_fault_response(version: SoapVersion, client_error: bool, message: str) -> Response:
    soap_version = version
    payload = aspnet_fault(soap_version, client_error, message)
    return Response(payload, 500, content_type=soap_content_type(soap_version))


def soap_content_type(version: str) -> str:
    if version == "1.2":
        return "application/soap+xml; charset=utf-8"
    return "text/xml; charset=utf-8"


def _wsaa_envelope(request: Request) -> tuple[SoapRequest | None, bytes | None]:
    """The loginCms request, or the Axis fault refusing it."""
    try:
        soap = parse_envelope(request.get_data())
    except (MalformedXml, NotSoap) as error:
        return None, axis_fault("Server.userException", f"org.xml.sax.SAXParseException: {error}")
    if soap.version != "1.1":
        return None, axis_fault("VersionMismatch", "Version de SOAP no soportada")
    if "SOAPAction" not in request.headers:
        # Axis refuses a SOAP 1.1 request without the header, whatever its value (even "").
        return None, axis_fault("Client.NoSOAPAction", "no SOAPAction header!")
    if soap.namespace not in WSAA_NAMESPACES or soap.operation != "loginCms":
        return None, axis_fault("Client", f"No such operation '{soap.operation}'")
    return soap, None


def _wsfe_operation(request: Request, soap: SoapRequest) -> tuple[str, str | None]:
    """(operation, None) or (_, ASP.NET's refusal text) for a wrong action or unknown element."""
    action = _action(request, soap)
    operation = soap.operation if soap.namespace == FEV1 else ""
    known = operation in OPERATIONS or operation in NOT_IMPLEMENTED
    if soap.version == "1.1" and "SOAPAction" not in request.headers:
        return operation, NO_ACTION
    if action and action != f"{FEV1}{operation}":
        return operation, f"Server did not recognize the value of HTTP Header SOAPAction: {action}."
    if not known:
        return (
            operation,
            f"Server did not recognize the value of HTTP Header SOAPAction: {FEV1}{operation}.",
        )
    return operation, None


def _routed_on_action(request: Request, version: SoapVersion) -> SoapRequest | None:
    """ASP.NET routes a SOAP 1.1 request on SOAPAction (1.2: the Content-Type's action), so an
    empty body with `SOAPAction: "…/FEDummy"` is FEDummy with every parameter missing (pyafipws
    tests/cassettes/test_wsfev1_dummy/test_wsfev1_dummy.yaml: OK/OK/OK). None if no known
    operation is named."""
    action = action_header(request, version)
    operation = action.removeprefix(FEV1) if action.startswith(FEV1) else ""
    if operation not in OPERATIONS and operation not in NOT_IMPLEMENTED:
        return None
    return SoapRequest(version, etree.Element(f"{{{FEV1}}}{operation}"))


def _empty_body_refusal(request: Request, empty: EmptyBody) -> str:
    if empty.version == "1.1" and "SOAPAction" not in request.headers:
        return NO_ACTION
    action = action_header(request, empty.version)
    if action:
        return f"Server did not recognize the value of HTTP Header SOAPAction: {action}."
    return f"Server was unable to read request. ---> {empty}"


def _action(request: Request, soap: SoapRequest) -> str:
    return action_header(request, soap.version)


def action_header(request: Request, version: SoapVersion) -> str:
    if version == "1.1":
        return request.headers.get("SOAPAction", "").strip().strip('"')
    match = re.search(r'action="?([^";]+)"?', request.headers.get("Content-Type", ""))
    return match.group(1) if match else ""


def _peek_wsaa_cuit(in0: str) -> str | None:
    """The signer's CUIT for the request log, without judging the CMS (None if unreadable)."""
    try:
        return cuit_of(verify_signed_data(decode_cms(in0)).certificate.subject)
    except Exception:  # best effort; the real checks come later
        return None


def wsdl_response(request: Request, name: str) -> Response:
    """Our copy of ARCA's contract with `soap:address` pointing at this host."""
    wsdl = resources.files("arca.sandbox").joinpath("wsdl", name).read_text(encoding="utf-8")
    base = request.host_url.rstrip("/")
    rewritten = _LOCATION.sub(lambda m: f"{m.group(1)}{base}{m.group(2)}", wsdl)
    return Response(rewritten, 200, content_type="text/xml; charset=utf-8")
