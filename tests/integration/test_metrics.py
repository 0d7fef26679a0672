"""`/metrics` (issue #19, item 3): behind its token, and what it counts really moves.

Each test reads `/metrics` before and after doing something real (API calls, ARCA calls on the
in-process sandbox, a WSAA login, a job run by RQ's worker) and asserts the difference: the
counters live for the whole process, other tests move them too.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from arca.errors import AuthenticationRejected, ServiceUnavailable
from arca.tickets import TicketKey
from arca.transport import Timeouts, build_session
from arca.wsaa import WSFE_SERVICE
from arca.wsfe import WsfeClient, static_auth
from blueprints.certificates.connection import arca_client
from blueprints.certificates.services import generate_request, issue_with_sandbox_ca
from blueprints.webhooks.models import WebhookEndpoint
from blueprints.webhooks.services import create_endpoint, send_test_event
from core.arca import environment_at, get_arca
from core.cache import get_cache
from core.crypto import get_keyring
from core.db import db
from core.logging import JsonFormatter
from core.tasks import run_worker
from tests.api import bearer, make_api_key
from tests.factories import make_organization, make_user
from tests.web import post_form
from tests.webhook_receiver import faulty_receiver

TOKEN = "metrics-token-for-the-tests"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def metrics_app(app: Flask) -> Iterator[Flask]:
    app.config["METRICS_TOKEN"] = TOKEN
    yield app
    app.config.pop("METRICS_TOKEN")


def scrape(app: Flask) -> Samples:
    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_metrics_are_not_there_without_a_token_and_refused_with_a_wrong_one(app: Flask) -> None:
    client = app.test_client()
    assert "METRICS_TOKEN" not in app.config
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404
    app.config["METRICS_TOKEN"] = TOKEN
    try:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401
        assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
        right = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert right.status_code == 200
        assert right.content_type.startswith("text/plain; version=0.0.4")
        text = right.get_data(as_text=True)
        assert "# TYPE talonario_http_request_duration_seconds histogram" in text
        assert "talonario_backlog_up 1.0" in text
    finally:
        app.config.pop("METRICS_TOKEN")


def test_api_calls_move_the_request_latency_and_the_key_cache(metrics_app: Flask) -> None:
    with metrics_app.app_context():
        organization_id = make_organization().id
    secret = make_api_key(metrics_app, organization_id)
    endpoint = metrics_app.url_map.bind("localhost").match("/api/v1/organization")[0]
    client = metrics_app.test_client()
    before = scrape(metrics_app)
    for _ in range(3):
        assert client.get("/api/v1/organization", headers=bearer(secret)).status_code == 200
    assert client.get("/api/v1/organization", headers=bearer("tal_" + "x" * 43)).status_code == 401
    after = scrape(metrics_app)

    latency = "talonario_http_request_duration_seconds_count"
    labels = {"endpoint": endpoint, "method": "GET"}
    assert moved(before, after, latency, **labels, status_class="2xx") == 3
    assert moved(before, after, latency, **labels, status_class="4xx") == 1
    lookups = "talonario_api_key_lookups_total"
    # The first call finds the key in the database and caches it; the next two hit the cache
    # (the unknown key is a miss too: nothing to cache).
    assert moved(before, after, lookups, source="database") == 2
    assert moved(before, after, lookups, source="cache") == 2
    hits, total = (
        value(after, lookups, source="cache"),
        sum(value(after, lookups, source=source) for source in ("cache", "database")),
    )
    ratio = value(after, "talonario_cache_hit_ratio", cache="api_key")
    assert ratio == pytest.approx(hits / total)
    # Read at scrape time: the RQ queue (Redis is configured) and the outboxes.
    assert ("talonario_rq_queue_length", frozenset()) in after
    assert ("talonario_outbox_pending", frozenset({("outbox", "webhook_deliveries")})) in after


def test_arca_calls_are_timed_by_service_operation_and_outcome(metrics_app: Flask) -> None:
    before = scrape(metrics_app)
    with metrics_app.app_context():
        gateway = get_arca()
        http = gateway.session()
        try:
            wsfe = gateway.wsfe(http, static_auth("not-a-token", "not-a-sign", "20111111112"))
            assert wsfe.dummy().ok
            with pytest.raises(AuthenticationRejected):  # ARCA's error 600 in the answer
                wsfe.last_authorized(1, 6)
        finally:
            http.close()
        nowhere = environment_at("sandbox", "http://127.0.0.1:9")  # the discard port: refused
        session = build_session(nowhere)
        try:
            client = WsfeClient(nowhere, session, Timeouts(1, 1), static_auth("t", "s", "1"))
            with pytest.raises(ServiceUnavailable):
                client.dummy()
        finally:
            session.close()
    after = scrape(metrics_app)

    def wsfe_calls(operation: str, outcome: str) -> float:
        calls = "talonario_arca_call_duration_seconds_count"
        return moved(before, after, calls, service="wsfe", operation=operation, outcome=outcome)

    assert wsfe_calls("FEDummy", "ok") == 1
    assert wsfe_calls("FECompUltimoAutorizado", "rejected") == 1
    assert wsfe_calls("FEDummy", "unavailable") == 1


def test_access_tickets_come_from_a_login_then_the_cache_then_the_database(
    metrics_app: Flask,
) -> None:
    with metrics_app.app_context():
        organization = make_organization()
        organization_id = organization.id
        gateway = get_arca()
        request = generate_request(
            db.session, organization, None, gateway.environment_name, "prueba", get_keyring()
        )
        issue_with_sandbox_ca(db.session, organization, None, request, gateway)

        def ticket_now() -> Samples:
            with arca_client(db.session, organization_id, gateway) as arca:
                arca.ticket()
            return scrape(metrics_app)

        start = scrape(metrics_app)
        first = ticket_now()  # nothing stored: WSAA issues one
        second = ticket_now()  # from the cache
        with arca_client(db.session, organization_id, gateway) as arca:
            key = TicketKey(gateway.environment_name, arca.credential.fingerprint, WSFE_SERVICE)
        get_cache().delete(f"certificates:ticket:{key}")
        third = ticket_now()  # the cache lost it: the database has it

    lookups, logins = "talonario_access_ticket_lookups_total", "talonario_wsaa_logins_total"
    assert moved(start, first, logins) == 1
    assert moved(start, first, lookups, source="cache") == 0
    login_call = {"service": "wsaa", "operation": "loginCms", "outcome": "ok"}
    assert moved(start, first, "talonario_arca_call_duration_seconds_count", **login_call) == 1
    assert moved(first, second, lookups, source="cache") == 1
    assert moved(first, second, logins) == 0
    assert moved(second, third, lookups, source="database") == 1
    assert moved(second, third, logins) == 0
    assert 0 < value(third, "talonario_cache_hit_ratio", cache="access_ticket") <= 1


def test_webhook_attempts_are_counted_by_result_and_status_class(metrics_app: Flask) -> None:
    metrics_app.config["WEBHOOKS_ALLOW_PRIVATE"] = True  # the receiver is on 127.0.0.1
    try:
        with faulty_receiver() as receiver, metrics_app.app_context():
            organization_id = make_organization().id
            url, events = receiver.url, ["invoice.authorized"]
            endpoint_id = create_endpoint(db.session, organization_id, url, events).id

            def send_and_work() -> None:
                send_test_event(db.session, db.session.get_one(WebhookEndpoint, endpoint_id))
                run_worker(burst=True)  # its jobs end their sessions: objects come again

            before = scrape(metrics_app)
            send_and_work()
            receiver.mode = "error"  # 500: retried later (not within this burst)
            send_and_work()
            after = scrape(metrics_app)
            assert len(receiver.seen()) == 2
    finally:
        metrics_app.config["WEBHOOKS_ALLOW_PRIVATE"] = False

    attempts = "talonario_webhook_attempts_total"
    assert moved(before, after, attempts, result="success", status_class="2xx") == 1
    assert moved(before, after, attempts, result="failure", status_class="5xx") == 1


class JsonLines(logging.Handler):
    """Every record of the process as the JSON line TALONARIO_LOG_FORMAT=json prints."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def json_lines() -> Iterator[JsonLines]:
    handler, root = JsonLines(), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_a_job_is_timed_by_the_worker_and_logs_the_request_that_asked_for_it(
    metrics_app: Flask, json_lines: JsonLines
) -> None:
    """A password reset queues an email (a "mail.send" task): the worker that sends it logs
    with the request's id, and times it."""
    with metrics_app.app_context():
        user = make_user(email="ana@example.com")
        organization_id = make_organization(owner=user).id
    client = metrics_app.test_client()
    before = scrape(metrics_app)
    response = post_form(
        client,
        "/auth/password/forgot",
        {"email": "ana@example.com"},
        headers={"X-Request-ID": "req-metrics-42"},
    )
    assert response.status_code == 303
    assert response.headers["X-Request-ID"] == "req-metrics-42"
    with metrics_app.app_context():
        assert run_worker(burst=True)
    after = scrape(metrics_app)

    jobs = "talonario_job_duration_seconds_count"
    assert moved(before, after, jobs, kind="mail.send", outcome="finished") == 1
    records = [json.loads(line) for line in json_lines.lines]
    in_the_job = [
        record
        for record in records
        if record.get("request_id") == "req-metrics-42" and record["logger"] == "core.mail"
    ]
    assert in_the_job, records[-10:]
    line = in_the_job[0]
    assert set(line) >= {"time", "level", "logger", "message", "request_id", "job_id"}
    assert line["organization_id"] == organization_id
    assert line["time"].endswith("+00:00")


