"""Access tickets shared by every process: reuse while valid, renew once, never lose one.

WSAA refuses a new ticket while one it issued is still valid (`coe.alreadyAuthenticated`), so
a ticket must be stored where every worker sees it, and renewals must be serialised: many
processes asking at once must produce exactly one loginCms (NOTES §4.5, §12.3). `get_ticket`
implements that over two small protocols, `TicketStore` and `TicketLock`; this module ships file
and Redis implementations, and the app adds a database store.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from redis.exceptions import LockError

from arca.errors import AlreadyAuthenticated, TicketLockTimeout, TicketUnavailable
from arca.wsaa import WSFE_SERVICE, AccessTicket, build_tra, sign_tra

DEFAULT_RENEW_MARGIN = timedelta(minutes=10)
DEFAULT_LOCK_TIMEOUT = 60.0


@dataclass(frozen=True)
class Credential:
    """A taxpayer's (or provider's) ARCA certificate and its private key, both PEM.

    `cuit` is the CUIT that goes in `Auth/Cuit` (the represented one, under delegation).
    The key is secret: it is kept out of `repr`.
    """

    cuit: str
    certificate_pem: bytes = field(repr=False)
    private_key_pem: bytes = field(repr=False)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate's DER, lowercase hex: identifies it across renewals."""
        certificate = x509.load_pem_x509_certificate(self.certificate_pem)
        return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


@dataclass(frozen=True)
class TicketKey:
    """What a ticket is good for: one environment, one certificate, one service.

    Keyed by certificate rather than CUIT because WSAA issues (and refuses) tickets per
    certificate and service; a renewed certificate starts afresh.
    """

    environment: str
    fingerprint: str
    service: str = WSFE_SERVICE

    def __str__(self) -> str:
        """Stable form, e.g. `homologacion:wsfe:3f2a…`: usable as a file, cache or lock name."""
        return f"{self.environment}:{self.service}:{self.fingerprint}"


class TicketStore(Protocol):
    """Where tickets live between calls and processes. Tickets are secrets: store them so."""

    def load(self, key: TicketKey) -> AccessTicket | None:
        """The stored ticket for `key`, valid or not, or None."""
        ...

    def save(self, key: TicketKey, ticket: AccessTicket) -> None:
        """Store `ticket` for `key`, replacing any previous one, durably before returning."""
        ...


class TicketLock(Protocol):
    """A lock shared by every process that may renew the same ticket."""

    def hold(self, key: TicketKey, timeout: float) -> AbstractContextManager[None]:
        """A context manager holding the lock for `key`.

        Waits at most `timeout` seconds to acquire it, then raises `TicketLockTimeout`.
        """
        ...


def get_ticket(
    credential: Credential,
    service: str,
    environment_name: str,
    store: TicketStore,
    lock: TicketLock,
    login: Callable[[str], AccessTicket],
    now: Callable[[], datetime],
    renew_margin: timedelta = DEFAULT_RENEW_MARGIN,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> AccessTicket:
    """A ticket for `service` valid for more than `renew_margin`, logging in only if needed.

    The stored ticket is returned when it is valid beyond the margin. Otherwise, under `lock`,
    the store is read again (another process may have just renewed it: single flight), and only
    then is a TRA built, signed and sent through `login` (typically `WsaaClient(...).login`);
    the new ticket is saved before the lock is released. `now` must return aware datetimes.

    If WSAA answers `coe.alreadyAuthenticated`, a stored ticket that is still valid (inside the
    margin) is returned; with none, `TicketUnavailable` says when to retry. Every other
    `WsaaError` from `login` propagates unchanged, as does `TicketLockTimeout`. The stored
    ticket is never deleted here.

    Safe to call from any thread or process sharing `store` and `lock`; it performs at most one
    loginCms per call and holds the lock during it (about a second against ARCA).
    """
    key = TicketKey(environment_name, credential.fingerprint, service)
    stored = store.load(key)
    if stored is not None and stored.is_valid(now(), renew_margin):
        return stored
    with lock.hold(key, lock_timeout):
        stored = store.load(key)
        current = now()
        if stored is not None and stored.is_valid(current, renew_margin):
            return stored
        tra = build_tra(service, current)
        cms = sign_tra(tra, credential.certificate_pem, credential.private_key_pem)
        try:
            fresh = login(cms)
        except AlreadyAuthenticated as exc:
            if stored is not None and stored.is_valid(current):
                return stored
            raise _unavailable(key, exc, current) from exc
        store.save(key, fresh)
        return fresh


def _unavailable(key: TicketKey, exc: AlreadyAuthenticated, now: datetime) -> TicketUnavailable:
    retry_at = now + timedelta(seconds=exc.retry_after_seconds)
    message = (
        f"WSAA already issued a {key.service} ticket in {key.environment} for this certificate "
        f"and none is stored here (it was lost); WSAA will not issue another until it expires "
        f"or its anti-repeat window passes: retry after {retry_at:%Y-%m-%d %H:%M %z} "
        f"(about {exc.retry_after_seconds // 60} minutes)"
    )
    return TicketUnavailable(exc.code, message, retry_after_seconds=exc.retry_after_seconds)


# --- Implementations ------------------------------------------------------------------------------

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9_.-]")


