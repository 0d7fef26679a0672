"""Auditoría: who may read it, its filters and search, keyset pages, the CSV, junk queries."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from blueprints.audit.models import AuditEvent
from blueprints.audit.services import record_event
from blueprints.auth.models import User
from blueprints.customers.rules import CustomerFields
from blueprints.customers.services import create_customer
from blueprints.organizations.models import Role
from core.db import db
from tests.factories import add_member, make_organization, make_user
from tests.web import htmx_headers, login, text_of

BASE = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)  # 12:00 in Buenos Aires
ROW = re.compile(r'<tr id="audit-(\d+)" class="audit-entry">')


def org_with(app: Flask, role: Role = Role.OWNER) -> tuple[int, str]:
    """An organization with a member in `role`; its id and the member's email."""
    with app.app_context():
        user = make_user()
        organization = make_organization()
        add_member(organization, user, role)
        return organization.id, user.email


def add_entries(
    app: Flask, organization_id: int, entries: list[dict[str, Any]], actor_email: str | None = None
) -> None:
    """Entries as services write them, their times set (before the chain is computed)."""
    with app.app_context():
        actor = (
            db.session.scalar(select(User).where(User.email == actor_email))
            if actor_email
            else None
        )
        for entry in entries:
            event = record_event(
                db.session,
                organization_id,
                entry["action"],
                entry.get("actor", actor),
                entry.get("subject"),
                entry.get("details"),
            )
            event.created_at = entry.get("at", BASE)
        db.session.commit()


def client_for(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    login(client, email)
    return client


def seqs(response: Any) -> list[int]:
    return [int(seq) for seq in ROW.findall(response.get_data(as_text=True))]


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.OWNER, 200),
        (Role.ACCOUNTANT, 200),
        (Role.ADMIN, 403),
        (Role.MEMBER, 403),
    ],
)
def test_only_owners_and_accountants_read_the_log(app: Flask, role: Role, status: int) -> None:
    organization_id, email = org_with(app, role)
    add_entries(app, organization_id, [{"action": "customer.created"}])
    client = client_for(app, email)
    response = client.get("/auditoria/")
    assert response.status_code == status
    assert client.get("/auditoria/auditoria.csv").status_code == status
    nav = client.get("/").get_data(as_text=True)
    assert ('href="/auditoria/"' in nav) is (status == 200)
    if status == 200:
        assert "Agregó un cliente" in text_of(response)
    else:
        assert "Acción no permitida" in text_of(response)


def test_another_organizations_entries_never_show(app: Flask) -> None:
    mine, email = org_with(app)
    theirs, their_email = org_with(app)
    add_entries(app, mine, [{"action": "customer.created", "details": {"name": "Propio"}}])
    add_entries(
        app, theirs, [{"action": "customer.created", "details": {"name": "Ajeno"}}], their_email
    )
    client = client_for(app, email)
    page = text_of(client.get("/auditoria/"))
    assert "Propio" in page and "Ajeno" not in page and their_email not in page
    csv_text = client.get("/auditoria/auditoria.csv").get_data(as_text=True)
    assert "Propio" in csv_text and "Ajeno" not in csv_text
    assert "Ajeno" not in text_of(client.get("/auditoria/?q=Ajeno"))
    assert their_email not in text_of(client.get(f"/auditoria/?actor={their_email}"))


