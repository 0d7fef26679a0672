"""Junk in, never a 5xx out: Hypothesis drives every endpoint with generated junk.

Every route is probed (a guard test keeps the catalogue in step with `app.url_map`): its path
ids (the world's own, and ones past the columns' range or made of digits like "²"), its query
arguments and form fields (NUL and control characters, Unicode digits, huge numbers, long text,
files where text is expected and the other way round), missing fields, htmx and JSON requests,
as the logged-in owner of an organization with data: a certificate, points of sale, customers,
drafts, an authorized invoice, a colleague, a CSV import awaiting confirmation.

Asserted per example: no response is >= 500, and a refusal (4xx) changed no row (every
table's row count and a checksum of its rows, before and after).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse
from wtforms.fields import FieldList, FormField
from wtforms.fields.core import UnboundField

from blueprints.account.forms import PasswordChangeForm
from blueprints.account.views import LanguageForm
from blueprints.api.forms import ApiKeyForm
from blueprints.api.models import SCOPES
from blueprints.api.services import KeyRequest, create_api_key
from blueprints.auth.forms import (
    ForgotPasswordForm,
    InvitedSignUpForm,
    LoginForm,
    ResetPasswordForm,
    SignUpForm,
)
from blueprints.auth.two_factor_views import CodeForm, DisableForm
from blueprints.certificates.forms import GenerateForm, UploadForm
from blueprints.certificates.models import Certificate
from blueprints.certificates.services import generate_request
from blueprints.customers.forms import ConfirmImportForm, CustomerForm
from blueprints.customers.imports import UploadedCsv, preview_import
from blueprints.customers.rules import CustomerFields
from blueprints.customers.services import create_customer
from blueprints.invoices.forms import InvoiceForm
from blueprints.organizations.closing_views import CloseOrganizationForm
from blueprints.organizations.forms import InviteForm, OrganizationForm, RoleForm
from blueprints.organizations.models import Membership, Role
from blueprints.points_of_sale.forms import AddForm, EditForm
from blueprints.points_of_sale.models import PointOfSale
from blueprints.webhooks.forms import EndpointForm
from core.crypto import get_keyring
from core.db import db
from tests.conftest import temporary_app
from tests.factories import PASSWORD, add_member, make_organization, make_user
from tests.integration.test_invoices import COFFEE, authorize, certified, customer, draft
from tests.web import csrf_token, login
from tests.webhooks_world import endpoint_and_delivery

# Per endpoint and method: ~4 minutes for the file on two cores. Raise it for a deeper search.
EXAMPLES = int(os.environ.get("TALONARIO_JUNK_EXAMPLES", "25"))


# --- the catalogue --------------------------------------------------------------------------------


def field_names(form: type, prefix: str = "") -> tuple[str, ...]:
    """A form class's field names as a browser posts them (lists as their first two entries)."""
    names: list[str] = []
    for name in dir(form):
        unbound = getattr(form, name, None)
        if not isinstance(unbound, UnboundField):
            continue
        if unbound.field_class is FieldList:
            inner = unbound.args[0]
            for index in (0, 1):
                entry = f"{prefix}{name}-{index}"
                if inner.field_class is FormField:
                    names += field_names(inner.args[0], f"{entry}-")
                else:
                    names.append(entry)
        else:
            names.append(prefix + name)
    return tuple(names)


@dataclass(frozen=True)
class Probe:
    """How an endpoint is driven: its methods, the names it reads, who asks."""

    methods: tuple[str, ...] = ("POST",)
    fields: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    query: tuple[str, ...] = ()
    anonymous: bool = False  # probed logged out: a fresh client per example
    relogin: bool = False  # it ends the session: log in again for each example
    prefix: str = ""  # the form's prefix, formatted with the path's values


GET, BOTH = ("GET",), ("GET", "POST")
CUSTOMER = field_names(CustomerForm)
EDITOR = (*field_names(InvoiceForm), "action", "then", "draft_id")
AUDIT_FILTERS = ("actor", "accion", "desde", "hasta", "q", "despues")
INVOICE_FILTERS = ("status", "desde", "hasta", "cliente", "tipo", "pv", "minimo", "maximo", "q")
ORGANIZATION = field_names(OrganizationForm)

