"""Finding 6: a certificate from any CA *named* like the sandbox's was accepted and became active.

The issuer is now checked by signature with the sandbox CA's public key: a look-alike CA (same
subject name, another key) is refused on upload and on import, and the real sandbox-issued
certificate still installs. Through the real HTTP stack on PostgreSQL and Redis.
"""

from __future__ import annotations

import datetime as dt
import io

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from arca.sandbox.ca import CA_NAME
from blueprints.certificates.models import Certificate, CertificateStatus
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import db
from tests.factories import add_member, make_organization, make_user
from tests.web import csrf_token, htmx_headers, login, post_files, text_of

PAGE = "/certificates/"


class LookAlikeCA:
    """A CA with the sandbox CA's exact subject name and its own key."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def certify(self, subject: x509.Name, public_key: rsa.RSAPublicKey, now: dt.datetime) -> bytes:
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(CA_NAME)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=730))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        return certificate.public_bytes(serialization.Encoding.PEM)


def owner_client(app: Flask) -> tuple[FlaskClient, int]:
    with app.app_context():
        user = make_user()
        organization = make_organization()
        add_member(organization, user, "owner")
        email, organization_id = user.email, organization.id
    client = app.test_client()
    login(client, email)
    return client, organization_id


def post(client: FlaskClient, path: str, files: dict[str, bytes], **fields: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, PAGE)
    data: dict[str, object] = {name: (io.BytesIO(v), name) for name, v in files.items()}
    data.update(fields)
    return post_files(client, path, data, htmx_headers(token))


def pending_request(client: FlaskClient) -> Certificate:
    token = csrf_token(client, PAGE)
    response = client.post("/certificates/generate", data={"csrf_token": token, "alias": "doble"})
    assert response.status_code == 303, text_of(response)
    return db.session.scalars(select(Certificate).where(Certificate.alias == "doble")).one()


def test_a_lookalike_ca_certificate_is_refused_and_the_real_one_installs(app: Flask) -> None:
    client, _organization_id = owner_client(app)
    with app.app_context():
        request = pending_request(client)
        csr = x509.load_pem_x509_csr(str(request.csr_pem).encode())
        now = get_arca().now()
        forged = LookAlikeCA().certify(csr.subject, csr.public_key(), now)  # type: ignore[arg-type]
        genuine = get_arca().sandbox().ca.issue_certificate(str(request.csr_pem).encode())
        request_id = request.id
    assert x509.load_pem_x509_certificate(forged).issuer == CA_NAME  # the name matches…
    refused = post(client, f"/certificates/{request_id}/upload", {"certificate_file": forged})
    assert refused.status_code == 422, text_of(refused)
    assert "firma" in text_of(refused)
    with app.app_context():
        assert db.session.get_one(Certificate, request_id).status == CertificateStatus.PENDING
    installed = post(client, f"/certificates/{request_id}/upload", {"certificate_file": genuine})
    assert installed.status_code in (204, 303), text_of(installed)
    with app.app_context():
        assert db.session.get_one(Certificate, request_id).status == CertificateStatus.ACTIVE


def test_a_lookalike_ca_pair_is_refused_on_import(app: Flask) -> None:
    client, organization_id = owner_client(app)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with app.app_context():
        cuit = db.session.get_one(Organization, organization_id).cuit
        now = get_arca().now()
    subject = x509.Name(
        [
            x509.NameAttribute(x509.NameOID.COUNTRY_NAME, "AR"),
            x509.NameAttribute(x509.NameOID.COMMON_NAME, "importado"),
            x509.NameAttribute(x509.NameOID.SERIAL_NUMBER, f"CUIT {cuit}"),
        ]
    )
    forged = LookAlikeCA().certify(subject, key.public_key(), now)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    refused = post(
        client,
        "/certificates/import",
        {"key_file": key_pem, "certificate_file": forged},
        password="",
    )
    assert refused.status_code == 422, text_of(refused)
    assert "firma" in text_of(refused)
    with app.app_context():
        query = select(Certificate).where(Certificate.organization_id == organization_id)
        assert list(db.session.scalars(query)) == []
