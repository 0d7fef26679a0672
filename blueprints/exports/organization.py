"""Everything of an organization in one ZIP (issue #16, "export everything"): a `blueprints.exports`
job of kind `organization`, started by an owner.

The ZIP holds, per entity, `<entity>.json` (a list) and `<entity>.csv` (the same rows, one column
per field; nested values as JSON text); `invoices/<type>-<pos>-<number>.pdf` for every authorized
voucher; `audit.jsonl`, the audit log with its hash chain (`seq`, `prev_hash`, `hash`), one entry a
line; `README.txt`; and `manifest.json`, the SHA-256 and size of every other file.

An invoice's JSON is the API's representation (`api.schemas.invoices.invoice_of`), byte for byte
what GET /api/v1/invoices/<id> answers. Secrets never leave: no private key, API key hash,
webhook secret, invitation token or access ticket; the authorization attempts' XML already had
Token and Sign redacted (arca.wsfe) and is redacted again here in case an old row kept them.

Large organizations: rows are read in keyset batches, each entity spooled to a temporary file
(kept in memory up to a few MB), and progress is reported (and committed) per invoice batch.
When the file is done the requester gets an email with the link, queued in the same commit that
marks the export done (`core.mail`; the dispatcher wakes it).
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import hashlib
import io
import json
import re
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import IO, Any

from flask import render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Select, func, inspect, select
from sqlalchemy.orm import undefer

from blueprints.api.models import ApiKey
from blueprints.api.schemas.invoices import InvoiceLinks, invoice_of
from blueprints.audit.models import AuditEvent
from blueprints.audit.services import record_event
from blueprints.auth.models import User
from blueprints.certificates.models import Certificate
from blueprints.customers.models import Customer
from blueprints.exports.models import Export
from blueprints.exports.services import (
    ExportFile,
    ExportKind,
    Progress,
    start_export,
)
from blueprints.invoices.models import (
    AuthorizationAttempt,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    InvoiceTax,
    InvoiceVat,
    with_children,
)
from blueprints.invoices.package import pdf_file_name
from blueprints.invoices.printing import invoice_pdf
from blueprints.organizations.models import Membership, Organization
from blueprints.organizations.notices import LOGO_CID, logo_images, public_url
from blueprints.points_of_sale.models import PointOfSale, VoucherCounter
from blueprints.webhooks.models import WebhookEndpoint
from core.db import DbSession, utcnow
from core.mail import build_message, queue_mail
from core.web import url_context

ORGANIZATION = "organization"
FORMAT = "talonario-export/1"
BATCH = 200  # invoices per read (each with its lines, VAT, taxes, attempts and PDF)
ROW_BATCH = 1000  # rows per read for the other entities
SPOOL_BYTES = 8 * 1024 * 1024  # an entity's file stays in memory up to this, then on disk
MAIL_KIND = "export.ready"

# Columns that never leave, whatever table they are on: secrets, their hashes, binary blobs.
SECRET_COLUMNS = frozenset(
    {
        "private_key",  # certificates: a core.crypto token of the key
        "csr_pem",
        "secret_hash",  # api_keys
        "secret_encrypted",  # webhook_endpoints
        "previous_secret_encrypted",
        "invite_token_hash",  # memberships
        "logo",  # organizations: an image, not data
    }
)
Links = Callable[[int], InvoiceLinks]
# Token and Sign inside a SOAP envelope, whatever their namespace prefix.
_AUTH_XML = re.compile(r"(<(?:\w+:)?(Token|Sign)\b[^>]*>)(.*?)(</(?:\w+:)?\2>)", re.S)


def start_organization_export(session: DbSession, organization: Organization, actor: User) -> int:
    """Record `organization.exported` and start the job (`exports.start_export`); returns the
    export's id. Commits. The requester is emailed the link when the file is ready."""
    record_event(
        session,
        organization.id,
        "organization.exported",
        actor,
        subject=("organization", organization.id),
        details={"kind": ORGANIZATION},
    )
    parameters = {"requested_by": str(actor.id), "request": uuid.uuid4().hex}
    return start_export(session, organization.id, ORGANIZATION, parameters, actor)


def organization_exports(session: DbSession, organization_id: int, limit: int = 5) -> list[Export]:
    """The organization's latest full exports, newest first (expired ones excluded)."""
    return list(
        session.scalars(
            select(Export)
            .where(
                Export.organization_id == organization_id,
                Export.kind == ORGANIZATION,
                Export.expires_at >= utcnow(),
            )
            .order_by(Export.created_at.desc(), Export.id.desc())
            .limit(limit)
        )
    )


