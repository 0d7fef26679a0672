"""SOAP envelopes: parsing requests (1.1 and 1.2) and writing responses and faults byte-for-byte
in the style of the servers ARCA runs (Apache Axis 1.4 for WSAA, ASP.NET ASMX for WSFEv1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from xml.sax.saxutils import escape

from lxml import etree

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
AXIS = "http://xml.apache.org/axis/"
_XSI_XSD = (
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
)
SoapVersion = Literal["1.1", "1.2"]

# A response element: (name, text) or (name, children). "" renders as `<Name />`, like ASP.NET.
Node = tuple[str, "str | list[Node]"]


class MalformedXml(Exception):
    """The body is not well-formed XML (ARCA answers HTTP 400)."""


class NotSoap(Exception):
    """Well-formed XML that is not a SOAP envelope with a body element."""


class EmptyBody(NotSoap):
    """A SOAP envelope whose Body has no element: ASP.NET still routes it on SOAPAction."""

    def __init__(self, version: SoapVersion) -> None:
        super().__init__("the SOAP envelope has no body element")
        self.version: SoapVersion = version


@dataclass(frozen=True)
class SoapRequest:
    version: SoapVersion
    body: etree._Element  # the first element inside soap:Body

    @property
    def namespace(self) -> str:
        return etree.QName(self.body).namespace or ""

    @property
    def operation(self) -> str:
        return etree.QName(self.body).localname


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def parse_envelope(data: bytes) -> SoapRequest:
    """Read a SOAP 1.1 or 1.2 envelope. Raises MalformedXml or NotSoap."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as error:
        raise MalformedXml(str(error)) from error
    namespace = etree.QName(root).namespace
    if etree.QName(root).localname != "Envelope" or namespace not in (SOAP11, SOAP12):
        raise NotSoap("the document is not a SOAP envelope")
    body = root.find(f"{{{namespace}}}Body")
    children = [] if body is None else [c for c in body if isinstance(c.tag, str)]
    if not children:
        raise EmptyBody("1.1" if namespace == SOAP11 else "1.2")
    return SoapRequest("1.1" if namespace == SOAP11 else "1.2", children[0])


def render(node: Node, xmlns: str | None = None) -> str:
    """Serialize a node tree on one line; `xmlns` becomes the root's default namespace."""
    name, value = node
    attributes = f' xmlns="{xmlns}"' if xmlns else ""
    if value == "" or value == []:
        return f"<{name}{attributes} />"
    if isinstance(value, str):
        return f"<{name}{attributes}>{escape(value)}</{name}>"
    return f"<{name}{attributes}>{''.join(render(child) for child in value)}</{name}>"


def aspnet_envelope(version: SoapVersion, body: str, header: str = "") -> bytes:
    """An ASP.NET-style envelope (prefix `soap`, xsi/xsd declared, one line)."""
    namespace = SOAP11 if version == "1.1" else SOAP12
    head = f"<soap:Header>{header}</soap:Header>" if header else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{namespace}" '
        f"{_XSI_XSD}>{head}<soap:Body>{body}</soap:Body></soap:Envelope>"
    ).encode()


def aspnet_fault(version: SoapVersion, client_error: bool, text: str) -> bytes:
    """ASP.NET's fault: soap:Client/soap:Server (1.1) or soap:Sender/soap:Receiver (1.2)."""
    if version == "1.1":
        code = "soap:Client" if client_error else "soap:Server"
        fault = (
            f"<soap:Fault><faultcode>{code}</faultcode><faultstring>{escape(text)}</faultstring>"
            "<detail /></soap:Fault>"
        )
    else:
        code = "soap:Sender" if client_error else "soap:Receiver"
        fault = (
            f"<soap:Fault><soap:Code><soap:Value>{code}</soap:Value></soap:Code><soap:Reason>"
            f'<soap:Text xml:lang="en">{escape(text)}</soap:Text></soap:Reason><soap:Detail />'
            "</soap:Fault>"
        )
    return aspnet_envelope(version, fault)


def axis_envelope(body: str) -> bytes:
    """An Apache Axis 1.4 SOAP 1.1 envelope (prefix `soapenv`)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        f'xmlns:soapenv="{SOAP11}" {_XSI_XSD}><soapenv:Body>{body}</soapenv:Body>'
        "</soapenv:Envelope>"
    ).encode()


def axis_fault(code: str, text: str, hostname: str = "wsaasandbox") -> bytes:
    """Axis's fault: `faultcode` prefixed `ns1:` bound to the Axis namespace."""
    return axis_envelope(
        f'<soapenv:Fault><faultcode xmlns:ns1="{AXIS}">ns1:{escape(code)}</faultcode>'
        f"<faultstring>{escape(text)}</faultstring><detail>"
        f'<ns2:exceptionName xmlns:ns2="{AXIS}">gov.afip.desein.dvadac.sua.view.wsaa.LoginFault'
        f'</ns2:exceptionName><ns3:hostname xmlns:ns3="{AXIS}">{escape(hostname)}</ns3:hostname>'
        "</detail></soapenv:Fault>"
    )
