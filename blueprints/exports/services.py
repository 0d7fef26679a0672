"""Exports as background jobs: start one, build it in a worker, serve the file.

`start_export` records the export with its durable request (`core.tasks`: run by a worker, or
inline without Redis; woken again if its job is lost). The run claims the row, calls the kind's
builder, which reports progress as it goes (each report is committed, so builders read in
batches and never hold a cursor across one), and stores the whole file with `done` in one
commit. A failure rolls back whatever the builder did and
records the error instead: a file is served only when complete.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import and_, delete, or_, update

from blueprints.audit.services import record_event
from blueprints.auth.models import User
from blueprints.exports.models import Export, ExportStatus
from core.db import DbSession, utcnow
from core.errors import DomainError, NotFound
from core.jobs import JOB_TIMEOUT_SECONDS
from core.tasks import Task, handles, submit, wake

log = logging.getLogger(__name__)

EXPORT_TTL = dt.timedelta(days=7)
# A job this late has died (worker killed, queue lost): the export may be claimed again, and
# its page stops waiting for it.
STALLED_AFTER = dt.timedelta(seconds=JOB_TIMEOUT_SECONDS + 60)


@dataclass(frozen=True)
class ExportFile:
    filename: str
    mimetype: str
    content: bytes


Progress = Callable[[int, int], None]
"""`progress(done, total)`: how far a builder got. Commits the session."""

Builder = Callable[[DbSession, int, Mapping[str, str], Progress], ExportFile]
"""`build(session, organization_id, parameters, progress)`: the whole file. Reads only."""


@dataclass(frozen=True)
class ExportKind:
    title: Callable[[Mapping[str, str]], str]  # for the export's page, in the user's language
    build: Builder


# Filled by the slices that export (their views module registers its kinds).
EXPORT_KINDS: dict[str, ExportKind] = {}
BUILD = "exports.build"


def start_export(
    session: DbSession,
    organization_id: int,
    kind: str,
    parameters: Mapping[str, str],
    actor: User | None,
) -> int:
    """Record an export of `kind` and queue its job; returns the export's id. Commits. Without
    Redis the job has run when this returns. Expired exports of the organization go first."""
    if kind not in EXPORT_KINDS:
        raise ValueError(f"unknown export kind {kind!r}")
    purge_expired(session, organization_id)
    export = Export(
        organization_id=organization_id,
        kind=kind,
        parameters=dict(parameters),
        status=ExportStatus.QUEUED,
        created_by_id=actor.id if actor else None,
        expires_at=utcnow() + EXPORT_TTL,
    )
    session.add(export)
    session.flush()
    export_id = export.id
    # A durable request in the same transaction (`core.tasks`): a lost job is woken again.
    task_id = submit(
        session,
        BUILD,
        {"export_id": export_id},
        organization_id=organization_id,
        key=f"export:{export_id}",
    )
    session.commit()
    if task_id is not None:
        wake([task_id])
    return export_id


@handles(BUILD)
def build_task(session: DbSession, task: Task) -> None:
    """The request's run: builds it, taking over a build a killed worker left half done (the
    task's lock says nobody else is at it)."""
    run_export(session, int(task.payload["export_id"]), take_over=True)


def run_export(session: DbSession, export_id: int, take_over: bool = False) -> None:
    """Build and store the export. Safe to run twice: a second run finds it claimed (or done)
    and returns; a claim is taken over when `take_over` says its holder is gone, or when it is
    older than `STALLED_AFTER`."""
    if not _claim(session, export_id, take_over):
        return
    export = session.get_one(Export, export_id)
    organization_id, parameters = export.organization_id, dict(export.parameters)
    kind = EXPORT_KINDS.get(export.kind)
    try:
        if kind is None:
            raise LookupError(f"unknown export kind {export.kind!r}")
        built = kind.build(session, organization_id, parameters, _reporter(session, export_id))
    except DomainError as error:
        session.rollback()
        _fail(session, export_id, error.message)
        return
    except Exception:
        session.rollback()
        log.exception("export %s failed", export_id)
        _fail(session, export_id, _("No se pudo generar el archivo. Probá de nuevo."))
        return
    session.execute(
        update(Export)
        .where(Export.id == export_id, Export.status == ExportStatus.RUNNING)
        .values(
            status=ExportStatus.DONE,
            filename=built.filename,
            mimetype=built.mimetype,
            content=built.content,
            size=len(built.content),
            finished_at=utcnow(),
        )
    )
    session.commit()


def _claim(session: DbSession, export_id: int, take_over: bool) -> bool:
    stalled = utcnow() if take_over else utcnow() - STALLED_AFTER
    claimed = session.execute(
        update(Export)
        .where(
            Export.id == export_id,
            or_(
                Export.status == ExportStatus.QUEUED,
                and_(Export.status == ExportStatus.RUNNING, Export.started_at < stalled),
            ),
        )
        .values(status=ExportStatus.RUNNING, started_at=utcnow(), progress=0, error=None)
    )
    session.commit()
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def _reporter(session: DbSession, export_id: int) -> Progress:
    def report(done: int, total: int) -> None:
        session.execute(
            update(Export).where(Export.id == export_id).values(progress=done, total=total)
        )
        session.commit()

    return report


def _fail(session: DbSession, export_id: int, message: str) -> None:
    session.execute(
        update(Export)
        .where(Export.id == export_id)
        .values(status=ExportStatus.FAILED, error=message, content=None, finished_at=utcnow())
    )
    session.commit()


def get_export(session: DbSession, organization_id: int, export_id: int) -> Export:
    """The organization's export; another organization's, or an expired one, is NotFound."""
    export = session.get(Export, export_id)
    if export is None or export.organization_id != organization_id:
        raise NotFound(_("No encontramos esa exportación."))
    if export.expires_at < utcnow():
        raise NotFound(_("Esa exportación venció: generala de nuevo."))
    return export


def export_content(session: DbSession, export: Export) -> bytes:
    """The built file. Raises NotFound while it is not done (or failed)."""
    if export.status != ExportStatus.DONE or export.content is None:
        raise NotFound(_("El archivo todavía no está listo."))
    return export.content


def download_export(session: DbSession, export: Export, actor: User) -> bytes:
    """The built file, its download recorded in the audit log. Commits. NotFound while it
    is not done."""
    content = export_content(session, export)
    details = {"kind": export.kind, "file": export.filename}
    record_event(
        session, export.organization_id, "export.downloaded", actor, ("export", export.id), details
    )
    session.commit()
    return content


def stalled(export: Export, now: dt.datetime) -> bool:
    """Waiting far longer than any job runs: its worker is gone."""
    return export.in_progress and export.created_at < now - STALLED_AFTER


def purge_expired(session: DbSession, organization_id: int) -> None:
    session.execute(
        delete(Export).where(
            Export.organization_id == organization_id, Export.expires_at < utcnow()
        )
    )