ENDPOINTS: dict[str, Probe] = {
    "dashboard.index": Probe(GET),
    "audit.index": Probe(GET, query=AUDIT_FILTERS),
    "audit.export": Probe(GET, query=AUDIT_FILTERS),
    "account.language": Probe(fields=(*field_names(LanguageForm), "next")),
    "arca.parameters": Probe(GET),
    "arca.refresh": Probe(),
    "auth.login": Probe(BOTH, fields=field_names(LoginForm), query=("next",), anonymous=True),
    "auth.logout": Probe(relogin=True),
    "auth.forgot_password": Probe(BOTH, fields=field_names(ForgotPasswordForm), anonymous=True),
    "auth.forgot_password_sent": Probe(GET, anonymous=True),
    "auth.reset_link": Probe(GET, anonymous=True),
    "auth.reset_password_page": Probe(BOTH, fields=field_names(ResetPasswordForm), anonymous=True),
    "auth.verify_email": Probe(GET),
    "auth.resend_verification_email": Probe(),
    "auth.check_email": Probe(GET, anonymous=True),
    "two_factor.verify": Probe(BOTH, fields=field_names(CodeForm), anonymous=True),
    "two_factor.settings": Probe(GET),
    "two_factor.start": Probe(),
    "two_factor.confirm": Probe(fields=field_names(CodeForm)),
    "two_factor.recovery_codes": Probe(fields=field_names(CodeForm)),
    "two_factor.disable": Probe(fields=field_names(DisableForm)),
    "auth.signup": Probe(
        BOTH,
        fields=tuple({*field_names(SignUpForm), *field_names(InvitedSignUpForm)}),
        query=("invitation",),
        anonymous=True,
    ),
    "certificates.index": Probe(GET),
    "certificates.generate": Probe(fields=field_names(GenerateForm)),
    "certificates.csr": Probe(GET),
    "certificates.upload": Probe(files=field_names(UploadForm)),
    "certificates.issue_sandbox": Probe(),
    "certificates.import_files": Probe(
        fields=("password",), files=("key_file", "certificate_file")
    ),
    "certificates.import_bundle": Probe(fields=("password",), files=("bundle",)),
    "certificates.activate": Probe(),
    "certificates.delete": Probe(),
    "certificates.connection": Probe(),
    "customers.index": Probe(GET, query=("q", "status", "sort", "after")),
    "customers.export": Probe(fields=("q", "status", "sort", "after")),
    "customers.new": Probe(BOTH, fields=CUSTOMER),
    "customers.detail": Probe(GET),
    "customers.edit": Probe(BOTH, fields=CUSTOMER),
    "customers.row": Probe(GET),
    "customers.edit_row": Probe(BOTH, fields=CUSTOMER, prefix="customer-{customer_id}-"),
    "customers.archive": Probe(),
    "customers.unarchive": Probe(),
    "customers.delete": Probe(),
    "customers.padron": Probe(fields=("doc_type", "doc_number", "auto")),
    "customers.privacy_export": Probe(),
    "customers.privacy_erase": Probe(fields=("confirm",)),
    "customers.import_file": Probe(BOTH, files=("file",)),
    "customers.import_preview": Probe(GET),
    "customers.confirm": Probe(fields=field_names(ConfirmImportForm)),
    "health.healthz": Probe(GET),
    "health.readyz": Probe(GET),
    "metrics.scrape": Probe(GET),
    "invoices.index": Probe(GET, query=(*INVOICE_FILTERS, "after")),
    "invoices.export": Probe(fields=INVOICE_FILTERS),
    "invoices.new": Probe(BOTH, fields=EDITOR, query=("customer_id",)),
    "invoices.edit": Probe(BOTH, fields=EDITOR),
    "invoices.autosave": Probe(fields=EDITOR),
    "invoices.autosave_new": Probe(fields=EDITOR),
    "invoices.totals": Probe(fields=EDITOR),
    "invoices.export_panel": Probe(fields=EDITOR),
    "invoices.fce_status": Probe(fields=EDITOR),
    "invoices.detail": Probe(GET),
    "invoices.status": Probe(GET, query=("waiting",)),
    "invoices.pdf": Probe(GET, query=("descargar",)),
    "invoices.package": Probe(BOTH, fields=("mes",), query=("mes",)),
    "invoices.authorize": Probe(fields=("reviewed",)),
    # CAEA contingency (issue 17): the page, asking for the CAEA, informing, issuing with it.
    "invoices.contingency": Probe(GET),
    "invoices.request_caea": Probe(),
    "invoices.inform_now": Probe(),
    "invoices.retry": Probe(),
    "invoices.issue_caea": Probe(),
    "invoices.credit_note": Probe(),
    "invoices.debit_note": Probe(),
    "invoices.delete": Probe(),
    "invoices.exchange_rate": Probe(GET, query=("currency",)),
    "invoices.bulk_authorize": Probe(fields=("invoice_id",)),
    "invoices.bulk": Probe(GET),
    "invoices.bulk_status": Probe(GET),
    "invoices.customer_picker": Probe(GET, query=("q", "customer_label")),
    "exports.detail": Probe(GET),
    "exports.status": Probe(GET),
    "exports.download": Probe(GET),
    "exports.organization": Probe(GET),
    "exports.start_organization": Probe(),
    "organizations.new": Probe(BOTH, fields=ORGANIZATION, files=("logo",)),
    "organizations.switch": Probe(),
    "organizations.close": Probe(BOTH, fields=field_names(CloseOrganizationForm)),
    "organizations.settings": Probe(BOTH, fields=ORGANIZATION, files=("logo",)),
    "organizations.logo": Probe(GET),
    "organizations.members": Probe(GET),
    "organizations.invite": Probe(fields=field_names(InviteForm)),
    "organizations.update_role": Probe(fields=field_names(RoleForm)),
    "organizations.remove": Probe(),
    "organizations.resend": Probe(),
    "account.index": Probe(GET),
    "account.password": Probe(BOTH, fields=field_names(PasswordChangeForm)),
    "account.sessions": Probe(GET),
    "account.session_end": Probe(fields=("session_id",)),
    "account.sessions_end_others": Probe(),
    "account.sessions_end_all": Probe(relogin=True),
    "organizations.invitation": Probe(BOTH),
    "points_of_sale.index": Probe(GET),
    "points_of_sale.sync": Probe(),
    "points_of_sale.add": Probe(fields=field_names(AddForm)),
    "points_of_sale.edit": Probe(fields=field_names(EditForm), prefix="point-{point_of_sale_id}-"),
    "points_of_sale.refresh": Probe(),
    "api_pages.index": Probe(GET),
    "api_pages.create": Probe(fields=field_names(ApiKeyForm)),
    "api_pages.revoke": Probe(),
    "api_pages.docs": Probe(GET),
    "invoices.email": Probe(fields=("to",)),
    "webhooks.index": Probe(GET),
    "webhooks.create": Probe(fields=field_names(EndpointForm)),
    "webhooks.show": Probe(GET),
    "webhooks.update": Probe(fields=field_names(EndpointForm)),
    "webhooks.delete": Probe(),
    "webhooks.secret": Probe(),
    "webhooks.rotate": Probe(),
    "webhooks.test": Probe(),
    "webhooks.resend": Probe(),
    "webhooks.deliveries": Probe(GET, query=("after",)),
    "webhooks.delivery": Probe(GET, query=("after",)),
}
EXCLUDED = {
    "static": "serves files from static/ by name; no input reaches the database",
}
# The JSON API (endpoints "api.…") has no forms: Schemathesis drives every operation of its
# OpenAPI document with generated junk (tests/integration/api/test_openapi_contract.py).
JSON_API = "api."
CASES = [(endpoint, method) for endpoint, probe in ENDPOINTS.items() for method in probe.methods]


