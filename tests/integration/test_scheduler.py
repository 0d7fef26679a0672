"""The one scheduler (#19): RQ's cron scheduler enqueues every periodic job, real RQ workers run
them, the `scheduled_jobs` rows say what happened. Real PostgreSQL, Redis and the sandbox.

The acceptance test: the sandbox's clock moves past a certificate's 7-day window and two
schedulers, ticking every second, get exactly one alert mailed to each owner and admin.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from flask import Flask
from rq.cron import get_cron_job_history_key
from sqlalchemy import func, select

from blueprints.certificates.models import Certificate, CertificateStatus
from blueprints.organizations.models import Membership, Organization, Role
from core.arca import get_arca
from core.db import db, utcnow
from core.events import Event
from core.jobs import job_queue
from core.mail import MailMessage, MailStatus
from core.scheduler import (
    SCHEDULE,
    Plan,
    ScheduledJob,
    Scheduler,
    build_scheduler,
    claim,
    ensure_rows,
    scheduler_status,
)
from core.tasks import run_worker
from tests.conftest import temporary_app
from tests.factories import add_member, make_user
from tests.integration.test_invoices import certified
from tests.tasks import run_until_settled

EXPIRY = "certificates.expiry"


@contextmanager
def scheduling_app(
    database_url: str, redis_url: str | None, instance: Path, **overrides: Any
) -> Iterator[Flask]:
    """An app of its own (its own queue and keys on the test Redis), forgotten after."""
    with temporary_app(database_url, redis_url, instance, **overrides) as app:
        try:
            with app.app_context():
                yield app
        finally:
            if redis_url:
                forget(app, redis_url)


def forget(app: Flask, redis_url: str) -> None:
    """The app's jobs and keys, and the history RQ's cron keeps under its own "rq:" names."""
    client = redis.Redis.from_url(redis_url)
    prefix = app.config["CACHE_KEY_PREFIX"]
    keys = [*client.scan_iter(match=prefix + "*", count=500)]
    keys += [get_cron_job_history_key(prefix + name) for name in SCHEDULE]
    client.delete(*keys)
    client.zrem("rq:cron_jobs", *[prefix + name for name in SCHEDULE])
    client.close()


@contextmanager
def running(schedulers: list[Scheduler]) -> Iterator[None]:
    """Each scheduler's own loop (RQ's `start`) in a thread, stopped after the block."""
    threads = [threading.Thread(target=s.start, daemon=True) for s in schedulers]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for scheduler in schedulers:
            scheduler.stopping.set()
        for thread in threads:
            thread.join(timeout=10)
        assert not any(thread.is_alive() for thread in threads), "a scheduler did not stop"


def job_row(name: str) -> ScheduledJob:
    row = db.session.get_one(ScheduledJob, name)
    db.session.refresh(row)
    db.session.commit()
    return row


def enqueued_at(app: Flask, name: str) -> list[float]:
    """When RQ's cron enqueued each run of `name` (its own history), oldest first."""
    queue = job_queue()
    assert queue is not None
    key = get_cron_job_history_key(app.config["CACHE_KEY_PREFIX"] + name)
    return [score for _id, score in queue.connection.zrange(key, 0, -1, withscores=True)]


def managers_and_others(organization_id: int) -> tuple[list[str], list[str]]:
    """A second owner and an admin beside the first owner (who get the alert), an accountant
    and a member (who don't): both lists of emails."""
    organization = db.session.get_one(Organization, organization_id)
    first_owner = db.session.scalars(
        select(Membership.email).where(
            Membership.organization_id == organization_id, Membership.role == Role.OWNER
        )
    ).one()
    emails: dict[Role, str] = {}
    for role in (Role.OWNER, Role.ADMIN, Role.ACCOUNTANT, Role.MEMBER):
        user = make_user()
        add_member(organization, user, role)
        emails[role] = user.email
    db.session.commit()
    alerted = sorted([first_owner, emails[Role.OWNER], emails[Role.ADMIN]])
    return alerted, [emails[Role.ACCOUNTANT], emails[Role.MEMBER]]


