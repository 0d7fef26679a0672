"""HTTP transport for ARCA's SOAP services (timeouts, TLS, and the in-process sandbox)."""

from __future__ import annotations

import contextlib
import io
import re
import ssl
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from http.client import RemoteDisconnected
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from wsgiref.types import WSGIApplication, WSGIEnvironment

import requests
import requests.certs
from lxml import etree
from requests import PreparedRequest, Response, Session
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.exceptions import InvalidSchema, InvalidURL, MissingSchema
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3.exceptions import NewConnectionError, ProtocolError
from zeep import Client, Settings, Transport

from arca.environments import (
    ENVIRONMENTS,
    PADRON_A5_PATH,
    PADRON_A13_PATH,
    WSAA_PATH,
    WSFE_PATH,
    WSFECRED_PATH,
    WSFEX_PATH,
    Environment,
)
from arca.errors import OutcomeUnknown, ServiceUnavailable, SoapFault
from arca.wsdl import load_document


class ConnectionDropped(Exception):  # named after the event, like ConnectionResetError
    """Raised by the sandbox's WSGI app to drop the connection without answering.

    `after_processing` says whether the sandbox had already acted on the request (e.g. granted a
    CAE) before dropping it: the client cannot tell the two apart, which is the point. The
    in-process transport turns it into a connection error raised after the request was sent;
    the standalone sandbox server closes the socket without writing a response.
    """

    def __init__(self, after_processing: bool) -> None:
        super().__init__("connection dropped by the ARCA sandbox")
        self.after_processing = after_processing


# --- Everything below is the client side; ConnectionDropped above is shared with the sandbox. ---

ARCA_HOSTS = frozenset(
    urlsplit(url).hostname or ""
    for environment in ENVIRONMENTS.values()
    for url in environment.urls
)

