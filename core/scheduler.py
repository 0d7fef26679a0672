"""One scheduler for every periodic job of the app, on RQ's own scheduling (`rq.cron`).

- A job is registered with `scheduled(name, every=… | cron=…)`: a chore `(session, now)` that
  does its work and returns the ids of the tasks it made (to wake) or a line for operators.
  Chores are idempotent and safe to run twice at once (each has its own guard: an event key,
  an open-task key, a lock); a run also holds the job's lock, so a second one does nothing.
- `flask --app app scheduler` runs RQ's `CronScheduler`; when a job is due it is enqueued on
  the app's queue (`run_scheduled`, done by any `flask --app app worker`). The dispatcher (wake
  tasks whose job vanished, every TASKS_DISPATCH_SECONDS) runs in the scheduler itself: a pass
  is one indexed query, cheaper than the job that would carry it, and it must not wait behind a
  long batch in the queue.
- Several schedulers never enqueue one run twice. RQ's registry only lists schedulers (each
  under its own name, and each enqueues everything), so every run is first claimed by one
  conditional UPDATE of the job's `scheduled_jobs` row ("not run since it was last due"); a
  scheduler that loses follows the winner's time. The row also outlives restarts: a deploy does
  not rerun the daily jobs. A job whose previous run still waits in the queue is not enqueued
  again (a pile of dispatcher runs behind a long import is what that avoids).
- Each run's enqueue, start, finish, outcome and error are written on the row:
  `flask --app app scheduler status [--json]`, `scheduler_status()`.
- Without Redis (the embedded default, `make run`) no scheduler process exists: the web
  process runs what is due itself after a response (`TALONARIO_SCHEDULER_INLINE`, on unless
  testing), claiming each run the same way.

`TALONARIO_SCHEDULE` changes a job's schedule per deployment, as JSON: seconds, a cron line
(in the scheduler's local time, `TZ`) or "off": `{"invoices.verify": "0 5 * * *",
"invoices.reconcile": 600}`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
from croniter import croniter
from flask import Flask, Response, current_app
from flask.cli import with_appcontext
from redis import Redis
from rq.cron import CronJob, CronScheduler
from rq.exceptions import StopRequested
from rq.job import JobStatus
from sqlalchemy import String, Text, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from core.db import DbSession, db, insert_missing, utcnow
from core.jobs import JOB_TIMEOUT_SECONDS, job_queue, job_statuses, name_job
from core.rowsecurity import system_scope
from core.tasks import dispatch, try_lock, wake

log = logging.getLogger(__name__)

LOCK_SLICE = 0x7A2F  # pg_try_advisory_lock(slice, crc32(name)): apart from tasks and sequences
INLINE_CHECK_SECONDS = 5.0  # without Redis: how often a web process looks for due jobs
OVERDUE_GRACE = dt.timedelta(minutes=1)  # a period missed, and then some: no scheduler?
FAILURE_TTL = 7 * 24 * 3600  # a job RQ itself failed (a timeout, a killed worker): kept a week
ALIVE = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED)

Chore = Callable[[DbSession, dt.datetime], list[int] | str]
"""`chore(session, now)`: do the work, commit, return the ids of the tasks made (to wake) or a
short line for the operators ("3 invoices settled")."""


class ScheduledJob(db.Model):  # type: ignore[name-defined]
    """A periodic job's last run, as operators see it; its `last_enqueued_at` is the claim."""

    __tablename__ = "scheduled_jobs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_enqueued_at: Mapped[dt.datetime | None]  # claimed: enqueued, or run inline
    last_started_at: Mapped[dt.datetime | None]
    last_finished_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))  # ok, failed
    note: Mapped[str | None] = mapped_column(String(300))
    error: Mapped[str | None] = mapped_column(Text)
    runs: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)


# --- the registry --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    name: str
    chore: Chore
    every: dt.timedelta | None
    cron: str | None
    setting: str | None  # a config key (seconds) that replaces `every`
    timeout: int
    in_scheduler: bool  # run by the scheduler process itself, not enqueued


SCHEDULE: dict[str, Entry] = {}


