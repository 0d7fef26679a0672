"""Durable requests in tests: make waiting retries due now, and run until nothing is left."""

from __future__ import annotations

from sqlalchemy import func, select, update

from core.db import db, utcnow
from core.tasks import Task, TaskStatus, run_worker


def retry_now() -> int:
    """Every pending task due now (as if its back-off had passed); how many there are."""
    result = db.session.execute(
        update(Task).where(Task.status == TaskStatus.PENDING).values(run_after=utcnow())
    )
    db.session.commit()
    return int(getattr(result, "rowcount", 0))


def pending_tasks() -> int:
    count = db.session.scalar(
        select(func.count()).select_from(Task).where(Task.status == TaskStatus.PENDING)
    )
    db.session.commit()
    return int(count or 0)


def run_until_settled(rounds: int = 20) -> int:
    """Run the queue dry, then make waiting retries due and again, until no task is pending
    (at most `rounds` times); returns how many rounds it took. Fails if tasks are still open."""
    for done in range(1, rounds + 1):
        run_worker(burst=True)
        if not pending_tasks():
            return done
        retry_now()
    raise AssertionError(f"{pending_tasks()} tasks still pending after {rounds} rounds")
