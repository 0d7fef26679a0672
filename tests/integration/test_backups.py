"""Backups that restore: create → drop the database → restore → ARCA and the audit chain agree.

Each test works on a database of its own (it is dropped and restored), with its own instance
folder: the sandbox's ledger there outlives the database, as ARCA outlives ours.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy.pool import NullPool

from blueprints.backups.cli import backup_cli
from blueprints.backups.services import libpq_environment
from blueprints.invoices.models import Invoice
from blueprints.organizations.models import Organization
from core.db import db
from tests.conftest import temporary_app
from tests.integration.test_invoices import BOOK, COFFEE, authorize, certified, draft


@pytest.fixture
def own_database(database_url: str) -> Iterator[str]:
    server = sa.make_url(database_url)
    name = f"talonario_backup_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        drop(database_url, name)
        admin.dispose()


def drop(server_url: str, name: str) -> None:
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def world(own_database: str, redis_url: str, tmp_path: Path) -> Iterator[Flask]:
    """A migrated app over its own database: an organization, two invoices ARCA authorized."""
    with temporary_app(own_database, redis_url, tmp_path / "instance") as app:
        with app.app_context():
            upgrade()
            organization_id = certified()
            for line in (COFFEE, BOOK):
                authorize(draft(organization_id, [line]).id)
        yield app


def run(app: Flask, *args: str, command: click.Command | None = None) -> tuple[int, str]:
    """A command as `flask --app app …` runs it (`command`: one not registered on the app)."""
    runner = app.test_cli_runner()
    result = runner.invoke(command, list(args)) if command else runner.invoke(args=list(args))
    return result.exit_code, result.output


def test_create_drop_restore_and_arca_and_the_audit_chain_agree(
    world: Flask, own_database: str, database_url: str, tmp_path: Path
) -> None:
    backup = tmp_path / "copy.dump"
    code, output = run(world, "create", "--output", str(backup), command=backup_cli)
    assert code == 0, output
    sidecar = json.loads(backup.with_name("copy.dump.json").read_text())
    assert sidecar["tables"]["invoices"] == 2 and sidecar["alembic_revision"]
    assert sidecar["audit_heads"] and all(h["seq"] > 0 for h in sidecar["audit_heads"].values())

    with world.app_context():
        db.session.remove()
        db.engine.dispose()
    drop(database_url, sa.make_url(own_database).database or "")
    code, output = run(world, "invoices", "verify")
    assert code != 0  # no database, nothing to verify

    code, output = run(world, "restore", str(backup), command=backup_cli)
    assert code != 0 and "--yes" in output  # refused without --yes, nothing touched
    code, output = run(world, "restore", str(backup), "--yes", command=backup_cli)
    assert code == 0, output

    code, output = run(world, "invoices", "verify")
    assert code == 0, output
    assert "2 authorized invoices checked against ARCA, 0 mismatches" in output
    code, output = run(world, "audit", "verify")
    assert code == 0, output
    assert "0 break(s)" in output
    code, output = run(world, "verify", str(backup), command=backup_cli)
    assert code == 0, output
    assert "backup verified" in output

    # Over a database that is there: each object dropped and restored, in one transaction.
    with world.app_context():
        authorize(draft(db.session.scalar(sa.select(Organization.id)) or 0, [COFFEE]).id)
        db.session.remove()
        db.engine.dispose()
    code, output = run(world, "restore", str(backup), "--yes", command=backup_cli)
    assert code == 0, output
    with world.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 2
    assert run(world, "audit", "verify")[0] == 0


def test_verify_fails_when_the_copy_lacks_rows_or_a_chain_head(
    world: Flask, tmp_path: Path
) -> None:
    backup = tmp_path / "copy.dump"
    assert run(world, "create", "--output", str(backup), command=backup_cli)[0] == 0
    sidecar_file = backup.with_name("copy.dump.json")
    sidecar = json.loads(sidecar_file.read_text())

    edited = json.loads(json.dumps(sidecar))
    edited["tables"]["invoices"] += 1  # the copy lacks an invoice the sidecar promised
    sidecar_file.write_text(json.dumps(edited))
    code, output = run(world, "verify", str(backup), command=backup_cli)
    assert code == 1
    assert "MISMATCH table invoices: the sidecar says 3 rows, the copy has 2" in output

    edited = json.loads(json.dumps(sidecar))
    head = next(iter(edited["audit_heads"].values()))
    head["seq"] += 1  # the newest audit entry is missing from the copy
    sidecar_file.write_text(json.dumps(edited))
    code, output = run(world, "verify", str(backup), command=backup_cli)
    assert code == 1 and "audit head" in output

    sidecar_file.write_text(json.dumps(sidecar))
    backup.write_bytes(backup.read_bytes()[:-100])  # a cut file
    code, output = run(world, "verify", str(backup), command=backup_cli)
    assert code != 0
    assert "SHA-256" in output or "pg_restore failed" in output


def test_the_password_reaches_pg_tools_by_environment_only() -> None:
    url = sa.make_url("postgresql+psycopg://app:s3cret@db.example:6543/talonario?sslmode=require")
    env = libpq_environment(url)
    assert env == {
        "PGDATABASE": "talonario",
        "PGUSER": "app",
        "PGHOST": "db.example",
        "PGPORT": "6543",
        "PGPASSWORD": "s3cret",
        "PGSSLMODE": "require",
    }