def _file_name(key: TicketKey, suffix: str) -> str:
    return _UNSAFE_FILENAME.sub("_", str(key).replace(":", "-")) + suffix


def ticket_to_dict(ticket: AccessTicket) -> dict[str, str]:
    """The ticket as JSON-ready strings (times in ISO 8601 with their offset)."""
    return {
        "token": ticket.token,
        "sign": ticket.sign,
        "generation_time": ticket.generation_time.isoformat(),
        "expiration_time": ticket.expiration_time.isoformat(),
        "source": ticket.source,
        "destination": ticket.destination,
    }


def ticket_from_dict(data: dict[str, Any]) -> AccessTicket:
    """Inverse of `ticket_to_dict`. Raises `KeyError`/`ValueError` on malformed data."""
    return AccessTicket(
        token=str(data["token"]),
        sign=str(data["sign"]),
        generation_time=datetime.fromisoformat(data["generation_time"]),
        expiration_time=datetime.fromisoformat(data["expiration_time"]),
        source=str(data.get("source", "")),
        destination=str(data.get("destination", "")),
    )


class FileTicketStore:
    """Tickets as JSON files in `directory` (created 0700), each written 0600, atomically.

    Unencrypted: meant for scripts and single machines whose disk is trusted. A file that
    cannot be read counts as no ticket. Atomic replace means readers in other processes see
    the old ticket or the new one, never half a file.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def load(self, key: TicketKey) -> AccessTicket | None:
        """The stored ticket for `key`, or None if there is none or it is unreadable."""
        path = self.directory / _file_name(key, ".json")
        try:
            return ticket_from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, key: TicketKey, ticket: AccessTicket) -> None:
        """Write the ticket to a 0600 temporary file, fsync it, and rename it into place."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkstemp creates the file 0600 from the start: the secret is never world-readable.
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".ticket-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(ticket_to_dict(ticket), file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.directory / _file_name(key, ".json"))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


class FileTicketLock:
    """An exclusive `flock` on a file per key in `directory`: serialises processes on one host.

    Each `hold` opens its own file, so threads of one process exclude each other too. The
    kernel releases the lock if the holder dies.
    """

    def __init__(self, directory: str | os.PathLike[str], poll_interval: float = 0.05) -> None:
        self.directory = Path(directory)
        self.poll_interval = poll_interval

    @contextlib.contextmanager
    def hold(self, key: TicketKey, timeout: float) -> Iterator[None]:
        """Hold the lock for `key`; raise `TicketLockTimeout` after `timeout` seconds waiting."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.directory / _file_name(key, ".lock")
        busy = TicketLockTimeout(f"ticket lock {key} busy for {timeout}s")
        with exclusive_file_lock(path, timeout, busy, self.poll_interval):
            yield


@contextlib.contextmanager
def exclusive_file_lock(
    path: Path, timeout: float, busy: Exception, poll_interval: float = 0.05
) -> Iterator[None]:
    """An exclusive `flock` on `path` (created 0600); raises `busy` after `timeout` seconds.

    Each call opens its own descriptor, so threads of one process exclude each other too; the
    kernel releases the lock if the holder dies.
    """
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise busy from None
                time.sleep(poll_interval)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


class RedisTicketLock:
    """A redis-py `Lock` per key, for processes on several hosts sharing one Redis.

    `ttl` (seconds) bounds how long a crashed holder can keep the lock; it must exceed a
    loginCms round trip comfortably. Keys are `<prefix>:<TicketKey>`.
    """

    def __init__(
        self, redis_client: Any, prefix: str = "talonario:arca:ticket-lock", ttl: float = 120.0
    ) -> None:
        self.redis = redis_client
        self.prefix = prefix
        self.ttl = ttl

    @contextlib.contextmanager
    def hold(self, key: TicketKey, timeout: float) -> Iterator[None]:
        """Hold the lock for `key`; raise `TicketLockTimeout` after `timeout` seconds waiting."""
        lock = self.redis.lock(f"{self.prefix}:{key}", timeout=self.ttl, blocking_timeout=timeout)
        if not lock.acquire():
            raise TicketLockTimeout(f"ticket lock {key} busy for {timeout}s")
        try:
            yield
        finally:
            # If the TTL ran out the lock is already gone (maybe taken by another process);
            # there is nothing left to release.
            with contextlib.suppress(LockError):
                lock.release()