def shift_past_the_window(organization_id: int) -> float:
    """Move the sandbox's clock to 6 days 20 hours before the certificate ends (its 7-day
    alert is due); returns the seconds moved, to move back."""
    certificate = db.session.scalars(
        select(Certificate).where(
            Certificate.organization_id == organization_id,
            Certificate.status == CertificateStatus.ACTIVE,
        )
    ).one()
    clock = get_arca().sandbox().clock
    assert certificate.not_valid_after is not None
    left = certificate.not_valid_after - clock.now()
    seconds = (left - dt.timedelta(days=6, hours=20)).total_seconds()
    clock.advance(seconds)
    return seconds


def test_past_the_window_two_schedulers_alert_each_owner_once(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    with scheduling_app(database_url, redis_url, tmp_path, SCHEDULE={EXPIRY: 1}) as served:
        organization_id = certified()
        alerted, others = managers_and_others(organization_id)
        moved = shift_past_the_window(organization_id)
        try:
            schedulers = [build_scheduler(served), build_scheduler(served)]
            with running(schedulers):
                deadline = time.monotonic() + 20
                while job_row(EXPIRY).runs < 3:  # the job, run again and again: one alert
                    assert time.monotonic() < deadline, scheduler_status()
                    run_worker(burst=True)  # a real RQ worker, here: the sandbox is here
                    time.sleep(0.2)
            run_until_settled()  # the jobs left in the queue, the fan-out, the mail
        finally:
            get_arca().sandbox().clock.advance(-moved)
        mails = db.session.scalars(
            select(MailMessage).where(MailMessage.kind.like("certificate%"))
        ).all()
        recipients = sorted(address for mail in mails for address in mail.recipients)
        assert recipients == alerted  # each owner and the admin once; nobody else
        assert not set(recipients) & set(others)
        assert {mail.status for mail in mails} == {MailStatus.SENT}
        assert "vence en 6 días" in mails[0].subject
        expiring = (
            select(func.count()).select_from(Event).where(Event.type == "certificate.expiring")
        )
        assert db.session.scalar(expiring) == 1
        row = job_row(EXPIRY)
        assert (row.outcome, row.failures, row.error) == ("ok", 0, None)
        # Two schedulers, one enqueue per second: never two runs in the same period.
        times = enqueued_at(served, EXPIRY)
        assert len(times) == row.runs >= 3
        assert min(later - earlier for earlier, later in itertools.pairwise(times)) >= 0.85


def test_a_run_is_claimed_once_per_period(app: Flask) -> None:
    with app.app_context():
        ensure_rows(db.session)
        every = Plan(every=300)
        now = utcnow()
        assert claim(db.session, EXPIRY, every, now) == (True, now)
        assert claim(db.session, EXPIRY, every, now + dt.timedelta(seconds=1)) == (False, now)
        later = now + dt.timedelta(seconds=300)
        assert claim(db.session, EXPIRY, every, later)[0]
        nightly = Plan(cron="30 3 * * *")  # local time, as RQ reads cron lines
        slot = dt.datetime.combine(dt.date(2031, 5, 2), dt.time(3, 30)).astimezone(dt.UTC)
        assert claim(db.session, "retention", nightly, slot + dt.timedelta(seconds=5))[0]
        assert not claim(db.session, "retention", nightly, slot + dt.timedelta(hours=2))[0]
        assert claim(db.session, "retention", nightly, slot + dt.timedelta(days=1))[0]


def test_a_restart_or_a_second_scheduler_enqueues_nothing_already_run(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    overrides = {"SCHEDULE": {"webhooks.prune": 1}}
    with scheduling_app(database_url, redis_url, tmp_path, **overrides) as served:
        queue = job_queue()
        assert queue is not None
        prefix = served.config["CACHE_KEY_PREFIX"]
        dispatcher, prune = prefix + "tasks.dispatch", prefix + "webhooks.prune"

        def tick(scheduler: Scheduler) -> set[str]:
            return {job.name for job in scheduler.enqueue_jobs()} - {dispatcher}

        first = build_scheduler(served)
        interval_jobs = {
            prefix + name
            for name, entry in SCHEDULE.items()
            if entry.cron is None and not entry.in_scheduler
        }
        assert tick(first) == interval_jobs  # the cron ones wait for their time
        assert queue.count == len(interval_jobs)  # the dispatcher ran in the scheduler
        assert job_row("tasks.dispatch").outcome == "ok"
        run_worker(burst=True)  # all run: nothing of theirs waits in the queue any more
        second = build_scheduler(served)  # another process, or this one restarted
        assert tick(second) == set()  # each run already claimed
        assert tick(first) == set()
        time.sleep(1.1)  # webhooks.prune (every second) is due again, in both
        assert tick(first) == {prune}
        run_worker(burst=True)
        assert tick(second) == set()  # the first one took this second's run
        time.sleep(1.1)
        assert tick(first) == {prune}
        time.sleep(1.1)
        assert tick(first) == set()  # due, but its last run still waits in the queue
        assert queue.count == 1
        run_worker(burst=True)
        states = {job["name"]: job for job in scheduler_status()}
        assert (states["webhooks.prune"]["state"], states["webhooks.prune"]["runs"]) == ("ok", 3)
        assert states["webhooks.prune"]["note"] == "pruned 0 rows"
        assert states["invoices.verify"]["state"] == "never"
        assert states["invoices.verify"]["schedule"] == "cron 30 3 * * *"


def test_status_shows_the_last_run_its_outcome_and_error(app: Flask) -> None:
    with app.app_context():
        app.config["WEBHOOK_LOG_DAYS"] = "thirty"  # a real misconfiguration: the job fails
        try:
            answer = app.test_cli_runner().invoke(args=["scheduler", "run", "webhooks.prune"])
        finally:
            app.config["WEBHOOK_LOG_DAYS"] = 30
        assert answer.exit_code == 0, answer.output
        assert "webhooks.prune: failed: ValueError" in answer.output
        answer = app.test_cli_runner().invoke(args=["scheduler", "status"])
        assert answer.exit_code == 0, answer.output
        line = next(line for line in answer.output.splitlines() if "webhooks.prune" in line)
        assert "every 3600 s" in line and "failed" in line and "runs 1 failed 1" in line
        assert "invalid literal for int()" in answer.output
        assert "no scheduler process is running" in answer.output
        answer = app.test_cli_runner().invoke(args=["scheduler", "status", "--json"])
        document = json.loads(answer.output)
        jobs = {job["name"]: job for job in document["jobs"]}
        assert (
            set(jobs)
            == set(SCHEDULE)
            >= {
                "tasks.dispatch",
                "invoices.reconcile",
                "invoices.verify",
                EXPIRY,
                "invoices.caea_inform",
                "invoices.caea_request",
                "retention",
                "webhooks.prune",
            }
        )
        prune = jobs["webhooks.prune"]
        assert prune["state"] == "failed" and prune["error"].startswith("ValueError")
        assert prune["last_started_at"] <= prune["last_finished_at"]
        answer = app.test_cli_runner().invoke(args=["scheduler", "run", "webhooks.prune"])
        assert "webhooks.prune: ok: pruned 0 rows" in answer.output
        answer = app.test_cli_runner().invoke(args=["scheduler", "run", "nonesuch"])
        assert answer.exit_code != 0 and "no such job: nonesuch" in answer.output


def test_a_bad_schedule_stops_the_scheduler_at_start(app: Flask) -> None:
    app.config["SCHEDULE"] = {"webhooks.prun": 60}
    try:
        answer = app.test_cli_runner().invoke(args=["scheduler"])
    finally:
        del app.config["SCHEDULE"]
    assert answer.exit_code != 0 and "no job named 'webhooks.prun'" in answer.output


def test_without_redis_the_web_process_runs_what_is_due(
    app: Flask, database_url: str, tmp_path: Path
) -> None:
    """The embedded default (`make run`): no scheduler, the web process does it after an
    answer, once per period whatever the number of requests."""
    with scheduling_app(database_url, None, tmp_path, SCHEDULER_INLINE=True) as served:
        client = served.test_client()
        response = client.get("/healthz")
        assert db.session.scalar(select(func.count()).select_from(ScheduledJob)) == 0
        response.close()  # as the server does once the answer is sent: then the jobs run
        states = {job["name"]: job for job in scheduler_status()}
        assert {job["state"] for job in states.values()} == {"ok"}, states
        assert {job["runs"] for job in states.values()} == {1}
        again = client.get("/healthz")
        again.close()
        assert {job["runs"] for job in scheduler_status()} == {1}
