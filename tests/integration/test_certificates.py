"""Certificates: generate, sandbox CA, upload checks, imports, lifecycle, connection test."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from arca import pki
from blueprints.audit.models import AuditEvent
from blueprints.certificates.models import AccessTicketRecord, Certificate, CertificateStatus
from blueprints.organizations.models import Organization
from blueprints.points_of_sale.models import PointOfSale
from core.arca import get_arca
from core.db import db
from tests.factories import add_member, make_organization, make_user, next_cuit
from tests.web import csrf_token, htmx_headers, login, post_files, text_of

PAGE = "/certificates/"

# The owner's sign-in is in the audit log too; these tests are about the certificates' entries.
NOT_SIGN_IN = AuditEvent.action.not_like("auth.%")


@pytest.fixture
def owner(app: Flask) -> FlaskClient:
    with app.app_context():
        ana = make_user(email="ana@example.com", name="Ana")
        organization = make_organization(legal_name="Almacén Demo SRL")
        add_member(organization, ana, "owner")
    client = app.test_client()
    login(client, "ana@example.com")
    return client


def organization(app: Flask) -> Organization:
    return db.session.scalars(select(Organization)).one()


def generate(client: FlaskClient, alias: str = "talonario-prueba") -> Certificate:
    token = csrf_token(client, PAGE)
    response = client.post("/certificates/generate", data={"csrf_token": token, "alias": alias})
    assert response.status_code == 303, response.get_data(as_text=True)
    certificate = db.session.scalars(select(Certificate).where(Certificate.alias == alias)).one()
    return certificate


def upload(client: FlaskClient, certificate_id: int, data: bytes, name: str = "arca.crt"):  # type: ignore[no-untyped-def]
    token = csrf_token(client, PAGE)
    return post_files(
        client,
        f"/certificates/{certificate_id}/upload",
        {"certificate_file": (io.BytesIO(data), name)},
        htmx_headers(token),
    )


def sandbox_issue(app: Flask, csr_pem: str) -> bytes:
    return get_arca().sandbox().ca.issue_certificate(csr_pem.encode())


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_generate_makes_an_encrypted_key_and_arca_shaped_csr(
    app: Flask, owner: FlaskClient
) -> None:
    with app.app_context():
        certificate = generate(owner)
        org = organization(app)
        assert certificate.status == CertificateStatus.PENDING
        assert "PRIVATE KEY" not in certificate.private_key
        assert certificate.private_key.startswith("v1.")
        csr = x509.load_pem_x509_csr(certificate.csr_pem.encode())
        subject = {a.oid: a.value for a in csr.subject}
        assert subject[NameOID.COUNTRY_NAME] == "AR"
        assert subject[NameOID.ORGANIZATION_NAME] == "Almacén Demo SRL"
        assert subject[NameOID.COMMON_NAME] == "talonario-prueba"
        assert subject[NameOID.SERIAL_NUMBER] == f"CUIT {org.cuit}"
        assert csr.signature_hash_algorithm.name == "sha256"
        assert csr.public_key().key_size == 2048
        events = db.session.scalars(select(AuditEvent.action).where(NOT_SIGN_IN)).all()
        assert events == ["certificate.generate"]
    download = owner.get(f"/certificates/{certificate.id}/csr")
    assert download.status_code == 200
    assert download.data.startswith(b"-----BEGIN CERTIFICATE REQUEST-----")
    assert "talonario-prueba.csr" in download.headers["Content-Disposition"]


def test_bad_alias_is_refused_with_a_fragment(app: Flask, owner: FlaskClient) -> None:
    token = csrf_token(owner, PAGE)
    response = owner.post(
        "/certificates/generate",
        data={"csrf_token": token, "alias": "con espacios"},
        headers=htmx_headers(token),
    )
    assert response.status_code == 422
    assert 'id="generate"' in response.get_data(as_text=True)
    assert "sin espacios" in text_of(response)
    with app.app_context():
        assert count(Certificate) == 0


def test_sandbox_ca_then_connection_test(app: Flask, owner: FlaskClient) -> None:
    with app.app_context():
        certificate = generate(owner)
    token = csrf_token(owner, PAGE)
    issued = owner.post(f"/certificates/{certificate.id}/issue-sandbox", data={"csrf_token": token})
    assert issued.status_code == 303
    page = owner.get(PAGE)
    assert "Activo" in text_of(page)
    with app.app_context():
        stored = db.session.get(Certificate, certificate.id)
        assert stored.status == CertificateStatus.ACTIVE
        assert stored.issuer and "Computadores Sandbox" in stored.issuer
        assert stored.not_valid_after - stored.not_valid_before > dt.timedelta(days=700)
        logins_before = get_arca().sandbox().login_count()
    report = owner.post("/certificates/test-connection", headers=htmx_headers(token))
    assert report.status_code == 200
    body = report.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="connection-report"')
    assert body.count('class="connection-step is-ok"') == 3, text_of(report)
    again = owner.post("/certificates/test-connection", headers=htmx_headers(token))
    assert again.get_data(as_text=True).count("is-ok") == 3
    with app.app_context():
        assert get_arca().sandbox().login_count() == logins_before + 1
        record = db.session.scalars(select(AccessTicketRecord)).one()
        assert record.service == "wsfe" and record.environment == "sandbox"
        assert "<token>" not in record.ticket and record.ticket.startswith("v1.")
        numbers = db.session.scalars(select(PointOfSale.number)).all()
        assert sorted(numbers) == [1, 2, 3, 4, 5, 6]  # 6: the CAEA one


def test_connection_test_without_a_certificate_says_so(app: Flask, owner: FlaskClient) -> None:
    token = csrf_token(owner, PAGE)
    response = owner.post("/certificates/test-connection", headers=htmx_headers(token))
    assert response.status_code == 409
    assert "Todavía no hay un certificado activo" in text_of(response)


def other_key_certificate(app: Flask, cuit: str) -> bytes:
    with app.app_context():
        _key, certificate = get_arca().sandbox().ca.issue_key_and_certificate(cuit)
    return certificate


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("other_cuit", "no de"),
        ("other_key", "no corresponde a la clave"),
        ("expired", "venció el"),
        ("garbage", "no es un certificado X.509"),
        ("huge", "pesa 10240 KB"),
        ("empty", "está vacío"),
        ("homologacion_ca", "no lo emitió la CA de prueba del sandbox"),
    ],
)
def test_upload_checks_refuse_and_store_nothing(
    app: Flask, owner: FlaskClient, case: str, message: str
) -> None:
    with app.app_context():
        certificate = generate(owner)
        org = organization(app)
        csr = x509.load_pem_x509_csr(certificate.csr_pem.encode())
        sandbox = get_arca().sandbox()
        if case == "other_cuit":
            data = sandbox.ca.issue_certificate(csr_for(next_cuit("20"), csr))
        elif case == "other_key":
            data = other_key_certificate(app, org.cuit)
        elif case == "expired":
            sandbox.clock.freeze(sandbox.clock.now() - dt.timedelta(days=800))
            try:
                data = sandbox.ca.issue_certificate(certificate.csr_pem.encode())
            finally:
                sandbox.clock.unfreeze()
        elif case == "garbage":
            data = b"esto no es un certificado\n" * 10
        elif case == "huge":
            data = b"-----BEGIN CERTIFICATE-----\n" + b"A" * (10 * 1024 * 1024)
        elif case == "homologacion_ca":
            data = issued_by_another_ca(csr)
        else:
            data = b""
    response = upload(owner, certificate.id, data)
    assert response.status_code == 422
    assert message in text_of(response), text_of(response)
    assert (
        response.get_data(as_text=True)
        .lstrip()
        .startswith(f'<section class="card pending-certificate" id="certificate-{certificate.id}"')
    )
    with app.app_context():
        stored = db.session.get(Certificate, certificate.id)
        assert stored.status == CertificateStatus.PENDING
        assert stored.certificate_pem is None
        actions = db.session.scalars(select(AuditEvent.action).where(NOT_SIGN_IN)).all()
        assert actions == ["certificate.generate"]


def issued_by_another_ca(csr: x509.CertificateSigningRequest) -> bytes:
    """A certificate for the CSR's key as homologación's CA names itself, signed elsewhere."""
    issuer = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "AFIP"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Computadores Test"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(issuer)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=730))
        .sign(pki.generate_private_key(), hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def csr_for(cuit: str, template: x509.CertificateSigningRequest) -> bytes:
    """A CSR for another CUIT (signed by a throwaway key: only its subject matters here)."""
    key = pki.generate_private_key()
    return pki.build_csr(key, "Otra SA", "otra", cuit)


def test_upload_of_the_issued_der_file_activates_and_replaces(
    app: Flask, owner: FlaskClient
) -> None:
    with app.app_context():
        first = generate(owner, "primero")
        pem = sandbox_issue(app, first.csr_pem)
    assert upload(owner, first.id, pem).status_code == 204
    with app.app_context():
        second = generate(owner, "segundo")
        der = x509.load_pem_x509_certificate(sandbox_issue(app, second.csr_pem)).public_bytes(
            serialization.Encoding.DER
        )
    response = upload(owner, second.id, der, "segundo.der")
    assert response.status_code == 204
    assert response.headers["HX-Location"] == PAGE
    with app.app_context():
        statuses = dict(db.session.execute(select(Certificate.alias, Certificate.status)).all())
        assert statuses == {"primero": "replaced", "segundo": "active"}
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions.count("certificate.upload") == 2
    # A replaced certificate can be activated again, and deleted once not active.
    token = csrf_token(owner, PAGE)
    assert (
        owner.post(f"/certificates/{first.id}/activate", data={"csrf_token": token}).status_code
        == 303
    )
    refused = owner.post(f"/certificates/{first.id}/delete", headers=htmx_headers(token))
    assert refused.status_code == 409
    assert (
        owner.post(f"/certificates/{second.id}/delete", headers=htmx_headers(token)).status_code
        == 204
    )
    with app.app_context():
        assert db.session.scalars(select(Certificate.alias)).all() == ["primero"]
        trail = db.session.execute(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.subject_id, AuditEvent.details)
            .where(NOT_SIGN_IN)
            .order_by(AuditEvent.id)
        ).all()
    assert [(action, actor, subject) for action, actor, subject, _details in trail] == [
        ("certificate.generate", "ana@example.com", first.id),
        ("certificate.upload", "ana@example.com", first.id),
        ("certificate.generate", "ana@example.com", second.id),
        ("certificate.upload", "ana@example.com", second.id),
        ("certificate.activate", "ana@example.com", first.id),
        ("certificate.delete", "ana@example.com", second.id),
    ]
    assert trail[-1].details == {"alias": "segundo", "environment": "sandbox"}
    assert all("PRIVATE" not in str(details) for *_rest, details in trail)


def key_and_certificate(app: Flask, cuit: str) -> tuple[bytes, bytes]:
    with app.app_context():
        return get_arca().sandbox().ca.issue_key_and_certificate(cuit, alias="existente")


def post_import(
    client: FlaskClient, path: str, files: dict[str, tuple[bytes, str]], password: str = ""
):  # type: ignore[no-untyped-def]
    token = csrf_token(client, PAGE)
    data: dict[str, object] = {
        name: (io.BytesIO(content), filename) for name, (content, filename) in files.items()
    }
    data["password"] = password
    return post_files(client, path, data, htmx_headers(token))


def test_import_pem_pair_and_pkcs12(app: Flask, owner: FlaskClient) -> None:
    with app.app_context():
        cuit = organization(app).cuit
    key, cert = key_and_certificate(app, cuit)
    response = post_import(
        owner,
        "/certificates/import",
        {"key_file": (key, "k.key"), "certificate_file": (cert, "c.crt")},
    )
    assert response.status_code == 204, text_of(response)
    again = post_import(
        owner,
        "/certificates/import",
        {"key_file": (key, "k.key"), "certificate_file": (cert, "c.crt")},
    )
    assert again.status_code == 422 or again.status_code == 409
    assert "ya está cargado" in text_of(again)
    key2, cert2 = key_and_certificate(app, cuit)
    bundle = pkcs12.serialize_key_and_certificates(
        b"alias",
        serialization.load_pem_private_key(key2, None),
        x509.load_pem_x509_certificate(cert2),
        None,
        serialization.BestAvailableEncryption(b"secreto"),
    )
    wrong = post_import(owner, "/certificates/import-pkcs12", {"bundle": (bundle, "c.p12")}, "otra")
    assert wrong.status_code == 422
    assert "La contraseña del archivo PKCS#12 no es correcta" in text_of(wrong)
    right = post_import(
        owner, "/certificates/import-pkcs12", {"bundle": (bundle, "c.p12")}, "secreto"
    )
    assert right.status_code == 204, text_of(right)
    with app.app_context():
        assert count(Certificate) == 2
        assert db.session.scalars(select(Certificate.status).order_by(Certificate.id)).all() == [
            "replaced",
            "active",
        ]


def test_import_mismatched_pair_stores_nothing(app: Flask, owner: FlaskClient) -> None:
    with app.app_context():
        cuit = organization(app).cuit
    key, _cert = key_and_certificate(app, cuit)
    _key, cert = key_and_certificate(app, cuit)
    response = post_import(
        owner,
        "/certificates/import",
        {"key_file": (key, "k.key"), "certificate_file": (cert, "c.crt")},
    )
    assert response.status_code == 422
    assert "La clave privada no corresponde al certificado" in text_of(response)
    with app.app_context():
        assert count(Certificate) == 0
        assert not db.session.scalars(select(AuditEvent.action).where(NOT_SIGN_IN)).all()


def install_issued_in_the_past(app: Flask, client: FlaskClient, days_ago: int) -> None:
    """A certificate issued (and installed) `days_ago` days back on ARCA's clock: 730 days valid."""
    with app.app_context():
        certificate = generate(client, f"hace-{days_ago}")
        sandbox = get_arca().sandbox()
        sandbox.clock.freeze(sandbox.clock.now() - dt.timedelta(days=days_ago))
    try:
        token = csrf_token(client, PAGE)
        response = client.post(
            f"/certificates/{certificate.id}/issue-sandbox", data={"csrf_token": token}
        )
        assert response.status_code == 303
    finally:
        with app.app_context():
            get_arca().sandbox().clock.unfreeze()


def test_dashboard_setup_step_and_expiry_banner(app: Flask, owner: FlaskClient) -> None:
    before = owner.get("/")
    assert 'id="certificate-alert"' not in before.get_data(as_text=True)
    assert 'id="setup-step-certificate"' in before.get_data(as_text=True)
    install_issued_in_the_past(app, owner, 710)
    expiring = owner.get("/")
    body = expiring.get_data(as_text=True)
    assert 'id="certificate-alert"' in body
    assert "vence el" in text_of(expiring) and "(en 19 días)" in text_of(expiring)
    assert 'class="step is-done" id="setup-step-certificate"' in body
    install_issued_in_the_past(app, owner, 800)
    expired = owner.get("/")
    assert "venció el" in text_of(expired)
    assert "no vas a poder autorizar" in text_of(expired)
    assert 'class="step " id="setup-step-certificate"' in expired.get_data(as_text=True)
    page = owner.get(PAGE)
    assert "Vencido" in text_of(page) and "Reemplazado" in text_of(page)