# --- the builder ---------------------------------------------------------------------------------


def build_organization_export(
    session: DbSession, organization_id: int, parameters: Mapping[str, str], progress: Progress
) -> ExportFile:
    """The whole ZIP (see the module's docstring). Reads only, but for the ready email queued
    last (committed with the file by `exports.run_export`)."""
    organization = session.get_one(Organization, organization_id)
    total = int(
        session.scalar(
            select(func.count(Invoice.id)).where(Invoice.organization_id == organization_id)
        )
        or 0
    )
    progress(0, total)
    files: dict[str, IO[bytes]] = {}
    counts: dict[str, int] = {}
    for name, rows, fields in _plain_entities(session, organization):
        counts[name] = _write_entity(files, name, rows, fields)
    counts.update(_write_invoices(session, files, organization_id, total, progress))
    counts["audit"] = _write_audit(session, files, organization_id)
    files["README.txt"] = _spooled(readme_text(organization, counts).encode())
    content = zip_with_manifest(files, manifest_header(organization, counts))
    _queue_ready_mail(session, organization, parameters)
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return ExportFile(f"talonario-{organization.cuit}-{stamp}.zip", "application/zip", content)


def _plain_entities(
    session: DbSession, organization: Organization
) -> Iterator[tuple[str, Iterable[dict[str, Any]], list[str]]]:
    """The entities exported as their columns (secrets left out), in a stable order."""
    organization_id = organization.id
    yield "organization", [row_of(organization)], fields_of(Organization)
    yield "members", _members(session, organization_id), [*fields_of(Membership), "name"]
    for name, model in (
        ("customers", Customer),
        ("points_of_sale", PointOfSale),
        ("voucher_counters", VoucherCounter),
        ("certificates", Certificate),
        ("api_keys", ApiKey),
        ("webhook_endpoints", WebhookEndpoint),
    ):
        statement = select(model).where(model.organization_id == organization_id)
        yield name, (row_of(item) for item in batched(session, statement, model)), fields_of(model)


def _members(session: DbSession, organization_id: int) -> Iterator[dict[str, Any]]:
    query = (
        select(Membership, User.name)
        .outerjoin(User, User.id == Membership.user_id)
        .where(Membership.organization_id == organization_id)
        .order_by(Membership.id)
    )
    for membership, name in session.execute(query):
        yield {**row_of(membership), "name": name}


def _write_invoices(
    session: DbSession,
    files: dict[str, IO[bytes]],
    organization_id: int,
    total: int,
    progress: Progress,
) -> dict[str, int]:
    """invoices (API representation), their lines, VAT rows, taxes, attempts, and the PDFs of
    the authorized ones, a batch at a time; progress after each batch."""
    sinks = {
        "invoices": EntitySink(fields_of(Invoice)),
        "invoice_lines": EntitySink(fields_of(InvoiceLine)),
        "invoice_vat": EntitySink(fields_of(InvoiceVat)),
        "invoice_taxes": EntitySink(fields_of(InvoiceTax)),
        "authorization_attempts": EntitySink(fields_of(AuthorizationAttempt)),
    }
    pdfs, done, last_id = 0, 0, 0
    with api_links() as links:
        while batch := invoice_batch(session, organization_id, last_id):
            attempts = batch_attempts(session, [invoice.id for invoice in batch])
            for invoice in batch:
                sinks["invoices"].add(invoice_json(invoice, links), row_of(invoice))
                for key, rows in (
                    ("invoice_lines", invoice.lines),
                    ("invoice_vat", invoice.vat_rows),
                    ("invoice_taxes", invoice.tax_rows),
                ):
                    for item in rows:
                        sinks[key].add_row(row_of(item))
                for attempt in attempts.get(invoice.id, []):
                    sinks["authorization_attempts"].add_row(attempt_row(attempt))
                if invoice.status == InvoiceStatus.AUTHORIZED:
                    pdf = invoice_pdf(session, invoice)
                    files[f"invoices/{pdf_file_name(invoice)}"] = _spooled(pdf)
                    pdfs += 1
            done, last_id = done + len(batch), batch[-1].id
            progress(done, max(total, done))
    counts = {}
    for name, sink in sinks.items():
        files[f"{name}.json"], files[f"{name}.csv"] = sink.finish()
        counts[name] = sink.count
    counts["pdfs"] = pdfs
    return counts