# --- generated values -----------------------------------------------------------------------------

# The kinds of junk. Each example picks one and gives it to most of the fields it sends (the
# others get plausible values), so every kind reaches every field within a few examples.
KINDS: dict[str, st.SearchStrategy[str]] = {
    "nul": st.one_of(
        st.sampled_from(["\x00", "a\x00b", "Ana Pérez\x00", "%00"]),
        st.text(max_size=10).map(lambda text: f"{text}\x00{text}"),
    ),
    "control": st.one_of(
        st.sampled_from(["\x01\x02", "\x1b[31mrojo", "\x7f", "\x85", "\x0b", "\ufffe"]),
        st.text(st.characters(categories=("Cc", "Cf")), min_size=1, max_size=5),
    ),
    "unicode digits": st.one_of(
        st.sampled_from(["²", "1²", "١٢٣", "۳", "𝟗", "Ⅻ", "½", "①", "２０１"]),
        st.text(st.characters(categories=("Nd", "No", "Nl")), min_size=1, max_size=12),
    ),
    "numbers": st.one_of(
        st.sampled_from(["0", "-1", "+1", "1.5", "1,5", "1e9", "NaN", "Infinity", "9" * 40]),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.sampled_from(["2147483647", "2147483648", "4294967296", "9223372036854775808"]),
    ),
    "long": st.sampled_from(["x" * 51, "x" * 65, "x" * 201, "x" * 301, "x" * 601, "x" * 5000])
    | st.sampled_from(["ñ" * 70, "a@b.co," * 120]),
    "text": st.one_of(
        st.text(max_size=30),
        st.sampled_from(["", " ", "null", "[]", "' OR '1'='1", "<script>x</script>", "../x"]),
        st.sampled_from(["\ufeff", "\u202eoloc", "remove_line-²", "move_up-99999999999"]),
    ),
}
JUNK = st.one_of(*KINDS.values())
DATES = ["2025-01-31", "2025-02-30", "0001-01-01", "9999-12-31", "2025-1-1"]
AMOUNTS = ["1", "0", "1.234,50", "1234.50", "-5", "100"]
HINTS: dict[str, list[str]] = {
    "doc_type": ["80", "86", "96", "99", "CUIT", "DNI"],
    "iva_condition": ["1", "4", "5", "6", "responsable_inscripto", "monotributo", "exento"],
    "doc_number": ["20111111112", "30111222", "0", "20-11111111-2"],
    "legal_name": ["Ana Pérez", "Comercio Ñandú SRL"],
    "name": ["Ana Pérez", "Local centro"],
    "alias": ["facturas-2025", "x" * 51],
    "email": ["nueva@example.com", "no-es-un-email"],
    "emails": ["a@example.com, b@example.com", ",".join(["x" * 60 + "@example.com"] * 5)],
    "password": [PASSWORD, "corta"],
    "role": ["owner", "admin", "accountant", "member"],
    "mode": ["skip", "update"],
    "locale": ["es", "en"],
    "number": ["2", "99999", "100000"],
    "action": ["add_line", "remove_line-0", "remove_line-1", "move_up-1", "save", "remove_line-²"],
    "then": ["authorize"],
    "concept": ["1", "2", "3"],
    "currency": ["PES", "DOL", "060"],
    "vat": ["5", "4", "exempt", "untaxed"],
    "status": ["draft", "authorized", "active", "archived"],
    "sort": ["name", "newest"],
    "mes": ["2025-01", "2025-13"],
    "next": ["/customers/", "//evil.example"],
    "descargar": ["1"],
    "waiting": ["1"],
}
for _name in ("issue_date", "service_from", "service_to", "payment_due", "activity_start"):
    HINTS[_name] = DATES