def test_a_request_id_is_made_when_none_or_a_bad_one_is_given(app: Flask) -> None:
    client = app.test_client()
    made = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 32 and made.isalnum()
    assert client.get("/healthz").headers["X-Request-ID"] != made
    for bad in ("a b", "x" * 65, "<script>", "ñandú"):
        answer = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert answer != bad and len(answer) == 32


def test_each_periodic_jobs_last_run_is_there_for_alerts(metrics_app: Flask) -> None:
    """The scheduler's record of a job (its `scheduled_jobs` row) as gauges: runs, failures,
    when the last run ended and whether it ended well."""
    job = "webhooks.prune"
    before = scrape(metrics_app)
    started = time.time()
    answer = metrics_app.test_cli_runner().invoke(args=["scheduler", "run", job])
    assert answer.exit_code == 0 and f"{job}: ok" in answer.output, answer.output
    after = scrape(metrics_app)
    assert moved(before, after, "talonario_scheduled_job_runs", job=job) == 1
    assert moved(before, after, "talonario_scheduled_job_failures", job=job) == 0
    assert value(after, "talonario_scheduled_job_last_run_ok", job=job) == 1
    finished = value(after, "talonario_scheduled_job_last_finished_timestamp_seconds", job=job)
    assert started - 1 <= finished <= time.time() + 1