def invoice_batch(session: DbSession, organization_id: int, after_id: int) -> list[Invoice]:
    return list(
        session.scalars(
            select(Invoice)
            .where(Invoice.organization_id == organization_id, Invoice.id > after_id)
            .options(*with_children())
            .order_by(Invoice.id)
            .limit(BATCH)
        )
    )


def batch_attempts(
    session: DbSession, invoice_ids: Sequence[int]
) -> dict[int, list[AuthorizationAttempt]]:
    query = (
        select(AuthorizationAttempt)
        .where(AuthorizationAttempt.invoice_id.in_(invoice_ids))
        .options(
            undefer(AuthorizationAttempt.request_xml), undefer(AuthorizationAttempt.response_xml)
        )
        .order_by(AuthorizationAttempt.id)
    )
    found: dict[int, list[AuthorizationAttempt]] = {}
    for attempt in session.scalars(query):
        found.setdefault(attempt.invoice_id, []).append(attempt)
    return found


@contextmanager
def api_links() -> Iterator[Links]:
    """Where the API's `links` of an invoice can be built as the API builds them (relative
    URLs), in a request or in a worker."""
    with url_context():
        yield links_of


def links_of(invoice_id: int) -> InvoiceLinks:
    return InvoiceLinks(
        self=url_for("api.get_invoice", invoice_id=invoice_id),
        status=url_for("api.get_invoice_status", invoice_id=invoice_id),
        pdf=url_for("api.get_invoice_pdf", invoice_id=invoice_id),
    )


def invoice_json(invoice: Invoice, links: Links) -> dict[str, Any]:
    """The API's representation of the invoice (GET /api/v1/invoices/<id>), as JSON values."""
    return invoice_of(invoice, links(invoice.id)).model_dump(mode="json")


def attempt_row(attempt: AuthorizationAttempt) -> dict[str, Any]:
    row = row_of(attempt)
    for key in ("request_xml", "response_xml"):
        if row.get(key):
            row[key] = redact_xml(row[key])
    return row


def redact_xml(text: str) -> str:
    return _AUTH_XML.sub(lambda m: f"{m.group(1)}[redacted]{m.group(4)}", text)


def _write_audit(session: DbSession, files: dict[str, IO[bytes]], organization_id: int) -> int:
    """audit.json and audit.csv (the rows) and audit.jsonl (one entry a line, in chain order)."""
    sink = EntitySink(fields_of(AuditEvent))
    lines = new_spool()
    last_seq = 0
    while True:
        rows = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.organization_id == organization_id, AuditEvent.seq > last_seq)
                .order_by(AuditEvent.seq)
                .limit(ROW_BATCH)
            )
        )
        if not rows:
            break
        for event in rows:
            row = row_of(event)
            sink.add_row(row)
            lines.write(json.dumps(row, ensure_ascii=False).encode() + b"\n")
        last_seq = rows[-1].seq
    files["audit.json"], files["audit.csv"] = sink.finish()
    files["audit.jsonl"] = lines
    return sink.count


# --- rows, entities and the ZIP -------------------------------------------------------------------


def fields_of(model: type[Any]) -> list[str]:
    """The model's column attributes that are exported, in table order."""
    return [attr.key for attr in inspect(model).column_attrs if attr.key not in SECRET_COLUMNS]


def row_of(item: Any) -> dict[str, Any]:
    """An ORM object's exported columns as JSON values (decimals as strings, moments ISO 8601)."""
    return {key: plain(getattr(item, key)) for key in fields_of(type(item))}


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def batched(session: DbSession, statement: Select[Any], model: type[Any]) -> Iterator[Any]:
    """The statement's rows by id, `ROW_BATCH` at a time (no cursor held open)."""
    last_id = 0
    while True:
        rows = list(
            session.scalars(statement.where(model.id > last_id).order_by(model.id).limit(ROW_BATCH))
        )
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