def test_a_row_shows_time_actor_label_subject_link_address_and_changes(app: Flask) -> None:
    organization_id, email = org_with(app)
    with app.app_context():
        fields = CustomerFields("80", "20-11111111-2", "Ferretería Sur", "1")
        customer_id = create_customer(db.session, organization_id, fields, None).id
    changes = {"changes": {"legal_name": ["Viejo SRL", "Nuevo SRL"], "logo": "cambiado"}}
    add_entries(
        app,
        organization_id,
        [
            {"action": "customer.updated", "subject": ("customer", customer_id)},
            {"action": "customer.delete", "subject": ("customer", 999999)},
            {"action": "organization.settings_changed", "details": changes},
            {"action": "something.new"},
        ],
        email,
    )
    client = client_for(app, email)
    response = client.get("/auditoria/", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    html = response.get_data(as_text=True)
    page = text_of(response)
    assert "20/11/2026 12:00" in page  # Buenos Aires time
    assert f'href="/customers/{customer_id}"' in html
    assert "/customers/999999" not in html and "Cliente 999999" in page
    assert "razón social: Viejo SRL → Nuevo SRL" in page
    assert "Cambió los datos de la organización" in page
    assert "something.new" in page  # an action without a label shows its code
    assert "#1" in page and "#5" in page and email in page and "Sistema" in page


def test_filters_by_actor_action_days_and_text(app: Flask) -> None:
    organization_id, email = org_with(app)
    with app.app_context():
        make_user(email="beto@example.com")
    client = client_for(app, email)  # its sign-in is entry #1, today
    day = dt.timedelta(days=1)
    add_entries(
        app,
        organization_id,
        [
            {"action": "auth.login", "at": BASE - 2 * day},
            {"action": "customer.created", "at": BASE - day, "details": {"name": "Kiosco Azul"}},
            {"action": "invoice.authorized", "at": BASE, "details": {"cae": "7412345678"}},
        ],
        email,
    )
    add_entries(app, organization_id, [{"action": "auth.login", "at": BASE}], "beto@example.com")

    def found(query: str) -> list[int]:
        return sorted(seqs(client.get(f"/auditoria/?{query}")))

    assert found("") == [1, 2, 3, 4, 5]
    assert found("actor=beto%40example.com") == [5]
    assert found(f"actor={email}") == [1, 2, 3, 4]
    assert found("actor=BETO") == [5]  # typed text: any actor containing it
    assert found("accion=auth.login") == [1, 2, 5]
    assert found("accion=auth.login&actor=beto%40example.com") == [5]
    assert found("desde=2026-11-19") == [1, 3, 4, 5]
    assert found("hasta=2026-11-19") == [2, 3]
    assert found("desde=19/11/2026&hasta=19/11/2026") == [3]  # es-AR days too
    assert found("q=kiosco") == [3]  # details
    assert found("q=7412345678") == [4]
    assert found("q=autoriz") == [4]  # the action's label
    assert found("q=beto") == [5]
    assert found("q=100%25") == []  # a LIKE wildcard is literal
    # The action select lists the actions seen, by label; the actor list the actors seen.
    html = client.get("/auditoria/").get_data(as_text=True)
    assert '<option value="auth.login"' in html and '<option value="beto@example.com">' in html


def test_the_filtered_table_is_a_fragment_for_htmx(app: Flask) -> None:
    organization_id, email = org_with(app)
    add_entries(app, organization_id, [{"action": "auth.login"}, {"action": "auth.logout"}], email)
    client = client_for(app, email)
    response = client.get("/auditoria/?accion=auth.logout", headers=htmx_headers())
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert html.lstrip().startswith('<section class="card table-card" id="audit-results"')
    assert seqs(response) == [2]
    assert "/auditoria/auditoria.csv?accion=auth.logout" in html


def test_keyset_pages_cover_everything_once_and_hold_under_inserts(app: Flask) -> None:
    organization_id, email = org_with(app)
    client = client_for(app, email)  # its sign-in is entry #1, the newest
    # Several entries share a moment: the cursor's seq tells them apart.
    entries = [
        {"action": "customer.updated", "at": BASE + dt.timedelta(seconds=i // 7)}
        for i in range(120)
    ]
    add_entries(app, organization_id, entries, email)
    seen: list[int] = []
    url: str | None = "/auditoria/"
    pages = 0
    while url:
        response = client.get(url)
        html = response.get_data(as_text=True)
        seen.extend(seqs(response))
        pages += 1
        if pages == 1:  # newer entries written meanwhile do not move the older pages
            now = dt.datetime.now(dt.UTC)
            add_entries(app, organization_id, [{"action": "auth.login", "at": now}] * 3, email)
        match = re.search(r'id="audit-older" href="([^"]+)"', html)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert pages == 3
    assert seen == [1, *range(121, 1, -1)]


def test_the_csv_is_the_filter_and_its_download_is_recorded(app: Flask) -> None:
    organization_id, email = org_with(app)
    add_entries(
        app,
        organization_id,
        [
            {"action": "customer.created", "details": {"name": "=HIPERVINCULO(1)"}},
            {"action": "auth.login", "at": BASE + dt.timedelta(hours=1)},
        ],
        email,
    )
    client = client_for(app, email)
    response = client.get(
        "/auditoria/auditoria.csv?accion=customer.created",
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:5] == ["numero", "fecha", "actor", "accion", "descripcion"]
    assert len(rows) == 2
    assert rows[1][:5] == [
        "1",
        "20/11/2026 12:00:00",
        email,
        "customer.created",
        "Agregó un cliente",
    ]
    assert rows[1][9].startswith("{") and "HIPERVINCULO" in rows[1][9]
    with app.app_context():
        exported = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "audit.exported")
        ).one()
        assert exported.actor == email
        assert exported.address == "198.51.100.7"
        assert exported.details == {"accion": "customer.created"}


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.dictionaries(
        st.sampled_from(["actor", "accion", "desde", "hasta", "q", "despues", "otro"]),
        st.one_of(
            st.text(max_size=300),
            st.sampled_from(
                ["9999-99-99", "31/02/2026", "0001-01-01", "9999-12-31", "W1swLDBd", "%", "\\"]
            ),
        ),
        max_size=5,
    )
)
def test_junk_query_strings_never_fail(app: Flask, query: dict[str, str]) -> None:
    with app.app_context():
        if not db.session.scalar(select(User).where(User.email == "junk@example.com")):
            organization = make_organization()
            add_member(organization, make_user(email="junk@example.com"), Role.OWNER)
    client = client_for(app, "junk@example.com")
    for path in ("/auditoria/", "/auditoria/auditoria.csv"):
        response = client.get(path, query_string=query)
        assert response.status_code in (200, 400), (path, query, response.status_code)
        response.close()