HINTS["desde"] = HINTS["hasta"] = DATES
for _name in ("quantity", "unit_price", "discount_percent", "currency_rate", "minimo", "maximo"):
    HINTS[_name] = AMOUNTS
FILE_CONTENTS = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"",
            b"tipo_documento;numero_documento;razon_social;condicion_iva\n"
            b"80;20111111112;Ana \x00;1\n",
            "numero_documento;razon_social;condicion_iva\n20111111112;株式会社山田;1\n".encode(
                "shift_jis"
            ),
            b"numero_documento,razon_social,condicion_iva\n\xb2\xb2,Ana,\xb2\n",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            b"\x89PNG\r\n\x1a\n" + b"\x00" * 20,
        ]
    ),
)
FILENAMES = st.one_of(
    st.sampled_from(["clientes.csv", "cert.crt", "logo.png", "a" * 300, "", "ñ.csv"]),
    st.text(st.characters(codec="ascii", exclude_characters='"\\\r\n'), max_size=20),
)


# --- the organization with data -------------------------------------------------------------------


@dataclass
class World:
    owner_email: str
    organization_id: int
    ids: dict[str, list[int]] = field(default_factory=dict)
    client: FlaskClient | None = None
    token: str = ""


def build_world(app: Flask) -> World:
    with app.app_context():
        organization_id = certified()
        owner = db.session.scalars(
            sa.select(Membership).where(Membership.organization_id == organization_id)
        ).one()
        organization = owner.organization
        pending = generate_request(
            db.session, organization, owner.user, "sandbox", "pendiente", get_keyring()
        )
        customers = [
            customer(organization_id, "30-70000000-8", "1", "Distribuidora Norte SA"),
            create_customer(
                db.session, organization_id, CustomerFields("96", "30111222", "Ana", "5"), None
            ).id,
        ]
        drafts = [draft(organization_id, [COFFEE]).id for _ in range(2)]
        authorized = authorize(draft(organization_id, [COFFEE], customer_id=customers[0]).id).id
        colleague = add_member(organization, make_user(), Role.MEMBER)
        csv = b"numero_documento;razon_social;condicion_iva\n20111111112;Ana;5\n"
        record = preview_import(
            db.session, organization_id, owner.user, UploadedCsv("clientes.csv", csv)
        )
        endpoint_id, delivery_id = endpoint_and_delivery(organization_id)
        make_organization(make_user())  # another tenant, whose ids must look absent
        world = World(owner.email, organization_id)
        world.ids = {
            "certificate_id": [*db.session.scalars(sa.select(Certificate.id)), pending.id],
            "customer_id": customers,
            "invoice_id": [*drafts, authorized],
            "point_of_sale_id": list(db.session.scalars(sa.select(PointOfSale.id))),
            "membership_id": [colleague.id],
            "organization_id": [organization_id],
            "import_id": [record.id],
            "export_id": [],
            "key_id": [api_key_id(organization_id)],
            "endpoint_id": [endpoint_id],
            "delivery_id": [delivery_id],
        }
    return world


