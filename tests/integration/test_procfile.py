"""The Procfile, as deployed (issue #19): `flask db upgrade` on a brand-new database, then
`honcho start` runs gunicorn with gunicorn.conf.py, the RQ worker and the scheduler over real
PostgreSQL, Redis and the standalone ARCA sandbox (real HTTP and SOAP, one sandbox shared by the
web and the worker). An invoice authorized through the web API must be authorized by the worker;
then every process stops on SIGTERM, leaving none behind.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
import sqlalchemy as sa
from sqlalchemy import select

from app import create_app
from arca.sandbox import Sandbox, create_sandbox
from blueprints.invoices.models import InvoiceStatus
from blueprints.organizations.models import Organization
from core.db import db
from tests.api import make_api_key
from tests.conftest import base_config, close_connections, new_database, served_sandbox
from tests.integration.arca.test_invoices_exactly_once import prepare

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # gunicorn, flask and honcho of this virtualenv
START_SECONDS = 30
STOP_SECONDS = 20
PROCFILE_ENTRIES = ["web", "worker", "scheduler"]


@pytest.fixture
def sandbox_server() -> Iterator[tuple[Sandbox, str]]:
    sandbox = create_sandbox()
    try:
        with served_sandbox(sandbox) as url:
            yield sandbox, url
    finally:
        sandbox.close()


@pytest.fixture
def fresh_database(database_url: str) -> Iterator[str]:
    """A database of its own on the test server: nothing migrated, nothing shared."""
    with new_database(database_url, "talonario_procfile") as url:
        yield url


@pytest.fixture
def config(
    fresh_database: str, redis_url: str, sandbox_server: tuple[Sandbox, str], tmp_path: Path
) -> Iterator[dict[str, Any]]:
    config = base_config(
        DATABASE_URL=fresh_database,
        REDIS_URL=redis_url,
        ARCA_SANDBOX_URL=sandbox_server[1],
        INSTANCE_PATH=str(tmp_path / "instance"),
    )
    yield config
    client = redis.Redis.from_url(redis_url)  # this run's keys only (its own prefix)
    keys = list(client.scan_iter(match=config["CACHE_KEY_PREFIX"] + "*", count=500))
    if keys:
        client.delete(*keys)
    client.close()


def environment(config: dict[str, Any]) -> dict[str, str]:
    """What an operator sets: the TALONARIO_* variables, plus the process settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TALONARIO_", "WEB_"))}
    env.update({f"TALONARIO_{k}": str(v) for k, v in config.items() if v is not None})
    env.update(
        TALONARIO_TESTING="true",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        WEB_CONCURRENCY="2",  # not 2 × cores + 1: the test needs two, the suite runs beside it
        PYTHONUNBUFFERED="1",  # lines reach honcho (and the failure message) as they are written
    )
    env.pop("PORT", None)
    return env


def test_procfile_processes_authorize_an_invoice_and_stop_cleanly(
    config: dict[str, Any], sandbox_server: tuple[Sandbox, str], tmp_path: Path
) -> None:
    started = time.monotonic()
    port = free_port()
    env = environment(config)
    upgrade = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [str(BIN / "flask"), "--app", "app", "db", "upgrade"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    cuit, [invoice_id], secret = seed(config)
    with honcho(env, port, PROCFILE_ENTRIES, tmp_path) as processes:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(f"{base}/readyz"), processes, "/readyz to answer 200")
        ready = requests.get(f"{base}/readyz", timeout=5).json()
        assert ready["failed"] == [] and ready["migrations"] == {"ok": True}
        assert requests.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}

        # The web queues the authorization; only the worker process can answer it.
        response = requests.post(
            f"{base}/api/v1/invoices/{invoice_id}/authorize",
            params={"wait": 30},  # the longest the API waits
            headers={"Authorization": f"Bearer {secret}"},
            json={},
            timeout=40,
        )
        assert response.status_code == 200, response.text + processes.output()
        invoice = response.json()
        assert invoice["status"] == InvoiceStatus.AUTHORIZED.value
        stored = sandbox_server[0].ledger.find_voucher(
            cuit, invoice["point_of_sale"], invoice["type"]["code"], invoice["number"]
        )
        assert stored is not None and stored.cae == invoice["cae"]

        # gunicorn's access log goes through the app's redaction (gunicorn.conf.py) and ends
        # with the request's id.
        token = secrets.token_urlsafe(32)
        asked = {"X-Request-ID": f"procfile-{uuid.uuid4().hex}"}
        requests.get(f"{base}/readyz", params={"token": token}, headers=asked, timeout=5)
        wait_until(lambda: "/readyz?token=" in processes.output(), processes, "the access log")
        assert token not in processes.output()
        [line] = [row for row in processes.output().splitlines() if "/readyz?token=" in row]
        assert "/readyz?token=[redacted]" in line and line.endswith(asked["X-Request-ID"]), line

        # gunicorn preloads the app: its master opened a connection (the keys' canary) and
        # closed it before forking (gunicorn.conf.py), so no worker shares its socket.
        master, workers = gunicorn_processes(processes.descendants())
        port_of_postgres = sa.make_url(config["DATABASE_URL"]).port or 5432
        assert connections_to(master, port_of_postgres) == set()
        assert any(connections_to(worker, port_of_postgres) for worker in workers)

        family = processes.descendants()
        # gunicorn's master and its 2 workers beside the other entries
        assert len(family) >= len(PROCFILE_ENTRIES) + 2, family
        returncode = processes.stop()
        assert returncode is not None, "honcho did not stop\n" + processes.output()
        survivors = [pid for pid in family if alive(pid)]
        assert survivors == [], processes.output()
    assert time.monotonic() - started < 60


