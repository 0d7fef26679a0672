"""arca.pki: the CSR ARCA wants, and telling apart every kind of bad certificate file."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from arca import pki

CUIT = "30712345671"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return pki.generate_private_key()


def certificate_for(
    key: rsa.RSAPrivateKey, issuer_o: str = "AFIP", issuer_cn: str = "Computadores Test"
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.SERIAL_NUMBER, f"CUIT {CUIT}"),
            x509.NameAttribute(NameOID.COMMON_NAME, "talonario"),
        ]
    )
    issuer = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "AR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, issuer_o),
            x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(0xABC)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=730))
        .sign(key, hashes.SHA256())
    )


def test_csr_subject_and_signature(key: rsa.RSAPrivateKey) -> None:
    csr = x509.load_pem_x509_csr(pki.build_csr(key, "Almacén Demo SRL", "talonario", CUIT))
    assert csr.subject.rfc4514_string() == (
        "2.5.4.5=CUIT 30712345671,CN=talonario,O=Almacén Demo SRL,C=AR"  # 2.5.4.5 = serialNumber
    )
    assert csr.is_signature_valid
    assert isinstance(csr.signature_hash_algorithm, hashes.SHA256)
    assert key.key_size == 2048


def test_certificate_loads_from_pem_and_der_and_describes_itself(key: rsa.RSAPrivateKey) -> None:
    certificate = certificate_for(key)
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert pki.load_certificate(b"Bag Attributes\n" + pem) == certificate
    assert pki.load_certificate(der) == certificate
    info = pki.describe(certificate)
    assert info.subject_cuit == CUIT
    assert info.alias == "talonario"
    assert info.issuer_environment == "homologacion"
    assert info.serial_number == "abc"
    assert info.public_key_sha256 == pki.public_key_sha256(key.public_key())
    assert len(info.fingerprint) == 64


@pytest.mark.parametrize(
    ("organization", "name", "environment"),
    [
        ("AFIP", "Computadores", "produccion"),
        ("AFIP", "Computadores Test", "homologacion"),
        ("Talonario ARCA sandbox", "Computadores Sandbox", "sandbox"),
        ("Otra CA", "Computadores", None),
    ],
)
def test_issuer_environment(
    key: rsa.RSAPrivateKey, organization: str, name: str, environment: str | None
) -> None:
    assert pki.issuer_environment(certificate_for(key, organization, name)) == environment


@pytest.mark.parametrize(
    "data", [b"", b"hola", b"-----BEGIN CERTIFICATE-----\nAAAA\n", b"\x30\x03"]
)
def test_garbage_is_not_a_certificate(data: bytes) -> None:
    with pytest.raises(pki.NotACertificate):
        pki.load_certificate(data)


def test_private_keys_plain_encrypted_and_unsupported(key: rsa.RSAPrivateKey) -> None:
    plain = pki.private_key_pem(key)
    assert pki.public_key_sha256(pki.load_private_key(plain).public_key()) == (
        pki.public_key_sha256(key.public_key())
    )
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"clave"),
    )
    assert pki.load_private_key(encrypted, b"clave").key_size == 2048
    with pytest.raises(pki.PasswordRequired):
        pki.load_private_key(encrypted)
    with pytest.raises(pki.WrongPassword):
        pki.load_private_key(encrypted, b"otra")
    with pytest.raises(pki.NotAPrivateKey):
        pki.load_private_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (the point)
    with pytest.raises(pki.UnsupportedKey):
        pki.load_private_key(pki.private_key_pem(small))
    curve = ec.generate_private_key(ec.SECP256R1())
    curve_pem = curve.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(pki.UnsupportedKey):
        pki.load_private_key(curve_pem)


def test_pkcs12_password_cases(key: rsa.RSAPrivateKey) -> None:
    certificate = certificate_for(key)
    bundle = pkcs12.serialize_key_and_certificates(
        b"t", key, certificate, None, serialization.BestAvailableEncryption(b"secreto")
    )
    loaded_key, loaded_certificate = pki.load_pkcs12(bundle, b"secreto")
    assert loaded_certificate == certificate
    assert loaded_key.key_size == 2048
    with pytest.raises(pki.WrongPassword):
        pki.load_pkcs12(bundle, b"otra")
    with pytest.raises(pki.PasswordRequired):
        pki.load_pkcs12(bundle, None)
    with pytest.raises(pki.NotPkcs12):
        pki.load_pkcs12(b"no soy un p12", b"secreto")
    with pytest.raises(pki.NotPkcs12):
        pki.load_pkcs12(certificate.public_bytes(serialization.Encoding.DER), b"secreto")
    only_certificate = pkcs12.serialize_key_and_certificates(
        b"t", None, certificate, None, serialization.NoEncryption()
    )
    with pytest.raises(pki.NotPkcs12):
        pki.load_pkcs12(only_certificate, None)