# OpenSSL 3 refuses the Diffie-Hellman parameters some ARCA servers (production WSFEv1 above all)
# still negotiate: "[SSL: DH_KEY_TOO_SMALL] dh key too small" (NOTES §12.5, reported from 2020 to
# 2024). Security level 1 accepts them. Certificate and hostname verification stay on: ARCA's
# TLS certificates come from a public CA.
ARCA_CIPHERS = "DEFAULT@SECLEVEL=1"


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for the TCP/TLS connection, and then between bytes of the answer.

    Both are always explicit: without them requests waits forever, and a hung FECAESolicitar
    would hold the voucher's sequence lock with it.
    """

    connect: float = 5
    read: float = 30


def build_arca_ssl_context() -> ssl.SSLContext:
    """A verifying client context (requests' CA bundle) that also accepts ARCA's legacy DH keys."""
    context = ssl.create_default_context(cafile=requests.certs.where())
    context.set_ciphers(ARCA_CIPHERS)
    return context


class ArcaTlsAdapter(HTTPAdapter):
    """requests adapter for ARCA's own hosts only, with `build_arca_ssl_context()`.

    Mounted per host by `build_session`, so the weakened cipher policy never applies to any other
    site the process talks to. requests' default `Retry(0, read=False)` is kept: a POST is never
    repeated behind our back (FECAESolicitar is not idempotent).
    """

    def __init__(self) -> None:
        # Set before super().__init__(), which calls init_poolmanager().
        self._ssl_context = build_arca_ssl_context()
        super().__init__()

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        pool_kwargs["ssl_context"] = self._ssl_context
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        proxy_kwargs["ssl_context"] = self._ssl_context
        return super().proxy_manager_for(proxy, **proxy_kwargs)


class WSGIAdapter(BaseAdapter):
    """Serves requests from a WSGI app in the same process (the ARCA sandbox), no sockets.

    The app sees a plain WSGI environ built from the PreparedRequest; its status, headers and
    body come back as a `requests.Response`. If the app raises `ConnectionDropped`, the adapter
    raises `requests.ConnectionError` wrapping the same `ProtocolError(RemoteDisconnected)` that
    requests raises when a real server closes the connection after receiving the request, so the
    client classifies both identically. Timeouts are not enforced (the call is synchronous).
    """

    def __init__(self, app: WSGIApplication) -> None:
        super().__init__()
        self.app = app

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: object = None,
        verify: object = True,
        cert: object = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        """Run the app on `request`; raise `requests.ConnectionError` if it drops the connection."""
        captured: dict[str, Any] = {}
        written: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            captured["status"], captured["headers"] = status, headers
            return written.append

        try:
            result = self.app(_build_environ(request), start_response)
            try:
                chunks = [*written, *result]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except ConnectionDropped as exc:
            dropped = ProtocolError(
                "Connection aborted.", RemoteDisconnected("Remote end closed connection")
            )
            raise requests.ConnectionError(dropped, request=request) from exc
        return _build_response(request, captured, b"".join(chunks))

    def close(self) -> None:
        """Nothing to release: no connections are pooled."""


def _build_environ(request: PreparedRequest) -> WSGIEnvironment:
    parts = urlsplit(request.url or "")
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not isinstance(body, bytes):
        raise TypeError("WSGIAdapter only sends bodies given as bytes or str")
    default_port = "443" if parts.scheme == "https" else "80"
    environ: WSGIEnvironment = {
        "REQUEST_METHOD": request.method or "GET",
        "SCRIPT_NAME": "",
        # PEP 3333: PATH_INFO is the URL-decoded path as latin-1 text.
        "PATH_INFO": unquote(parts.path or "/", encoding="latin-1"),
        "QUERY_STRING": parts.query,
        "SERVER_NAME": parts.hostname or "localhost",
        "SERVER_PORT": str(parts.port) if parts.port else default_port,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": parts.netloc,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": parts.scheme or "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            environ[f"HTTP_{key}"] = value
    return environ


def _build_response(request: PreparedRequest, captured: dict[str, Any], body: bytes) -> Response:
    if "status" not in captured:
        raise RuntimeError("the WSGI app returned without calling start_response")
    code, _, reason = str(captured["status"]).partition(" ")
    response = Response()
    response.status_code = int(code)
    response.reason = reason
    response.headers = CaseInsensitiveDict(captured["headers"])
    response.encoding = get_encoding_from_headers(response.headers)
    response.raw = io.BytesIO(body)
    response.url = request.url or ""
    response.request = request
    return response


def build_session(environment: Environment, wsgi_app: WSGIApplication | None = None) -> Session:
    """A `requests.Session` for `environment`. The caller owns it and must `close()` it.

    With `wsgi_app` (the in-process sandbox), a `WSGIAdapter` is mounted on the environment's
    base URLs and no socket is ever opened for them. Otherwise, for homologación and producción,
    an `ArcaTlsAdapter` is mounted on ARCA's hosts only (`https://host/`, trailing slash
    included so that look-alike hosts do not match). Any other URL uses requests' defaults.
    """
    session = Session()
    if wsgi_app is not None:
        wsgi_adapter = WSGIAdapter(wsgi_app)
        for base in environment.base_urls:
            session.mount(base, wsgi_adapter)
        return session
    tls_adapter = ArcaTlsAdapter()
    for base in environment.base_urls:
        parts = urlsplit(base)
        if parts.scheme == "https" and parts.hostname in ARCA_HOSTS:
            session.mount(base, tls_adapter)
    return session


# --- Observing every call (the app's metrics) ----------------------------------------------------

CallObserver = Callable[[str, str, str, float], None]
"""`observer(service, operation, outcome, seconds)`, after every call to ARCA. `outcome` is
"ok", "rejected" (an answer carrying ARCA's errors or a rejected voucher), "fault" (a SOAP
fault), "unavailable" (no usable answer; nothing was processed) or "unknown" (an
authorization that may have been processed)."""

_observers: list[CallObserver] = []
_observing: ContextVar[bool] = ContextVar("arca_call_observed", default=False)
SERVICES_BY_PATH = {
    WSAA_PATH: "wsaa",
    WSFE_PATH: "wsfe",
    WSFEX_PATH: "wsfex",
    WSFECRED_PATH: "wsfecred",
    PADRON_A5_PATH: "padron_a5",
    PADRON_A13_PATH: "padron_a13",
}
_FIRST_IN_BODY = re.compile(rb"<(?:[\w.-]+:)?Body\b[^>]*>\s*<(?:[\w.-]+:)?([\w.-]+)")


def add_call_observer(observer: CallObserver) -> None:
    """Have `observer` told about every ARCA call of this process (added once however often)."""
    if observer not in _observers:
        _observers.append(observer)


def service_of(url: str) -> str:
    """The service a URL points at, by its path (the same in every environment)."""
    return SERVICES_BY_PATH.get(urlsplit(url).path, "other")


@dataclass
class _Call:
    outcome: str | None = None


@contextlib.contextmanager
def _observed(url: str, operation: str) -> Iterator[_Call]:
    """Time the block and tell the observers how it ended: the outcome the block set, else
    the one its exception means. An observer's failure never fails the call."""
    call = _Call()
    token = _observing.set(True)
    started = time.perf_counter()
    try:
        yield call
    except BaseException as exc:
        call.outcome = call.outcome or _outcome_of(exc)
        raise
    finally:
        _observing.reset(token)
        seconds = time.perf_counter() - started
        for observer in _observers:
            with contextlib.suppress(Exception):
                observer(service_of(url), operation, call.outcome or "ok", seconds)