def api_key_id(organization_id: int) -> int:
    request = KeyRequest(name="Tienda", scopes=SCOPES, expires_on=None, rate_limit=60)
    key, _secret = create_api_key(db.session, organization_id, None, request, "sandbox")
    return key.id


@pytest.fixture
def world(app: Flask) -> World:
    built = build_world(app)
    built.client = logged_in(app, built.owner_email)
    built.token = csrf_token(built.client, "/customers/new")
    return built


def logged_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    login(client, email)
    return client


# --- the snapshot ---------------------------------------------------------------------------------


def row_text(table: str) -> str:
    """A row as text for the checksum; a login's `last_seen_at` moves on any request (a refused
    one too, once a minute) and is not something a request "changed"."""
    if table == "user_sessions":
        return "(t.id, t.user_id, t.token_hash, t.remember, t.revoked_at)::text"
    return "t::text"


def snapshot(app: Flask) -> dict[str, tuple[int, str]]:
    """Each table's row count and a checksum of its rows, in one statement."""
    # Table names from the models' metadata, not from input.
    parts = [
        f"SELECT '{table.name}', count(*), "  # noqa: S608
        f"coalesce(md5(string_agg(md5({row_text(table.name)}), '' "
        f"ORDER BY md5({row_text(table.name)}))), '') "
        f'FROM "{table.name}" AS t'
        for table in db.metadata.sorted_tables
    ]
    with app.app_context(), db.engine.connect() as connection:
        rows = connection.execute(sa.text(" UNION ALL ".join(parts)))
        return {name: (count, digest) for name, count, digest in rows}


