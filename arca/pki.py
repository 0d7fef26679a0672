"""Keys, certificate requests and certificates the way ARCA wants them (NOTES §3). Pure.

ARCA's portals (WSASS in homologación, "Administración de Certificados Digitales" in
producción) take a CSR whose subject is `C=AR, O=<name>, CN=<alias>, serialNumber=CUIT <11
digits>` and return an X.509 certificate for its public key, issued by the environment's own CA.
Every parse error here is a `CertificateFileError` subclass naming what is wrong, so the app can
tell the user precisely.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from arca import pbe
from arca.cuit import is_valid_cuit

KEY_SIZE = 2048
_CUIT_SERIAL = re.compile(r"^CUIT (\d{11})$")
PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"
PEM_PRIVATE_KEY = re.compile(rb"-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----")
_PEM_BLOCK = re.compile(
    rb"-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----(.*?)-----END \1-----", re.DOTALL
)

# Issuers of taxpayer certificates, by (O, CN) of the issuer name [NOTES §3.3]. The sandbox's
# CA is this project's (arca.sandbox.ca).
_ISSUERS = {
    ("AFIP", "Computadores Test"): "homologacion",
    ("AFIP", "Computadores"): "produccion",
    ("Talonario ARCA sandbox", "Computadores Sandbox"): "sandbox",
}


class CertificateFileError(ValueError):
    """A file that cannot be used as what it was given as."""


class NotACertificate(CertificateFileError):
    """Neither a PEM nor a DER X.509 certificate."""


class NotAPrivateKey(CertificateFileError):
    """Not a PEM (or DER) private key."""


class UnsupportedKey(CertificateFileError):
    """A key ARCA does not take: not RSA, or shorter than 2048 bits."""


class PasswordRequired(CertificateFileError):
    """The key or PKCS#12 file is encrypted and no password was given."""


class WrongPassword(CertificateFileError):
    """The file is a PKCS#12 (or encrypted key), but the password does not open it."""


class NotPkcs12(CertificateFileError):
    """Not a PKCS#12 (.p12 / .pfx) file."""


class KdfTooCostly(CertificateFileError):
    """The file asks for more key-derivation work than any legitimate one (`arca.pbe` caps).

    `kind` is "iterations" (PBKDF2, PKCS#12 KDF or MAC rounds, one derivation or all of them
    together) or "scrypt" (its N, r or p)."""

    def __init__(self, kind: str, value: int, cap: int) -> None:
        super().__init__(f"{kind}: {value} above the cap of {cap}")
        self.kind, self.value, self.cap = kind, value, cap


class UnsupportedEncryption(CertificateFileError):
    """An encryption scheme whose cost cannot be checked before OpenSSL pays it."""


@dataclass(frozen=True)
class CertificateInfo:
    """What the app keeps and shows of a certificate."""

    pem: bytes
    subject_cuit: str | None
    alias: str | None
    issuer: str
    issuer_environment: str | None
    serial_number: str
    not_valid_before: dt.datetime
    not_valid_after: dt.datetime
    fingerprint: str
    public_key_sha256: str


def generate_private_key() -> rsa.RSAPrivateKey:
    """A new RSA-2048 key, the size ARCA's guides use."""
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)