def _outcome_of(exc: BaseException) -> str:
    if isinstance(exc, OutcomeUnknown):
        return "unknown"
    if isinstance(exc, SoapFault):
        return "fault"
    return "unavailable"


def _answer_outcome(result: Any) -> str:
    """`rejected` when a result carries ARCA's errors (WSFEv1 `Errors/Err` other than 602, no
    data; WSFEXv1 `FEXErr` with a code) or a rejected voucher (`Resultado` R), else `ok`."""
    for element in result.iter():
        name = etree.QName(element).localname if isinstance(element.tag, str) else ""
        if name == "Resultado" and (element.text or "").strip() == "R":
            return "rejected"
        if name in ("Err", "FEXErr"):
            code = next(
                (
                    (child.text or "").strip()
                    for child in element
                    if isinstance(child.tag, str)
                    and etree.QName(child).localname in ("Code", "ErrCode")
                ),
                "",
            )
            if code not in ("", "0", "602"):
                return "rejected"
    return "ok"


class ObservedTransport(Transport):
    """zeep's Transport, telling the observers about calls nobody above it observes (WSAA's
    loginCms, sent by zeep itself)."""

    def post(self, address: str, message: Any, headers: Any) -> Any:
        if _observing.get():
            return super().post(address, message, headers)
        body = message if isinstance(message, bytes) else str(message).encode()
        found = _FIRST_IN_BODY.search(body)
        operation = found.group(1).decode() if found else "unknown"
        with _observed(address, operation) as call:
            response = super().post(address, message, headers)
            reply = read_soap_reply(response)
            if reply.is_fault:
                call.outcome = "fault"
            elif reply.status != 200 or reply.payload is None:
                call.outcome = "unavailable"
            return response


def build_transport(environment: Environment, session: Session, timeouts: Timeouts) -> Transport:
    """A zeep `Transport` posting through `session` with explicit connect/read timeouts.

    zeep sends `Content-Type: text/xml; charset=utf-8` and the SOAPAction the WSDL declares:
    `"http://ar.gov.afip.dif.FEV1/<Operation>"` for WSFEv1, and `""` for WSAA, whose WSDL
    declares an empty action but whose Axis server wants the header present (NOTES §2). The
    session stays the caller's (zeep does not close a session it was given). `environment` is
    accepted so that per-environment tuning has one place to go; it changes nothing today.
    """
    del environment
    return ObservedTransport(
        session=session,
        timeout=timeouts.read,  # only for loading documents, which never happens (local WSDLs)
        operation_timeout=(timeouts.connect, timeouts.read),
    )


def build_client(
    wsdl: Path, environment: Environment, session: Session, timeouts: Timeouts
) -> Client:
    """A zeep `Client` for one of the project's WSDLs (parsed once per process).

    `raw_response`: zeep builds the envelope from the WSDL (names, namespace, SOAPAction) and
    sends it (WSFEv1 posts through `client.transport` itself, and builds FECAESolicitar's
    envelope without zeep, byte for byte the same); callers read the reply themselves, so that
    faults (WSAA's come with HTTP 500) and transport failures map to our own errors, and money
    stays Decimal (zeep would read xsd:double as float).
    """
    return Client(
        load_document(wsdl),
        transport=build_transport(environment, session, timeouts),
        settings=Settings(strict=True, raw_response=True),
    )


