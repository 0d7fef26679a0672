"""The sandbox CA (certificate issuing) and the TA's token/sign round trip."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from lxml import etree

from arca.pki import cuit_of
from arca.pki import generate_private_key as generate_key
from arca.sandbox.ca import CertificateRequestRefused, SandboxCA
from arca.sandbox.clock import SandboxClock
from arca.sandbox.cms import CmsError, verify_signed_data
from arca.sandbox.wsaa import TokenInvalid, Tra, issue_ticket, verify_token
from tests.sandbox.helpers import build_tra, openssl_sign, sign_tra


@pytest.fixture(scope="module")
def ca() -> SandboxCA:
    return SandboxCA(SandboxCA.new_key_pem(), SandboxClock())


def csr(*attributes: x509.NameAttribute) -> bytes:
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(list(attributes)))
    return request.sign(generate_key(), hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


SUBJECT = (
    x509.NameAttribute(NameOID.COUNTRY_NAME, "AR"),
    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Mi Empresa SA"),
    x509.NameAttribute(NameOID.COMMON_NAME, "miapp"),
)


def test_issues_a_certificate_with_the_csr_subject(ca: SandboxCA) -> None:
    pem = ca.issue_certificate(
        csr(*SUBJECT, x509.NameAttribute(NameOID.SERIAL_NUMBER, "CUIT 30000000007"))
    )
    certificate = x509.load_pem_x509_certificate(pem)
    assert cuit_of(certificate.subject) == "30000000007"
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "miapp"
    assert certificate.issuer == ca.certificate.subject
    assert ca.trusts(certificate)
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert timedelta(days=729) < lifetime < timedelta(days=731)


@pytest.mark.parametrize(
    "serial",
    [None, "30000000007", "CUIT 3000000000", "CUIT  30000000007", "CUIT 30000000008"],
)
def test_refuses_csrs_without_a_valid_cuit_serial_number(ca: SandboxCA, serial: str | None) -> None:
    extra = [] if serial is None else [x509.NameAttribute(NameOID.SERIAL_NUMBER, serial)]
    with pytest.raises(CertificateRequestRefused):
        ca.issue_certificate(csr(*SUBJECT, *extra))


def test_refuses_garbage_and_a_subject_without_cn(ca: SandboxCA) -> None:
    with pytest.raises(CertificateRequestRefused):
        ca.issue_certificate(b"not a csr")
    with pytest.raises(CertificateRequestRefused, match="CN"):
        ca.issue_certificate(csr(x509.NameAttribute(NameOID.SERIAL_NUMBER, "CUIT 30000000007")))


def test_issue_key_and_certificate(ca: SandboxCA) -> None:
    key_pem, cert_pem = ca.issue_key_and_certificate("20111111112", alias="caja1")
    key = serialization.load_pem_private_key(key_pem, password=None)
    certificate = x509.load_pem_x509_certificate(cert_pem)
    assert key.public_key() == certificate.public_key()
    assert "CN=caja1" in certificate.subject.rfc4514_string()
    with pytest.raises(CertificateRequestRefused):
        ca.issue_key_and_certificate("20111111113")


def test_a_foreign_certificate_is_not_trusted(ca: SandboxCA) -> None:
    other = SandboxCA(SandboxCA.new_key_pem(), SandboxClock())
    _, cert_pem = other.issue_key_and_certificate("20111111112")
    assert not ca.trusts(x509.load_pem_x509_certificate(cert_pem))


@pytest.mark.parametrize("md", ["cryptography", "sha256", "sha1"])
def test_cms_round_trip(ca: SandboxCA, md: str, tmp_path: Path) -> None:
    key_pem, cert_pem = ca.issue_key_and_certificate("20111111112")
    tra = build_tra(ca._clock.now())
    if md == "cryptography":
        signed = sign_tra(key_pem, cert_pem, tra)
    else:
        signed = openssl_sign(key_pem, cert_pem, tra, tmp_path, md)
    message = verify_signed_data(base64.b64decode(signed))
    assert message.content == tra
    assert cuit_of(message.certificate.subject) == "20111111112"


def test_cms_tampered_or_garbage(ca: SandboxCA) -> None:
    key_pem, cert_pem = ca.issue_key_and_certificate("20111111112")
    der = bytearray(base64.b64decode(sign_tra(key_pem, cert_pem, build_tra(ca._clock.now()))))
    index = bytes(der).find(b"<service>wsfe")
    der[index + 9 : index + 13] = b"wsfx"
    with pytest.raises(CmsError) as error:
        verify_signed_data(bytes(der))
    assert error.value.fault == "cms.sign.invalid"
    with pytest.raises(CmsError) as error:
        verify_signed_data(b"\x30\x03\x02\x01\x01")
    assert error.value.fault == "cms.bad"


def test_token_and_sign_round_trip(ca: SandboxCA) -> None:
    _, cert_pem = ca.issue_key_and_certificate("20111111112")
    now = ca._clock.now()
    tra = Tra(7, now, now + timedelta(minutes=10), "wsfe", None, None)
    ticket = issue_ticket(ca, x509.load_pem_x509_certificate(cert_pem), tra, now, 12)
    assert ticket.expires_at - ticket.generated_at == timedelta(hours=12)
    sso = etree.fromstring(base64.b64decode(ticket.token))
    assert sso.find("operation/login/relations/relation").get("key") == "20111111112"
    info = verify_token(ca, ticket.token, ticket.sign, now + timedelta(hours=1))
    assert info.cuits == ("20111111112",) and info.service == "wsfe"
    with pytest.raises(TokenInvalid, match="VerificacionDeHash"):
        verify_token(ca, ticket.token, base64.b64encode(b"x" * 256).decode(), now)
    with pytest.raises(TokenInvalid, match="fechas del token"):
        verify_token(ca, ticket.token, ticket.sign, now + timedelta(hours=13))
