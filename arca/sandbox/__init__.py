"""A faithful local ARCA: WSAA (loginCms) and WSFEv1 over real SOAP, for tests and development.

    from arca.sandbox import create_sandbox
    sandbox = create_sandbox()                 # in memory; create_sandbox("arca.db") persists
    key, cert = sandbox.ca.issue_key_and_certificate("20111111112")
    # mount `sandbox` as a WSGI app, or serve it: arca.sandbox.server.serve(sandbox, port=8085)

No Flask, no app imports. See docs/arca-sandbox.md for every rule, fault knob and admin route.
"""

from __future__ import annotations

from arca.sandbox.app import Sandbox
from arca.sandbox.ca import CertificateRequestRefused
from arca.sandbox.faults import (
    Fault,
    drop_after,
    drop_before,
    http_500,
    latency,
    reject_next,
    wsaa_unavailable,
)
from arca.sandbox.ledger import LoggedRequest
from arca.sandbox.state import SandboxConfig

__all__ = [
    "CertificateRequestRefused",
    "Fault",
    "LoggedRequest",
    "Sandbox",
    "SandboxConfig",
    "create_sandbox",
    "drop_after",
    "drop_before",
    "http_500",
    "latency",
    "reject_next",
    "wsaa_unavailable",
]


def create_sandbox(state_path: str | None = None, config: SandboxConfig | None = None) -> Sandbox:
    """A sandbox keeping its state in SQLite at `state_path` (None = in memory, for tests).

    With a path, vouchers, tickets, the request log and the CA key survive restarts. Call
    `sandbox.close()` when done.
    """
    return Sandbox(state_path, config)