def seed(config: dict[str, Any]) -> tuple[str, list[int], str]:
    """A certified Responsable Inscripto with one Factura B draft and an API key."""
    cuit, ids = prepare(config, count=1)
    app = create_app(dict(config))
    try:
        with app.app_context():
            organization_id = db.session.scalar(
                select(Organization.id).where(Organization.cuit == cuit)
            )
        assert organization_id is not None
        secret = make_api_key(app, organization_id)
    finally:
        close_connections(app)
    return cuit, ids, secret


class Processes:
    """`honcho start` in a session of its own, its output in a file."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def descendants(self) -> list[int]:
        return descendants(self.process.pid)

    def stop(self) -> int | None:
        """SIGTERM, as a process manager stops it: honcho passes it on to each process group."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            return None


@contextmanager
def honcho(env: dict[str, str], port: int, names: list[str], folder: Path) -> Iterator[Processes]:
    empty = folder / "empty.env"  # not a developer's .env from the checkout
    empty.write_text("")
    log_path = folder / "honcho.log"
    command = [str(BIN / "honcho"), "start", "--no-colour", "-e", str(empty), "-p", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own Procfile
            [*command, *names],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes = Processes(process, log_path)
        try:
            yield processes
        finally:
            family = processes.descendants()
            if processes.stop() is None:
                kill_groups([process.pid, *family])
                process.wait(timeout=10)
            kill_groups([pid for pid in family if alive(pid)])  # after a failed assertion


def kill_groups(pids: list[int]) -> None:
    """SIGKILL to the process groups of these processes (all started by this test; never ours)."""
    for pid in pids:
        with suppress(ProcessLookupError):
            group = os.getpgid(pid)
            if group != os.getpgid(0):
                os.killpg(group, signal.SIGKILL)


def descendants(root: int) -> list[int]:
    """Every process below `root`, from /proc: the shells, gunicorn's master and workers…"""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        # "pid (name) state ppid …": the name may hold spaces and parentheses.
        pid, ppid = int(text.split(" ", 1)[0]), int(text.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(pid)
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def gunicorn_processes(pids: list[int]) -> tuple[int, list[int]]:
    """(gunicorn's master, its workers) among `pids`."""
    gunicorns = {pid for pid in pids if b"gunicorn" in read_bytes(f"/proc/{pid}/cmdline")}
    workers = [pid for pid in gunicorns if parent(pid) in gunicorns]
    [master] = gunicorns - set(workers)
    return master, workers


def parent(pid: int) -> int:
    return int(read_bytes(f"/proc/{pid}/stat").rsplit(b")", 1)[1].split()[1])


def read_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""


def connections_to(pid: int, port: int) -> set[str]:
    """The socket inodes of `pid`'s TCP connections to `port` on any address."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in read_bytes(table).decode().splitlines()[1:]:
            fields = row.split()  # sl local_address rem_address st … inode
            if int(fields[2].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with suppress(OSError):  # closed meanwhile
            held.add(os.readlink(fd))
    return inodes & held


def alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting for its parent."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def wait_until(condition: Callable[[], bool], processes: Processes, what: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while not condition():
        if processes.process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"no {what}\n{processes.output()[-6000:]}")
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