def scheduled(
    name: str,
    *,
    every: dt.timedelta | None = None,
    cron: str | None = None,
    setting: str | None = None,
    timeout: int = JOB_TIMEOUT_SECONDS,
    in_scheduler: bool = False,
) -> Callable[[Chore], Chore]:
    """Register a periodic job (at import: the scheduler and the workers import the app)."""
    if (every is None) == (cron is None):
        raise ValueError(f"{name}: give `every` or `cron`")

    def register(chore: Chore) -> Chore:
        SCHEDULE[name] = Entry(name, chore, every, cron, setting, timeout, in_scheduler)
        return chore

    return register


@dataclass(frozen=True)
class Plan:
    """When a job runs in this deployment: every `every` seconds, or at a cron line's times."""

    every: int | None = None
    cron: str | None = None

    def describe(self) -> str:
        return f"every {self.every} s" if self.every else f"cron {self.cron}"

    def due_since(self, now: dt.datetime) -> dt.datetime:
        """A run claimed at or after this moment is the current period's."""
        if self.every:
            # A hair early: a tick that comes a few ms before the full interval still counts.
            return now - dt.timedelta(seconds=self.every - min(1.0, self.every / 10))
        return _cron_slot(str(self.cron), now)

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        if self.every:
            return moment + dt.timedelta(seconds=self.every)
        local = moment.astimezone().replace(tzinfo=None)
        return croniter(str(self.cron), local).get_next(dt.datetime).astimezone(dt.UTC)


def _cron_slot(line: str, now: dt.datetime) -> dt.datetime:
    """The latest time at or before `now` the cron line names (local time, as RQ reads it)."""
    local = now.astimezone().replace(tzinfo=None) + dt.timedelta(seconds=1)
    return croniter(line, local).get_prev(dt.datetime).astimezone(dt.UTC)


def plan_of(entry: Entry) -> Plan | None:
    """The entry's schedule here: TALONARIO_SCHEDULE's word, else its setting, else its own."""
    overrides = current_app.config.get("SCHEDULE") or {}
    if entry.name in overrides:
        return parse_plan(entry.name, overrides[entry.name])
    if entry.setting:
        return Plan(every=max(1, math.ceil(float(current_app.config[entry.setting]))))
    if entry.every is not None:
        return Plan(every=max(1, math.ceil(entry.every.total_seconds())))
    return Plan(cron=entry.cron)


def parse_plan(name: str, value: Any) -> Plan | None:
    """Seconds, a cron line, or "off" (also false, null, 0): None."""
    if value in (None, False, 0, "off", "0"):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return Plan(every=max(1, math.ceil(float(value))))
    if isinstance(value, str) and croniter.is_valid(value):
        return Plan(cron=value)
    raise ValueError(f"TALONARIO_SCHEDULE: {name}={value!r} is not seconds, a cron line or off")


def check_overrides() -> None:
    """Raise ValueError for a TALONARIO_SCHEDULE naming no job or giving no schedule."""
    overrides = current_app.config.get("SCHEDULE") or {}
    if not isinstance(overrides, dict):
        raise ValueError("TALONARIO_SCHEDULE must be a JSON object: job name -> schedule")
    for name, value in overrides.items():
        if name not in SCHEDULE:
            raise ValueError(f"TALONARIO_SCHEDULE: no job named {name!r}")
        parse_plan(name, value)


def plans() -> dict[str, Plan]:
    """Every job that runs here, with its schedule (the ones set "off" left out)."""
    found = {name: plan_of(entry) for name, entry in SCHEDULE.items()}
    return {name: plan for name, plan in found.items() if plan is not None}


# --- claiming and running ------------------------------------------------------------------------


def ensure_rows(session: DbSession) -> None:
    insert_missing(session, ScheduledJob, [{"name": name} for name in SCHEDULE], ("name",))
    session.commit()


def claim(
    session: DbSession, name: str, plan: Plan, now: dt.datetime
) -> tuple[bool, dt.datetime | None]:
    """Take this period's run of `name` (one conditional UPDATE, so of several schedulers or
    web processes exactly one wins); returns whether we won and the run's time."""
    row = ScheduledJob
    result = session.execute(
        update(row)
        .where(
            row.name == name,
            or_(row.last_enqueued_at.is_(None), row.last_enqueued_at < plan.due_since(now)),
        )
        .values(last_enqueued_at=now)
    )
    won = bool(getattr(result, "rowcount", 0))
    last = now if won else session.scalar(select(row.last_enqueued_at).where(row.name == name))
    session.commit()
    return won, last


