"""Exporting everything of an organization (issue #16): owners start a job that builds a ZIP
with every entity as JSON and CSV, the PDFs, the audit log with its chain and a manifest of
hashes; every invoice's JSON is what the API answers for it; the owner is emailed the link;
downloading is audited. Other roles get 403, other organizations 404."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import zipfile
from email import message_from_bytes
from email.policy import default as default_policy
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from blueprints.audit.models import AuditEvent
from blueprints.certificates.models import Certificate
from blueprints.exports.models import Export
from blueprints.invoices.models import Invoice, InvoiceStatus
from blueprints.organizations.models import Organization, Role
from blueprints.webhooks.models import WebhookEndpoint
from core.db import db
from core.mail import MailMessage
from core.tasks import run_worker
from tests.api import Api, make_api_key
from tests.demo_world import small_demo
from tests.factories import add_member, make_organization, make_user
from tests.web import csrf_token, login, post_form
from tests.webhooks_world import endpoint_and_delivery

OWNER = "duena@example.com"
ENTITIES = (
    "organization",
    "members",
    "customers",
    "points_of_sale",
    "voucher_counters",
    "invoices",
    "invoice_lines",
    "invoice_vat",
    "invoice_taxes",
    "authorization_attempts",
    "certificates",
    "api_keys",
    "webhook_endpoints",
    "audit",
)


def demo_like(app: Flask, email: str = OWNER) -> int:
    """An organization like the demo's, small: certificate, point of sale, customers,
    authorized invoices, a credit note, a rejected one, drafts; plus a webhook endpoint."""
    with app.test_request_context():
        user = make_user(email, name="Dueña de Prueba")
        report = small_demo(user, seed=16)
        endpoint_and_delivery(report.organization.id)
        return report.organization.id


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    login(client, email)
    return client


def member(app: Flask, organization_id: int, role: str) -> FlaskClient:
    email = f"{role}-{organization_id}@example.com"
    with app.app_context():
        add_member(db.session.get_one(Organization, organization_id), make_user(email), Role(role))
    client = signed_in(app, email)
    client.post(
        f"/organizations/{organization_id}/switch", data={"csrf_token": csrf_token(client, "/")}
    )
    return client


def export_everything(app: Flask, client: FlaskClient) -> int:
    """Press the button, let a worker build it; returns the export's id."""
    page = client.get("/exports/organization")
    assert page.status_code == 200
    assert 'id="organization-export-start"' in page.get_data(as_text=True)
    response = post_form(client, "/exports/organization", {}, token_from="/exports/organization")
    assert response.status_code == 303
    assert response.headers["Location"] == "/exports/organization"
    with app.app_context():
        run_worker(burst=True)
        export = db.session.scalars(select(Export).where(Export.kind == "organization")).one()
        assert export.status == "done", export.error
        return export.id


@pytest.fixture
def exported(app: Flask) -> tuple[int, int, zipfile.ZipFile, FlaskClient]:
    organization_id = demo_like(app)
    owner = signed_in(app, OWNER)
    export_id = export_everything(app, owner)
    ready = owner.get("/exports/organization").get_data(as_text=True)
    assert f"/exports/{export_id}/download" in ready  # the progress panel's link, on the page
    download = owner.get(f"/exports/{export_id}/download")
    assert download.status_code == 200
    assert download.mimetype == "application/zip"
    assert "attachment" in download.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    return organization_id, export_id, archive, owner


def test_the_zip_holds_every_entity_the_pdfs_and_a_manifest_that_matches(
    app: Flask, exported: tuple[int, int, zipfile.ZipFile, FlaskClient]
) -> None:
    organization_id, _export_id, archive, _owner = exported
    names = set(archive.namelist())
    for entity in ENTITIES:
        assert f"{entity}.json" in names and f"{entity}.csv" in names, entity
        rows = json.loads(archive.read(f"{entity}.json"))
        table = list(csv.DictReader(io.StringIO(archive.read(f"{entity}.csv").decode())))
        assert [row["id"] for row in table] == [str(row["id"]) for row in rows], entity
    assert {"audit.jsonl", "README.txt", "manifest.json"} <= names
    with app.app_context():
        authorized = db.session.scalars(
            select(Invoice).where(
                Invoice.organization_id == organization_id,
                Invoice.status == InvoiceStatus.AUTHORIZED,
            )
        ).all()
        invoices = db.session.scalars(
            select(Invoice.id).where(Invoice.organization_id == organization_id)
        ).all()
    pdfs = sorted(name for name in names if name.startswith("invoices/"))
    assert len(pdfs) == len(authorized) >= 5  # 4 invoices and the credit note
    for invoice in authorized:
        sequence = f"{invoice.invoice_type:03d}-{invoice.point_of_sale_number:05d}"
        name = f"invoices/{sequence}-{invoice.number:08d}.pdf"
        assert archive.read(name).startswith(b"%PDF"), name
    assert sorted(row["id"] for row in json.loads(archive.read("invoices.json"))) == sorted(
        invoices
    )
    assert len(json.loads(archive.read("customers.json"))) == 6
    assert len(json.loads(archive.read("webhook_endpoints.json"))) == 1
    assert json.loads(archive.read("organization.json"))[0]["id"] == organization_id

    manifest = json.loads(archive.read("manifest.json"))
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(listed) == names - {"manifest.json"}
    for path, entry in listed.items():
        content = archive.read(path)
        assert hashlib.sha256(content).hexdigest() == entry["sha256"], path
        assert len(content) == entry["size"], path
    assert manifest["organization"]["id"] == organization_id
    assert manifest["counts"]["pdfs"] == len(authorized)


