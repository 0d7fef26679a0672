"""Durable requests: work someone asked for is a `tasks` row, written in the same transaction as
the click (an authorization, a bulk job; later the events' outbox). Redis and RQ only carry the
wake-up: a flushed Redis or a killed worker loses a job, never a request.

- `submit` adds the row to the caller's transaction; after the commit, `wake` queues a job that
  runs it (without Redis: runs it now, in the request).
- `run_task` (the job) takes the task's lock (a PostgreSQL advisory lock on its own connection,
  an `flock` on SQLite: the lock dies with the process), runs the kind's handler and records
  the outcome: done, or again after a back-off (waiting for something, a transient failure),
  or given up (the kind's `give_up` writes why where the user looks).
- `dispatch` (every few seconds in the scheduler, `core/scheduler.py`; or `flask tasks
  dispatch`) wakes every due task that no job carries any more: its job vanished (Redis
  flushed, worker killed) or its retry is due. Running a task twice is harmless: the lock and
  the status make the second run a no-op, and handlers are written to resume.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from rq.job import JobStatus
from sqlalchemy import (
    JSON,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Text,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from arca.tickets import exclusive_file_lock
from core.db import DbSession, TimestampMixin, db, utcnow
from core.jobs import Worker, job_queue, job_statuses, name_job
from core.rowsecurity import tenant_scope

log = logging.getLogger(__name__)
LOCK_SLICE = 0x7A2D  # pg_advisory_lock(slice, task id): apart from the sequences' slice
ALIVE = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED)
DISPATCH_LIMIT = 1000


class TaskStatus(StrEnum):
    PENDING = "pending"  # asked for and not finished (queued, running, or waiting to retry)
    DONE = "done"
    FAILED = "failed"  # given up: the kind's `give_up` said why
    CANCELLED = "cancelled"  # withdrawn (e.g. the draft was edited before it was sent)


class Task(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """One durable request. `key` names what it acts on ("invoice:42"): one open task per key."""

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'done', 'failed', 'cancelled')", name="status"),
        Index(
            "uq_tasks_open_key",
            "key",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index(
            "ix_tasks_due",
            "run_after",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_tasks_organization_id_kind", "organization_id", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    key: Mapped[str | None] = mapped_column(String(120))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The handler's own record (a bulk job's progress): what a resumed run starts from.
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[TaskStatus] = mapped_column(String(16), default=TaskStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    run_after: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[dt.datetime | None]

    @property
    def open(self) -> bool:
        return self.status == TaskStatus.PENDING


@dataclass(frozen=True)
class Again:
    """Not finished: run it again after `seconds` (None: the back-off for its attempts), with
    `why` recorded on the task."""

    why: str = ""
    seconds: float | None = None


Handler = Callable[[DbSession, Task], Again | None]
GiveUp = Callable[[DbSession, Task, str], None]


@dataclass(frozen=True)
class Retry:
    """A kind's own retry policy; a field left None takes the app's TASKS_* setting."""

    max_attempts: int | None = None
    give_up_seconds: float | None = None
    base_seconds: float | None = None
    ceiling_seconds: float | None = None


@dataclass(frozen=True)
class Kind:
    run: Handler
    give_up: GiveUp | None = None
    retry: Retry = Retry()


KINDS: dict[str, Kind] = {}


def handles(
    name: str, give_up: GiveUp | None = None, retry: Retry | None = None
) -> Callable[[Handler], Handler]:
    """Register the handler of a task kind (at import: workers import the app, hence it)."""

    def register(function: Handler) -> Handler:
        KINDS[name] = Kind(function, give_up, retry or Retry())
        return function

    return register


# --- asking --------------------------------------------------------------------------------------


def submit(
    session: DbSession,
    kind: str,
    payload: dict[str, Any],
    *,
    organization_id: int | ColumnElement[int],
    key: str | None = None,
    state: dict[str, Any] | None = None,
) -> int | None:
    """Add the request to the session's transaction and return its id; None, adding nothing,
    when an open task with the same `key` exists (one INSERT … ON CONFLICT DO NOTHING on the
    open-key index, so two racing clicks make one task). `organization_id` may be a scalar
    subquery. The caller commits, then `wake`s it."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Task)
        .values(
            kind=kind,
            organization_id=organization_id,
            key=key,
            payload=payload,
            state=state or {},
            status=TaskStatus.PENDING,
            attempts=0,
            run_after=utcnow(),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["key"], index_where=text("status = 'pending'"))
        .returning(Task.id)
    )
    return session.execute(statement).scalar()


