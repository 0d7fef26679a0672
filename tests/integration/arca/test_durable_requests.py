"""Nothing asked for is dropped: authorizations are durable requests, and real `flask worker`
processes on real Redis finish every one of them whatever happens to Redis and the workers.

Each test runs its workers as subprocesses over the standalone sandbox (real HTTP and SOAP) and
its own Redis database (FLUSHDB there touches nothing else). Then the app's database and ARCA's
ledger must hold the same vouchers: no duplicate, no gap, no lost CAE.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from rq.job import Job
from sqlalchemy import func, select

from app import create_app
from arca.sandbox import Sandbox, drop_after, drop_before, http_500, latency
from blueprints.invoices.bulk import load_progress, start_bulk
from blueprints.invoices.cli import verify_invoices
from blueprints.invoices.jobs import AUTHORIZE, start_authorization
from blueprints.invoices.models import Invoice, InvoiceStatus
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import db
from core.tasks import Task, TaskStatus, job_id, job_queue
from tests.conftest import close_connections
from tests.integration.arca.test_invoices_exactly_once import prepare

REPO = Path(__file__).resolve().parents[3]
REDIS_DB = 13  # the tests' own database on the test Redis: FLUSHDB stays in here
TIMEOUT_SECONDS = 240


@pytest.fixture
def config(http_config: dict[str, Any], redis_url: str) -> dict[str, Any]:
    return {
        **http_config,
        "REDIS_URL": _database(redis_url, REDIS_DB),
        # Retries and the dispatcher at test speed; the grace period outlasts the latency
        # faults below (a request cut short by a kill may still be processed by ARCA).
        "TASKS_RETRY_SECONDS": 0.2,
        "TASKS_RETRY_MAX_SECONDS": 1,
        "TASKS_DISPATCH_SECONDS": 0.5,
        "ARCA_UNKNOWN_GRACE_SECONDS": 3,
    }


def _database(url: str, number: int) -> str:
    base = url.rsplit("/", 1)[0] if url.count("/") > 2 else url
    return f"{base}/{number}"


@contextmanager
def running_app(config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(dict(config))
    try:
        with app.app_context():
            yield app
    finally:
        close_connections(app)


class Workers:
    """`flask --app app worker` processes, as production runs them, logging to files, and the
    `flask --app app scheduler` whose dispatcher wakes what a flush or a kill lost."""

    def __init__(self, config: dict[str, Any], folder: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TALONARIO_")}
        self.env.update({f"TALONARIO_{k}": str(v) for k, v in config.items() if v is not None})
        self.env["TALONARIO_TESTING"] = "true"
        self.folder = folder
        self.processes: list[subprocess.Popen[bytes]] = []
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.files: list[Any] = []

    def start(self, count: int = 1, scheduler: bool = True) -> None:
        """`count` more workers, and the scheduler unless it runs or `scheduler` is false (a
        test of what `flask tasks dispatch` wakes wants no other dispatcher beside it)."""
        if scheduler and self.scheduler is None:
            self.scheduler = self._spawn("scheduler", "scheduler.log")
        for _ in range(count):
            self.processes.append(self._spawn("worker", f"worker-{len(self.processes)}.log"))

    def _spawn(self, command: str, log_name: str) -> subprocess.Popen[bytes]:
        log = (self.folder / log_name).open("wb")
        self.files.append(log)
        return subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            [sys.executable, "-m", "flask", "--app", "app", command],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self, index: int = 0) -> None:
        """`kill -9`: no clean-up of any kind (locks, the job, the batch in flight)."""
        self.processes[index].send_signal(signal.SIGKILL)
        self.processes[index].wait(timeout=10)

    def stop(self) -> None:
        everyone = [*self.processes, *([self.scheduler] if self.scheduler else [])]
        for process in everyone:
            if process.poll() is None:
                process.terminate()
        for process in everyone:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)  # reaped, or Python warns of a zombie
        for file in self.files:
            file.close()

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.folder.glob("*.log"))
        )


@pytest.fixture
def workers(config: dict[str, Any], tmp_path: Path) -> Iterator[Workers]:
    started = Workers(config, tmp_path)
    yield started
    started.stop()


def flush_redis(config: dict[str, Any]) -> None:
    client = redis.Redis.from_url(config["REDIS_URL"])
    client.flushdb()
    client.close()


def wait_for(condition: Callable[[], bool], workers: Workers, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{workers.logs()}")
        time.sleep(0.25)


def count(*criteria: Any) -> int:
    value = db.session.scalar(select(func.count()).select_from(Invoice).where(*criteria))
    db.session.commit()
    return int(value or 0)


def open_tasks() -> int:
    value = db.session.scalar(
        select(func.count()).select_from(Task).where(Task.status == TaskStatus.PENDING)
    )
    db.session.commit()
    return int(value or 0)


def authorization_jobs() -> set[str]:
    """The RQ job ids of the open authorization requests."""
    ids = db.session.scalars(
        select(Task.id).where(Task.status == TaskStatus.PENDING, Task.kind == AUTHORIZE)
    ).all()
    db.session.commit()
    return {job_id(task_id) for task_id in ids}


def assert_app_equals_ledger(sandbox: Sandbox, cuit: str, ids: list[int]) -> None:
    """Every invoice authorized, numbered 1..n per point of sale, with ARCA's CAE and total."""
    invoices = db.session.scalars(select(Invoice).where(Invoice.id.in_(ids))).all()
    assert {invoice.status for invoice in invoices} == {InvoiceStatus.AUTHORIZED}
    for point in (1, 2):
        ours = {i.number: i for i in invoices if i.point_of_sale_number == point}
        expected = sum(1 for i in invoices if i.point_of_sale_number == point)
        assert sorted(ours) == list(range(1, expected + 1))  # no gap, no duplicate
        assert sandbox.ledger.last_voucher(cuit, point, 6)[0] == expected  # nothing extra
        for number, invoice in ours.items():
            stored = sandbox.ledger.find_voucher(cuit, point, 6, number)
            assert stored is not None and stored.cae == invoice.cae, number
            assert Decimal(str(stored.detail["ImpTotal"])) == invoice.total, number
    organization_id = db.session.scalar(select(Organization.id).where(Organization.cuit == cuit))
    assert organization_id is not None
    checked, mismatches = verify_invoices(db.session, organization_id)
    assert (checked, mismatches) == (len(ids), [])


