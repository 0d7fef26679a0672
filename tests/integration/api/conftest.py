"""The API over a real HTTP server: sockets, HTTP parsing and threads, as integrators reach it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.conftest import serving


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """The test app on a threaded HTTP server (a thread per request); yields its origin."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    with serving(server) as origin:
        yield origin