def wake(task_ids: list[int]) -> None:
    """After the commit that made (or re-opened) them: one job each; without Redis, run them now
    (in this request)."""
    queue = job_queue()
    if queue is None:
        for task_id in task_ids:
            run_task(task_id)
        return
    queue.enqueue_many(
        [
            queue.prepare_data(
                run_task,
                args=(task_id,),
                job_id=job_id(task_id),
                description=f"task {task_id}",
                result_ttl=0,
            )
            for task_id in task_ids
        ]
    )


def job_id(task_id: int) -> str:
    """The RQ job that carries the task: one name per task (per app prefix: two apps may share a
    Redis), so the dispatcher can tell whether it is still queued."""
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", current_app.config["CACHE_KEY_PREFIX"])
    return f"{prefix}task-{task_id}"


def open_task(session: DbSession, key: str) -> Task | None:
    return session.scalar(select(Task).where(Task.key == key, Task.status == TaskStatus.PENDING))


def cancel(session: DbSession, key: str, why: str) -> bool:
    """Withdraw the open task of `key` (in the caller's transaction); True if there was one."""
    result = session.execute(
        update(Task)
        .where(Task.key == key, Task.status == TaskStatus.PENDING)
        .values(status=TaskStatus.CANCELLED, last_error=why, finished_at=utcnow())
    )
    return bool(getattr(result, "rowcount", 0))


def poke(session: DbSession, task: Task | None) -> None:
    """Without Redis nothing runs in the background: a page that polls an open task runs it
    when its retry is due. With Redis, the scheduler's dispatcher does that; this does nothing."""
    if task is None or job_queue() is not None:
        return
    due = task.open and task.run_after <= utcnow()
    task_id = task.id
    session.commit()
    if due:
        run_task(task_id)


# --- running -------------------------------------------------------------------------------------


def run_task(task_id: int) -> None:
    """The job: run the task if it is due and nobody else is running it; record the outcome."""
    session = db.session
    try:
        with task_lock(task_id) as held:
            if held:
                _run_locked(session, task_id)
    finally:
        session.remove()


def _run_locked(session: DbSession, task_id: int) -> None:
    task = session.get(Task, task_id)
    if task is None or not task.open or task.run_after > utcnow():
        session.commit()
        return
    task.attempts += 1
    session.commit()
    kind = KINDS[task.kind]
    name_job(task.kind)  # the job's duration metric is by task kind
    try:
        # A task works for one organization: the database shows it only that one's rows.
        with tenant_scope(task.organization_id, session):
            outcome = kind.run(session, task)
    except Exception as error:  # a bug or an outage: retried, given up in the end
        log.exception("task %s (%s) failed", task_id, task.kind)
        session.rollback()
        outcome = Again(f"{type(error).__name__}: {error}"[:2000])
    _record(session, task_id, kind, outcome)


def _record(session: DbSession, task_id: int, kind: Kind, outcome: Again | None) -> None:
    task = session.get_one(Task, task_id)
    now = utcnow()
    if task.status == TaskStatus.CANCELLED:  # withdrawn while it ran: nothing more to do
        session.commit()
        return
    if outcome is None:
        task.status, task.finished_at, task.last_error = TaskStatus.DONE, now, None
    elif _exhausted(task, now, kind.retry):
        task.status, task.finished_at, task.last_error = TaskStatus.FAILED, now, outcome.why
        if kind.give_up is not None:
            kind.give_up(session, task, outcome.why)
    else:
        delay = outcome.seconds
        if delay is None:
            delay = backoff(task.attempts, kind.retry)
        task.run_after, task.last_error = now + dt.timedelta(seconds=delay), outcome.why or None
    session.commit()


def _exhausted(task: Task, now: dt.datetime, retry: Retry | None = None) -> bool:
    retry = retry or Retry()
    age = (now - task.created_at).total_seconds()
    max_attempts = _setting(retry.max_attempts, "TASKS_MAX_ATTEMPTS")
    return task.attempts >= max_attempts or age >= _setting(
        retry.give_up_seconds, "TASKS_GIVE_UP_SECONDS"
    )


def _setting(value: float | None, name: str) -> float:
    return float(current_app.config[name]) if value is None else float(value)


