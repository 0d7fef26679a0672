"""WSAA: the login ticket request (TRA), its CMS signature, and loginCms -> access ticket (TA)."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from lxml import etree

from arca.environments import Environment
from arca.errors import WsaaError, WsaaUnavailable, wsaa_error_for
from arca.transport import (
    Timeouts,
    build_client,
    read_soap_reply,
    safe_xml_parser,
)
from arca.wsdl import WSAA_BINDING, WSAA_NAMESPACE, WSAA_WSDL

# Argentina has had no daylight saving time since 2009, so a fixed -03:00 is exact. WSAA refuses
# TRA times without an explicit offset (xml.generationTime.invalid, NOTES §4.1).
ARGENTINA = timezone(timedelta(hours=-3))

# The service name WSFEv1 tickets are issued for: "wsfe", not "wsfev1" (NOTES §4.1).
WSFE_SERVICE = "wsfe"

_UINT32_LIMIT = 2**32


def build_tra(
    service: str,
    now: datetime,
    ttl: timedelta = timedelta(minutes=10),
    unique_id: int | None = None,
) -> bytes:
    """The loginTicketRequest XML (UTF-8 bytes) asking WSAA for a ticket for `service`.

    `generationTime` is `now - ttl` and `expirationTime` is `now + ttl`, both in -03:00: starting
    in the past absorbs clock skew, since WSAA refuses a generationTime in the future, older
    than 24 h, or an expirationTime past or beyond 24 h. The ticket WSAA issues lasts 12 h
    whatever is asked for. `unique_id` defaults to a random unsigned 32-bit number.

    Raises `ValueError` for a naive `now`, a `ttl` outside (0, 12 h], or a `unique_id` that is not
    an unsigned 32-bit integer.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("build_tra needs an aware datetime (WSAA wants explicit offsets)")
    if not timedelta(0) < ttl <= timedelta(hours=12):
        raise ValueError("ttl must be positive and at most 12 hours")
    if unique_id is None:
        unique_id = secrets.randbelow(_UINT32_LIMIT)
    if not 0 <= unique_id < _UINT32_LIMIT:
        raise ValueError("uniqueId must be an unsigned 32-bit integer")
    local_now = now.astimezone(ARGENTINA)
    root = etree.Element("loginTicketRequest", version="1.0")
    header = etree.SubElement(root, "header")
    # source/destination are optional and WSAA's FAQ recommends leaving them out.
    etree.SubElement(header, "uniqueId").text = str(unique_id)
    etree.SubElement(header, "generationTime").text = _xsd_datetime(local_now - ttl)
    etree.SubElement(header, "expirationTime").text = _xsd_datetime(local_now + ttl)
    etree.SubElement(root, "service").text = service
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _xsd_datetime(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def sign_tra(tra: bytes, certificate_pem: bytes, private_key_pem: bytes) -> str:
    """The TRA as a CMS SignedData, DER, base64 on one line: what loginCms expects in `in0`.

    SHA-256 with the certificate's key; the TRA is encapsulated (not detached: WSAA answers
    cms.sign.invalid to a detached one) and the signer certificate is included (else
    cms.cert.notFound). `Binary` keeps the bytes exactly as given instead of MIME-canonicalising
    line ends, which would change what was signed. Pure; safe to call anywhere.

    Raises `ValueError` if the PEMs cannot be loaded, the key is encrypted, or the key is not RSA
    or EC.
    """
    certificate = x509.load_pem_x509_certificate(certificate_pem)
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("the certificate key must be RSA (as ARCA issues) or EC")
    signature = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(tra)
        .add_signer(certificate, key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )
    return base64.b64encode(signature).decode("ascii")


@dataclass(frozen=True)
class AccessTicket:
    """A WSAA access ticket (TA): what WSFEv1 calls need as `Auth/Token` and `Auth/Sign`.

    `token` and `sign` are opaque and secret: send them verbatim, store them encrypted.
    `generation_time` and `expiration_time` are aware datetimes as WSAA wrote them.
    """

    token: str
    sign: str
    generation_time: datetime
    expiration_time: datetime
    source: str = ""
    destination: str = ""

    def is_valid(self, now: datetime, margin: timedelta = timedelta(0)) -> bool:
        """True if the ticket is still good at `now + margin` (`now` must be aware)."""
        return now + margin < self.expiration_time

    def __repr__(self) -> str:
        # Token and sign stay out of logs and tracebacks.
        return (
            f"AccessTicket(destination={self.destination!r}, "
            f"expiration_time={self.expiration_time.isoformat()!r})"
        )


def parse_ticket(xml: str) -> AccessTicket:
    """The `AccessTicket` in a loginTicketResponse document (the text of `loginCmsReturn`).

    Raises `ValueError` if the XML is malformed or lacks the token, the sign or aware times.
    """
    try:
        root = etree.fromstring(xml.encode("utf-8"), parser=safe_xml_parser())
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"loginTicketResponse is not XML: {exc}") from exc
    token = (root.findtext("credentials/token") or "").strip()
    sign = (root.findtext("credentials/sign") or "").strip()
    if root.tag != "loginTicketResponse" or not token or not sign:
        raise ValueError("loginTicketResponse without credentials/token and credentials/sign")
    return AccessTicket(
        token=token,
        sign=sign,
        generation_time=_parse_time(root.findtext("header/generationTime")),
        expiration_time=_parse_time(root.findtext("header/expirationTime")),
        source=(root.findtext("header/source") or "").strip(),
        destination=(root.findtext("header/destination") or "").strip(),
    )