def run_scheduled(name: str) -> None:
    """The RQ job: run `name` once (see `run_once`), then hand the connection back."""
    try:
        run_once(name)
    finally:
        db.session.remove()


def run_once(name: str) -> bool:
    """Run the job's chore unless another run holds its lock; record start, finish, outcome.
    A failing chore is recorded (and logged), not raised. Returns whether it ran."""
    name_job(name)  # the worker's duration metric names the scheduled job
    with try_lock(LOCK_SLICE, zlib.crc32(name.encode()) & 0x7FFFFFFF, f"scheduled-{name}") as held:
        if not held:
            log.info("scheduled job %s: another run holds it, nothing done", name)
            return False
        _run_locked(db.session, SCHEDULE[name])
    return True


def _run_locked(session: DbSession, entry: Entry) -> None:
    started = utcnow()
    _write(session, entry.name, last_started_at=started)
    try:
        with system_scope(session):  # the chores work across organizations by design
            result = entry.chore(session, started)
        session.commit()
        note = result if isinstance(result, str) else f"woke {len(result)} tasks"
        if isinstance(result, list) and result:
            wake(result)
    except Exception as error:  # recorded where operators look; the next run tries again
        session.rollback()
        log.exception("scheduled job %s failed", entry.name)
        why = f"{type(error).__name__}: {error}"[:2000]
        _write(session, entry.name, **_finished("failed", None, why))
        return
    _write(session, entry.name, **_finished("ok", note[:300], None))


def _finished(outcome: str, note: str | None, error: str | None) -> dict[str, Any]:
    failed = 1 if outcome == "failed" else 0
    return {
        "last_finished_at": utcnow(),
        "outcome": outcome,
        "note": note,
        "error": error,
        "runs": ScheduledJob.runs + 1,
        "failures": ScheduledJob.failures + failed,
    }


def _write(session: DbSession, name: str, **values: Any) -> None:
    session.execute(update(ScheduledJob).where(ScheduledJob.name == name).values(**values))
    session.commit()


def run_now(name: str) -> bool:
    """Run `name` here and now (a shell, a cron line, a test), recorded as a claimed run."""
    if name not in SCHEDULE:
        raise KeyError(name)
    insert_missing(db.session, ScheduledJob, [{"name": name}], ("name",))
    _write(db.session, name, last_enqueued_at=utcnow())
    return run_once(name)


# --- the scheduler process -----------------------------------------------------------------------


class Scheduler(CronScheduler):
    """RQ's cron scheduler with the claim in front of each enqueue. A stop (SIGTERM, SIGINT,
    or `stopping` set from another thread, where no signal handler can be installed) waits
    for the tick under way: a run is never cut between its claim and its record."""

    def __init__(self, app: Flask, connection: Redis, queue_name: str) -> None:
        prefix = app.config["CACHE_KEY_PREFIX"]
        unique = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        super().__init__(connection=connection, name=prefix + unique)
        self.app = app
        self.queue_name = queue_name
        self.stopping = threading.Event()
        self.ticking = False
        self.names: dict[str, str] = {}  # RQ's cron job name -> our job name

    def add(self, entry: Entry, plan: Plan) -> None:
        cron_name = self.app.config["CACHE_KEY_PREFIX"] + entry.name  # apps may share Redis
        self.names[cron_name] = entry.name
        self.register(
            run_scheduled,
            self.queue_name,
            args=(entry.name,),
            interval=plan.every,
            cron=plan.cron,
            job_timeout=entry.timeout,
            result_ttl=0,  # the outcome is on the job's row
            failure_ttl=FAILURE_TTL,
            name=cron_name,
        )

    def enqueue_jobs(self) -> list[CronJob]:
        """RQ's tick: each due job is claimed, then enqueued (or run here, the dispatcher)."""
        done = []
        self.ticking = True
        with self.app.app_context():
            try:
                for job in self._cron_jobs:
                    if job.should_run() and self._tick(job):
                        done.append(job)
            finally:
                db.session.remove()
                self.ticking = False
        return done

    def _tick(self, job: CronJob) -> bool:
        entry = SCHEDULE[self.names[job.name]]
        now = utcnow()
        try:
            if not entry.in_scheduler and self._still_queued(job):
                job.set_enqueue_time(now)
                return False
            won, last = claim(db.session, entry.name, _plan(job), now)
            if not won:
                job.set_enqueue_time(last or now)  # another scheduler ran it: follow its time
                return False
            job.set_enqueue_time(now)
            if entry.in_scheduler:
                run_once(entry.name)
            else:
                job.enqueue(self.connection)
            return True
        except Exception:  # the database or Redis away: try again at the next time
            db.session.rollback()
            log.exception("scheduler: %s not started", entry.name)
            job.set_enqueue_time(now)
            return False

    def _still_queued(self, job: CronJob) -> bool:
        """Whether the job's previous run is still queued or running."""
        last = job.get_job_ids(self.connection, 0, 0)
        if not last:
            return False
        [status] = job_statuses(self.connection, last)
        return status in ALIVE

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is threading.main_thread():
            super()._install_signal_handlers()

    def _request_stop(self, signum: int, frame: Any) -> None:
        log.info("scheduler %s: signal %s, stopping", self.name, signum)
        self.stopping.set()
        if not self.ticking:  # asleep between ticks: stop now
            raise StopRequested()

    def heartbeat(self) -> None:
        if self.stopping.is_set():
            raise StopRequested()
        super().heartbeat()