# --- requests -------------------------------------------------------------------------------------

_ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


@dataclass
class Junk:
    path: str
    method: str
    query: MultiDict[str, str]
    form: MultiDict[str, Any]
    headers: dict[str, str]

    def describe(self) -> str:
        form = {key: [repr(v)[:80] for v in values] for key, values in self.form.lists()}
        return f"{self.method} {self.path}?{dict(self.query.lists())} form={form} {self.headers}"


def path_value(draw: Callable[..., Any], converter: str | None, name: str, world: World) -> str:
    if converter == "int":
        known = world.ids.get(name, [])
        choices = [st.sampled_from(known)] if known else []
        value = draw(st.one_of(*choices, JUNK, st.integers(-(2**64), 2**64).map(str)))
    else:
        value = draw(JUNK)
    return quote(str(value), safe="") or "x"


ID_FIELDS = {
    "customer_id": "customer_id",
    "cliente": "customer_id",
    "invoice_id": "invoice_id",
    "draft_id": "invoice_id",
    "point_of_sale_id": "point_of_sale_id",
}


def value_for(draw: Callable[..., Any], name: str, world: World, kind: str) -> str:
    """Mostly junk of the example's kind; otherwise what the field expects (to get past the
    first check and into the code behind it)."""
    hints = list(HINTS.get(name.rsplit("-", 1)[-1], []))
    hints += [str(i) for i in world.ids.get(ID_FIELDS.get(name, ""), [])]
    if hints and draw(st.integers(0, 2)) == 0:
        return str(draw(st.sampled_from(hints)))
    return str(draw(KINDS[kind]))


def file_part(draw: Callable[..., Any]) -> tuple[io.BytesIO, str]:
    return io.BytesIO(draw(FILE_CONTENTS)), draw(FILENAMES)


def draw_junk(
    draw: Callable[..., Any], rule: Any, method: str, probe: Probe, world: World, token: str
) -> Junk:
    values: dict[str, str] = {}

    def substitute(match: re.Match[str]) -> str:
        values[match.group(2)] = path_value(draw, match.group(1), match.group(2), world)
        return values[match.group(2)]

    path = _ARGUMENT.sub(substitute, rule.rule)
    prefix = probe.prefix.format(**values) if probe.prefix else ""
    kind = draw(st.sampled_from(sorted(KINDS)))
    query: MultiDict[str, str] = MultiDict()
    names = [*probe.query, *(probe.fields if method == "GET" else ())]
    for name in names:
        if draw(st.integers(0, 3)):  # three in four
            query.add(name, value_for(draw, name, world, kind))
    if draw(st.booleans()):
        query.add(draw(JUNK), draw(JUNK))
    form: MultiDict[str, Any] = MultiDict()
    if method == "POST":
        form.add("csrf_token", token)
        for name in probe.fields:
            shape = draw(st.sampled_from(["missing", "value", "value", "value", "twice", "file"]))
            key = prefix + name
            if shape in ("value", "twice"):
                form.add(key, value_for(draw, name, world, kind))
            if shape == "twice":
                form.add(key, value_for(draw, name, world, kind))
            if shape == "file":
                form.add(key, file_part(draw))
        for name in probe.files:
            shape = draw(st.sampled_from(["missing", "file", "file", "text"]))
            if shape == "file":
                form.add(prefix + name, file_part(draw))
            elif shape == "text":
                form.add(prefix + name, draw(KINDS[kind]))
        if draw(st.booleans()):
            form.add(draw(JUNK) or "extra", draw(JUNK))
    headers = draw(st.sampled_from([{}, {"HX-Request": "true"}, {"Accept": "application/json"}]))
    return Junk(path, method, query, form, headers)


# One of each kind, for the sweep; None: a file part in every field (and text in file fields).
SWEEP = ["a\x00b", "\x01\x1b", "²", "2147483648", "x" * 5000, None]