class EntitySink:
    """An entity's `.json` (a list, written as rows arrive) and `.csv` in temporary files."""

    def __init__(self, fields: list[str]) -> None:
        self.fields = fields
        self.count = 0
        self.json = new_spool()
        self.csv = new_spool()
        self._text = io.StringIO()
        self._writer = csv.DictWriter(
            self._text, fields, extrasaction="ignore", lineterminator="\r\n"
        )
        self._writer.writeheader()
        self.json.write(b"[")
        self._flush_csv()

    def add_row(self, row: dict[str, Any]) -> None:
        self.add(row, row)

    def add(self, json_row: dict[str, Any], csv_row: dict[str, Any]) -> None:
        separator = b"," if self.count else b""
        self.json.write(separator + b"\n" + json.dumps(json_row, ensure_ascii=False).encode())
        self._writer.writerow({key: csv_cell(csv_row.get(key)) for key in self.fields})
        self._flush_csv()
        self.count += 1

    def finish(self) -> tuple[IO[bytes], IO[bytes]]:
        self.json.write(b"\n]\n")
        return self.json, self.csv

    def _flush_csv(self) -> None:
        self.csv.write(self._text.getvalue().encode())
        self._text.seek(0)
        self._text.truncate()


def csv_cell(value: Any) -> str:
    """Nested values as JSON; text that a spreadsheet would run as a formula gets a leading '."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    if text[:1] in ("=", "+", "-", "@") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def _write_entity(
    files: dict[str, IO[bytes]], name: str, rows: Iterable[dict[str, Any]], fields: list[str]
) -> int:
    sink = EntitySink(fields)
    for row in rows:
        sink.add_row(row)
    files[f"{name}.json"], files[f"{name}.csv"] = sink.finish()
    return sink.count


def new_spool() -> IO[bytes]:
    """A temporary file in memory up to `SPOOL_BYTES`; `zip_with_manifest` closes it."""
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)


def _spooled(content: bytes) -> IO[bytes]:
    spool = new_spool()
    spool.write(content)
    return spool


def zip_with_manifest(files: Mapping[str, IO[bytes]], header: dict[str, Any]) -> bytes:
    """The ZIP of `files` (closed as they are copied) and `manifest.json`: `header` plus each
    file's path, size and SHA-256."""
    buffer = io.BytesIO()
    entries = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            digest, size = hashlib.sha256(), 0
            spool = files[path]
            spool.seek(0)
            with archive.open(path, "w", force_zip64=True) as target:
                while chunk := spool.read(1024 * 1024):
                    digest.update(chunk)
                    size += len(chunk)
                    target.write(chunk)
            spool.close()
            entries.append({"path": path, "size": size, "sha256": digest.hexdigest()})
        manifest = {**header, "files": entries}
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return buffer.getvalue()


def manifest_header(organization: Organization, counts: Mapping[str, int]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "organization": {
            "id": organization.id,
            "cuit": organization.cuit,
            "legal_name": organization.legal_name,
        },
        "created_at": utcnow().isoformat(),
        "counts": dict(counts),
    }


def readme_text(organization: Organization, counts: Mapping[str, int]) -> str:
    facts = {
        "organization": organization.legal_name,
        "cuit": organization.cuit,
        "moment": utcnow().strftime("%Y-%m-%d %H:%M UTC"),
        "counts": sorted(counts.items()),
    }
    return render_template("exports/organization_readme.txt", **facts).replace("\n", "\r\n")


# --- the ready email -----------------------------------------------------------------------------


def _queue_ready_mail(
    session: DbSession, organization: Organization, parameters: Mapping[str, str]
) -> None:
    """The requester's "your export is ready" email, added to the session last: it is committed
    with the file (`exports.run_export`), or rolled back with a failed build."""
    requester = session.get(User, int(parameters.get("requested_by") or 0))
    export_id = session.scalar(
        select(Export.id).where(
            Export.organization_id == organization.id,
            Export.kind == ORGANIZATION,
            Export.parameters["request"].as_string() == parameters.get("request", ""),
        )
    )
    if requester is None or export_id is None:
        return
    with force_locale(requester.locale or "es"):
        facts = {
            "organization": organization.display_name,
            "url": public_url("exports.organization", _anchor=f"export-{export_id}-status"),
            "logo_cid": LOGO_CID if logo_images(organization) else None,
        }
        message = build_message(
            to=[requester.email],
            subject=_("Tu exportación de %(organization)s está lista", **facts),
            text=render_template("mail/export_ready.txt", **facts),
            html=render_template("mail/export_ready.html", **facts),
            images=logo_images(organization),
        )
    queue_mail(session, organization.id, message, MAIL_KIND)


def organization_title(parameters: Mapping[str, str]) -> str:
    return _("Todos los datos de la organización")


KINDS = {ORGANIZATION: ExportKind(title=organization_title, build=build_organization_export)}
