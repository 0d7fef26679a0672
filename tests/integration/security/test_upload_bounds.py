"""Finding 5: uploads that cost CPU or memory out of all proportion are refused or made small.

A PKCS#12 or encrypted key names its own key-derivation rounds (60 M rounds were 26 s of CPU
per request); a 236 KB PNG of 9000×9000 pixels made every PDF of its organization slow. All
through the real HTTP stack on PostgreSQL and Redis.
"""

from __future__ import annotations

import io
import statistics
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from blueprints.certificates.models import Certificate
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import db
from tests import der
from tests.factories import add_member, make_organization, make_user
from tests.integration.test_invoices import COFFEE, authorize, certified, draft
from tests.web import csrf_token, htmx_headers, login, post_files, text_of

PAGE = "/certificates/"


def manager(app: Flask, organization_id: int | None = None) -> tuple[FlaskClient, int]:
    """An owner of a new organization (or of `organization_id`), signed in."""
    with app.app_context():
        user = make_user()
        if organization_id is None:
            organization = make_organization()
        else:
            organization = db.session.get_one(Organization, organization_id)
        add_member(organization, user, "owner")
        email, organization_id = user.email, organization.id
    client = app.test_client()
    login(client, email)
    return client, organization_id


def post_import(client: FlaskClient, path: str, files: dict[str, bytes], password: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, PAGE)
    data: dict[str, object] = {name: (io.BytesIO(v), name) for name, v in files.items()}
    data["password"] = password
    return post_files(client, path, data, htmx_headers(token))


def sandbox_pair(app: Flask, organization_id: int) -> tuple[bytes, bytes]:
    with app.app_context():
        cuit = db.session.get_one(Organization, organization_id).cuit
        return get_arca().sandbox().ca.issue_key_and_certificate(cuit, alias="acotado")


def bundle_with_rounds(key_pem: bytes, cert_pem: bytes, rounds: int) -> bytes:
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(rounds).build(b"clave")
    )
    key = serialization.load_pem_private_key(key_pem, None)
    return pkcs12.serialize_key_and_certificates(
        b"acotado",
        key,  # type: ignore[arg-type]
        x509.load_pem_x509_certificate(cert_pem),
        None,
        encryption,
    )


def certificates_of(organization_id: int) -> list[Certificate]:
    query = select(Certificate).where(Certificate.organization_id == organization_id)
    return list(db.session.scalars(query))


def test_a_60m_round_pkcs12_is_refused_in_under_a_second(app: Flask) -> None:
    client, organization_id = manager(app)
    key_pem, cert_pem = sandbox_pair(app, organization_id)
    heavy = bundle_with_rounds(key_pem, cert_pem, 60_000_000)
    started = time.perf_counter()
    refused = post_import(client, "/certificates/import-pkcs12", {"bundle": heavy}, "clave")
    elapsed = time.perf_counter() - started
    assert refused.status_code == 422, text_of(refused)
    assert "60.000.000" in text_of(refused) or "60000000" in text_of(refused)
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
    with app.app_context():
        assert certificates_of(organization_id) == []
    # The same file with an ordinary cost (OpenSSL's default) is accepted.
    normal = bundle_with_rounds(key_pem, cert_pem, 2048)
    accepted = post_import(client, "/certificates/import-pkcs12", {"bundle": normal}, "clave")
    assert accepted.status_code == 204, text_of(accepted)


def test_an_encrypted_key_with_60m_pbkdf2_rounds_is_refused_at_once(app: Flask) -> None:
    client, organization_id = manager(app)
    _key, cert_pem = sandbox_pair(app, organization_id)
    heavy_key = der.encrypted_key_pem(der.pbes2_pbkdf2(60_000_000))
    started = time.perf_counter()
    refused = post_import(
        client,
        "/certificates/import",
        {"key_file": heavy_key, "certificate_file": cert_pem},
        "clave",
    )
    elapsed = time.perf_counter() - started
    assert refused.status_code == 422, text_of(refused)
    assert "vueltas" in text_of(refused)
    assert elapsed < 1.0, f"took {elapsed:.2f} s"


def test_an_encrypted_key_with_a_huge_scrypt_is_refused(app: Flask) -> None:
    client, organization_id = manager(app)
    _key, cert_pem = sandbox_pair(app, organization_id)
    heavy_key = der.encrypted_key_pem(der.pbes2_scrypt(2**22, 8, 1))
    started = time.perf_counter()
    refused = post_import(
        client,
        "/certificates/import",
        {"key_file": heavy_key, "certificate_file": cert_pem},
        "clave",
    )
    assert refused.status_code == 422, text_of(refused)
    assert time.perf_counter() - started < 1.0


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (180, 40, 40)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def post_logo(client: FlaskClient, organization_id: int, image: bytes):  # type: ignore[no-untyped-def]
    with client.application.app_context():
        organization = db.session.get_one(Organization, organization_id)
        fields = {
            "cuit": organization.cuit,
            "legal_name": organization.legal_name,
            "iva_condition": str(organization.iva_condition),
        }
    token = csrf_token(client, "/organizations/settings")
    data: dict[str, object] = {**fields, "csrf_token": token, "logo": (io.BytesIO(image), "l.png")}
    return post_files(client, "/organizations/settings", data, {})


def pdf_seconds(client: FlaskClient, invoice_id: int) -> float:
    """The median of a few renders: one slow scheduler tick must not decide."""
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        response = client.get(f"/invoices/{invoice_id}/pdf")
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200 and response.data.startswith(b"%PDF")
    return statistics.median(timings)


@pytest.mark.parametrize("side", [9000])
def test_a_9000px_png_logo_is_refused_and_pdfs_stay_fast(app: Flask, side: int) -> None:
    with app.app_context():
        organization_id = certified()
        invoice_id = authorize(draft(organization_id, [COFFEE]).id).id
    client, _ = manager(app, organization_id)
    bomb = png(side, side)
    assert len(bomb) < 300_000  # small on the wire, 81 megapixels decoded
    refused = post_logo(client, organization_id, bomb)
    assert refused.status_code == 422
    assert f"{side} × {side}" in text_of(refused)
    without_logo = pdf_seconds(client, invoice_id)
    # A large but acceptable image is shrunk once, at upload.
    accepted = post_logo(client, organization_id, png(6000, 3000))
    assert accepted.status_code == 303, text_of(accepted)
    stored = client.get("/organizations/logo")
    assert stored.content_type == "image/png"
    with Image.open(io.BytesIO(stored.data)) as logo:
        assert logo.size == (600, 300)
    with_logo = pdf_seconds(client, invoice_id)
    assert with_logo < max(2 * without_logo, without_logo + 0.5), (without_logo, with_logo)


def test_logo_metadata_is_dropped_and_jpeg_stays_jpeg(app: Flask) -> None:
    client, organization_id = manager(app)
    exif = Image.Exif()
    exif[0x010E] = "descripción privada"  # ImageDescription
    exif[0x0112] = 6  # Orientation: rotate 90° to show upright
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 800), (10, 90, 200)).save(buffer, "JPEG", exif=exif)
    accepted = post_logo(client, organization_id, buffer.getvalue())
    assert accepted.status_code == 303, text_of(accepted)
    stored = client.get("/organizations/logo")
    assert stored.content_type == "image/jpeg"
    with Image.open(io.BytesIO(stored.data)) as logo:
        assert logo.size == (400, 600)  # turned upright, then fitted into 600 × 600
        assert not logo.getexif()
