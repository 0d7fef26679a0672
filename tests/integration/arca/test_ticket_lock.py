"""RedisTicketLock on the real Redis: one holder at a time, a bounded wait, no leftovers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from arca.errors import TicketLockTimeout
from arca.tickets import RedisTicketLock, TicketKey

KEY = TicketKey("produccion", "ef" * 32)


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


def test_a_held_lock_makes_the_next_caller_wait_then_give_up(client: redis.Redis) -> None:
    prefix = f"talonario-test:{uuid.uuid4().hex[:8]}:ticket-lock"
    lock = RedisTicketLock(client, prefix=prefix, ttl=30)
    with lock.hold(KEY, timeout=1):
        assert client.exists(f"{prefix}:{KEY}") == 1
        with (
            pytest.raises(TicketLockTimeout),
            RedisTicketLock(client, prefix=prefix).hold(KEY, 0.3),
        ):
            pass
    assert client.exists(f"{prefix}:{KEY}") == 0
    with lock.hold(KEY, timeout=1):  # released: free again
        pass
