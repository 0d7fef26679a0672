"""Webhook tests: an app with the webhooks blueprint (registered here until app.py does it),
private addresses allowed (the receivers listen on 127.0.0.1), and a real HTTP receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask import Flask

from blueprints.webhooks.views import bp as webhooks_bp
from tests.conftest import close_connections, make_app, serving, wipe


@pytest.fixture(scope="session")
def webhooks_app(
    migrated_app: Flask, database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    app = make_app(
        database_url, redis_url, tmp_path_factory.mktemp("webhooks"), WEBHOOKS_ALLOW_PRIVATE=True
    )
    if "webhooks" not in app.blueprints:
        app.register_blueprint(webhooks_bp)
    yield app
    close_connections(app)


@pytest.fixture
def app(webhooks_app: Flask, redis_url: str) -> Iterator[Flask]:
    webhooks_app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    webhooks_app.config["ARCA_ENVIRONMENT"] = "sandbox"
    yield webhooks_app
    wipe(webhooks_app, redis_url)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, object]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    """A tiny threaded HTTP server on 127.0.0.1: records every request and answers with the
    next of `answers` (status, headers), then 204."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> tuple[int, dict[str, str]]:
        with self.lock:
            return self.answers.pop(0) if self.answers else (204, {})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            with state.lock:
                state.requests.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
            status, headers = state.answer()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            reply = b"" if status == 204 else b'{"ok": false}' * 200
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as origin:
        state.url = f"{origin}/hooks"
        yield state