def _plan(job: CronJob) -> Plan:
    return Plan(every=job.interval, cron=job.cron)


def build_scheduler(app: Flask) -> Scheduler:
    """A scheduler with every job that runs in this deployment (in an app context)."""
    queue = job_queue()
    if queue is None:
        raise click.ClickException(
            "TALONARIO_REDIS_URL is not set: without Redis the web process runs the periodic "
            "jobs itself (TALONARIO_SCHEDULER_INLINE); there is no scheduler to start."
        )
    try:
        check_overrides()
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    scheduler = Scheduler(app, queue.connection, queue.name)
    for name, plan in plans().items():
        scheduler.add(SCHEDULE[name], plan)
    ensure_rows(db.session)
    return scheduler


# --- without Redis: the web process runs what is due ---------------------------------------------


def init_scheduler(app: Flask) -> None:
    """Without Redis, after a response (at most every INLINE_CHECK_SECONDS per process), run
    the jobs that are due, in the request's thread once the answer is sent."""
    if app.config.get("REDIS_URL") or not app.config.get("SCHEDULER_INLINE", not app.testing):
        return
    next_check = [0.0]
    guard = threading.Lock()

    @app.after_request
    def run_due_after(response: Response) -> Response:
        with guard:
            if time.monotonic() < next_check[0]:
                return response
            next_check[0] = time.monotonic() + INLINE_CHECK_SECONDS
        response.call_on_close(lambda: run_due(app))
        return response


def run_due(app: Flask) -> list[str]:
    """Claim and run each job that is due (in this thread); returns their names."""
    ran = []
    with app.app_context():
        try:
            now = utcnow()
            ensure_rows(db.session)
            for name, plan in plans().items():
                if claim(db.session, name, plan, now)[0]:
                    run_once(name)
                    ran.append(name)
        except Exception:  # never the request's problem: the next check tries again
            log.exception("scheduled jobs: an inline pass failed")
        finally:
            db.session.remove()
    return ran


# --- what operators see --------------------------------------------------------------------------


def scheduler_status() -> list[dict[str, Any]]:
    """Each job: schedule, last enqueue/start/finish (ISO 8601, UTC), state (never, queued,
    running, ok, failed), note, error, runs, failures, and `overdue` (not run for a whole period
    past its time: no scheduler running?). For `flask scheduler status` and /readyz."""
    rows = {row.name: row for row in db.session.scalars(select(ScheduledJob))}
    db.session.commit()
    now, found = utcnow(), []
    for name, entry in sorted(SCHEDULE.items()):
        plan, row = plan_of(entry), rows.get(name)
        found.append(_status(name, plan, row, now))
    return found


def _status(
    name: str, plan: Plan | None, row: ScheduledJob | None, now: dt.datetime
) -> dict[str, Any]:
    enqueued = row.last_enqueued_at if row else None
    started = row.last_started_at if row else None
    finished = row.last_finished_at if row else None
    overdue = False
    if plan is not None and enqueued is not None:
        overdue = plan.next_after(plan.next_after(enqueued)) + OVERDUE_GRACE < now
    return {
        "name": name,
        "schedule": plan.describe() if plan else "off",
        "last_enqueued_at": _iso(enqueued),
        "last_started_at": _iso(started),
        "last_finished_at": _iso(finished),
        "state": _state(row),
        "note": row.note if row else None,
        "error": row.error if row else None,
        "runs": row.runs if row else 0,
        "failures": row.failures if row else 0,
        "overdue": overdue,
    }


