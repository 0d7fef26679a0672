"""Requests per key and day, counted without a database write per request.

Each request adds one to a cache counter for (key, day). At most once a minute per key, the
request that finds the flush marker absent moves the pending counts into `api_key_usage` (an
upsert adding them) and sets the key's `last_used_at`. A page adds what is still pending, so
what it shows is exact; "last used" is at most a minute behind under constant use.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from blueprints.api.models import ARGENTINA, ApiKey, ApiKeyUsage
from core.cache import Cache
from core.db import DbSession

FLUSH_EVERY_SECONDS = 60
# A counter waits at most this long for its flush (a key unused since): then it is lost.
PENDING_DAYS = 8
CHART_DAYS = 14


def local_day(moment: dt.datetime) -> dt.date:
    """Days are Argentine days, as everywhere in the app."""
    return moment.astimezone(ARGENTINA).date()


def pending_key(key_id: int, day: dt.date) -> str:
    return f"api:usage:{key_id}:{day.isoformat()}"


def count_request(session: DbSession, cache: Cache, key_id: int, now: dt.datetime) -> None:
    """One more request for the key today; sometimes also a flush (see the module's doc)."""
    cache.incr(pending_key(key_id, local_day(now)), PENDING_DAYS * 86400)
    if cache.add(f"api:usage-flush:{key_id}", b"1", FLUSH_EVERY_SECONDS):
        flush_usage(session, cache, key_id, now)


def flush_usage(session: DbSession, cache: Cache, key_id: int, now: dt.datetime) -> None:
    """Move the key's pending counts of the last days into the table and commit.

    Safe to call at any time and concurrently: each pending count is taken (read and deleted)
    in one cache step, then added to the row, so nothing is counted twice.
    """
    days = [local_day(now) - dt.timedelta(days=back) for back in range(PENDING_DAYS)]
    taken = {day: cache.take(pending_key(key_id, day)) for day in days}
    rows = [{"api_key_id": key_id, "day": day, "count": n} for day, n in taken.items() if n]
    if rows:
        insert = (
            postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        )
        statement = insert(ApiKeyUsage).values(rows)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["api_key_id", "day"],
                set_={"count": ApiKeyUsage.count + statement.excluded.count},
            )
        )
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
    session.commit()


def usage_by_day(
    session: DbSession, cache: Cache, key_ids: list[int], now: dt.datetime, days: int = CHART_DAYS
) -> dict[int, list[tuple[dt.date, int]]]:
    """For each key, (day, requests) for the last `days` days, oldest first, pending included."""
    today = local_day(now)
    first = today - dt.timedelta(days=days - 1)
    counts: dict[tuple[int, dt.date], int] = defaultdict(int)
    query = select(ApiKeyUsage).where(ApiKeyUsage.api_key_id.in_(key_ids), ApiKeyUsage.day >= first)
    for row in session.scalars(query):
        counts[row.api_key_id, row.day] += row.count
    series: dict[int, list[tuple[dt.date, int]]] = {}
    for key_id in key_ids:
        span = [first + dt.timedelta(days=offset) for offset in range(days)]
        series[key_id] = [
            (day, counts[key_id, day] + pending(cache, key_id, day, today)) for day in span
        ]
    return series


def pending(cache: Cache, key_id: int, day: dt.date, today: dt.date) -> int:
    if (today - day).days >= PENDING_DAYS:
        return 0  # nothing waits longer than that
    raw = cache.get(pending_key(key_id, day))
    return int(raw) if raw else 0
