"""The app's door to ARCA: the configured environment and, in sandbox mode, the local ARCA.

With `TALONARIO_ARCA_ENVIRONMENT=sandbox` and no `TALONARIO_ARCA_SANDBOX_URL`, the sandbox runs
in-process (its WSGI app is called directly, no socket), keeping its state in
`instance/arca-sandbox.sqlite3`, so `make run` needs no second process. With a URL, the app talks
to a standalone sandbox over HTTP. Nothing is created at start-up: the sandbox (its CA key, its
SQLite file) comes into being on first use.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from pathlib import Path

import requests
from flask import Flask, current_app

from arca.environments import SANDBOX, WSAA_PATH, WSFE_PATH, Environment, get_environment
from arca.errors import ServiceUnavailable
from arca.sandbox import Sandbox, create_sandbox
from arca.tickets import FileTicketLock, RedisTicketLock, TicketLock
from arca.transport import Timeouts, build_session
from arca.wsaa import WsaaClient
from arca.wsfe import AuthProvider, WsfeClient
from arca.wsfecred import WsfecredAuth, WsfecredClient
from arca.wsfex import WsfexClient
from core.cache import RedisCache, get_cache


@dataclass
class ArcaGateway:
    """ARCA for one environment; `base_url` moves its services (a standalone sandbox, a proxy)."""

    environment_name: str
    base_url: str | None
    sandbox_state: Path
    timeouts: Timeouts
    _sandbox: Sandbox | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def in_process(self) -> bool:
        return self.environment_name == SANDBOX and not self.base_url

    def environment(self) -> Environment:
        if self.base_url:
            return environment_at(self.environment_name, self.base_url)
        return get_environment(self.environment_name)

    def sandbox(self) -> Sandbox:
        """The in-process sandbox, created once per process on first use."""
        with self._lock:
            if self._sandbox is None:
                self.sandbox_state.parent.mkdir(parents=True, exist_ok=True)
                self._sandbox = create_sandbox(str(self.sandbox_state))
            return self._sandbox

    def session(self) -> requests.Session:
        """A new HTTP session for this environment; the caller closes it."""
        app = self.sandbox() if self.in_process else None
        return build_session(self.environment(), wsgi_app=app)

    def wsaa(self, session: requests.Session) -> WsaaClient:
        return WsaaClient(self.environment(), session, self.timeouts)

    def wsfe(self, session: requests.Session, auth: AuthProvider) -> WsfeClient:
        return WsfeClient(self.environment(), session, self.timeouts, auth)

    def wsfex(self, session: requests.Session, auth: AuthProvider) -> WsfexClient:
        """WSFEXv1 (Factura E), `auth` from a ticket for service "wsfex"."""
        return WsfexClient(self.environment(), session, self.timeouts, auth)

    def wsfecred(self, session: requests.Session, auth: WsfecredAuth) -> WsfecredClient:
        """wsfecred (FCE MiPyME obligations), `auth` from a ticket for service "wsfecred"."""
        return WsfecredClient(self.environment(), session, self.timeouts, auth)

    def now(self) -> dt.datetime:
        """ARCA's clock: the in-process sandbox's (which tests freeze and advance), else real time.

        Ticket validity and certificate dates are judged against it, as ARCA judges them.
        """
        if self.in_process:
            return self.sandbox().clock.now()
        return dt.datetime.now(dt.UTC)

    def issue_sandbox_certificate(self, csr_pem: bytes) -> bytes:
        """What WSASS does, done by the sandbox's CA: a PEM certificate for `csr_pem`.

        Raises ValueError outside the sandbox or for a CSR the CA refuses, and
        `ServiceUnavailable` when a standalone sandbox does not answer.
        """
        if self.environment_name != SANDBOX:
            raise ValueError("only the sandbox has a test CA")
        if self.in_process:
            return self.sandbox().ca.issue_certificate(csr_pem)
        try:
            answer = requests.post(
                str(self.base_url).rstrip("/") + "/_sandbox/certificates",
                json={"csr": csr_pem.decode()},
                timeout=(self.timeouts.connect, self.timeouts.read),
            )
        except requests.RequestException as error:
            raise ServiceUnavailable(f"sandbox CA: {error}") from error
        if answer.status_code == 422:
            raise ValueError(answer.json().get("detail", "the sandbox CA refused the CSR"))
        if answer.status_code != 201:
            raise ServiceUnavailable(f"sandbox CA: HTTP {answer.status_code}", answer.status_code)
        return str(answer.json()["certificate"]).encode()

    def close(self) -> None:
        with self._lock:
            if self._sandbox is not None:
                self._sandbox.close()
                self._sandbox = None


def environment_at(name: str, base_url: str) -> Environment:
    """`name`'s services under another base URL (a standalone sandbox, a proxy)."""
    base = base_url.rstrip("/")
    return Environment(name=name, wsaa_url=base + WSAA_PATH, wsfe_url=base + WSFE_PATH)


def init_arca(app: Flask) -> None:
    config = app.config
    state = config.get("ARCA_SANDBOX_STATE") or Path(app.instance_path) / "arca-sandbox.sqlite3"
    name = config["ARCA_ENVIRONMENT"]
    app.extensions["talonario.arca"] = ArcaGateway(
        environment_name=name,
        base_url=(config["ARCA_SANDBOX_URL"] or None) if name == SANDBOX else None,
        sandbox_state=Path(state),
        timeouts=Timeouts(
            connect=float(config["ARCA_CONNECT_TIMEOUT"]), read=float(config["ARCA_READ_TIMEOUT"])
        ),
    )


def get_arca() -> ArcaGateway:
    return current_app.extensions["talonario.arca"]


def ticket_lock() -> TicketLock:
    """The lock that makes ticket renewal single-flight: Redis's across hosts when configured,
    else a file lock in the instance folder (one host, which is what the embedded default is)."""
    cache = get_cache()
    if isinstance(cache, RedisCache):
        return RedisTicketLock(cache.client, prefix=cache.prefix + "arca:ticket-lock")
    return FileTicketLock(Path(current_app.instance_path) / "locks")
