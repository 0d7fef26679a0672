"""Background work: an RQ queue in Redis when Redis is configured, else done inline.

A job is a module-level function taking plain arguments (ids, not objects); it runs inside an
app context, in `flask --app app worker` (RQ) or in the request that enqueued it (inline). Jobs
must be safe to run twice: RQ delivers at least once.

A job carries the request id of whatever enqueued it (its meta), so the worker's log lines for
it name the request that asked for it; the worker times each job by kind (core/metrics.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from flask import current_app
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus

from core.cache import RedisCache, get_cache
from core.logging import job_id_var, request_id_var, valid_request_id
from core.metrics import observe_job

JOB_TIMEOUT_SECONDS = 30 * 60


class JobQueue(Queue):
    """RQ's queue; every job it makes carries the current request id in its meta."""

    def create_job(self, *args: Any, **kwargs: Any) -> Job:
        request_id = request_id_var.get()
        if request_id:
            kwargs["meta"] = {"request_id": request_id, **(kwargs.get("meta") or {})}
        return super().create_job(*args, **kwargs)


def job_queue() -> Queue | None:
    """The app's RQ queue, or None in the embedded default (no Redis: jobs run inline)."""
    cache = get_cache()
    if not isinstance(cache, RedisCache):
        return None
    # The cache prefix keeps two apps (or test runs) on one Redis from taking each other's jobs.
    name = current_app.config["CACHE_KEY_PREFIX"] + "jobs"
    return JobQueue(name, connection=cache.client, default_timeout=JOB_TIMEOUT_SECONDS)


def enqueue(function: Callable[..., Any], *args: Any, description: str) -> str | None:
    """Queue `function(*args)` for a worker and return the job's id; without Redis, run it now
    and return None. Exceptions of an inline run propagate to the caller."""
    queue = job_queue()
    if queue is None:
        function(*args)
        return None
    return str(queue.enqueue_call(function, args=args, description=description).id)


def job_statuses(connection: Redis, job_ids: list[str]) -> list[JobStatus | None]:
    """Each job's status in one round trip; None for a job that is gone or is not a whole job
    (after a FLUSHDB a running worker's heartbeat writes its job's hash again, with only
    `last_heartbeat` in it, which `Job.fetch_many` refuses with an error)."""
    pipeline = connection.pipeline(transaction=False)
    for job_id in job_ids:
        pipeline.hget(Job.key_for(job_id), "status")
    statuses = []
    for raw in pipeline.execute():
        try:
            statuses.append(JobStatus(raw.decode()) if raw else None)
        except ValueError:  # a status this RQ does not know: not one of ours
            statuses.append(None)
    return statuses


@dataclass
class _Running:
    kind: str


_running: ContextVar[_Running | None] = ContextVar("talonario_running_job", default=None)


def name_job(kind: str) -> None:
    """Inside a worker's job: what it turned out to be (a durable request's kind), for its
    duration metric. Elsewhere (an inline run) it does nothing."""
    running = _running.get()
    if running is not None:
        running.kind = kind


class Worker(SimpleWorker):
    """RQ's in-process worker; each job runs with its log context (the request id it carries,
    its job id) and is timed by kind and RQ's final status."""

    def execute_job(self, job: Job, queue: Queue) -> None:
        running = _Running((job.func_name or "unknown").rsplit(".", 1)[-1])
        tokens = (
            request_id_var.set(valid_request_id(str(job.meta.get("request_id") or ""))),
            job_id_var.set(job.id),
            _running.set(running),
        )
        started = time.perf_counter()
        try:
            super().execute_job(job, queue)
        finally:
            status = job.get_status(refresh=False)
            outcome = str(getattr(status, "value", status) or "unknown")
            observe_job(running.kind, outcome, time.perf_counter() - started)
            request_id_var.reset(tokens[0])
            job_id_var.reset(tokens[1])
            _running.reset(tokens[2])

    def unsubscribe(self) -> None:
        """RQ's, in the order redis-py 8 needs. Its `PubSubWorkerThread.stop()` now waits for
        the thread, and RQ lowers the flag only after unsubscribing: the thread, answered, may
        first wait RQ's 60 s for a new subscription (a burst worker stalled a minute, often when
        other threads run). Flag down first; the unsubscribe's answer then ends the thread."""
        if self.pubsub_thread is None or self.pubsub is None:
            return
        try:
            self.pubsub_thread.stop(timeout=0)
        except TypeError:  # redis-py before 8: stop() takes no timeout and does not wait
            self.pubsub_thread.stop()
        self.pubsub.unsubscribe()
        self.pubsub_thread.join(timeout=1)
        self.pubsub.close()
