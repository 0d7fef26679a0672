"""Row-level security: a query that forgets the organization filter still sees only the
current organization's rows, and every table that belongs to an organization has a policy."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_login import login_user

from blueprints.auth.models import User
from blueprints.organizations.models import Role
from core.db import db
from core.rowsecurity import system_scope, tenant_scope
from tests.factories import add_member, make_organization, make_user
from tests.integration.test_invoices import COFFEE, certified, draft

# Tables that belong to no single organization, and why.
SHARED = {
    "alembic_version": "the schema's revision",
    "arca_parameter_tables": "ARCA's code tables, the same for everyone",
    "key_canaries": "the encryption keys' check",
    "organizations": "the tenants themselves (no business data)",
    "scheduled_jobs": "the periodic jobs' last runs (core/scheduler.py)",
    "users": "a person may work for several organizations",
    "user_sessions": "a person's sign-ins",
}

TENANT_TABLES = """
WITH RECURSIVE tenant(name) AS (
    SELECT c.table_name::name FROM information_schema.columns c
    WHERE c.table_schema = 'public' AND c.column_name = 'organization_id'
  UNION
    SELECT child.relname FROM pg_constraint fk
    JOIN pg_class child ON child.oid = fk.conrelid
    JOIN pg_class parent ON parent.oid = fk.confrelid
    JOIN tenant ON tenant.name = parent.relname
    WHERE fk.contype = 'f'
)
SELECT name FROM tenant ORDER BY name
"""


def raw_rows(table: str) -> list[int]:
    """A query with no organization filter at all."""
    query = sa.text(f"SELECT organization_id FROM {table}")  # noqa: S608 — a fixed name
    return [row[0] for row in db.session.execute(query)]


def test_every_tenant_table_has_a_policy(app: Flask) -> None:
    with app.app_context():
        tenant = {row[0] for row in db.session.execute(sa.text(TENANT_TABLES))}
        public = sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        everything = set(db.session.scalars(public))
        protected = set(
            db.session.scalars(
                sa.text(
                    "SELECT c.relname FROM pg_class c JOIN pg_policy p ON p.polrelid = c.oid "
                    "WHERE c.relrowsecurity"
                )
            )
        )
    assert tenant - {"organizations", "users"} <= protected, "tables lacking a policy"
    lacking = sorted(everything - protected - set(SHARED))
    assert lacking == [], f"tables lacking a policy: {lacking}"


def test_a_forgotten_filter_sees_only_the_current_organization(app: Flask) -> None:
    with app.app_context():
        mine, theirs = certified(), certified()
        for organization_id in (mine, theirs):
            draft(organization_id, [COFFEE])
        with tenant_scope(mine, db.session):
            assert set(raw_rows("invoices")) == {mine}
            lines = db.session.scalar(sa.text("SELECT count(*) FROM invoice_lines"))
            assert lines == 1
            role = db.session.scalar(sa.text("SELECT current_user"))
            owner = db.session.scalar(
                sa.text("SELECT tableowner FROM pg_tables WHERE tablename = 'invoices'")
            )
            assert role == "talonario_app" and role != owner
            db.session.rollback()
        with system_scope(db.session):
            assert set(raw_rows("invoices")) == {mine, theirs}
            db.session.rollback()


def test_another_organizations_rows_cannot_be_written(app: Flask) -> None:
    with app.app_context():
        mine, theirs = make_organization(), make_organization()
        with pytest.raises(sa.exc.DBAPIError, match="policy"), tenant_scope(mine.id, db.session):
            db.session.execute(
                sa.text(
                    "INSERT INTO customers (organization_id, doc_type, doc_number, legal_name,"
                    " iva_condition, emails, sort_name, search_text, updated_at)"
                    " VALUES (:o, 80, '20111111112', 'X', 5, '', 'x', 'x', now())"
                ),
                {"o": theirs.id},
            )
        db.session.rollback()


def test_a_request_works_inside_its_organization(app: Flask) -> None:
    with app.app_context():
        user = make_user()
        mine, theirs = make_organization(user), make_organization()
        add_member(theirs, make_user(), Role.OWNER)
        other = make_organization()
        add_member(other, user, Role.ACCOUNTANT)
        mine_id, other_id, user_id = mine.id, other.id, user.id
    with app.test_request_context("/"):
        login_user(db.session.get_one(User, user_id))
        app.preprocess_request()
        assert db.session.scalar(sa.text("SELECT current_user")) == "talonario_app"
        assert set(raw_rows("memberships")) == {mine_id, other_id}  # own memberships, and
        members = db.session.scalar(
            sa.text("SELECT count(*) FROM memberships WHERE organization_id = :o"), {"o": mine_id}
        )
        assert members == 1
        assert set(raw_rows("audit_heads")) <= {mine_id}
        db.session.rollback()
