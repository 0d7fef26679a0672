"""Backups on the embedded default (SQLite, no Redis): create with the online backup API,
verify in a temporary copy, restore over the configured file."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from blueprints.backups.cli import backup_cli
from blueprints.invoices.models import Invoice
from core.db import db
from tests.integration.test_invoices import BOOK, COFFEE, authorize, certified, draft


def backup(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(backup_cli, list(args))
    return result.exit_code, result.output


def command(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=list(args))
    return result.exit_code, result.output


def test_create_verify_and_restore_on_sqlite(embedded_app: Flask, tmp_path: Path) -> None:
    app = embedded_app
    with app.app_context():
        organization_id = certified()
        authorize(draft(organization_id, [COFFEE]).id)

    code, output = backup(app, "create")  # the default place: <instance>/backups/
    assert code == 0, output
    copies = sorted((tmp_path / "backups").glob("talonario-*.sqlite3"))
    assert len(copies) == 1 and copies[0].with_name(copies[0].name + ".json").exists()
    copy = copies[0]
    code, output = backup(app, "verify", str(copy))
    assert code == 0, output
    assert "backup verified" in output

    with app.app_context():  # work after the backup: the restore takes it away
        authorize(draft(organization_id, [BOOK]).id)
        db.session.remove()
    code, output = backup(app, "restore", str(copy))
    assert code != 0 and "--yes" in output
    code, output = backup(app, "restore", str(copy), "--yes")
    assert code == 0, output
    with app.app_context():
        assert db.session.scalar(select(func.count(Invoice.id))) == 1
    code, output = command(app, "audit", "verify")
    assert code == 0, output

    sidecar_file = copy.with_name(copy.name + ".json")
    sidecar = json.loads(sidecar_file.read_text())
    sidecar["tables"]["customers"] = sidecar["tables"]["customers"] + 5
    sidecar_file.write_text(json.dumps(sidecar))
    code, output = backup(app, "verify", str(copy))
    assert code == 1
    assert "MISMATCH table customers" in output