def test_every_invoice_is_what_the_api_answers(
    app: Flask, exported: tuple[int, int, zipfile.ZipFile, FlaskClient]
) -> None:
    organization_id, _export_id, archive, _owner = exported
    api = Api(app, make_api_key(app, organization_id, ["invoices:read"]))
    exported_invoices = json.loads(archive.read("invoices.json"))
    assert exported_invoices
    for invoice in exported_invoices:
        answer = api.get(f"/api/v1/invoices/{invoice['id']}")
        assert answer.status_code == 200
        assert invoice == answer.get_json()


def test_no_secret_leaves_and_the_audit_log_keeps_its_chain(
    app: Flask, exported: tuple[int, int, zipfile.ZipFile, FlaskClient]
) -> None:
    organization_id, _export_id, archive, _owner = exported
    with app.app_context():
        keys = db.session.scalars(
            select(Certificate.private_key).where(Certificate.organization_id == organization_id)
        ).all()
        secrets = db.session.scalars(
            select(WebhookEndpoint.secret_encrypted).where(
                WebhookEndpoint.organization_id == organization_id
            )
        ).all()
    everything = b"".join(archive.read(name) for name in archive.namelist())
    for secret in [*keys, *secrets]:
        assert secret.encode() not in everything
    for entity, forbidden in (
        ("certificates", "private_key"),
        ("webhook_endpoints", "secret_encrypted"),
        ("api_keys", "secret_hash"),
        ("members", "invite_token_hash"),
    ):
        header = archive.read(f"{entity}.csv").decode().splitlines()[0]
        assert forbidden not in header
        assert all(forbidden not in row for row in json.loads(archive.read(f"{entity}.json")))
    attempts = json.loads(archive.read("authorization_attempts.json"))
    assert attempts and all("<Token>" not in (a["request_xml"] or "") for a in attempts)
    assert any("[redacted]" in (a["request_xml"] or "") for a in attempts)

    entries = [json.loads(line) for line in archive.read("audit.jsonl").decode().splitlines()]
    assert entries
    assert [entry["seq"] for entry in entries] == list(range(1, len(entries) + 1))
    for previous, entry in itertools.pairwise(entries):
        assert entry["prev_hash"] == previous["hash"]
    assert json.loads(archive.read("audit.json")) == entries
    assert "organization.exported" in {entry["action"] for entry in entries}


def test_the_owner_is_emailed_the_link_and_the_download_is_audited(
    app: Flask, exported: tuple[int, int, zipfile.ZipFile, FlaskClient]
) -> None:
    organization_id, export_id, _archive, _owner = exported
    with app.app_context():
        mail = db.session.scalars(
            select(MailMessage).where(MailMessage.kind == "export.ready")
        ).one()
        assert mail.to == OWNER
        assert mail.status == "sent"
        text = message_body(mail.mime)
        assert "/exports/organization#export-" in text
        downloads = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.organization_id == organization_id,
                AuditEvent.action == "export.downloaded",
            )
        ).all()
    assert [(event.subject_type, event.subject_id) for event in downloads] == [
        ("export", export_id)
    ]
    assert downloads[0].actor == OWNER
    assert downloads[0].details["kind"] == "organization"


def message_body(raw: bytes) -> str:
    message: Any = message_from_bytes(raw, policy=default_policy)
    return str(message.get_body(("plain",)).get_content())


@pytest.mark.parametrize("role", ["admin", "accountant", "member"])
def test_only_owners_export_everything(app: Flask, role: str) -> None:
    with app.app_context():
        organization_id = make_organization(make_user(OWNER)).id
    export_id = export_everything(app, signed_in(app, OWNER))
    other = member(app, organization_id, role)
    assert other.get("/exports/organization").status_code == 403
    token = csrf_token(other, "/")
    assert other.post("/exports/organization", data={"csrf_token": token}).status_code == 403
    for path in ("", "/status", "/download"):
        assert other.get(f"/exports/{export_id}{path}").status_code == 403, path
    # Nor does the settings page offer it.
    settings = other.get("/organizations/settings").get_data(as_text=True)
    assert "/exports/organization" not in settings


def test_another_organizations_export_is_not_found(app: Flask) -> None:
    with app.app_context():
        make_organization(make_user(OWNER))
        make_organization(make_user("otra@example.com"))
    export_id = export_everything(app, signed_in(app, OWNER))
    intruder = signed_in(app, "otra@example.com")
    assert "/exports/organization" in intruder.get("/organizations/settings").get_data(as_text=True)
    for path in (
        f"/exports/{export_id}",
        f"/exports/{export_id}/download",
    ):
        assert intruder.get(path).status_code == 404, path