def backoff(attempts: int, retry: Retry | None = None) -> float:
    """Exponential back-off with jitter: base x 2^(attempts-1), capped, ±20 %."""
    retry = retry or Retry()
    base = _setting(retry.base_seconds, "TASKS_RETRY_SECONDS")
    ceiling = _setting(retry.ceiling_seconds, "TASKS_RETRY_MAX_SECONDS")
    delay = min(ceiling, base * 2 ** max(0, attempts - 1))
    return delay * random.uniform(0.8, 1.2)  # noqa: S311 (jitter, not a secret)


# --- the task lock -------------------------------------------------------------------------------


def task_lock(task_id: int) -> contextlib.AbstractContextManager[bool]:
    """Try the task's lock without waiting: yields whether it is held."""
    return try_lock(LOCK_SLICE, task_id, f"task-{task_id}")


@contextlib.contextmanager
def try_lock(slice_: int, key: int, file_name: str) -> Iterator[bool]:
    """A lock that dies with its holder, tried without waiting: pg_try_advisory_lock(slice_,
    key) on its own connection, or an `flock` on instance/locks/<file_name>.lock on SQLite."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            ids = {"a": slice_, "b": key}
            held = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:a, :b)"), ids))
            try:
                yield held
            finally:
                if held:
                    connection.execute(text("SELECT pg_advisory_unlock(:a, :b)"), ids)
    else:
        try:
            with exclusive_file_lock(_lock_path(file_name), 0, _Busy()):
                yield True
        except _Busy:
            yield False


class _Busy(Exception):
    pass


def _lock_path(file_name: str) -> Path:
    folder = Path(current_app.instance_path) / "locks"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder / f"{file_name}.lock"


def _free(task_ids: list[int]) -> list[int]:
    """The tasks nobody is running now (their lock is free)."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            free = connection.scalars(
                text(
                    "SELECT id FROM unnest(CAST(:ids AS integer[])) AS id "
                    "WHERE pg_try_advisory_lock(:a, id)"
                ),
                {"ids": task_ids, "a": LOCK_SLICE},
            ).all()
            connection.execute(text("SELECT pg_advisory_unlock_all()"))
        return list(free)
    free_ids = []
    for task_id in task_ids:
        with task_lock(task_id) as held:
            if held:
                free_ids.append(task_id)
    return free_ids


# --- the dispatcher ------------------------------------------------------------------------------


def dispatch(session: DbSession) -> int:
    """Wake every due task that nothing carries: no job queued for it and nobody running it
    (Redis flushed, a worker killed, a retry come due). Returns how many were woken."""
    due = list(
        session.scalars(
            select(Task.id)
            .where(Task.status == TaskStatus.PENDING, Task.run_after <= utcnow())
            .order_by(Task.run_after)
            .limit(DISPATCH_LIMIT)
        )
    )
    session.commit()
    if not due:
        return 0
    queue = job_queue()
    if queue is not None:
        due = _free(due)
        statuses = job_statuses(queue.connection, [job_id(task_id) for task_id in due])
        due = [
            task_id for task_id, status in zip(due, statuses, strict=True) if status not in ALIVE
        ]
    wake(due)
    return len(due)


def run_worker(burst: bool = False) -> bool:
    """Work the app's queue in this process (no fork: the app context and its engine stay
    valid). With `burst`: jobs and dispatcher passes in turn until nothing due is left (a task
    waiting for a later retry stays pending). Lost jobs and due retries are otherwise woken by
    the scheduler's dispatcher (`flask --app app scheduler`)."""
    queue = job_queue()
    if queue is None:
        raise click.ClickException("TALONARIO_REDIS_URL is not set: jobs run inline, no worker.")
    # What the app loaded (WSDLs, SQLAlchemy, Flask: some 235k objects) lives as long as the
    # process: kept out of the collector, a full collection mid-batch costs ms instead of 200.
    gc.freeze()
    worker = Worker([queue], connection=queue.connection)  # timed, with the log context
    if burst:
        worked = False
        while True:
            worked = bool(worker.work(burst=True, logging_level="INFO")) or worked
            if not dispatch(db.session):
                return worked
    return bool(worker.work(burst=False, logging_level="INFO"))


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when nothing due is left.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run background jobs (authorizations, imports, exports, the scheduler's chores); start
    as many as needed."""
    run_worker(burst)


@click.group("tasks")
def tasks_cli() -> None:
    """Durable requests (authorizations, bulk jobs)."""


@tasks_cli.command("dispatch")
@with_appcontext
def dispatch_command() -> None:
    """Wake due requests whose job vanished (after a Redis loss or a killed worker), once; the
    scheduler does it every TASKS_DISPATCH_SECONDS."""
    click.echo(f"woke {dispatch(db.session)} tasks")
