"""WSAA's loginCms: CMS and TRA checks, the anti-repeat window, and the access ticket (TA).

The TA's token is base64 of an `<sso>` document naming the certificate's CUIT in its relations;
its sign is the sandbox CA's RSA signature over the token, so WSFE verifies a TA without state.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from arca.pki import cuit_of
from arca.sandbox.ca import SandboxCA
from arca.sandbox.clock import ARGENTINA
from arca.sandbox.cms import CmsError, verify_signed_data

WSAA_DN = "CN=wsaasandbox, O=AFIP, C=AR, SERIALNUMBER=CUIT 33693450239"
_ARCA_WSAA_DNS = (
    WSAA_DN,
    "CN=wsaahomo, O=AFIP, C=AR, SERIALNUMBER=CUIT 33693450239",
    "CN=wsaa, O=AFIP, C=AR, SERIALNUMBER=CUIT 33693450239",
)
GRANTED_SERVICES = frozenset(
    {"wsfe", "wsfex", "wsfecred", "ws_sr_constancia_inscripcion", "ws_sr_padron_a13"}
)
# Real ARCA services the sandbox knows but never authorises (coe.notAuthorized, not wsn.notFound).
KNOWN_SERVICES = frozenset(
    {"wsmtxca", "wsbfev1", "wsct"} | {"ws_sr_padron_a4", "ws_sr_padron_a5", "wslpg"}
)
FAULT_MESSAGES = {
    "coe.notAuthorized": "Computador no autorizado a acceder al servicio",
    "coe.alreadyAuthenticated": "El CEE ya posee un TA valido para el acceso al WSN solicitado",
    "cms.bad": "El CMS no es valido",
    "cms.bad.base64": "No se puede decodificar el BASE64",
    "cms.cert.notFound": "No se ha encontrado certificado de firma en el CMS",
    "cms.sign.invalid": "Firma invalida o algoritmo no soportado",
    "cms.cert.expired": "Certificado expirado",
    "cms.cert.invalid": "Certificado con fecha de inicio posterior a la actual",
    "cms.cert.untrusted": "Certificado no emitido por AC de confianza",
    "xml.bad": "No se ha podido interpretar el XML contra el SCHEMA",
    "xml.source.invalid": "El source no coincide con el DN del certificado del CMS",
    "xml.destination.invalid": "El destination no corresponde a este WSAA",
    "xml.version.notSupported": "Version del mensaje no soportada",
    "xml.generationTime.invalid": "generationTime posee formato o dato invalido",
    "xml.expirationTime.expired": "expirationTime expirado",
    "xml.expirationTime.invalid": "expirationTime posee formato o dato invalido",
    "wsn.notFound": "Servicio informado inexistente",
    "wsn.unavailable": "El servicio al que se desea acceder se encuentra momentaneamente "
    "fuera de servicio",
    "wsaa.unavailable": "El servicio de autenticacion no se encuentra disponible",
    "wsaa.internalError": "No se ha podido procesar el requerimiento",
}
_DN_LABELS = {
    NameOID.SERIAL_NUMBER: "SERIALNUMBER",
    NameOID.COMMON_NAME: "CN",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.COUNTRY_NAME: "C",
}


class WsaaFault(Exception):
    """loginCms refused; `code` is the faultcode without `ns1:`."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(detail or code)
        self.code = code
        self.text = FAULT_MESSAGES.get(code, code)


class TokenInvalid(Exception):
    """Auth/Token and Auth/Sign do not make a valid, unexpired TA (WSFE error 600)."""


@dataclass(frozen=True)
class Tra:
    unique_id: int
    generation_time: datetime
    expiration_time: datetime
    service: str
    source: str | None
    destination: str | None


@dataclass(frozen=True)
class AccessTicket:
    subject: str
    cuit: str
    service: str
    generated_at: datetime
    expires_at: datetime
    token: str
    sign: str
    xml: str


@dataclass(frozen=True)
class TokenInfo:
    service: str
    cuits: tuple[str, ...]
    expires_at: datetime


def dn_string(name: x509.Name) -> str:
    """A DN the way WSAA prints it: most specific first, `SERIALNUMBER=CUIT n, CN=alias, …`."""
    parts = []
    for rdn in reversed(name.rdns):
        for attribute in rdn:
            label = _DN_LABELS.get(attribute.oid, attribute.oid.dotted_string)
            parts.append(f"{label}={attribute.value!s}")
    return ", ".join(parts)


