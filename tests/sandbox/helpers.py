"""Raw-SOAP helpers for the sandbox tests: TRA signing, envelopes, and response reading."""

from __future__ import annotations

import base64
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from lxml import etree
from werkzeug.test import Client, TestResponse

FEV1 = "http://ar.gov.afip.dif.FEV1/"
WSAA_NS = "http://wsaa.view.sua.dvadac.desein.afip.gov"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
ISSUER = "20111111112"
NS = {"f": FEV1, "s": SOAP11, "s12": SOAP12}


def build_tra(now: datetime, service: str = "wsfe", unique_id: int = 1) -> bytes:
    generation = (now - timedelta(minutes=10)).isoformat(timespec="seconds")
    expiration = (now + timedelta(minutes=10)).isoformat(timespec="seconds")
    return (
        '<?xml version="1.0" encoding="UTF-8"?><loginTicketRequest version="1.0"><header>'
        f"<uniqueId>{unique_id}</uniqueId><generationTime>{generation}</generationTime>"
        f"<expirationTime>{expiration}</expirationTime></header><service>{service}</service>"
        "</loginTicketRequest>"
    ).encode()


def sign_tra(key_pem: bytes, cert_pem: bytes, tra: bytes) -> str:
    """base64 CMS (SHA-256, attached, signer certificate included) built with `cryptography`."""
    key: Any = serialization.load_pem_private_key(key_pem, password=None)
    cert = x509.load_pem_x509_certificate(cert_pem)
    der = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(tra)
        .add_signer(cert, key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )
    return base64.b64encode(der).decode()


def openssl_sign(
    key_pem: bytes, cert_pem: bytes, tra: bytes, workdir: Path, md: str = "sha256"
) -> str:
    """base64 CMS made as ARCA's manual says: `openssl cms -sign -nodetach -outform DER`."""
    (workdir / "key.pem").write_bytes(key_pem)
    (workdir / "cert.pem").write_bytes(cert_pem)
    (workdir / "tra.xml").write_bytes(tra)
    command = [
        "openssl",
        "cms",
        "-sign",
        "-in",
        str(workdir / "tra.xml"),
        "-signer",
        str(workdir / "cert.pem"),
        "-inkey",
        str(workdir / "key.pem"),
        "-nodetach",
        "-outform",
        "DER",
        "-md",
        md,
        "-binary",
    ]
    der = subprocess.run(command, check=True, capture_output=True).stdout  # noqa: S603
    return base64.b64encode(der).decode()


def login_envelope(in0: str) -> bytes:
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP11}" xmlns:wsaa="{WSAA_NS}"><soapenv:Body>'
        f"<wsaa:loginCms><wsaa:in0>{in0}</wsaa:in0></wsaa:loginCms></soapenv:Body>"
        "</soapenv:Envelope>"
    ).encode()


def post_login(client: Client, in0: str) -> TestResponse:
    return client.post(
        "/ws/services/LoginCms",
        data=login_envelope(in0),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
    )


def ticket_from(response: TestResponse) -> etree._Element:
    """The loginTicketResponse inside a loginCms answer."""
    root = etree.fromstring(response.get_data())
    ret = root.find(f".//{{{WSAA_NS}}}loginCmsReturn")
    assert ret is not None, response.get_data(as_text=True)
    return etree.fromstring((ret.text or "").encode())


def login(client: Client, key_pem: bytes, cert_pem: bytes, now: datetime) -> tuple[str, str]:
    response = post_login(client, sign_tra(key_pem, cert_pem, build_tra(now)))
    assert response.status_code == 200, response.get_data(as_text=True)
    ticket = ticket_from(response)
    return ticket.findtext("credentials/token") or "", ticket.findtext("credentials/sign") or ""


def fault_code(response: TestResponse) -> str:
    root = etree.fromstring(response.get_data())
    return root.findtext(".//faultcode") or ""


def auth_xml(token: str, sign: str, cuit: str = ISSUER) -> str:
    return f"<Auth><Token>{token}</Token><Sign>{sign}</Sign><Cuit>{cuit}</Cuit></Auth>"


def call_wsfe(client: Client, operation: str, inner: str, version: str = "1.1") -> TestResponse:
    if version == "1.1":
        envelope = (
            f'<soap:Envelope xmlns:soap="{SOAP11}"><soap:Body><{operation} xmlns="{FEV1}">{inner}'
            f"</{operation}></soap:Body></soap:Envelope>"
        )
        headers = {
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{FEV1}{operation}"',
        }
    else:
        envelope = (
            f'<soap12:Envelope xmlns:soap12="{SOAP12}"><soap12:Body><{operation} xmlns="{FEV1}">'
            f"{inner}</{operation}></soap12:Body></soap12:Envelope>"
        )
        headers = {
            "Content-Type": f'application/soap+xml; charset=utf-8; action="{FEV1}{operation}"'
        }
    return client.post("/wsfev1/service.asmx", data=envelope.encode(), headers=headers)


def detail_xml(number: int, total: str = "121.00", **overrides: str) -> str:
    """A Factura B detail to an anonymous final consumer: 100 + 21 % VAT."""
    fields = {
        "Concepto": "1",
        "DocTipo": "99",
        "DocNro": "0",
        "CbteDesde": str(number),
        "CbteHasta": str(number),
        "CbteFch": "",
        "ImpTotal": total,
        "ImpTotConc": "0",
        "ImpNeto": "100.00",
        "ImpOpEx": "0",
        "ImpTrib": "0",
        "ImpIVA": "21.00",
        "MonId": "PES",
        "MonCotiz": "1",
        "CondicionIVAReceptorId": "5",
    }
    fields.update(overrides)
    iva = fields.pop(
        "Iva",
        "<Iva><AlicIva><Id>5</Id><BaseImp>100.00</BaseImp><Importe>21.00</Importe></AlicIva></Iva>",
    )
    extra = fields.pop("Extra", "")
    body = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items() if v != "" and v != "-")
    return f"<FECAEDetRequest>{body}{iva}{extra}</FECAEDetRequest>"


def cae_request(
    auth: str, details: list[str], pto_vta: int = 1, cbte_tipo: int = 6, cant_reg: int | None = None
) -> str:
    count = len(details) if cant_reg is None else cant_reg
    return (
        f"{auth}<FeCAEReq><FeCabReq><CantReg>{count}</CantReg><PtoVta>{pto_vta}</PtoVta>"
        f"<CbteTipo>{cbte_tipo}</CbteTipo></FeCabReq><FeDetReq>{''.join(details)}</FeDetReq>"
        "</FeCAEReq>"
    )


def body_of(response: TestResponse) -> etree._Element:
    root = etree.fromstring(response.get_data())
    body = root.find("s:Body", NS)
    if body is None:
        body = root.find("s12:Body", NS)
    assert body is not None
    return body[0]


def codes(element: etree._Element, path: str) -> list[int]:
    return [int(c.text or 0) for c in element.iterfind(path + "/f:Code", NS)]


def consultar_xml(number: int, cbte_tipo: int = 6, pto_vta: int = 1) -> str:
    return (
        f"<FeCompConsReq><CbteTipo>{cbte_tipo}</CbteTipo><CbteNro>{number}</CbteNro>"
        f"<PtoVta>{pto_vta}</PtoVta></FeCompConsReq>"
    )
