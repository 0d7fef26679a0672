"""Background work: an RQ queue in Redis when Redis is configured, else done inline.

A job is a module-level function taking plain arguments (ids, not objects); it runs inside an
app context, in `flask --app app worker` (RQ) or in the request that enqueued it (inline). Jobs
must be safe to run twice: RQ delivers at least once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from rq import Queue, SimpleWorker

from core.cache import RedisCache, get_cache

JOB_TIMEOUT_SECONDS = 30 * 60


def job_queue() -> Queue | None:
    """The app's RQ queue, or None in the embedded default (no Redis: jobs run inline)."""
    cache = get_cache()
    if not isinstance(cache, RedisCache):
        return None
    # The cache prefix keeps two apps (or test runs) on one Redis from taking each other's jobs.
    name = current_app.config["CACHE_KEY_PREFIX"] + "jobs"
    return Queue(name, connection=cache.client, default_timeout=JOB_TIMEOUT_SECONDS)


def enqueue(function: Callable[..., Any], *args: Any, description: str) -> str | None:
    """Queue `function(*args)` for a worker and return the job's id; without Redis, run it now
    and return None. Exceptions of an inline run propagate to the caller."""
    queue = job_queue()
    if queue is None:
        function(*args)
        return None
    return str(queue.enqueue_call(function, args=args, description=description).id)


class Worker(SimpleWorker):
    """RQ's in-process worker (no fork per job: the app context and its engine stay valid)."""

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