def _dn_key(dn: str) -> frozenset[str]:
    return frozenset(part.strip().lower().replace(" ", "") for part in dn.split(","))


def decode_cms(in0: str) -> bytes:
    """The DER behind `in0` (line breaks tolerated); `cms.bad.base64` if it is not base64."""
    try:
        return base64.b64decode("".join(in0.split()), validate=True)
    except (binascii.Error, ValueError) as error:
        raise WsaaFault("cms.bad.base64") from error


def verified_certificate(
    der: bytes, ca: SandboxCA, now: datetime
) -> tuple[bytes, x509.Certificate]:
    """(TRA bytes, signer certificate) of a valid CMS from a trusted, current certificate."""
    try:
        message = verify_signed_data(der)
    except CmsError as error:
        raise WsaaFault(error.fault, str(error)) from error
    certificate = message.certificate
    if not ca.trusts(certificate):
        raise WsaaFault("cms.cert.untrusted")
    if certificate.not_valid_after_utc < now:
        raise WsaaFault("cms.cert.expired")
    if certificate.not_valid_before_utc > now:
        raise WsaaFault("cms.cert.invalid")
    return message.content, certificate


def parse_tra(data: bytes) -> Tra:
    """The LoginTicketRequest; `xml.bad`, `xml.version.notSupported` or `xml.*Time.invalid`."""
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        raise WsaaFault("xml.bad", str(error)) from error
    if root.tag != "loginTicketRequest" or root.find("header") is None:
        raise WsaaFault("xml.bad", "se esperaba loginTicketRequest/header")
    if root.get("version", "1.0") not in ("1.0", "1"):
        raise WsaaFault("xml.version.notSupported")
    header = root.find("header")
    service = (root.findtext("service") or "").strip()
    unique_id = (header.findtext("uniqueId") or "").strip() if header is not None else ""
    if not service or len(service) > 64 or not unique_id.isdigit() or int(unique_id) >= 2**32:
        raise WsaaFault("xml.bad", "uniqueId o service invalidos")
    return Tra(
        unique_id=int(unique_id),
        generation_time=_tra_time(header, "generationTime"),
        expiration_time=_tra_time(header, "expirationTime"),
        service=service,
        source=header.findtext("source") if header is not None else None,
        destination=header.findtext("destination") if header is not None else None,
    )


def _tra_time(header: etree._Element | None, name: str) -> datetime:
    value = (header.findtext(name) or "").strip() if header is not None else ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise WsaaFault("xml.bad", f"{name} no es xsd:dateTime") from error
    if moment.tzinfo is None:
        # Real WSAA issued a TA for `<generationTime>2021-07-26T07:21:57</generationTime>`
        # (pyafipws tests/cassettes/test_wsaa/test_login_cms.yaml): a time without offset is
        # read as WSAA's own local time, Argentina (UTC-03:00).
        return moment.replace(tzinfo=ARGENTINA)
    return moment


def check_tra(tra: Tra, subject: str, now: datetime) -> None:
    """TRA windows, source/destination, service name (faults per WSAA's table)."""
    if tra.generation_time > now or tra.generation_time < now - timedelta(hours=24):
        raise WsaaFault("xml.generationTime.invalid")
    if tra.expiration_time < now:
        raise WsaaFault("xml.expirationTime.expired")
    if tra.expiration_time > now + timedelta(hours=24):
        raise WsaaFault("xml.expirationTime.invalid")
    if tra.destination and _dn_key(tra.destination) not in {_dn_key(d) for d in _ARCA_WSAA_DNS}:
        raise WsaaFault("xml.destination.invalid")
    if tra.source and _dn_key(tra.source) != _dn_key(subject):
        raise WsaaFault("xml.source.invalid")
    if tra.service in KNOWN_SERVICES:
        raise WsaaFault("coe.notAuthorized")
    if tra.service not in GRANTED_SERVICES:
        raise WsaaFault("wsn.notFound")


