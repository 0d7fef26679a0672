"""The sandbox as a standalone threaded HTTP server (werkzeug's), for `flask arca-sandbox serve`.

On `ConnectionDropped` the server closes the socket without writing a byte: the client sees a
connection reset or an empty reply, as with a real network failure.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING

from werkzeug.serving import BaseWSGIServer, make_server

from arca.sandbox.app import Sandbox
from arca.transport import ConnectionDropped

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


class _Dropping:
    """WSGI wrapper: turns ConnectionDropped into a closed socket and a quiet ConnectionError."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            return self.sandbox(environ, start_response)
        except ConnectionDropped as error:
            connection = environ.get("werkzeug.socket")
            if isinstance(connection, socket.socket):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            # werkzeug treats ConnectionError as "client went away": no 500 page, no traceback.
            raise ConnectionAbortedError("dropped by the ARCA sandbox") from error


def make_sandbox_server(
    sandbox: Sandbox, host: str = "127.0.0.1", port: int = 8085
) -> BaseWSGIServer:
    """A threaded server (not started): `.server_port`, `.serve_forever()`, `.shutdown()`,
    `.server_close()`. Port 0 picks a free port."""
    return make_server(host, port, _Dropping(sandbox), threaded=True)


def serve(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 8085) -> None:
    """Serve until interrupted (Ctrl-C), then close the server and the sandbox's ledger."""
    server = make_sandbox_server(sandbox, host, port)
    base = f"http://{host}:{server.server_port}"
    print(f"ARCA sandbox: WSAA {base}/ws/services/LoginCms  WSFEv1 {base}/wsfev1/service.asmx")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sandbox.close()
