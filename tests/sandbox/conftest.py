"""Fixtures for tests that drive the sandbox over raw SOAP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from werkzeug.test import Client

from arca.sandbox import Sandbox, SandboxConfig, create_sandbox
from arca.sandbox.ca import SandboxCA
from tests.conftest import served_sandbox
from tests.sandbox.helpers import ISSUER, auth_xml, login


@pytest.fixture(scope="session")
def ca_key_pem() -> bytes:
    """One CA key for the whole run: RSA generation is the slow part of a new sandbox."""
    return SandboxCA.new_key_pem()


@pytest.fixture
def sandbox(ca_key_pem: bytes) -> Iterator[Sandbox]:
    box = create_sandbox(config=SandboxConfig(ca_key_pem=ca_key_pem))
    yield box
    box.close()


@pytest.fixture
def client(sandbox: Sandbox) -> Client:
    return Client(sandbox)


@pytest.fixture(scope="session")
def _issuer_material(ca_key_pem: bytes) -> tuple[bytes, bytes]:
    box = create_sandbox(config=SandboxConfig(ca_key_pem=ca_key_pem))
    try:
        return box.ca.issue_key_and_certificate(ISSUER, alias="tests")
    finally:
        box.close()


@pytest.fixture
def issuer(_issuer_material: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    """(key PEM, certificate PEM) for ISSUER, signed by the session's CA."""
    return _issuer_material


@pytest.fixture
def auth(client: Client, sandbox: Sandbox, issuer: tuple[bytes, bytes]) -> str:
    token, sign = login(client, issuer[0], issuer[1], sandbox.clock.now())
    return auth_xml(token, sign)


@pytest.fixture
def base_url(sandbox: Sandbox) -> Iterator[str]:
    """The sandbox served by the standalone threaded server on a free port."""
    with served_sandbox(sandbox) as url:
        yield url
