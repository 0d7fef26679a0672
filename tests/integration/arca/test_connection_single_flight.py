"""«Probar conexión» from many processes at once: one loginCms, and the ticket outlives Redis.

The app runs as production runs it: PostgreSQL, Redis (cache, sessions, the renewal lock) and a
standalone sandbox over HTTP; each worker process is a separate app, like a gunicorn worker.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from flask import Flask

from app import create_app
from arca.sandbox import Sandbox
from blueprints.certificates.services import generate_request, issue_with_sandbox_ca
from core.arca import get_arca
from core.crypto import get_keyring
from core.db import db
from tests.conftest import base_config, close_connections
from tests.factories import add_member, make_organization, make_user
from tests.web import csrf_token, htmx_headers, login

PROCESSES, THREADS = 4, 4
EMAIL = "caja@example.com"


def dedicated_redis(redis_url: str) -> str:
    """The test Redis server, database 15: this test flushes it whole, as an operator would."""
    parts = urlsplit(redis_url)
    return urlunsplit(parts._replace(path="/15"))


@pytest.fixture
def worker_config(
    database_url: str,
    redis_url: str,
    sandbox_server: tuple[Sandbox, str],
    sandbox: Sandbox,
    tmp_path: Path,
) -> Iterator[dict[str, Any]]:
    config = base_config(
        DATABASE_URL=database_url,
        REDIS_URL=dedicated_redis(redis_url),
        ARCA_SANDBOX_URL=sandbox_server[1],
        INSTANCE_PATH=str(tmp_path),
    )
    flush(config)
    yield config
    flush(config)


def flush(config: dict[str, Any]) -> None:
    client = redis.Redis.from_url(config["REDIS_URL"])
    client.flushdb()
    client.close()


def certified_organization(config: dict[str, Any]) -> str:
    """A shop whose owner `EMAIL` has an active certificate from the sandbox's CA (over HTTP)."""
    app = create_app(dict(config))
    try:
        with app.app_context():
            owner = make_user(email=EMAIL)
            organization = make_organization(legal_name="Kiosco Concurrente SA")
            add_member(organization, owner, "owner")
            request = generate_request(
                db.session, organization, owner, "sandbox", "concurrente", get_keyring()
            )
            issue_with_sandbox_ca(db.session, organization, owner, request, get_arca())
            return organization.cuit
    finally:
        close_connections(app)


def worker(config: dict[str, Any], barrier: Any, threads: int) -> list[tuple[int, int]]:
    """One process of the app: `threads` logged-in users press "Probar conexión" together.

    Returns (HTTP status, steps shown OK) per press.
    """
    app = create_app(config)
    clients = []
    for _ in range(threads):
        client = app.test_client()
        login(client, EMAIL)
        clients.append((client, csrf_token(client, "/certificates/")))
    results: list[tuple[int, int]] = []

    def press(client: Any, token: str) -> None:
        barrier.wait(timeout=120)
        response = client.post("/certificates/test-connection", headers=htmx_headers(token))
        body = response.get_data(as_text=True)
        results.append((response.status_code, body.count('class="connection-step is-ok"')))

    running = [threading.Thread(target=press, args=pair) for pair in clients]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join(timeout=180)
    close_connections(app)
    return results


def press_everywhere(config: dict[str, Any], processes: int, threads: int) -> list[tuple[int, int]]:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(processes) as pool:
        barrier = manager.Barrier(processes * threads)
        per_process = pool.starmap(worker, [(config, barrier, threads)] * processes)
    return [result for results in per_process for result in results]


def test_sixteen_presses_in_four_processes_make_one_login_which_survives_a_redis_flush(
    app: Flask, worker_config: dict[str, Any], sandbox: Sandbox
) -> None:
    cuit = certified_organization(worker_config)

    results = press_everywhere(worker_config, PROCESSES, THREADS)
    assert results == [(200, 3)] * (PROCESSES * THREADS)
    assert sandbox.login_count(cuit) == 1

    # Redis loses everything (the cached ticket, the sessions); every process restarts.
    flush(worker_config)
    results = press_everywhere(worker_config, 2, 2)
    assert results == [(200, 3)] * 4
    assert sandbox.login_count(cuit) == 1