def sweep_junk(
    rule: Any, method: str, probe: Probe, world: World, token: str, value: str | None
) -> Junk:
    """Every path id one of the world's (so the view gets as far as the fields), every name
    the endpoint reads set to `value`."""
    values: dict[str, str] = {}

    def substitute(match: re.Match[str]) -> str:
        known = world.ids.get(match.group(2)) or [1]
        values[match.group(2)] = str(known[0]) if match.group(1) == "int" else quote(value or "x")
        return values[match.group(2)]

    path = _ARGUMENT.sub(substitute, rule.rule)
    prefix = probe.prefix.format(**values) if probe.prefix else ""
    names = [*probe.query, *(probe.fields if method == "GET" else ())]
    query = MultiDict([(name, value or "x") for name in names])
    form: MultiDict[str, Any] = MultiDict()
    if method == "POST":
        form.add("csrf_token", token)
        for name in probe.fields:
            part = value if value is not None else (io.BytesIO(b"\x00\xff"), "x.txt")
            form.add(prefix + name, part)
        for name in probe.files:
            form.add(prefix + name, "texto" if value is None else (io.BytesIO(b"a;b"), value))
    return Junk(path, method, query, form, {})


def send(client: FlaskClient, junk: Junk) -> TestResponse:
    return client.open(
        junk.path,
        method=junk.method,
        query_string=junk.query,
        data=junk.form if junk.method == "POST" else None,
        headers=junk.headers,
    )


def client_for(app: Flask, world: World, probe: Probe) -> tuple[FlaskClient, str]:
    if probe.anonymous:
        client = app.test_client()
        return client, csrf_token(client, "/auth/login")
    if probe.relogin:
        client = logged_in(app, world.owner_email)
        return client, csrf_token(client, "/customers/new")
    assert world.client is not None
    return world.client, world.token


# --- the tests ------------------------------------------------------------------------------------


def rules_by_endpoint(app: Flask) -> dict[str, Any]:
    return {rule.endpoint: rule for rule in app.url_map.iter_rules()}


def test_the_catalogue_covers_every_endpoint(app: Flask) -> None:
    """A new route must be added to ENDPOINTS (or to EXCLUDED, with the reason)."""
    missing, stale = [], sorted(set(ENDPOINTS) - set(rules_by_endpoint(app)))
    for rule in app.url_map.iter_rules():
        if rule.endpoint in EXCLUDED or rule.endpoint.startswith(JSON_API):
            continue
        probe = ENDPOINTS.get(rule.endpoint)
        methods = set(rule.methods or ()) - {"HEAD", "OPTIONS"}
        if probe is None or not methods <= set(probe.methods):
            missing.append(f"{sorted(methods)} {rule.endpoint}")
    assert (missing, stale) == ([], [])


@pytest.mark.parametrize(("endpoint", "method"), CASES, ids=[f"{m}:{e}" for e, m in CASES])
def test_junk_never_gets_a_server_error_nor_changes_a_row_when_refused(
    app: Flask, world: World, endpoint: str, method: str
) -> None:
    rule = rules_by_endpoint(app).get(endpoint)
    if rule is None:
        pytest.skip(f"{endpoint} is not in this app (the catalogue test says so)")
    probe = ENDPOINTS[endpoint]

    for value in SWEEP:  # every kind in every field at least once, then Hypothesis's own
        client, token = client_for(app, world, probe)
        check(app, client, sweep_junk(rule, method, probe, world, token, value))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(data=st.data())
    def probe_once(data: st.DataObject) -> None:
        client, token = client_for(app, world, probe)
        junk = draw_junk(data.draw, rule, method, probe, world, token)
        note(junk.describe())
        check(app, client, junk)

    probe_once()


