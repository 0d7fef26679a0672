"""A webhook receiver that misbehaves on cue: a real threaded HTTP server on 127.0.0.1 for the
delivery-fault and browser tests. It records every request *when it arrives* (before it
answers), so an attempt the sender gave up on (a timeout, a killed worker) is still seen, as a
real receiver would see it. What it answers is its `mode`, switched by the test:

- "ok": 204 at once;
- "error": 500 with a small JSON body;
- "slow": sleep `slow_seconds` (past the sender's read timeout), then try to answer 204;
- "hold": wait until `release()` (or 30 s), then try to answer 204: the sender is stuck
  mid-request for as long as the test likes. `hold_after=n` puts it in "hold" from the
  (n+1)th request on, whatever the test is doing at that moment.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook

from tests.conftest import serving

HOLD_LIMIT_SECONDS = 30.0


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def document(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class FaultyReceiver:
    url: str = ""
    mode: str = "ok"
    slow_seconds: float = 2.0
    hold_after: int | None = None
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)

    def record(self, headers: dict[str, str], body: bytes) -> str:
        """Keep the request; returns the mode it is answered in (read once, under the lock)."""
        with self.lock:
            self.requests.append(Received(headers, body))
            if self.hold_after is not None and len(self.requests) > self.hold_after:
                self.mode, self.hold_after = "hold", None
            return self.mode

    def seen(self) -> list[Received]:
        with self.lock:
            return list(self.requests)

    def release(self) -> None:
        """Let every held request go (and stop holding new ones)."""
        with self.lock:
            self.mode = "ok"
        self.released.set()

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every request, checked by the reference Standard Webhooks library (raises if one
        fails)."""
        return [dict(Webhook(secret).verify(r.body, r.headers)) for r in self.seen()]

    def ids_by_event(self, key: str = "id") -> dict[int, set[str]]:
        """For each event (told apart by the integer `data[key]`: an invoice's id), the
        webhook-ids it arrived with."""
        ids: dict[int, set[str]] = {}
        for request in self.seen():
            ids.setdefault(int(request.document["data"][key]), set()).add(request.webhook_id)
        return ids


def _handler(state: FaultyReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            mode = state.record({k.lower(): v for k, v in self.headers.items()}, body)
            if mode == "slow":
                time.sleep(state.slow_seconds)
            elif mode == "hold":
                state.holding.set()
                state.released.wait(HOLD_LIMIT_SECONDS)
            status, reply = (500, b'{"error": "boom"}') if mode == "error" else (204, b"")
            try:
                self.send_response(status)
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            except OSError:  # the sender gave up (timed out, or was killed): nobody listens
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def faulty_receiver() -> Iterator[FaultyReceiver]:
    """Serve a FaultyReceiver on a free port of 127.0.0.1 for the block."""
    state = FaultyReceiver()
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _handler(state)), "receiver") as origin:
        state.url = f"{origin}/hooks"
        try:
            yield state
        finally:
            state.released.set()  # no handler left waiting on a hold