def ask_one_by_one(ids: list[int]) -> None:
    """Each draft's "Autorizar en ARCA", as the web request does it (no worker yet)."""
    for invoice_id in ids:
        assert start_authorization(db.session, db.session.get_one(Invoice, invoice_id), get_arca())


def test_flushdb_with_100_queued_authorizations_loses_none(
    app: Flask, config: dict[str, Any], sandbox: Sandbox, workers: Workers
) -> None:
    flush_redis(config)
    cuit, ids = prepare(config, count=100)
    with running_app(config):
        ask_one_by_one(ids)
        queue = job_queue()
        assert queue is not None and set(queue.job_ids) >= authorization_jobs()
        assert len(authorization_jobs()) == 100
        flush_redis(config)  # every job gone; the requests are in PostgreSQL
        assert queue.count == 0 and len(authorization_jobs()) == 100
        workers.start(2)
        wait_for(lambda: open_tasks() == 0, workers, "the 100 requests to finish")
        assert count(Invoice.id.in_(ids), Invoice.status == InvoiceStatus.AUTHORIZED) == 100
        assert_app_equals_ledger(sandbox, cuit, ids)


def test_a_worker_killed_mid_batch_is_resumed_by_another(
    app: Flask, config: dict[str, Any], sandbox: Sandbox, workers: Workers
) -> None:
    """The bulk job's FECAESolicitar is in flight (ARCA slow) when its worker gets `kill -9`.
    Another worker resumes the job: the vouchers ARCA granted meanwhile are adopted (asked,
    never resent), the rest sent, and the bulk page ends with every draft authorized."""
    flush_redis(config)
    cuit, ids = prepare(config, count=120)
    sandbox.faults.add(latency(2.0, operation="FECAESolicitar"))
    with running_app(config):
        organization_id = db.session.get_one(Invoice, ids[0]).organization_id
        key = start_bulk(db.session, organization_id, ids)
        workers.start(1)
        wait_for(
            lambda: count(Invoice.status == InvoiceStatus.AUTHORIZING) > 0,
            workers,
            "a batch in flight",
        )
        workers.kill(0)
        assert count(Invoice.id.in_(ids), Invoice.status == InvoiceStatus.AUTHORIZED) < 120
        workers.start(1)
        wait_for(lambda: open_tasks() == 0, workers, "the bulk job to finish")
        progress = load_progress(db.session, key, organization_id)
        assert (progress.finished, progress.authorized, progress.done) == (True, 120, 120)
        assert not (progress.waiting or progress.unsettled or progress.not_sent)
        assert_app_equals_ledger(sandbox, cuit, ids)
        sent = [e for e in sandbox.ledger.requests() if e.operation == "FECAESolicitar"]
        assert sum(1 for e in sent if e.outcome == "A") <= 4  # one batch per sequence, or two


