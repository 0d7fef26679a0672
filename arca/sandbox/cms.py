"""Verification of the CMS SignedData that WSAA's loginCms receives (pure, no OpenSSL CLI).

`cryptography` can build CMS signatures but not verify them, so this module reads the DER
(and the BER indefinite lengths some signers emit) itself and checks the RSA signature.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_DIGESTS: dict[str, tuple[str, hashes.HashAlgorithm]] = {
    "2.16.840.1.101.3.4.2.1": ("sha256", hashes.SHA256()),
    "1.3.14.3.2.26": ("sha1", hashes.SHA1()),  # noqa: S303 - WSAA still accepts SHA-1 CMS
}


class CmsError(Exception):
    """The CMS was refused; `fault` is the WSAA faultcode (without the `ns1:` prefix)."""

    def __init__(self, fault: str, detail: str = "") -> None:
        super().__init__(f"{fault}: {detail}" if detail else fault)
        self.fault = fault


@dataclass(frozen=True)
class Tlv:
    """One BER element: its tag byte, its content octets, and its full encoding."""

    tag: int
    content: bytes
    encoded: bytes

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)

    def children(self) -> list[Tlv]:
        return parse_all(self.content)


@dataclass(frozen=True)
class SignedMessage:
    """What a valid CMS proves: the signer's certificate signed `content`."""

    content: bytes
    certificate: x509.Certificate


def _read_length(data: bytes, pos: int) -> tuple[int | None, int]:
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    if first == 0x80:
        return None, pos  # indefinite length (BER)
    count = first & 0x7F
    if count > 4 or pos + count > len(data):
        raise CmsError("cms.bad", "longitud invalida")
    return int.from_bytes(data[pos : pos + count], "big"), pos + count


def parse_one(data: bytes, pos: int = 0) -> tuple[Tlv, int]:
    """The element starting at `pos` and the position after it (CmsError on bad encoding)."""
    if pos + 2 > len(data):
        raise CmsError("cms.bad", "estructura truncada")
    start, tag = pos, data[pos]
    if tag & 0x1F == 0x1F:
        raise CmsError("cms.bad", "tags de varios bytes no soportados")
    length, pos = _read_length(data, pos + 1)
    if length is None:
        inner_start = pos
        while data[pos : pos + 2] != b"\x00\x00":
            _, pos = parse_one(data, pos)
        return Tlv(tag, data[inner_start:pos], data[start : pos + 2]), pos + 2
    end = pos + length
    if end > len(data):
        raise CmsError("cms.bad", "estructura truncada")
    return Tlv(tag, data[pos:end], data[start:end]), end


def parse_all(data: bytes) -> list[Tlv]:
    items: list[Tlv] = []
    pos = 0
    while pos < len(data):
        item, pos = parse_one(data, pos)
        items.append(item)
    return items


def decode_oid(content: bytes) -> str:
    first = content[0]
    parts = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    value = 0
    for byte in content[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(part) for part in parts)


def octets(item: Tlv) -> bytes:
    """An OCTET STRING's value, joining the pieces of a constructed (BER) one."""
    if not item.constructed:
        return item.content
    return b"".join(octets(child) for child in item.children())


def verify_signed_data(der: bytes) -> SignedMessage:
    """Check a SignedData with attached content and return what it proves.

    Raises CmsError with WSAA's faultcode: `cms.bad` (not a SignedData), `cms.cert.notFound`
    (no signer certificate inside), `cms.sign.invalid` (detached, bad signature, unknown
    algorithm). Trust in the certificate is the caller's business.
    """
    try:
        return _verify(der)
    except (IndexError, ValueError) as error:
        raise CmsError("cms.bad", str(error)) from error


def _verify(der: bytes) -> SignedMessage:
    content_info = parse_one(der)[0].children()
    if len(content_info) < 2 or decode_oid(content_info[0].content) != OID_SIGNED_DATA:
        raise CmsError("cms.bad", "no es un SignedData")
    fields = content_info[1].children()[0].children()
    encap = fields[2].children()
    if len(encap) < 2:
        raise CmsError("cms.sign.invalid", "CMS sin contenido (firma separada)")
    content = octets(encap[1].children()[0])
    certificates = [x509.load_der_x509_certificate(c.encoded) for c in _tagged(fields, 0xA0)]
    signer_infos = fields[-1].children()
    if not certificates:
        raise CmsError("cms.cert.notFound")
    if not signer_infos:
        raise CmsError("cms.sign.invalid", "sin firmantes")
    certificate = _check_signer(signer_infos[0], certificates, content)
    return SignedMessage(content=content, certificate=certificate)


def _tagged(fields: list[Tlv], tag: int) -> list[Tlv]:
    return [child for field in fields if field.tag == tag for child in field.children()]


def _check_signer(
    info: Tlv, certificates: list[x509.Certificate], content: bytes
) -> x509.Certificate:
    parts = info.children()
    certificate = _find_certificate(parts[1], certificates)
    algorithm_oid = decode_oid(parts[2].children()[0].content)
    if algorithm_oid not in _DIGESTS:
        raise CmsError("cms.sign.invalid", f"algoritmo no soportado {algorithm_oid}")
    name, algorithm = _DIGESTS[algorithm_oid]
    signed_attrs = next((p for p in parts if p.tag == 0xA0), None)
    signature = next(p for p in parts[3:] if p.tag == 0x04).content
    if signed_attrs is None:
        signed_bytes = content
    else:
        _check_message_digest(signed_attrs, hashlib.new(name, content).digest())
        signed_bytes = b"\x31" + signed_attrs.encoded[1:]  # signed as a SET OF, not [0]
    _check_rsa(certificate, signature, signed_bytes, algorithm)
    return certificate


def _find_certificate(sid: Tlv, certificates: list[x509.Certificate]) -> x509.Certificate:
    if sid.tag != 0x30:
        return certificates[0]  # subjectKeyIdentifier form: a single-signer CMS carries one cert
    serial = int.from_bytes(sid.children()[1].content, "big", signed=True)
    for certificate in certificates:
        if certificate.serial_number == serial:
            return certificate
    raise CmsError("cms.cert.notFound", "el certificado del firmante no esta en el CMS")


def _check_message_digest(signed_attrs: Tlv, digest: bytes) -> None:
    for attribute in signed_attrs.children():
        oid_item, values = attribute.children()[:2]
        if decode_oid(oid_item.content) == OID_MESSAGE_DIGEST:
            if values.children()[0].content != digest:
                raise CmsError("cms.sign.invalid", "el digest no coincide con el contenido")
            return
    raise CmsError("cms.sign.invalid", "falta el atributo messageDigest")


def _check_rsa(
    certificate: x509.Certificate, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm
) -> None:
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise CmsError("cms.sign.invalid", "solo se admiten claves RSA")
    try:
        public_key.verify(signature, data, padding.PKCS1v15(), algorithm)
    except InvalidSignature as error:
        raise CmsError("cms.sign.invalid", "firma invalida") from error