def _parse_time(value: str | None) -> datetime:
    # WSAA writes milliseconds and an offset: 2026-11-21T22:00:05.123-03:00.
    try:
        moment = datetime.fromisoformat((value or "").strip())
    except ValueError as exc:
        raise ValueError(f"bad time in loginTicketResponse: {value!r}") from exc
    if moment.tzinfo is None:
        raise ValueError(f"time without offset in loginTicketResponse: {value!r}")
    return moment


class WsaaClient:
    """loginCms against one environment's WSAA, through a caller-owned `requests.Session`.

    Cheap to build (the WSDL is parsed once per process). Use one per thread or share it: it
    keeps no per-call state. It does not cache tickets: see `arca.tickets.get_ticket`, which
    must stand between the app and `login` because WSAA refuses repeated logins.
    """

    def __init__(self, environment: Environment, session: requests.Session, timeouts: Timeouts):
        self.environment = environment
        client = build_client(WSAA_WSDL, environment, session, timeouts)
        self._client = client
        self._service = client.create_service(WSAA_BINDING, environment.wsaa_url)

    def login(self, cms_b64: str) -> AccessTicket:
        """Send a signed TRA (see `sign_tra`) and return the ticket WSAA issues.

        Raises the `WsaaError` subclass for WSAA's fault (e.g. `AlreadyAuthenticated`,
        `CertificateExpired`); `WsaaUnavailable` when WSAA cannot be reached, times out or
        answers something that is not SOAP; `WsaaError` with code `ticket.invalid` if the
        ticket inside the answer cannot be read. A transport failure after sending may still
        have issued a ticket that is then lost: the next login gets `AlreadyAuthenticated`.
        """
        try:
            response = self._service.loginCms(in0=cms_b64)
        except requests.RequestException as exc:
            raise WsaaUnavailable("transport", f"WSAA unreachable: {exc}") from exc
        reply = read_soap_reply(response)
        if reply.is_fault:
            raise wsaa_error_for(reply.fault_code or "", reply.fault_string, self.environment.name)
        payload = reply.payload
        if reply.status != 200 or payload is None:
            raise WsaaUnavailable(f"http.{reply.status}", f"WSAA answered HTTP {reply.status}")
        # loginCmsReturn is an xsd:string holding the ticket XML, escaped: its text is the XML.
        ticket_xml = payload.findtext(f"{{{WSAA_NAMESPACE}}}loginCmsReturn")
        if ticket_xml is None:  # tolerate an unqualified element, as some Axis builds write
            ticket_xml = payload.findtext("loginCmsReturn")
        try:
            return parse_ticket(ticket_xml or "")
        except ValueError as exc:
            raise WsaaError("ticket.invalid", str(exc)) from exc
