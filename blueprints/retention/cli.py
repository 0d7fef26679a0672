"""`flask --app app retention run [--dry-run] [--today YYYY-MM-DD]` and
`flask --app app archive verify [PATH]`."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from blueprints.retention import policy
from blueprints.retention.archive import verify_archive
from blueprints.retention.services import run_retention
from core.db import db, utcnow

retention_cli = click.Group("retention", help="Remove what is past its retention, archiving first.")
archive_cli = click.Group("archive", help="The archive of removed audit entries and vouchers.")


@retention_cli.command("run")
@click.option("--dry-run", is_flag=True, help="Report what would go; change nothing.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Judge ages as of this date (default: today, UTC).",
)
@with_appcontext
def run_command(dry_run: bool, today: dt.datetime | None) -> None:
    """Delete operational records older than 90 days, archive and delete audit entries older
    than a year and vouchers past their seventh fiscal year; print what went."""
    day = today.date() if today else utcnow().date()
    report = run_retention(db.session, day, dry_run=dry_run)
    for line in report.lines():
        click.echo(line)


@archive_cli.command("verify")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@with_appcontext
def verify_command(path: Path | None) -> None:
    """Check every manifest's hashes and each month's audit chain; exit 1 naming what fails."""
    root = path or policy.archive_root()
    if path is None and not root.exists():
        click.echo(f"no archive yet at {root}")
        return
    problems = verify_archive(root)
    for problem in problems:
        click.echo(f"BROKEN {problem}")
    months = len(list(root.glob("*/*/manifest.json"))) if root.is_dir() else 0
    click.echo(f"{months} month(s) checked under {root}, {len(problems)} problem(s)")
    if problems:
        sys.exit(1)