def test_storm_500_drafts_4_workers_faults_a_kill_and_a_flushdb(
    app: Flask, config: dict[str, Any], sandbox: Sandbox, workers: Workers
) -> None:
    """500 drafts asked for one by one and in bulk; 4 workers; about 20 % of ARCA's calls fail
    (lost before or after processing, HTTP 500); one worker killed, Redis flushed. Nobody clicks
    twice: every draft ends authorized and the app equals ARCA's ledger."""
    flush_redis(config)
    config = {**config, "ARCA_UNKNOWN_GRACE_SECONDS": 0}  # no latency fault: answers are final
    workers.env["TALONARIO_ARCA_UNKNOWN_GRACE_SECONDS"] = "0"
    cuit, ids = prepare(config, count=500)
    for fault in (
        drop_before(operation="FECAESolicitar", count=None, every=15),
        drop_after(operation="FECAESolicitar", count=None, every=15),
        http_500(operation="FECAESolicitar", count=None, every=15),
        http_500(operation="FECompUltimoAutorizado", count=None, every=5),
        drop_before(operation="FECompConsultar", count=None, every=5),
    ):
        sandbox.faults.add(fault)
    with running_app(config):
        organization_id = db.session.get_one(Invoice, ids[0]).organization_id
        singles, bulk = ids[:300], ids[300:]
        ask_one_by_one(singles)
        start_bulk(db.session, organization_id, bulk[:100])
        start_bulk(db.session, organization_id, bulk[100:])
        workers.start(4)
        wait_for(lambda: count(Invoice.status == InvoiceStatus.AUTHORIZED) >= 100, workers, "100")
        workers.kill(1)
        wait_for(lambda: count(Invoice.status == InvoiceStatus.AUTHORIZED) >= 200, workers, "200")
        flush_redis(config)
        workers.start(1)
        wait_for(lambda: open_tasks() == 0, workers, "every request to finish")
        faulted = [
            entry
            for entry in sandbox.ledger.requests()
            if entry.operation == "FECAESolicitar" and entry.outcome not in ("A", "R")
        ]
        assert faulted, "the faults really hit"
        sandbox.faults.clear()
        failed = db.session.scalars(select(Task).where(Task.status != TaskStatus.DONE)).all()
        assert failed == [], [(t.kind, t.status, t.last_error) for t in failed]
        assert_app_equals_ledger(sandbox, cuit, ids)


def test_tasks_dispatch_requeues_what_a_flush_lost(
    app: Flask, config: dict[str, Any], sandbox: Sandbox
) -> None:
    """`flask tasks dispatch`, for a deployment without workers running the dispatcher."""
    flush_redis(config)
    _cuit, ids = prepare(config, count=3)
    with running_app(config) as served:
        ask_one_by_one(ids)
        queue = job_queue()
        assert queue is not None and len(authorization_jobs()) == 3
        waiting = open_tasks()  # the authorizations and the drafts' events
        assert queue.count == waiting
        answer = served.test_cli_runner().invoke(args=["tasks", "dispatch"])
        assert answer.exit_code == 0 and "woke 0 tasks" in answer.output  # all still queued
        flush_redis(config)
        answer = served.test_cli_runner().invoke(args=["tasks", "dispatch"])
        assert answer.exit_code == 0 and f"woke {waiting} tasks" in answer.output, answer.output
        assert queue.count == waiting and set(queue.job_ids) >= authorization_jobs()


def test_a_heartbeat_written_after_a_flush_does_not_stop_the_dispatcher(
    app: Flask, config: dict[str, Any], sandbox: Sandbox
) -> None:
    """A worker still running when Redis was flushed writes its job's heartbeat again: a job
    hash with only `last_heartbeat` in it, which RQ's `Job.fetch_many` refuses. The dispatcher
    takes it for a lost job (seen in the storm: every pass failed, nothing was woken)."""
    flush_redis(config)
    _cuit, ids = prepare(config, count=2)
    with running_app(config) as served:
        ask_one_by_one(ids)
        queue = job_queue()
        assert queue is not None
        waiting = open_tasks()
        flush_redis(config)
        halves = sorted(authorization_jobs())
        queue.connection.hset(Job.key_for(halves[0]), "last_heartbeat", "2026-12-05T21:37:17Z")
        answer = served.test_cli_runner().invoke(args=["tasks", "dispatch"])
        assert answer.exit_code == 0 and f"woke {waiting} tasks" in answer.output, answer.output
        assert set(queue.job_ids) >= set(halves)
