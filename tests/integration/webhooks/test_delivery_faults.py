"""Webhook deliveries under load and faults (issue #14): a real receiver on 127.0.0.1 that
fails, hangs and recovers; real `flask worker` processes killed with `kill -9`; Redis flushed.
Whatever happens, every event reaches the receiver, signed (checked by the reference Standard
Webhooks library), and an event is only ever repeated under its one webhook-id."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import func, select, text

from blueprints.invoices.bulk import start_bulk
from blueprints.webhooks import delivery, services
from blueprints.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from core.db import db
from core.events import Event
from core.tasks import LOCK_SLICE, Task, TaskStatus, job_queue, run_worker
from tests.conftest import base_config
from tests.integration.arca.test_durable_requests import REPO, Workers, _database, running_app
from tests.integration.test_exports import member_client
from tests.integration.test_invoices import COFFEE, authorize, certified, draft
from tests.tasks import retry_now, run_until_settled
from tests.webhook_receiver import FaultyReceiver, faulty_receiver

# The test Redis is shared (other test runs, other people's runs, the app's own tests on db 0):
# a real FLUSHALL would wipe them too. The kill test gets a database of its own on it instead
# (13 is test_durable_requests'), and "losing everything" is FLUSHDB there.
REDIS_DB = 12
WAIT_SECONDS = 60


@pytest.fixture
def receiver() -> Iterator[FaultyReceiver]:
    with faulty_receiver() as started:
        yield started


def new_endpoint(organization_id: int, url: str) -> tuple[int, str]:
    """An endpoint for "invoice.authorized": its id and its signing secret."""
    endpoint = services.create_endpoint(db.session, organization_id, url, ["invoice.authorized"])
    return endpoint.id, services.reveal_secret(endpoint)


def deliveries() -> list[WebhookDelivery]:
    rows = list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
    db.session.commit()
    return rows


def attempt_rows(delivery_id: int) -> list[WebhookAttempt]:
    rows = db.session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.id)
    ).all()
    return list(rows)


# --- a. volume ----------------------------------------------------------------------------------


def test_300_authorizations_make_300_signed_deliveries(
    app: Flask, receiver: FaultyReceiver
) -> None:
    """One bulk authorization of 300 drafts (two batches of ARCA's sandbox): 300 deliveries,
    one per event, each signed, each under its own webhook-id, each at the first attempt."""
    with app.app_context():
        organization_id = certified()
        _endpoint_id, secret = new_endpoint(organization_id, receiver.url)
        ids = [draft(organization_id, [COFFEE]).id for _ in range(300)]
        start_bulk(db.session, organization_id, ids)
        run_until_settled()

        documents = receiver.verified(secret)  # raises on any bad signature
        assert len(documents) == 300
        assert {document["type"] for document in documents} == {"invoice.authorized"}
        assert sorted(document["data"]["id"] for document in documents) == ids
        assert all(document["data"]["cae"] for document in documents)
        webhook_ids = [request.webhook_id for request in receiver.seen()]
        assert len(set(webhook_ids)) == 300
        rows = deliveries()
        assert len(rows) == 300 and len({row.event_id for row in rows}) == 300
        assert {row.status for row in rows} == {DeliveryStatus.DELIVERED}
        assert {row.attempts for row in rows} == {1}
        assert {row.message_id for row in rows} == set(webhook_ids)
        authorized = select(func.count()).where(Event.type == "invoice.authorized")
        assert db.session.scalar(authorized.select_from(Event)) == 300


# --- b. errors, then timeouts, then recovery ------------------------------------------------------


def log_fragment(app: Flask, organization_id: int, endpoint_id: int) -> Callable[[], str]:
    """The endpoint's delivery log as its page polls it (an owner signed in)."""
    client = member_client(app, organization_id, "duena@example.com")

    def read() -> str:
        answer = client.get(f"/webhooks/{endpoint_id}/deliveries", headers={"HX-Request": "true"})
        assert answer.status_code == 200
        return answer.get_data(as_text=True)

    return read


def one_round(app: Flask) -> list[tuple[DeliveryStatus, int, int | None, str | None]]:
    """Every delivery due now gets one attempt (their retries are made due first); then each
    delivery's (status, attempts, last answer, last error)."""
    with app.app_context():
        retry_now()
        run_worker(burst=True)
        return [(r.status, r.attempts, r.response_status, r.last_error) for r in deliveries()]


def test_errors_then_timeouts_then_recovery_deliver_everything(
    app: Flask, receiver: FaultyReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The receiver answers 500 twice, then hangs past the read timeout twice (lowered to 1 s
    here; the receiver still gets those requests), then answers: each event is delivered on
    its 5th attempt, always under the same webhook-id, and the log showed each stage."""
    monkeypatch.setattr(delivery, "READ_TIMEOUT", 1.0)
    receiver.slow_seconds = 1.6
    receiver.mode = "error"
    with app.app_context():
        organization_id = certified()
        endpoint_id, secret = new_endpoint(organization_id, receiver.url)
        invoice_ids = [authorize(draft(organization_id, [COFFEE]).id).id for _ in range(3)]
    page = log_fragment(app, organization_id, endpoint_id)
    for attempt in (1, 2):
        rows = one_round(app)
        assert len(rows) == 3
        assert {row[:3] for row in rows} == {(DeliveryStatus.PENDING, attempt, 500)}
    log = page()
    assert "HTTP 500" in log and "Pendiente" in log

    receiver.mode = "slow"
    started = time.monotonic()
    for attempt in (3, 4):
        rows = one_round(app)
        assert {row[:3] for row in rows} == {(DeliveryStatus.PENDING, attempt, None)}
        assert all("Timeout" in (row[3] or "") for row in rows), rows
    assert time.monotonic() - started < 2 * 3 * delivery.CONNECT_TIMEOUT  # cut at ~1 s each
    assert "Timeout" in page()

    receiver.mode = "ok"
    with app.app_context():
        run_until_settled()
        delivered = deliveries()
        assert {(r.status, r.attempts, r.response_status, r.last_error) for r in delivered} == {
            (DeliveryStatus.DELIVERED, 5, 204, None)
        }
        tasks = db.session.scalars(select(Task).where(Task.kind == delivery.DELIVER)).all()
        assert {(task.status, task.attempts) for task in tasks} == {(TaskStatus.DONE, 5)}
        endpoint = db.session.get_one(WebhookEndpoint, endpoint_id)
        assert endpoint.enabled and endpoint.failing_since is None
        assert_attempt_log(delivered, [500, 500, None, None, 204])
        message_ids = {row.id: row.message_id for row in delivered}
    assert "Entregado" in page()

    documents = receiver.verified(secret)
    assert len(documents) == 15
    by_event = receiver.ids_by_event()
    assert sorted(by_event) == sorted(invoice_ids)
    assert all(len(ids) == 1 for ids in by_event.values())  # one webhook-id per event
    assert set(message_ids.values()) == set().union(*by_event.values())


def assert_attempt_log(rows: list[WebhookDelivery], statuses: list[int | None]) -> None:
    """The per-attempt log (`webhook_attempts`): one row per attempt, in order, each with the
    headers sent (the one webhook-id) and what came back."""
    for row in rows:
        attempts = attempt_rows(row.id)
        assert [a.attempt for a in attempts] == list(range(1, len(statuses) + 1)), row.id
        assert [a.response_status for a in attempts] == statuses, row.id
        assert {a.request_headers.get("webhook-id") for a in attempts} == {row.message_id}
        timed_out = [a for a, status in zip(attempts, statuses, strict=True) if status is None]
        assert all("Timeout" in (a.error or "") for a in timed_out), row.id


# --- c. a flushed Redis and a killed worker -------------------------------------------------------


@pytest.fixture
def worker_config(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> Iterator[dict[str, Any]]:
    """The configuration the test and its worker processes share (same database, Redis
    database REDIS_DB, same key prefix); the Redis database is emptied before and after, the
    tables after (by `app`'s wipe)."""
    config = base_config(
        DATABASE_URL=database_url,
        REDIS_URL=_database(redis_url, REDIS_DB),
        INSTANCE_PATH=str(tmp_path),
        WEBHOOKS_ALLOW_PRIVATE=True,
        TASKS_DISPATCH_SECONDS=0.5,
    )
    flush_test_redis(config)
    yield config
    flush_test_redis(config)


@pytest.fixture
def workers(worker_config: dict[str, Any], tmp_path: Path) -> Iterator[Workers]:
    started = Workers(worker_config, tmp_path)
    started.env["TALONARIO_WEBHOOKS_ALLOW_PRIVATE"] = "true"
    yield started
    started.stop()


def flush_test_redis(config: dict[str, Any]) -> None:
    client = redis.Redis.from_url(config["REDIS_URL"])
    client.flushdb()
    client.close()


def wait_for(condition: Callable[[], bool], workers: Workers, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{workers.logs()}")
        time.sleep(0.1)


def open_tasks(*criteria: Any) -> int:
    value = db.session.scalar(
        select(func.count()).select_from(Task).where(Task.status == TaskStatus.PENDING, *criteria)
    )
    db.session.commit()
    return int(value or 0)


def open_deliveries() -> int:
    return open_tasks(Task.kind == delivery.DELIVER)


def task_locks_held() -> int:
    """Task locks still held in this test's database (a killed worker's backend lets go of
    its lock once PostgreSQL notices the client is gone; other test runs share the server)."""
    value = db.session.scalar(
        text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = :slice "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"slice": LOCK_SLICE},
    )
    db.session.commit()
    return int(value or 0)


def tasks_dispatch(workers: Workers) -> str:
    """`flask tasks dispatch`, the real command, once."""
    command = [sys.executable, "-m", "flask", "--app", "app", "tasks", "dispatch"]
    done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        command, cwd=REPO, env=workers.env, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def test_a_flushed_redis_and_a_killed_worker_lose_no_delivery(
    worker_config: dict[str, Any], workers: Workers, receiver: FaultyReceiver
) -> None:
    """20 authorizations; a worker delivers 5, and is `kill -9`ed while the receiver holds the
    6th request (received, never answered); Redis is flushed with the rest still queued.
    `flask tasks dispatch` queues them again, a new worker delivers them: every event reaches
    the receiver, the 6th twice, under the same webhook-id both times. No scheduler runs: its
    dispatcher would wake them before the command does."""
    receiver.hold_after = 5
    with running_app(worker_config):
        organization_id = certified()
        _endpoint_id, secret = new_endpoint(organization_id, receiver.url)
        invoice_ids = [authorize(draft(organization_id, [COFFEE]).id).id for _ in range(20)]
        workers.start(1, scheduler=False)
        wait_for(lambda: receiver.holding.is_set(), workers, "the 6th request to be held")
        held = receiver.seen()[-1].webhook_id
        workers.kill(0)
        flush_test_redis(worker_config)  # the queued deliveries' jobs are gone
        receiver.release()
        queue = job_queue()
        assert queue is not None and queue.count == 0
        assert open_deliveries() == 15, "the held one and the 14 still queued"
        wait_for(lambda: task_locks_held() == 0, workers, "the killed worker's lock to go")

        waiting = open_tasks()  # the deliveries, and whatever else the events asked for
        assert tasks_dispatch(workers).strip() == f"woke {waiting} tasks"
        assert queue.count == waiting
        workers.start(1, scheduler=False)
        wait_for(lambda: open_tasks() == 0, workers, "every request")

        rows = deliveries()
        assert len(rows) == 20 and len({row.event_id for row in rows}) == 20
        assert {row.status for row in rows} == {DeliveryStatus.DELIVERED}, workers.logs()
        by_event = receiver.ids_by_event()
        assert sorted(by_event) == sorted(invoice_ids)
        assert all(len(ids) == 1 for ids in by_event.values()), by_event  # never a second id
        assert {row.message_id for row in rows} == set().union(*by_event.values())
        seen = [request.webhook_id for request in receiver.seen()]
        assert len(seen) == 21 and seen.count(held) == 2
        assert len(receiver.verified(secret)) == 21
        (again,) = [row for row in rows if row.message_id == held]
        task = db.session.scalars(select(Task).where(Task.key == f"delivery:{again.id}")).one()
        assert (again.attempts, task.attempts) == (1, 2)  # the killed attempt left no answer
