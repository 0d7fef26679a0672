"""Prometheus metrics: what the app counts as it works, and `/metrics` to read them.

Counted as things happen (module-level metrics, one set per process):

- `talonario_http_request_duration_seconds{endpoint,method,status_class}`: every request, by
  Flask endpoint name (never the raw path: ids would make a series per invoice);
- `talonario_arca_call_duration_seconds{service,operation,outcome}`: every SOAP call to ARCA
  (reported by `arca.transport`), outcome ok, rejected, fault, unavailable or unknown;
- `talonario_job_duration_seconds{kind,outcome}`: every RQ job a worker ran, by task kind;
- `talonario_access_ticket_lookups_total{source}`: a ticket read from the cache, the database
  (a cache miss) or `none` stored; `talonario_wsaa_logins_total`: tickets WSAA issued;
- `talonario_api_key_lookups_total{source}`: an API key resolved from the cache or the database;
- `talonario_webhook_attempts_total{result,status_class}`: every webhook POST.

Read at scrape time: `talonario_cache_hit_ratio{cache}` (from the lookup counters above, summed
over every process), `talonario_rq_queue_length`, `talonario_tasks_pending{kind}`,
`talonario_outbox_pending{outbox}` (events to fan out, emails, webhook deliveries) and each
periodic job's last run (`talonario_scheduled_job_*{job}`).

`/metrics` answers only with `Authorization: Bearer <TALONARIO_METRICS_TOKEN>`; without a token
configured it is not there at all (404), so a forgotten setting never exposes it.

Several processes (gunicorn's workers, `flask worker`): set `PROMETHEUS_MULTIPROC_DIR` to an
empty directory shared by all of them (on one host), the same for each, before they start; each
writes its own files there and `/metrics`, in any of them, sums them all. Without it every
process counts for itself.
"""

from __future__ import annotations

import hmac
import logging
import math
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis import RedisError
from rq import Queue
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from arca.transport import add_call_observer
from core.db import db
from core.rowsecurity import system_scope

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    ProcessCollector(registry=REGISTRY)  # memory, CPU, open files (one process only)

QUICK = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
SLOW = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0)

HTTP_REQUESTS = Histogram(
    "talonario_http_request_duration_seconds",
    "Time to answer a request, by Flask endpoint, method and status class.",
    ["endpoint", "method", "status_class"],
    buckets=QUICK,
    registry=REGISTRY,
)
ARCA_CALLS = Histogram(
    "talonario_arca_call_duration_seconds",
    "ARCA SOAP calls by service, operation and outcome (ok, rejected, fault, unavailable, "
    "unknown).",
    ["service", "operation", "outcome"],
    buckets=QUICK,
    registry=REGISTRY,
)
JOBS = Histogram(
    "talonario_job_duration_seconds",
    "RQ jobs run by a worker, by kind (the durable request's kind) and RQ's final status.",
    ["kind", "outcome"],
    buckets=SLOW,
    registry=REGISTRY,
)
TICKET_LOOKUPS = Counter(
    "talonario_access_ticket_lookups",
    "Access-ticket reads by where they were answered: cache, database (a cache miss), none.",
    ["source"],
    registry=REGISTRY,
)
WSAA_LOGINS = Counter(
    "talonario_wsaa_logins", "Access tickets obtained from WSAA (loginCms).", registry=REGISTRY
)
API_KEY_LOOKUPS = Counter(
    "talonario_api_key_lookups",
    "API-key validations by where the key was found: cache, database (a cache miss).",
    ["source"],
    registry=REGISTRY,
)
WEBHOOK_ATTEMPTS = Counter(
    "talonario_webhook_attempts",
    "Webhook POSTs by result (success: a 2xx) and status class (none: no answer).",
    ["result", "status_class"],
    registry=REGISTRY,
)

