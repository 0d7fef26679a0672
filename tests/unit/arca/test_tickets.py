from __future__ import annotations

import multiprocessing
import os
import stat
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from arca import errors
from arca.tickets import (
    Credential,
    FileTicketLock,
    FileTicketStore,
    TicketKey,
    get_ticket,
)
from arca.wsaa import AccessTicket
from tests.unit.arca.conftest import Pki

NOW = datetime(2026, 11, 21, 13, 0, tzinfo=UTC)


def ticket(token: str, expires: datetime) -> AccessTicket:
    return AccessTicket(
        token, "sign-" + token, expires - timedelta(hours=12), expires, "src", "dst"
    )


class CountingLogin:
    """A loginCms stand-in that records each call in a file (works across processes)."""

    def __init__(self, counter: Path, delay: float = 0.0) -> None:
        self.counter = counter
        self.delay = delay

    def __call__(self, cms: str) -> AccessTicket:
        assert cms  # a signed TRA, base64
        with self.counter.open("a") as file:
            file.write("login\n")
        time.sleep(self.delay)  # widen the window in which others could slip in
        return ticket(
            f"t{os.getpid()}-{threading.get_ident()}", datetime.now(UTC) + timedelta(hours=12)
        )

    @property
    def calls(self) -> int:
        return len(self.counter.read_text().splitlines()) if self.counter.exists() else 0


def _get(credential: Credential, directory: Path, login: CountingLogin) -> AccessTicket:
    return get_ticket(
        credential,
        "wsfe",
        "homologacion",
        FileTicketStore(directory / "store"),
        FileTicketLock(directory / "locks"),
        login,
        lambda: datetime.now(UTC),
    )


def test_threads_share_one_login(pki: Pki, tmp_path: Path) -> None:
    credential = Credential("20111111112", pki.certificate_pem, pki.key_pem)
    login = CountingLogin(tmp_path / "count", delay=0.2)
    results: list[AccessTicket] = []
    threads = [
        threading.Thread(target=lambda: results.append(_get(credential, tmp_path, login)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert login.calls == 1
    assert len({result.token for result in results}) == 1 and len(results) == 8


def _worker(
    certificate: bytes, key: bytes, directory: str, queue: multiprocessing.Queue[str]
) -> None:
    login = CountingLogin(Path(directory) / "count", delay=0.3)
    result = _get(Credential("20111111112", certificate, key), Path(directory), login)
    queue.put(result.token)


def test_processes_share_one_login(pki: Pki, tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[str] = context.Queue()
    workers = [
        context.Process(
            target=_worker, args=(pki.certificate_pem, pki.key_pem, str(tmp_path), queue)
        )
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    tokens = {queue.get(timeout=60) for _ in workers}
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    queue.close()
    queue.join_thread()
    assert CountingLogin(tmp_path / "count").calls == 1
    assert len(tokens) == 1


class MemoryStore:
    def __init__(self, stored: AccessTicket | None = None) -> None:
        self.stored = stored
        self.saves = 0

    def load(self, key: TicketKey) -> AccessTicket | None:
        return self.stored

    def save(self, key: TicketKey, ticket: AccessTicket) -> None:
        self.stored, self.saves = ticket, self.saves + 1


def _run(pki: Pki, store: MemoryStore, login: object, tmp_path: Path) -> AccessTicket:
    credential = Credential("20111111112", pki.certificate_pem, pki.key_pem)
    return get_ticket(
        credential, "wsfe", "produccion", store, FileTicketLock(tmp_path), login, lambda: NOW
    )  # type: ignore[arg-type]


def test_valid_ticket_is_reused_and_one_near_expiry_renewed(pki: Pki, tmp_path: Path) -> None:
    login = CountingLogin(tmp_path / "count")
    store = MemoryStore(ticket("old", NOW + timedelta(minutes=11)))
    assert _run(pki, store, login, tmp_path).token == "old" and login.calls == 0
    store = MemoryStore(ticket("old", NOW + timedelta(minutes=9)))
    assert _run(pki, store, login, tmp_path).token != "old"
    assert login.calls == 1 and store.saves == 1


def test_already_authenticated(pki: Pki, tmp_path: Path) -> None:
    def refuse(cms: str) -> AccessTicket:
        raise errors.wsaa_error_for("ns1:coe.alreadyAuthenticated", "ya posee TA", "produccion")

    store = MemoryStore(ticket("old", NOW + timedelta(minutes=5)))
    assert _run(pki, store, refuse, tmp_path).token == "old"  # still valid: use it
    with pytest.raises(errors.TicketUnavailable) as caught:
        _run(pki, MemoryStore(), refuse, tmp_path)
    assert isinstance(caught.value, errors.AlreadyAuthenticated)
    assert caught.value.retry_after_seconds == 120
    assert "retry after 2026-11-21 13:02" in str(caught.value)


def test_other_wsaa_errors_propagate_and_keep_the_store(pki: Pki, tmp_path: Path) -> None:
    def expired(cms: str) -> AccessTicket:
        raise errors.CertificateExpired("cms.cert.expired", "Certificado expirado")

    store = MemoryStore(ticket("old", NOW - timedelta(minutes=1)))
    with pytest.raises(errors.CertificateExpired):
        _run(pki, store, expired, tmp_path)
    assert store.stored is not None and store.saves == 0


def test_file_store_round_trip_and_permissions(tmp_path: Path) -> None:
    store = FileTicketStore(tmp_path / "tickets")
    key = TicketKey("homologacion", "ab" * 32)
    assert store.load(key) is None
    original = ticket("tok", NOW)
    store.save(key, original)
    assert store.load(key) == original
    (path,) = (tmp_path / "tickets").iterdir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "tickets").stat().st_mode) == 0o700
    assert str(key) == f"homologacion:wsfe:{'ab' * 32}"


def test_file_lock_times_out(tmp_path: Path) -> None:
    lock = FileTicketLock(tmp_path)
    key = TicketKey("sandbox", "cd" * 32)
    with lock.hold(key, 1), pytest.raises(errors.TicketLockTimeout), lock.hold(key, 0.1):
        pass


def test_credential_fingerprint_is_sha256_of_der(pki: Pki) -> None:
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    der = x509.load_pem_x509_certificate(pki.certificate_pem).public_bytes(Encoding.DER)
    credential = Credential("20111111112", pki.certificate_pem, pki.key_pem)
    assert credential.fingerprint == hashlib.sha256(der).hexdigest()
    assert "PRIVATE" not in repr(credential)
