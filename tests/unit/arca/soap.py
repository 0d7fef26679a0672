"""Fixtures of ARCA's documented wire format, and a tiny WSGI server that answers with them.

The envelopes are built with lxml from the WSDL's element names; `Responder` serves canned
answers in-process (through `arca.transport.WSGIAdapter`) and records what it received. It is a
stand-in for the network, not for any code under test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
FEV1 = "http://ar.gov.afip.dif.FEV1/"
WSAA = "http://wsaa.view.sua.dvadac.desein.afip.gov"
AXIS = "http://xml.apache.org/axis/"

Tree = list[tuple[str, Any]]  # (name, text or nested Tree)


def element(namespace: str, name: str, content: Any) -> Any:
    node = etree.Element(f"{{{namespace}}}{name}")
    if isinstance(content, list):
        for child_name, child_content in content:
            node.append(element(namespace, child_name, child_content))
    elif content is not None:
        node.text = str(content)
    return node


def envelope(payload: Any) -> bytes:
    root = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soap": SOAP})
    etree.SubElement(root, f"{{{SOAP}}}Body").append(payload)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def wsfe_response(operation: str, result: Tree) -> bytes:
    """`<operation>Response/<operation>Result` with `result` inside, in the FEV1 namespace."""
    payload = element(FEV1, f"{operation}Response", [(f"{operation}Result", result)])
    return envelope(payload)


def fault(code: str, message: str, code_namespace: tuple[str, str] | None = None) -> bytes:
    """A SOAP 1.1 fault; `code_namespace` binds the faultcode's prefix (Axis uses ns1)."""
    nsmap = {"soap": SOAP}
    if code_namespace:
        nsmap[code_namespace[0]] = code_namespace[1]
    root = etree.Element(f"{{{SOAP}}}Envelope", nsmap=nsmap)
    body = etree.SubElement(root, f"{{{SOAP}}}Body")
    node = etree.SubElement(body, f"{{{SOAP}}}Fault")
    etree.SubElement(node, "faultcode").text = code
    etree.SubElement(node, "faultstring").text = message
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Responder:
    """A WSGI app answering every request with `status` and `body` (or calling `action`)."""

    status: str = "200 OK"
    body: bytes = b""
    action: Callable[[], None] | None = None
    received: list[Received] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        headers = {k[5:]: v for k, v in environ.items() if k.startswith("HTTP_")}
        headers["CONTENT_TYPE"] = environ.get("CONTENT_TYPE", "")
        self.received.append(
            Received(environ["PATH_INFO"], headers, environ["wsgi.input"].read(length))
        )
        if self.action is not None:
            self.action()
        start_response(self.status, [("Content-Type", "text/xml; charset=utf-8")])
        return [self.body]