# The counters behind each hit ratio: (family, the label value that is a hit).
RATIOS = {
    "access_ticket": ("talonario_access_ticket_lookups", "cache"),
    "api_key": ("talonario_api_key_lookups", "cache"),
}
# Outboxes read at scrape time: rows still to send (table name, so core needs no blueprint).
OUTBOX_TABLES = {"mail": "mail_messages", "webhook_deliveries": "webhook_deliveries"}
FAN_OUT_KIND = "events.fan_out"  # core.events.FAN_OUT (core.events imports core.tasks)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# --- counting ------------------------------------------------------------------------------------


def status_class(status: int | None) -> str:
    return f"{status // 100}xx" if status else "none"


def count_ticket_lookup(source: str) -> None:
    """An access-ticket read answered by `source`: "cache", "database" or "none"."""
    TICKET_LOOKUPS.labels(source).inc()


def count_wsaa_login() -> None:
    WSAA_LOGINS.inc()


def count_api_key_lookup(cached: bool) -> None:
    API_KEY_LOOKUPS.labels("cache" if cached else "database").inc()


def count_webhook_attempt(status: int | None) -> None:
    result = "success" if status is not None and 200 <= status < 300 else "failure"
    WEBHOOK_ATTEMPTS.labels(result, status_class(status)).inc()


def observe_job(kind: str, outcome: str, seconds: float) -> None:
    JOBS.labels(kind, outcome).observe(seconds)


def observe_arca_call(service: str, operation: str, outcome: str, seconds: float) -> None:
    ARCA_CALLS.labels(service, operation, outcome).observe(seconds)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe_request(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is not None:
        method = request.method if request.method in METHODS else "OTHER"
        HTTP_REQUESTS.labels(
            request.endpoint or "unmatched", method, status_class(response.status_code)
        ).observe(time.perf_counter() - started)
    return response


# --- reading -------------------------------------------------------------------------------------


def collected() -> CollectorRegistry:
    """What the processes counted: all of them (multiprocess mode) or this one."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def hit_ratios(families: Iterable[Metric]) -> dict[str, tuple[float, float]]:
    """Per cache: (hits, lookups), summed over `families`' samples (every process's)."""
    by_name = {family.name: family for family in families}
    ratios = {}
    for cache, (name, hit) in RATIOS.items():
        family = by_name.get(name)
        samples = [s for s in family.samples if s.name.endswith("_total")] if family else []
        hits = sum(sample.value for sample in samples if sample.labels.get("source") == hit)
        ratios[cache] = (hits, sum(sample.value for sample in samples))
    return ratios


class ScrapeCollector(Collector):
    """The counted metrics, then what is computed or read at scrape time."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        families = list(self.source.collect())
        yield from families
        ratio = GaugeMetricFamily(
            "talonario_cache_hit_ratio",
            "Cache hits over lookups since the processes started (access tickets, API keys).",
            labels=["cache"],
        )
        for cache, (hits, lookups) in hit_ratios(families).items():
            ratio.add_metric([cache], hits / lookups if lookups else math.nan)
        yield ratio
        yield from backlog()
        yield from scheduled_jobs()


def backlog() -> Iterator[Metric]:
    """Queue and outbox depths now; `talonario_backlog_up` 0 when they could not be read."""
    queue_length = GaugeMetricFamily(
        "talonario_rq_queue_length", "Jobs waiting in the RQ queue (none without Redis)."
    )
    pending = GaugeMetricFamily(
        "talonario_tasks_pending", "Durable requests not finished, by kind.", labels=["kind"]
    )
    outbox = GaugeMetricFamily(
        "talonario_outbox_pending",
        "Outbox rows not sent yet: events to fan out, emails, webhook deliveries.",
        labels=["outbox"],
    )
    up = 1.0
    try:
        queue = _job_queue()
        if queue is not None:
            queue_length.add_metric([], queue.count)
        by_kind = _pending_tasks()
        for kind, count in sorted(by_kind.items()):
            pending.add_metric([kind], count)
        outbox.add_metric(["events"], by_kind.get(FAN_OUT_KIND, 0))
        for name, count in _pending_outboxes().items():
            outbox.add_metric([name], count)
    except (SQLAlchemyError, RedisError, OSError) as error:
        log.warning("metrics: backlog unreadable: %s", type(error).__name__)
        db.session.rollback()
        up = 0.0
    yield from (queue_length, pending, outbox)
    yield GaugeMetricFamily(
        "talonario_backlog_up", "1 when the queue and outboxes were read.", value=up
    )