def private_key_pem(key: rsa.RSAPrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted: the caller encrypts it before it touches a disk."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def build_csr(key: rsa.RSAPrivateKey, legal_name: str, alias: str, cuit: str) -> bytes:
    """The PEM CSR ARCA's portals accept, signed with SHA-256 (ARCA reuses only the key)."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "AR"),
            # X.509 bounds O at 64 characters (RFC 5280 ub-organization-name); a legal name
            # may be longer. ARCA identifies the requester by serialNumber, not by O.
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, legal_name.strip()[:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, alias),
            # Exactly one space after "CUIT", no dashes: ARCA matches this string.
            x509.NameAttribute(NameOID.SERIAL_NUMBER, f"CUIT {cuit}"),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def public_key_sha256(key: rsa.RSAPublicKey | x509.Certificate) -> str:
    """SHA-256 (hex) of the SubjectPublicKeyInfo: the same for a key and its certificate."""
    public = key.public_key() if isinstance(key, x509.Certificate) else key
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def cuit_of(name: x509.Name) -> str | None:
    """The CUIT in a subject's `serialNumber=CUIT nnnnnnnnnnn`, or None."""
    for attribute in name.get_attributes_for_oid(NameOID.SERIAL_NUMBER):
        match = _CUIT_SERIAL.match(str(attribute.value).strip())
        if match and is_valid_cuit(match.group(1)):
            return match.group(1)
    return None


def load_certificate(data: bytes) -> x509.Certificate:
    """A certificate from PEM (the first one, if several) or DER bytes."""
    try:
        if PEM_CERTIFICATE in data:
            return x509.load_pem_x509_certificate(data[data.index(PEM_CERTIFICATE) :])
        return x509.load_der_x509_certificate(data)
    except ValueError as error:
        raise NotACertificate(str(error)) from error


def load_private_key(data: bytes, password: bytes | None = None) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM or DER, opened with `password` when it is encrypted.

    A PKCS#8 encrypted key's derivation cost is read first and refused above `arca.pbe`'s caps
    (`KdfTooCostly`, `UnsupportedEncryption`); what is checked is exactly what is opened.
    """
    encrypted = b"ENCRYPTED" in data or pbe.is_encrypted_private_key(data)
    if encrypted and not password:
        raise PasswordRequired("the private key is encrypted")
    pem, der = _key_encoding(data)
    try:
        if pem is not None:
            key = serialization.load_pem_private_key(pem, password=password or None)
        else:
            key = serialization.load_der_private_key(der, password=password or None)
    except TypeError as error:  # a password given for an unencrypted key, or missing
        raise PasswordRequired(str(error)) from error
    except ValueError as error:
        if encrypted:
            raise WrongPassword(str(error)) from error
        raise NotAPrivateKey(str(error)) from error
    return check_key(key)


def load_pkcs12(data: bytes, password: bytes | None) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """The key and certificate inside a PKCS#12 file."""
    if not _looks_like_pfx(data):
        raise NotPkcs12("not a PKCS#12 structure")
    with _pbe_errors(password, NotPkcs12):
        pbe.check_pkcs12(data, password)  # its costs read and capped before OpenSSL pays them
    try:
        key, certificate, _extra = pkcs12.load_key_and_certificates(data, password or None)
    except ValueError as error:
        # The structure parsed above, so what failed is the password (its MAC or decryption).
        raise (WrongPassword if password else PasswordRequired)(str(error)) from error
    if key is None or certificate is None:
        raise NotPkcs12("the PKCS#12 file lacks the private key or the certificate")
    return check_key(key), certificate


def _key_encoding(data: bytes) -> tuple[bytes | None, bytes]:
    """(PEM, b"") or (None, DER), whichever is to be opened: the first private-key PEM block
    alone, or an encrypted PKCS#8 key as the DER whose cost was just checked."""
    block = _PEM_BLOCK.search(data)
    if block is None:
        if PEM_PRIVATE_KEY.search(data):
            raise NotAPrivateKey("a PEM private key without its END line")
        if pbe.is_encrypted_private_key(data):
            with _pbe_errors(None, NotAPrivateKey):
                pbe.check_encrypted_private_key(data)
        return None, data
    if block.group(1) != b"ENCRYPTED PRIVATE KEY":
        return block.group(0), b""
    try:
        der = base64.b64decode(b"".join(block.group(2).split()), validate=True)
    except binascii.Error as error:
        raise NotAPrivateKey(f"PEM body is not base64: {error}") from error
    with _pbe_errors(None, NotAPrivateKey):
        pbe.check_encrypted_private_key(der)
    return None, der


@contextmanager
def _pbe_errors(password: bytes | None, malformed: type[CertificateFileError]) -> Iterator[None]:
    """`arca.pbe`'s refusals told as this module's errors."""
    try:
        yield
    except pbe.TooCostly as error:
        kind = "scrypt" if error.what.startswith("scrypt") else "iterations"
        raise KdfTooCostly(kind, error.value, error.cap) from error
    except pbe.Unsupported as error:
        raise UnsupportedEncryption(str(error)) from error
    except pbe.CannotOpen as error:
        raise (WrongPassword if password else PasswordRequired)(str(error)) from error
    except pbe.Malformed as error:
        raise malformed(str(error)) from error


def issued_by(certificate: x509.Certificate, authority: x509.Certificate) -> bool:
    """Whether `authority`'s key signed `certificate` (and the names chain): its issuer name
    alone proves nothing, anyone can make a CA with any name."""
    try:
        certificate.verify_directly_issued_by(authority)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def check_key(key: object) -> rsa.RSAPrivateKey:
    if not isinstance(key, rsa.RSAPrivateKey):
        raise UnsupportedKey("ARCA takes RSA keys only")
    if key.key_size < KEY_SIZE:
        raise UnsupportedKey(f"an RSA key of {key.key_size} bits; ARCA wants {KEY_SIZE} or more")
    return key


def describe(certificate: x509.Certificate) -> CertificateInfo:
    """The facts the app stores and shows about `certificate`."""
    aliases = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return CertificateInfo(
        pem=certificate.public_bytes(serialization.Encoding.PEM),
        subject_cuit=cuit_of(certificate.subject),
        alias=str(aliases[0].value) if aliases else None,
        issuer=certificate.issuer.rfc4514_string(),
        issuer_environment=issuer_environment(certificate),
        serial_number=format(certificate.serial_number, "x"),
        not_valid_before=certificate.not_valid_before_utc,
        not_valid_after=certificate.not_valid_after_utc,
        fingerprint=hashlib.sha256(
            certificate.public_bytes(serialization.Encoding.DER)
        ).hexdigest(),
        public_key_sha256=public_key_sha256(certificate),
    )


def issuer_environment(certificate: x509.Certificate) -> str | None:
    """Which environment's CA issued it (sandbox, homologacion, produccion), or None."""
    issuer = certificate.issuer
    organizations = issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    names = issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not organizations or not names:
        return None
    return _ISSUERS.get((str(organizations[0].value), str(names[0].value)))


def _looks_like_pfx(data: bytes) -> bool:
    """A DER SEQUENCE spanning the file whose first element is INTEGER 3 (PFX version v3)."""
    if len(data) < 8 or data[0] != 0x30:
        return False
    length_byte = data[1]
    if length_byte < 0x80:
        header, length = 2, length_byte
    else:
        count = length_byte & 0x7F
        if count == 0 or count > 4:
            return False
        header, length = 2 + count, int.from_bytes(data[2 : 2 + count])
    return header + length == len(data) and data[header : header + 3] == b"\x02\x01\x03"