def request_may_have_arrived(exc: requests.RequestException) -> bool:
    """False only when `exc` certainly happened before the request left this process.

    That is: the connection was never made (DNS, refused, connect timeout), the server's TLS
    certificate was rejected or the handshake failed, or requests refused the URL itself. A read
    timeout, a connection reset or closed after sending, or a broken response body all mean
    ARCA may have received and processed the request.
    """
    if isinstance(exc, requests.ConnectTimeout | InvalidURL | MissingSchema | InvalidSchema):
        return False
    causes = _causes(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        return not any(_is_handshake_failure(cause) for cause in causes)
    if isinstance(exc, requests.ConnectionError):
        return not any(isinstance(cause, NewConnectionError) for cause in causes)
    return True


# OpenSSL reasons that can only come from the handshake, i.e. before any HTTP byte is written.
_HANDSHAKE_REASONS = frozenset(
    {
        "DH_KEY_TOO_SMALL",
        "WRONG_VERSION_NUMBER",
        "NO_CIPHERS_AVAILABLE",
        "UNSUPPORTED_PROTOCOL",
        "SSLV3_ALERT_HANDSHAKE_FAILURE",
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "UNSAFE_LEGACY_RENEGOTIATION_DISABLED",
    }
)


def _is_handshake_failure(cause: BaseException) -> bool:
    if isinstance(cause, ssl.SSLCertVerificationError):
        return True
    return isinstance(cause, ssl.SSLError) and getattr(cause, "reason", None) in _HANDSHAKE_REASONS


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and what it wraps: requests and urllib3 nest errors in args and `reason`."""
    chain: list[BaseException] = []
    pending: list[BaseException] = [exc]
    while pending and len(chain) < 20:
        current = pending.pop()
        chain.append(current)
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            pending.append(reason)
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        if current.__cause__ is not None:
            pending.append(current.__cause__)
    return chain


SOAP11_ENVELOPE = "http://schemas.xmlsoap.org/soap/envelope/"


def safe_xml_parser() -> Any:
    """A fresh lxml parser with no entities, DTDs or network: for XML that comes from outside.

    Fresh per call because an lxml parser must not be shared between threads.
    """
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@dataclass(frozen=True)
class SoapReply:
    """An HTTP answer to a SOAP 1.1 call, taken apart without interpreting it.

    `payload` is the first element inside `soap:Body` (e.g. `FEDummyResponse`) when the body
    parsed and was not a fault; `fault_code`/`fault_string` are set when it was a fault. Both
    are None/empty when the answer is not SOAP at all (an HTML error page, an empty body).
    """

    status: int
    text: str
    payload: Any = None
    fault_code: str | None = None
    fault_string: str = ""

    @property
    def is_fault(self) -> bool:
        return self.fault_code is not None


def read_soap_reply(response: Response) -> SoapReply:
    """Split `response` into payload or fault; never raises for bad content."""
    content = response.content or b""
    text = content.decode(response.encoding or "utf-8", errors="replace")
    try:
        root = etree.fromstring(content, parser=safe_xml_parser())
    except (etree.XMLSyntaxError, ValueError):
        return SoapReply(status=response.status_code, text=text)
    body = root.find(f"{{{SOAP11_ENVELOPE}}}Body") if root is not None else None
    if body is None or len(body) == 0:
        return SoapReply(status=response.status_code, text=text)
    first = body[0]
    if first.tag == f"{{{SOAP11_ENVELOPE}}}Fault":
        # faultcode and faultstring are unqualified children of soap:Fault (SOAP 1.1 §4.4).
        return SoapReply(
            status=response.status_code,
            text=text,
            fault_code=(first.findtext("faultcode") or "").strip(),
            fault_string=(first.findtext("faultstring") or "").strip(),
        )
    return SoapReply(status=response.status_code, text=text, payload=first)


SOAP11_CONTENT_TYPE = "text/xml; charset=utf-8"


@dataclass(frozen=True)
class SoapAnswer:
    """An operation's `<Operation>Result` element and the answer's text (kept for the record)."""

    result: Any
    raw_response_xml: str


def post_operation(
    transport: Transport,
    url: str,
    action: str,
    result_tag: str,
    body: bytes,
    mutating: bool = False,
    raw_request: str = "",
) -> SoapAnswer:
    """Send one rendered SOAP 1.1 envelope of an ASMX service (WSFEv1, WSFEXv1); return the
    `result_tag` element or raise as `check_reply` says.

    What zeep's own `send` does once it has rendered: the same bytes, the same headers
    (`text/xml` and the WSDL's quoted SOAPAction), through the client's `Transport.post` (its
    session and timeouts). `mutating` (an authorization) turns "may have been processed" into
    `OutcomeUnknown` carrying `raw_request`, instead of `ServiceUnavailable`.
    """
    operation = result_tag.rsplit("}", 1)[-1].removesuffix("Result")
    headers = {"SOAPAction": action, "Content-Type": SOAP11_CONTENT_TYPE}
    with _observed(url, operation) as call:
        try:
            response = transport.post(url, body, headers)
        except requests.RequestException as exc:
            if mutating and request_may_have_arrived(exc):
                raise OutcomeUnknown(f"{operation}: {exc}", raw_request) from exc
            raise ServiceUnavailable(f"{operation}: ARCA unreachable: {exc}") from exc
        reply = read_soap_reply(response)
        check_reply(operation, reply, mutating, raw_request)
        result = reply.payload.find(result_tag)
        if result is None:
            message = f"{operation}: answer without {operation}Result"
            if mutating:
                raise OutcomeUnknown(message, raw_request, reply.status)
            raise ServiceUnavailable(message, reply.status)
        call.outcome = _answer_outcome(result)
        return SoapAnswer(result=result, raw_response_xml=reply.text)


def check_reply(operation: str, reply: SoapReply, mutating: bool, raw_request: str) -> None:
    """Raise unless `reply` carries a SOAP payload: soap:Client and HTTP 4xx (but 408/429) were
    not processed (`SoapFault`); soap:Server, a 5xx or a non-SOAP 200 after a mutating request
    may have been (`OutcomeUnknown`); otherwise `ServiceUnavailable`."""
    status = reply.status
    if reply.is_fault:
        code = reply.fault_code or ""
        # ASMX answers soap:Client when it could not even read the request (nothing was
        # processed) and soap:Server when the operation itself threw, which for an
        # authorization might have been after the CAE was recorded.
        if mutating and code.rsplit(":", 1)[-1] == "Server":
            raise OutcomeUnknown(
                f"{operation}: server fault {code}: {reply.fault_string}", raw_request, status
            )
        raise SoapFault(code, reply.fault_string, status)
    if status == 200 and reply.payload is not None:
        return
    excerpt = " ".join(reply.text.split())[:200]
    # 408 and 429: the server refused to start on the request; nothing was processed.
    if 400 <= status < 500 and status not in (408, 429):
        raise SoapFault(f"http:{status}", excerpt or "HTTP error", status)
    if mutating and status not in (408, 429):
        # A 5xx from a proxy, or a 200 whose body is not SOAP, after the request was sent.
        raise OutcomeUnknown(f"{operation}: HTTP {status}: {excerpt}", raw_request, status)
    raise ServiceUnavailable(f"{operation}: HTTP {status}: {excerpt}", status)


def post_query(
    transport: Transport,
    url: str,
    headers: Mapping[str, str],
    operation: str,
    body: bytes,
    fault_for: Callable[[str, str], Exception],
) -> Any:
    """Send one read-only request to a service that refuses with SOAP faults (the padrón,
    wsfecred) and return the body's payload: `fault_for(code, text)` is raised for a fault,
    `ServiceUnavailable` when ARCA can't be reached or answers something that isn't SOAP."""
    with _observed(url, operation) as call:
        try:
            response = transport.post(url, body, dict(headers))
        except requests.RequestException as exc:
            raise ServiceUnavailable(f"{operation}: ARCA unreachable: {exc}") from exc
        reply = read_soap_reply(response)
        if reply.is_fault:
            call.outcome = "fault"
            raise fault_for(reply.fault_code or "", reply.fault_string)
        if reply.status != 200 or reply.payload is None:
            excerpt = " ".join(reply.text.split())[:200]
            raise ServiceUnavailable(f"{operation}: HTTP {reply.status}: {excerpt}", reply.status)
        return reply.payload