def scheduled_jobs() -> Iterator[Metric]:
    """Each periodic job's last run (core/scheduler.py's `scheduled_jobs` rows), for alerts
    such as "retention has not succeeded for two days" (`time() - …_finished_timestamp…`)."""
    finished = GaugeMetricFamily(
        "talonario_scheduled_job_last_finished_timestamp_seconds",
        "When the periodic job's last run ended (Unix time).",
        labels=["job"],
    )
    succeeded = GaugeMetricFamily(
        "talonario_scheduled_job_last_run_ok",
        "1 when the periodic job's last run ended well, 0 when it failed.",
        labels=["job"],
    )
    runs = GaugeMetricFamily(
        "talonario_scheduled_job_runs", "Runs of the periodic job, ever.", labels=["job"]
    )
    failures = GaugeMetricFamily(
        "talonario_scheduled_job_failures", "Failed runs of the periodic job, ever.", labels=["job"]
    )
    try:
        rows = _scheduled_rows()
    except SQLAlchemyError as error:
        log.warning("metrics: scheduled jobs unreadable: %s", type(error).__name__)
        db.session.rollback()
        return
    for name, last_finished_at, outcome, run_count, failure_count in rows:
        runs.add_metric([name], run_count)
        failures.add_metric([name], failure_count)
        if last_finished_at is not None:
            finished.add_metric([name], last_finished_at.timestamp())
            succeeded.add_metric([name], 1.0 if outcome == "ok" else 0.0)
    yield from (finished, succeeded, runs, failures)


def _scheduled_rows() -> list[Any]:
    jobs = db.metadata.tables["scheduled_jobs"]
    query = select(
        jobs.c.name, jobs.c.last_finished_at, jobs.c.outcome, jobs.c.runs, jobs.c.failures
    ).order_by(jobs.c.name)
    with system_scope(db.session):
        rows = list(db.session.execute(query).all())
        db.session.commit()
    return rows


def _job_queue() -> Queue | None:
    # Imported here: core.jobs records job durations through this module.
    from core.jobs import job_queue

    return job_queue()


def _pending_tasks() -> dict[str, int]:
    tasks = db.metadata.tables["tasks"]
    with system_scope(db.session):  # every organization's
        rows = db.session.execute(
            select(tasks.c.kind, func.count())
            .where(tasks.c.status == "pending")
            .group_by(tasks.c.kind)
        ).all()
        db.session.commit()
    return {str(row[0]): int(row[1]) for row in rows}


def _pending_outboxes() -> dict[str, int]:
    counts = {}
    with system_scope(db.session):
        for name, table_name in OUTBOX_TABLES.items():
            table = db.metadata.tables.get(table_name)
            if table is not None:
                query = select(func.count()).select_from(table).where(table.c.status == "pending")
                counts[name] = int(db.session.scalar(query) or 0)
        db.session.commit()
    return counts


def exposition() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ScrapeCollector(collected()))
    return generate_latest(registry)


# --- the endpoint --------------------------------------------------------------------------------

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape() -> Response:
    token = str(current_app.config.get("METRICS_TOKEN") or "")
    if not token:
        abort(404)  # not configured: not exposed
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        answer = Response("metrics need the bearer token\n", 401, mimetype="text/plain")
        answer.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return answer
    return Response(exposition(), 200, content_type=CONTENT_TYPE_PLAIN_0_0_4)


def init_metrics(app: Flask) -> None:
    disable_created_metrics()  # `*_created` series: twice the text, nothing we chart
    add_call_observer(observe_arca_call)  # once per process, whatever the number of apps
    app.before_request(_start_timer)
    app.after_request(_observe_request)
    app.register_blueprint(bp)