def check(app: Flask, client: FlaskClient, junk: Junk) -> None:
    """No server error; and a refusal left every table as it was."""
    before = snapshot(app)
    response = send(client, junk)
    assert response.status_code < 500, (junk.describe(), response.get_data(as_text=True)[:2000])
    if 400 <= response.status_code < 500:
        after = snapshot(app)
        changed = {table for table in after if after[table] != before.get(table)}
        assert changed == set(), f"{junk.describe()} -> {response.status_code} changed {changed}"


# --- the refusals, one by one ---------------------------------------------------------------------


def test_a_post_without_its_csrf_token_is_refused_and_keeps_nothing(
    app: Flask, world: World
) -> None:
    assert world.client is not None
    before = snapshot(app)
    response = world.client.post(
        "/customers/new",
        data={
            "doc_type": "96",
            "doc_number": "30111333",
            "legal_name": "Sin Token",
            "iva_condition": "5",
        },
    )
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert snapshot(app) == before


def test_a_nul_byte_is_refused_with_a_message_before_the_database(app: Flask, world: World) -> None:
    assert world.client is not None
    before = snapshot(app)
    form = {
        "csrf_token": world.token,
        "doc_type": "96",
        "doc_number": "30111333",
        "legal_name": "Nombre\x00Nulo",
        "iva_condition": "5",
    }
    response = world.client.post("/customers/new", data=form)
    assert response.status_code == 400
    assert "caracteres de control" in response.get_data(as_text=True)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert snapshot(app) == before
    fragment = world.client.get("/invoices/?q=%00", headers={"HX-Request": "true"})
    assert fragment.status_code == 400 and fragment.headers["HX-Retarget"] == "#flashes"


@pytest.mark.parametrize(
    "path",
    [
        "/invoices/2147483648",
        "/invoices/0",
        "/invoices/99999999999999999999",
        "/customers/%C2%B2",
        "/customers/%D9%A1",
        "/certificates/2147483648/csr",
    ],
)
def test_an_id_no_column_can_hold_is_not_found(app: Flask, world: World, path: str) -> None:
    assert world.client is not None
    response = world.client.get(path)
    assert response.status_code == 404
    assert "Content-Security-Policy" in response.headers


def test_filters_ignore_ids_no_column_can_hold(app: Flask, world: World) -> None:
    assert world.client is not None
    for query in ("cliente=2147483648", "cliente=%C2%B2", "tipo=99999999999", "pv=%D9%A1"):
        assert world.client.get(f"/invoices/?{query}").status_code == 200, query


def test_a_file_where_text_is_expected_and_text_where_a_file_is(app: Flask, world: World) -> None:
    assert world.client is not None
    before = snapshot(app)
    as_file = world.client.post(
        "/customers/new",
        data={"csrf_token": world.token, "legal_name": (io.BytesIO(b"Ana"), "nombre.txt")},
    )
    as_text = world.client.post(
        "/customers/import", data={"csrf_token": world.token, "file": "no soy un archivo"}
    )
    assert (as_file.status_code, as_text.status_code) == (422, 422)
    assert snapshot(app) == before


@pytest.fixture
def failing_app(database_url: str, redis_url: str, tmp_path: Any) -> Iterator[Flask]:
    """The app as in production (errors handled, not raised), with a route whose statement
    fails: the transaction is aborted when the error page renders."""
    with temporary_app(
        database_url, redis_url, tmp_path, TESTING=False, SESSION_COOKIE_SECURE=False
    ) as production:

        def failing() -> str:
            db.session.execute(sa.text("SELECT 1 / 0"))
            return "unreachable"

        production.add_url_rule("/failing", view_func=failing)
        yield production


def test_a_database_error_gets_the_apps_own_500_page_with_security_headers(
    app: Flask, failing_app: Flask
) -> None:
    with app.app_context():
        owner = make_user()
        make_organization(owner=owner)
        email = owner.email
    client = failing_app.test_client()
    login(client, email)
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get("/failing", headers=headers)
        assert response.status_code == 500
        assert "Algo salió mal de nuestro lado" in response.get_data(as_text=True)
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert response.headers["X-Frame-Options"] == "DENY"
    # The next request on the same connection pool works: nothing was left aborted.
    assert client.get("/customers/").status_code == 200
