"""The sandbox's certificate authority: what ARCA's certificate portal (WSASS) does locally.

It signs taxpayers' CSRs, is the only issuer WSAA trusts (`cms.cert.untrusted` otherwise), and
its key also signs the access tickets' tokens so WSFE can check them without state.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from arca.cuit import is_valid_cuit
from arca.pki import generate_private_key, private_key_pem
from arca.sandbox.clock import SandboxClock

_SERIAL_NUMBER = re.compile(r"^CUIT (\d{11})$")
CA_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "AR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Talonario ARCA sandbox"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Computadores Sandbox"),
    ]
)


class CertificateRequestRefused(ValueError):
    """The CSR cannot be certified: bad signature, or a subject without `serialNumber=CUIT n`
    holding a valid CUIT, or without a CN (the alias)."""


class SandboxCA:
    """Holds the CA key and certificate. Thread-safe (immutable after construction)."""

    def __init__(self, key_pem: bytes, clock: SandboxClock) -> None:
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the sandbox CA key must be RSA")
        self._key = key
        self._clock = clock
        self.key_pem = key_pem
        self.certificate = self._self_signed()
        self.certificate_pem = self.certificate.public_bytes(serialization.Encoding.PEM)

    @classmethod
    def new_key_pem(cls) -> bytes:
        """A fresh CA key, PEM (PKCS#8, unencrypted), for the ledger to keep."""
        return private_key_pem(generate_private_key())

    def _self_signed(self) -> x509.Certificate:
        # Fixed dates and serial derived from the key: the same key always yields the same cert.
        start = datetime(2020, 1, 1, tzinfo=self._clock.now().tzinfo)
        public = self._key.public_key()
        serial = int.from_bytes(x509.SubjectKeyIdentifier.from_public_key(public).digest[:8])
        return (
            x509.CertificateBuilder()
            .subject_name(CA_NAME)
            .issuer_name(CA_NAME)
            .public_key(public)
            .serial_number(serial or 1)
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=365 * 30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self._key, hashes.SHA256())
        )

    def issue_certificate(self, csr_pem: bytes, days: int = 730) -> bytes:
        """Certify a CSR as ARCA's portal does: PEM certificate valid `days` from the sandbox's now.

        The subject keeps only the CSR's CN (the alias) and serialNumber ("CUIT n"), and the
        certificate carries KeyUsage critical (digitalSignature, nonRepudiation,
        keyEncipherment), as ARCA's: the certificate inside the CMS of pyafipws
        tests/cassettes/test_wsaa/test_login_cms.yaml has subject `CN=reingart2021,
        serialNumber=CUIT 20267565393` and KeyUsage critical `03 02 05 e0`. Raises
        CertificateRequestRefused if the CSR is unreadable, badly signed (MD5 and SHA-1
        signatures count as good, as `openssl req -verify` says), lacks a CN, or lacks a
        `serialNumber` of the form "CUIT nnnnnnnnnnn" with a valid check digit.
        """
        csr = _load_csr(csr_pem)
        _check_subject(csr.subject)
        now = self._clock.now()
        public = csr.public_key()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_arca_subject(csr.subject))
            .issuer_name(CA_NAME)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=1))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_ARCA_KEY_USAGE, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        return certificate.public_bytes(serialization.Encoding.PEM)

    def issue_key_and_certificate(
        self, cuit: str, alias: str = "talonario", organization: str = "Sandbox"
    ) -> tuple[bytes, bytes]:
        """A new RSA 2048 key and its certificate for `cuit`: (key PEM, certificate PEM).

        Raises CertificateRequestRefused for an invalid CUIT.
        """
        key = generate_private_key()
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "AR"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                x509.NameAttribute(NameOID.COMMON_NAME, alias),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, f"CUIT {cuit}"),
            ]
        )
        csr = (
            x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
        )
        certificate = self.issue_certificate(csr.public_bytes(serialization.Encoding.PEM))
        return private_key_pem(key), certificate

    def trusts(self, certificate: x509.Certificate) -> bool:
        """Whether this CA issued `certificate` (signature and issuer name)."""
        try:
            certificate.verify_directly_issued_by(self.certificate)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True

    def sign(self, data: bytes) -> bytes:
        """RSA-SHA256 signature by the CA key (the TA's `sign`)."""
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def verify(self, data: bytes, signature: bytes) -> bool:
        try:
            self._key.public_key().verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True


_ARCA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=True,  # nonRepudiation
    key_encipherment=True,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


def _arca_subject(subject: x509.Name) -> x509.Name:
    """CN and serialNumber only, in ARCA's order (CN first), whatever else the CSR named."""
    keep = (NameOID.COMMON_NAME, NameOID.SERIAL_NUMBER)
    return x509.Name([subject.get_attributes_for_oid(oid)[0] for oid in keep])


def _load_csr(csr_pem: bytes) -> x509.CertificateSigningRequest:
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError as error:
        raise CertificateRequestRefused(f"not a PEM certificate request: {error}") from error
    if not _self_signature_valid(csr):
        raise CertificateRequestRefused("the certificate request's signature is invalid")
    return csr


def _self_signature_valid(csr: x509.CertificateSigningRequest) -> bool:
    """The CSR's self-signature, checked as `openssl req -verify` does: `cryptography` says
    False for MD5 and SHA-1 signatures (which django-afip's `create_csr` still makes), so an
    RSA signature is verified directly with the hash it names."""
    if csr.is_signature_valid:
        return True
    public, algorithm = csr.public_key(), csr.signature_hash_algorithm
    if not isinstance(public, rsa.RSAPublicKey) or algorithm is None:
        return False
    try:
        public.verify(csr.signature, csr.tbs_certrequest_bytes, padding.PKCS1v15(), algorithm)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _check_subject(subject: x509.Name) -> None:
    serials = [str(a.value) for a in subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)]
    if not serials or not _SERIAL_NUMBER.match(serials[0]):
        raise CertificateRequestRefused(
            f"the subject needs serialNumber='CUIT nnnnnnnnnnn' (11 digits), got {serials!r}"
        )
    if not is_valid_cuit(serials[0][5:]):
        raise CertificateRequestRefused(f"invalid CUIT in the subject: {serials[0][5:]}")
    if not subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        raise CertificateRequestRefused("the subject needs a CN (the certificate's alias)")
