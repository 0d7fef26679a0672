"""`flask --app app backup create|verify|restore`: copies of the database that are proven to
restore (blueprints/backups/services.py)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from blueprints.backups.services import (
    BackupFailed,
    VerifyReport,
    create_backup,
    default_backup_path,
    restore_backup,
    verify_backup,
)
from core.db import db, utcnow

backup_cli = click.Group("backup", help="Back up, verify and restore the database.")
BACKUP_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def database_url() -> str:
    return str(current_app.config["SQLALCHEMY_DATABASE_URI"])


@backup_cli.command("create")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="The copy's file.")
@with_appcontext
def create_command(output: Path | None) -> None:
    """Copy the database (pg_dump custom format, or SQLite's backup API) and write
    `<file>.json` beside it: row counts, audit chain heads, alembic revision."""
    now = utcnow()
    output = output or default_backup_path(current_app.instance_path, database_url(), now)
    started = time.monotonic()
    try:
        manifest = create_backup(database_url(), output, now)
    except BackupFailed as error:
        raise click.ClickException(str(error)) from error
    rows = sum(manifest.snapshot.tables.values())
    click.echo(
        f"backup {output} ({output.stat().st_size} bytes, {time.monotonic() - started:.1f} s): "
        f"{len(manifest.snapshot.tables)} tables, {rows} rows, "
        f"{len(manifest.snapshot.heads)} audit chains, revision {manifest.snapshot.revision}"
    )
    click.echo(f"sidecar {output.name}.json, sha256 {manifest.sha256}")


@backup_cli.command("verify")
@click.argument("backup", type=BACKUP_FILE)
@with_appcontext
def verify_command(backup: Path) -> None:
    """Restore BACKUP into a scratch database (dropped after) and compare it with its sidecar:
    rows per table, audit chain heads, each chain verified. Exit 1 on any difference."""
    try:
        report = verify_backup(database_url(), backup)
    except BackupFailed as error:
        raise click.ClickException(str(error)) from error
    print_report(report)
    if not report.ok:
        sys.exit(1)


def print_report(report: VerifyReport) -> None:
    restored = report.restored
    for problem in report.problems:
        click.echo(f"MISMATCH {problem}")
    if restored is not None:
        click.echo(
            f"restored in {report.seconds:.1f} s: {len(restored.tables)} tables, "
            f"{sum(restored.tables.values())} rows, {len(restored.heads)} audit chains"
        )
    click.echo(
        "backup verified" if report.ok else f"backup FAILED: {len(report.problems)} problem(s)"
    )


@backup_cli.command("restore")
@click.argument("backup", type=BACKUP_FILE)
@click.option("--yes", is_flag=True, help="Really replace the configured database.")
@click.option("--recreate", is_flag=True, help="PostgreSQL: drop and create the database first.")
@with_appcontext
def restore_command(backup: Path, yes: bool, recreate: bool) -> None:
    """Replace the configured database's contents with BACKUP (refused without --yes)."""
    if not yes:
        raise click.ClickException(
            "restore replaces everything in the configured database: run again with --yes"
        )
    db.session.remove()
    db.engine.dispose()  # our own pooled connections would hold the database open
    started = time.monotonic()
    try:
        restore_backup(database_url(), backup, recreate)
    except BackupFailed as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"restored {backup} in {time.monotonic() - started:.1f} s")
