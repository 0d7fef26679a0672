"""Backups: a copy of the database, the sidecar that says what the copy holds, and the proof.

`create_backup` writes the copy (PostgreSQL: `pg_dump --format=custom`; SQLite: the online
backup API) and, next to it, `<file>.json`: the SHA-256 of the copy, the row count of every
table, every organization's audit chain head and the alembic revision, all read from the same
snapshot the copy was taken from. `verify_backup` restores the copy into a scratch database
(dropped after) and compares. `restore_backup` puts a copy back into the configured database.

The database password reaches pg_dump/pg_restore only through the PGPASSWORD environment
variable, never on a command line or in a message. pg_dump runs as the configured user, the
tables' owner, which row-level security does not filter.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from blueprints.audit.chain import chain_heads, verify_chain

SIDECAR_VERSION = 1
# URL query parameters libpq also reads from the environment.
LIBPQ_QUERY_ENV = {
    "host": "PGHOST",
    "port": "PGPORT",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "application_name": "PGAPPNAME",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}
TOOL_TIMEOUT_SECONDS = 6 * 3600


class BackupFailed(Exception):
    """A backup, verification or restore could not be done; the message says why (no secret)."""


@dataclass(frozen=True)
class Snapshot:
    """What a database holds, as the sidecar records it and a restored copy must repeat."""

    tables: dict[str, int]
    heads: dict[int, tuple[int, str]]
    revision: str | None


@dataclass(frozen=True)
class Manifest:
    """The sidecar: the copy's file, checksum and the snapshot it was taken from."""

    file: str
    sha256: str
    dialect: str
    created_at: str
    snapshot: Snapshot

    def to_json(self) -> dict[str, Any]:
        return {
            "version": SIDECAR_VERSION,
            "file": self.file,
            "sha256": self.sha256,
            "dialect": self.dialect,
            "created_at": self.created_at,
            "alembic_revision": self.snapshot.revision,
            "tables": self.snapshot.tables,
            "audit_heads": {
                str(org): {"seq": seq, "hash": digest}
                for org, (seq, digest) in sorted(self.snapshot.heads.items())
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        heads = {
            int(org): (int(h["seq"]), str(h["hash"])) for org, h in data["audit_heads"].items()
        }
        tables = {str(name): int(count) for name, count in data["tables"].items()}
        snapshot = Snapshot(tables, heads, data.get("alembic_revision"))
        return cls(data["file"], data["sha256"], data["dialect"], data["created_at"], snapshot)


@dataclass
class VerifyReport:
    """The comparison of a restored copy with its sidecar: empty `problems` means it holds."""

    manifest: Manifest
    restored: Snapshot | None = None
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


# Paths and the sidecar ---------------------------------------------------------------------


def default_backup_path(instance_path: str, database_url: str, now: dt.datetime) -> Path:
    """`<instance>/backups/talonario-<UTC timestamp>.dump` (`.sqlite3` for SQLite)."""
    suffix = ".dump" if is_postgresql(database_url) else ".sqlite3"
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(instance_path) / "backups" / f"talonario-{stamp}{suffix}"


def sidecar_path(backup: Path) -> Path:
    return backup.with_name(backup.name + ".json")


def read_sidecar(backup: Path) -> Manifest:
    path = sidecar_path(backup)
    try:
        return Manifest.from_json(json.loads(path.read_text()))
    except FileNotFoundError as error:
        raise BackupFailed(
            f"{path} is missing: a backup is verified against its sidecar"
        ) from error
    except (ValueError, KeyError, TypeError) as error:
        raise BackupFailed(f"{path} is not a backup sidecar ({error})") from error


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_postgresql(database_url: str) -> bool:
    return sa.make_url(database_url).get_backend_name() == "postgresql"


# Create ------------------------------------------------------------------------------------


def create_backup(database_url: str, output: Path, now: dt.datetime) -> Manifest:
    """Write the copy to `output` and its sidecar next to it; return the sidecar.

    Raises BackupFailed (pg_dump missing or failing, an unwritable folder). The counts and
    heads come from the very snapshot the copy holds, so writes during the backup don't
    make it fail its verification.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    if is_postgresql(database_url):
        snapshot = dump_postgresql(database_url, output)
    else:
        snapshot = copy_sqlite(sqlite_file(database_url), output)
    manifest = Manifest(
        file=output.name,
        sha256=file_sha256(output),
        dialect="postgresql" if is_postgresql(database_url) else "sqlite",
        created_at=now.astimezone(dt.UTC).isoformat(timespec="seconds"),
        snapshot=snapshot,
    )
    sidecar_path(output).write_text(json.dumps(manifest.to_json(), indent=2) + "\n")
    return manifest


def dump_postgresql(database_url: str, output: Path) -> Snapshot:
    """pg_dump from a snapshot exported by a REPEATABLE READ transaction that reads the counts."""
    url = sa.make_url(database_url)
    with scratch_engine(url) as engine, engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot_id = connection.scalar(sa.text("SELECT pg_export_snapshot()"))
            snapshot = take_snapshot(connection)
            run_tool(
                "pg_dump",
                ["--format=custom", f"--snapshot={snapshot_id}", f"--file={output}"],
                url,
            )
    return snapshot


def copy_sqlite(source: Path, output: Path) -> Snapshot:
    if not source.exists():
        raise BackupFailed(f"the SQLite database {source} does not exist")
    sqlite_copy(source, output)
    with scratch_engine(sqlite_url(output)) as engine, engine.connect() as connection:
        return take_snapshot(connection)


def sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup API: a consistent copy even while the app writes."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def take_snapshot(connection: Connection) -> Snapshot:
    """Every table's rows, every chain head and the revision, across all organizations.

    Reads across organizations: run as the database owner (or the maintenance role).
    """
    tables = {
        name: int(connection.scalar(sa.select(sa.func.count()).select_from(sa.table(name))) or 0)
        for name in sorted(sa.inspect(connection).get_table_names())
    }
    revision = None
    if "alembic_version" in tables:
        revision = connection.scalar(sa.text("SELECT version_num FROM alembic_version"))
    heads = chain_heads(Session(bind=connection)) if "audit_heads" in tables else {}
    return Snapshot(tables, heads, revision)


# Verify ------------------------------------------------------------------------------------


def verify_backup(database_url: str, backup: Path) -> VerifyReport:
    """Restore `backup` into a scratch database beside the configured one (dropped after) and
    compare it with the sidecar: checksum, row counts, audit heads, and every organization's
    chain verified in the copy. Raises BackupFailed when the copy cannot even be restored."""
    report = VerifyReport(read_sidecar(backup))
    if not backup.exists():
        raise BackupFailed(f"{backup} does not exist")
    if file_sha256(backup) != report.manifest.sha256:
        report.problems.append("the file's SHA-256 differs from the sidecar's (changed or cut)")
    started = dt.datetime.now(dt.UTC)
    dialect = report.manifest.dialect
    with scratch_copy(database_url, backup, dialect) as engine, engine.connect() as connection:
        report.restored = take_snapshot(connection)
        report.problems.extend(compare(report.manifest.snapshot, report.restored))
        report.problems.extend(chain_problems(connection, report.restored))
    report.seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    return report


def compare(expected: Snapshot, restored: Snapshot) -> list[str]:
    problems = []
    for table in sorted(set(expected.tables) | set(restored.tables)):
        want, got = expected.tables.get(table), restored.tables.get(table)
        if want != got:
            problems.append(f"table {table}: the sidecar says {want} rows, the copy has {got}")
    for org in sorted(set(expected.heads) | set(restored.heads)):
        want_head, got_head = expected.heads.get(org), restored.heads.get(org)
        if want_head != got_head:
            problems.append(
                f"organization {org}: audit head {describe_head(want_head)} in the sidecar, "
                f"{describe_head(got_head)} in the copy"
            )
    if expected.revision != restored.revision:
        problems.append(f"alembic revision {expected.revision} expected, {restored.revision} found")
    return problems


def describe_head(head: tuple[int, str] | None) -> str:
    return "none" if head is None else f"#{head[0]} {head[1][:12]}…"


def chain_problems(connection: Connection, restored: Snapshot) -> list[str]:
    session = Session(bind=connection)
    return [
        f"audit chain broken: {found}"
        for organization_id in sorted(restored.heads)
        for found in verify_chain(session, organization_id)
    ]


@contextmanager
def scratch_copy(database_url: str, backup: Path, dialect: str) -> Iterator[sa.Engine]:
    """The backup restored somewhere disposable: a new database on the same PostgreSQL server
    (`talonario_verify_<random>`) or a temporary SQLite file."""
    if dialect != ("postgresql" if is_postgresql(database_url) else "sqlite"):
        raise BackupFailed(f"a {dialect} backup cannot be checked against this database")
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix="talonario-verify-") as folder:
            target = Path(folder) / "verify.sqlite3"
            sqlite_copy(backup, target)
            with scratch_engine(sqlite_url(target)) as engine:
                yield engine
        return
    url = sa.make_url(database_url)
    scratch = url.set(database=f"talonario_verify_{secrets.token_hex(6)}")
    create_database(url, scratch.database or "")
    try:
        # --no-owner: the scratch copy belongs to whoever verifies; triggers, policies and
        # grants are restored as they are.
        run_tool(
            "pg_restore", ["--no-owner", "--exit-on-error", "--single-transaction"], scratch, backup
        )
        with scratch_engine(scratch) as engine:
            yield engine
    finally:
        drop_database(url, scratch.database or "")


# Restore -----------------------------------------------------------------------------------


def restore_backup(database_url: str, backup: Path, recreate: bool = False) -> None:
    """Put `backup` back into the configured database, replacing what it holds.

    PostgreSQL: a missing database is created; `recreate` drops and creates it first (every
    connection to it is ended); otherwise pg_restore drops and re-creates each object of the
    copy (`--clean --if-exists`) in one transaction. SQLite: the file is overwritten through
    the backup API. The caller has closed its own connections (`engine.dispose()`).
    """
    if not backup.exists():
        raise BackupFailed(f"{backup} does not exist")
    if not is_postgresql(database_url):
        sqlite_copy(backup, sqlite_file(database_url))
        return
    url = sa.make_url(database_url)
    name = url.database or ""
    options = ["--exit-on-error", "--single-transaction"]
    if recreate or not database_exists(url):
        drop_database(url, name)
        create_database(url, name)
    else:
        options += ["--clean", "--if-exists"]
    run_tool("pg_restore", options, url, backup)


# PostgreSQL plumbing -----------------------------------------------------------------------


def libpq_environment(url: URL) -> dict[str, str]:
    """The URL as libpq environment variables (the password included, kept off argv)."""
    env = {"PGDATABASE": url.database or "", "PGUSER": url.username or ""}
    if url.host:
        env["PGHOST"] = url.host
    if url.port:
        env["PGPORT"] = str(url.port)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    for name, variable in LIBPQ_QUERY_ENV.items():
        value = url.query.get(name)
        if isinstance(value, tuple):
            value = value[0] if value else None
        if value:
            env[variable] = value
    return {key: value for key, value in env.items() if value}


def run_tool(tool: str, options: list[str], url: URL, backup: Path | None = None) -> None:
    """Run pg_dump/pg_restore against `url` (PG* environment, never prompting)."""
    binary = shutil.which(tool)
    if binary is None:
        raise BackupFailed(f"{tool} is not installed (Debian: apt-get install postgresql-client)")
    argv = [binary, "--no-password", *options]
    if tool == "pg_restore":
        argv += [f"--dbname={url.database}", str(backup)]
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env.update(libpq_environment(url))
    # The argv is ours: the binary found on PATH, fixed options, the configured database name.
    result = subprocess.run(  # noqa: S603
        argv, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT_SECONDS, check=False
    )
    if result.returncode != 0:
        raise BackupFailed(f"{tool} failed (exit {result.returncode}): {result.stderr.strip()}")


def admin_url(url: URL) -> URL:
    """A database on the same server to run CREATE/DROP DATABASE from."""
    return url.set(database="postgres")


def database_exists(url: URL) -> bool:
    with scratch_engine(admin_url(url)) as engine, engine.connect() as connection:
        found = connection.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
        )
    return found is not None


def create_database(url: URL, name: str) -> None:
    with scratch_engine(admin_url(url), autocommit=True) as engine, engine.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {quoted(connection, name)}"))


def drop_database(url: URL, name: str) -> None:
    with scratch_engine(admin_url(url), autocommit=True) as engine, engine.connect() as connection:
        connection.execute(
            sa.text(f"DROP DATABASE IF EXISTS {quoted(connection, name)} WITH (FORCE)")
        )


def quoted(connection: Connection, name: str) -> str:
    return str(connection.dialect.identifier_preparer.quote_identifier(name))


@contextmanager
def scratch_engine(url: URL | str, autocommit: bool = False) -> Iterator[sa.Engine]:
    """An engine without a pool, disposed after: nothing lingers on a database to be dropped."""
    options: dict[str, Any] = {"poolclass": NullPool, "hide_parameters": True}
    if autocommit:
        options["isolation_level"] = "AUTOCOMMIT"
    engine = sa.create_engine(url, **options)
    try:
        yield engine
    finally:
        engine.dispose()


# SQLite plumbing ---------------------------------------------------------------------------


def sqlite_file(database_url: str) -> Path:
    database = sa.make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupFailed("an in-memory SQLite database has nothing to back up")
    return Path(database)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"
