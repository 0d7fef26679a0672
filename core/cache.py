"""A small cache and counter store: Redis when configured, a process-local dict otherwise.

Keys are namespaced `talonario:<slice>:<thing>:<ids>` by callers; the configured prefix
(`CACHE_KEY_PREFIX`) replaces `talonario:` so test runs never touch each other's keys.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

import redis
from flask import Flask, current_app


class Cache(Protocol):
    backend: str

    def get(self, key: str) -> bytes | None: ...
    def set(self, key: str, value: bytes, ttl: int) -> None: ...
    def add(self, key: str, value: bytes, ttl: int) -> bool: ...
    def delete(self, key: str) -> None: ...
    def incr(self, key: str, ttl: int) -> int: ...
    def decr(self, key: str) -> int: ...
    def take(self, key: str) -> int: ...
    def ttl(self, key: str) -> int: ...
    def ping(self) -> bool: ...


_DECR_IF_EXISTS = """
if redis.call("EXISTS", KEYS[1]) == 1 then return redis.call("DECR", KEYS[1]) end
return 0
"""


class RedisCache:
    backend = "redis"

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def _key(self, key: str) -> str:
        return self.prefix + key

    def get(self, key: str) -> bytes | None:
        return self.client.get(self._key(key))  # type: ignore[return-value]

    def set(self, key: str, value: bytes, ttl: int) -> None:
        self.client.set(self._key(key), value, ex=ttl)

    def add(self, key: str, value: bytes, ttl: int) -> bool:
        """Set `key` only if it is absent (SET NX): True for the one caller that set it."""
        return bool(self.client.set(self._key(key), value, ex=ttl, nx=True))

    def delete(self, key: str) -> None:
        self.client.delete(self._key(key))

    def incr(self, key: str, ttl: int) -> int:
        # The window starts at the first hit: NX keeps later hits from extending it.
        pipe = self.client.pipeline()
        pipe.incr(self._key(key))
        pipe.expire(self._key(key), ttl, nx=True)
        count, _ = pipe.execute()
        return int(count)

    def decr(self, key: str) -> int:
        """One less on a live counter (a slot given back); an expired one stays absent: DECR
        alone would create it at -1 with no expiry."""
        return int(self.client.eval(_DECR_IF_EXISTS, 1, self._key(key)))

    def take(self, key: str) -> int:
        """A counter's value, deleting it in the same step (0 if absent)."""
        return int(self.client.getdel(self._key(key)) or 0)

    def ttl(self, key: str) -> int:
        return max(int(self.client.ttl(self._key(key))), 0)

    def ping(self) -> bool:
        return bool(self.client.ping())


class MemoryCache:
    """Process-local; right for the embedded single-process default only."""

    backend = "memory"

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._items: dict[str, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str) -> tuple[bytes, float] | None:
        item = self._items.get(self.prefix + key)
        if item and item[1] <= time.monotonic():
            del self._items[self.prefix + key]
            return None
        return item

    def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._live(key)
            return item[0] if item else None

    def set(self, key: str, value: bytes, ttl: int) -> None:
        with self._lock:
            self._items[self.prefix + key] = (value, time.monotonic() + ttl)

    def add(self, key: str, value: bytes, ttl: int) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._items[self.prefix + key] = (value, time.monotonic() + ttl)
            return True

    def delete(self, key: str) -> None:
        with self._lock:
            self._items.pop(self.prefix + key, None)

    def incr(self, key: str, ttl: int) -> int:
        with self._lock:
            item = self._live(key)
            count = int(item[0]) + 1 if item else 1
            expires = item[1] if item else time.monotonic() + ttl
            self._items[self.prefix + key] = (str(count).encode(), expires)
            return count

    def decr(self, key: str) -> int:
        with self._lock:
            item = self._live(key)
            if item is None:
                return 0
            count = int(item[0]) - 1
            self._items[self.prefix + key] = (str(count).encode(), item[1])
            return count

    def take(self, key: str) -> int:
        with self._lock:
            item = self._live(key)
            self._items.pop(self.prefix + key, None)
            return int(item[0]) if item else 0

    def ttl(self, key: str) -> int:
        with self._lock:
            item = self._live(key)
            return max(int(item[1] - time.monotonic()), 0) if item else 0

    def ping(self) -> bool:
        return True


def redis_client(url: str) -> redis.Redis:
    # Short timeouts: a dead Redis must fail a request quickly, not hang a web worker.
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def init_cache(app: Flask) -> None:
    prefix = app.config["CACHE_KEY_PREFIX"]
    url = app.config["REDIS_URL"]
    cache: Cache = RedisCache(redis_client(url), prefix) if url else MemoryCache(prefix)
    app.extensions["talonario.cache"] = cache


def get_cache() -> Cache:
    return current_app.extensions["talonario.cache"]