def issue_ticket(
    ca: SandboxCA, certificate: x509.Certificate, tra: Tra, now: datetime, hours: int
) -> AccessTicket:
    """A TA for the certificate's CUIT: token (base64 `<sso>`), sign (CA signature), 12 h."""
    subject = dn_string(certificate.subject)
    cuit = cuit_of(certificate.subject)
    if cuit is None:
        raise WsaaFault("coe.notAuthorized", "el certificado no tiene serialNumber CUIT")
    expires = now + timedelta(hours=hours)
    sso = _sso(subject, cuit, tra, now, expires)
    token = base64.b64encode(sso.encode()).decode()
    sign = base64.b64encode(ca.sign(token.encode())).decode()
    xml = _ticket_xml(subject, _wsaa_unique_id(), now, expires, token, sign)
    return AccessTicket(subject, cuit, tra.service, now, expires, token, sign, xml)


def _wsaa_unique_id() -> int:
    """WSAA numbers its TAs and tokens itself: the recorded TA carries uniqueId 2378329039 and
    its token unique_id 3865703027 for a TRA whose uniqueId was 1627282317
    (pyafipws tests/cassettes/test_wsaa/test_login_cms.yaml)."""
    return secrets.randbelow(2**32)


def _sso(subject: str, cuit: str, tra: Tra, now: datetime, expires: datetime) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sso version="2.0">'
        f"<id src={quoteattr(WSAA_DN)} dst={quoteattr('CN=' + tra.service + ', O=AFIP, C=AR')}"
        f' unique_id="{_wsaa_unique_id()}" gen_time="{int(now.timestamp())}"'
        f' exp_time="{int(expires.timestamp())}"/>'
        '<operation type="login" value="granted">'
        f'<login entity="33693450239" service={quoteattr(tra.service)} uid={quoteattr(subject)}'
        ' authmethod="cms" regmethod="22">'
        f'<relations><relation key="{cuit}" reltype="4"/></relations>'
        "</login></operation></sso>\n"
    )


def _ticket_xml(
    subject: str, unique_id: int, now: datetime, expires: datetime, token: str, sign: str
) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<loginTicketResponse version="1.0"><header>'
        f"<source>{escape(WSAA_DN)}</source><destination>{escape(subject)}</destination>"
        f"<uniqueId>{unique_id}</uniqueId>"
        f"<generationTime>{now.isoformat(timespec='milliseconds')}</generationTime>"
        f"<expirationTime>{expires.isoformat(timespec='milliseconds')}</expirationTime>"
        f"</header><credentials><token>{token}</token><sign>{sign}</sign></credentials>"
        "</loginTicketResponse>\n"
    )


def verify_token(ca: SandboxCA, token: str, sign: str, now: datetime) -> TokenInfo:
    """Check a TA's token and sign as WSFE does; TokenInvalid with ARCA's message otherwise."""
    try:
        signature = base64.b64decode(sign, validate=True)
        sso = etree.fromstring(base64.b64decode(token, validate=True))
    except (binascii.Error, ValueError, etree.XMLSyntaxError) as error:
        raise TokenInvalid("ValidacionDeToken: Error al parsear el token o la firma") from error
    if not ca.verify(token.encode(), signature):
        raise TokenInvalid("ValidacionDeToken: Error al verificar hash: VerificacionDeHash")
    ident, login = sso.find("id"), sso.find("operation/login")
    if ident is None or login is None:
        raise TokenInvalid("ValidacionDeToken: token mal formado")
    generated, expires = int(ident.get("gen_time", "0")), int(ident.get("exp_time", "0"))
    if not generated <= now.timestamp() <= expires:
        raise TokenInvalid(
            "ValidacionDeToken: No validaron las fechas del token GenTime, ExpTime, NowUTC: "
            f"{generated} ({_dotnet_utc(generated)}), {expires} ({_dotnet_utc(expires)}), "
            f"{_dotnet_utc(int(now.timestamp()))}"
        )
    cuits = tuple(r.get("key", "") for r in login.iterfind("relations/relation"))
    return TokenInfo(login.get("service", ""), cuits, datetime.fromtimestamp(expires, now.tzinfo))


def _dotnet_utc(epoch: int) -> str:
    """An instant as WSFE's .NET prints it in error 600: UTC, `M/d/yyyy h:mm:ss tt`, e.g.
    "7/2/2021 8:20:49 AM" (pyafipws tests/cassettes/test_wsfev1_rece1/test_main_ayuda.yaml)."""
    moment = datetime.fromtimestamp(epoch, UTC)
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment:%M:%S} {suffix}"