def _state(row: ScheduledJob | None) -> str:
    if row is None or row.last_enqueued_at is None:
        return "never"
    started, finished = row.last_started_at, row.last_finished_at
    if started is None or started < row.last_enqueued_at:
        return "queued"
    if finished is None or finished < started:
        return "running"
    return str(row.outcome)


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds") if moment else None


def schedulers_alive() -> list[dict[str, str | None]]:
    """This app's scheduler processes that sent a heartbeat lately (RQ's registry)."""
    queue = job_queue()
    if queue is None:
        return []
    prefix = current_app.config["CACHE_KEY_PREFIX"]
    found = []
    for scheduler in CronScheduler.all(queue.connection):
        beat = scheduler.last_heartbeat
        if scheduler.name.startswith(prefix) and beat is not None:
            found.append({"name": scheduler.name[len(prefix) :], "last_heartbeat": _iso(beat)})
    return found


# --- the command ---------------------------------------------------------------------------------


@click.group("scheduler", invoke_without_command=True)
@with_appcontext
@click.pass_context
def scheduler_cli(context: click.Context) -> None:
    """Run the periodic jobs (reconcile, verify, dispatcher, alerts, retention, CAEA): one
    process per deployment (a second is harmless); `status` shows their last runs."""
    if context.invoked_subcommand is None:
        scheduler = build_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]
        for name, plan in plans().items():
            click.echo(f"scheduler: {name} {plan.describe()}")
        scheduler.start()


@scheduler_cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for a monitor.")
@with_appcontext
def status_command(as_json: bool) -> None:
    """Each job's schedule, last start and finish, outcome and error."""
    jobs, alive = scheduler_status(), schedulers_alive()
    if as_json:
        click.echo(json.dumps({"jobs": jobs, "schedulers": alive}, indent=2))
        return
    for job in jobs:
        click.echo(
            f"{job['name']:<22} {job['schedule']:<18} {job['state']:<8} "
            f"started {job['last_started_at'] or '-'}  finished {job['last_finished_at'] or '-'}"
            f"  runs {job['runs']} failed {job['failures']}{'  OVERDUE' if job['overdue'] else ''}"
            + (f"  ({job['note']})" if job["note"] else "")
        )
        if job["error"]:
            click.echo(f"    {job['error']}")
    if job_queue() is None:
        click.echo("no Redis: the web process runs the jobs when due (TALONARIO_SCHEDULER_INLINE)")
    elif not alive:
        click.echo("no scheduler process is running: start `flask --app app scheduler`")
    for scheduler in alive:
        click.echo(f"scheduler {scheduler['name']}: heartbeat {scheduler['last_heartbeat']}")


@scheduler_cli.command("run")
@click.argument("names", nargs=-1)
@with_appcontext
def run_command(names: tuple[str, ...]) -> None:
    """Run the named jobs (all without names) now, in this process: for a shell or a cron
    line where no scheduler runs."""
    unknown = sorted(set(names) - set(SCHEDULE))
    if unknown:
        raise click.BadParameter(f"no such job: {', '.join(unknown)}", param_hint="NAMES")
    for name in names or sorted(plans()):
        ran = run_now(name)
        row = db.session.get(ScheduledJob, name)
        outcome = f"{row.outcome}: {row.error or row.note}" if row and ran else "busy elsewhere"
        db.session.commit()
        click.echo(f"{name}: {outcome}")


# --- the dispatcher ------------------------------------------------------------------------------


@scheduled(
    "tasks.dispatch",
    every=dt.timedelta(seconds=2),
    setting="TASKS_DISPATCH_SECONDS",
    timeout=60,
    in_scheduler=True,
)
def dispatch_chore(session: DbSession, now: dt.datetime) -> str:
    """Wake the requests (authorizations, events' fan-outs, mail) whose job vanished or whose
    retry is due: the outbox's dispatcher."""
    return f"woke {dispatch(session)} tasks"
