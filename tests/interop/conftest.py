"""Fixtures for the interoperability tier: the standalone sandbox over HTTP, a certificate from
its CA, and a runner for driver scripts inside `.venv-interop/` (see venv.py)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from arca.sandbox import Sandbox, SandboxConfig, create_sandbox
from arca.sandbox.ca import SandboxCA
from tests.conftest import served_sandbox
from tests.interop.venv import interop_python

HERE = Path(__file__).resolve().parent
DRIVER_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Credentials:
    cuit: str
    key_path: Path
    cert_path: Path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is an interop test: `-m interop` / `-m 'not interop'` select it."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.interop)


@pytest.fixture(scope="session")
def interop_venv_python() -> Path:
    return interop_python()


@pytest.fixture(scope="session")
def interop_ca_key_pem() -> bytes:
    return SandboxCA.new_key_pem()


@pytest.fixture
def http_sandbox(interop_ca_key_pem: bytes) -> Iterator[tuple[Sandbox, str]]:
    """A fresh in-memory sandbox served by the standalone threaded server on a free port."""
    sandbox = create_sandbox(config=SandboxConfig(ca_key_pem=interop_ca_key_pem))
    try:
        with served_sandbox(sandbox) as url:
            yield sandbox, url
    finally:
        sandbox.close()


def write_credentials(sandbox: Sandbox, cuit: str, directory: Path) -> Credentials:
    """Key and certificate from the sandbox CA, as the WSASS portal would hand them over."""
    key_pem, cert_pem = sandbox.ca.issue_key_and_certificate(cuit, alias="interop")
    key_path, cert_path = directory / "interop.key", directory / "interop.crt"
    key_path.write_bytes(key_pem)
    key_path.chmod(0o600)
    cert_path.write_bytes(cert_pem)
    return Credentials(cuit, key_path, cert_path)


DriverRunner = Callable[..., dict[str, Any]]


@pytest.fixture
def run_driver(interop_venv_python: Path, tmp_path: Path) -> DriverRunner:
    """Runs `tests/interop/<script>` with the interop venv's Python; returns the JSON it prints
    last. The child gets a private working and cache directory (zeep caches WSDLs under
    XDG_CACHE_HOME) and none of the app's environment."""

    def run(script: str, *args: str) -> dict[str, Any]:
        workdir = tmp_path / "driver"
        workdir.mkdir(exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "XDG_CACHE_HOME": str(workdir / "cache"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "LANG": "C.UTF-8",
        }
        command = [str(interop_venv_python), str(HERE / script), *args]
        done = subprocess.run(  # noqa: S603
            command,
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=DRIVER_TIMEOUT_SECONDS,
            check=False,
        )
        assert done.returncode == 0, f"{script} failed:\n{done.stderr[-6000:]}"
        lines = done.stdout.strip().splitlines()
        assert lines, f"{script} printed nothing:\n{done.stderr[-3000:]}"
        result: dict[str, Any] = json.loads(lines[-1])
        return result

    return run
