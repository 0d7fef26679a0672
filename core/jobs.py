"""Background work: an RQ queue in Redis when Redis is configured, else done inline.

A job is a module-level function taking plain arguments (ids, not objects); it runs inside an
app context, in `flask --app app worker` (RQ) or in the request that enqueued it (inline). Jobs
must be safe to run twice: RQ delivers at least once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from rq import Queue

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
