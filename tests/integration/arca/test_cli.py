"""`flask arca-sandbox …` and `flask arca …`, run as a person would, in a subprocess."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

from arca.sandbox import Sandbox
from tests.integration.arca.conftest import ISSUER_CUIT

REPO = Path(__file__).resolve().parents[3]


def flask(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALONARIO_")}
    env["TALONARIO_INSTANCE_PATH"] = str(instance)
    command = [sys.executable, "-m", "flask", "--app", "app", *args]
    return subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_issue_certificate_then_talk_to_the_in_process_sandbox(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    issued = flask(
        tmp_path, "arca-sandbox", "issue-certificate", "--cuit", ISSUER_CUIT,
        "--key-out", str(key), "--cert-out", str(cert),
    )  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"BEGIN CERTIFICATE" in cert.read_bytes()
    options = ["--cert", str(cert), "--key", str(key), "--cuit", ISSUER_CUIT]
    logged_in = flask(tmp_path, "arca", "login", *options)
    assert logged_in.returncode == 0, logged_in.stderr
    assert "valid until" in logged_in.stdout
    assert "PRIVATE KEY" not in logged_in.stdout + logged_in.stderr
    # The second command reuses the stored ticket (a new login would be refused by WSAA).
    last = flask(tmp_path, "arca", "last-authorized", *options, "--pos", "1", "--type", "6")
    assert last.returncode == 0, last.stderr
    assert last.stdout.strip() == "0"
    rates = flask(tmp_path, "arca", "params", "vat-rates", *options)
    assert "21%" in rates.stdout


def test_tra_is_a_cms_openssl_accepts_and_holds_the_tra(tmp_path: Path, sandbox: Sandbox) -> None:
    key_pem, cert_pem = sandbox.ca.issue_key_and_certificate(ISSUER_CUIT)
    (tmp_path / "key.pem").write_bytes(key_pem)
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "ca.pem").write_bytes(sandbox.ca.certificate_pem)
    printed = flask(
        tmp_path, "arca", "tra", "--cert", str(tmp_path / "cert.pem"),
        "--key", str(tmp_path / "key.pem"),
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    (tmp_path / "tra.der").write_bytes(base64.b64decode(printed.stdout.strip()))
    verified = subprocess.run(  # noqa: S603
        [  # noqa: S607 - openssl from PATH is the point of the check
            "openssl", "cms", "-verify", "-inform", "DER", "-in", str(tmp_path / "tra.der"),
            "-CAfile", str(tmp_path / "ca.pem"), "-purpose", "any",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    assert "Verification successful" in verified.stderr
    assert verified.stdout.startswith("<?xml")
    assert "<service>wsfe</service>" in verified.stdout
    assert "-03:00</generationTime>" in verified.stdout


def test_dummy_against_the_standalone_sandbox(
    tmp_path: Path, sandbox_server: tuple[Sandbox, str]
) -> None:
    _sandbox, url = sandbox_server
    answer = flask(tmp_path, "arca", "dummy", "--environment", "sandbox", "--url", url)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == "AppServer=OK DbServer=OK AuthServer=OK"


def test_reset_and_a_clear_error_without_credentials(tmp_path: Path) -> None:
    reset = flask(tmp_path, "arca-sandbox", "reset")
    assert reset.returncode == 0, reset.stderr
    missing = flask(tmp_path, "arca", "login")
    assert missing.returncode == 2
    assert "--cert, --key and --cuit are needed" in missing.stderr


def test_faults_and_clock_of_a_running_sandbox(
    tmp_path: Path, sandbox_server: tuple[Sandbox, str], sandbox: Sandbox
) -> None:
    _sandbox, url = sandbox_server
    added = flask(
        tmp_path, "arca-sandbox", "fault", "add", "reject_next", "--code", "10016", "--url", url
    )
    assert added.returncode == 0, added.stderr
    assert [f.kind for f in sandbox.faults.active()] == ["reject_next"]
    listed = flask(tmp_path, "arca-sandbox", "fault", "list", "--url", url)
    assert '"code": 10016' in listed.stdout
    assert flask(tmp_path, "arca-sandbox", "fault", "clear", "--url", url).returncode == 0
    assert sandbox.faults.active() == []
    frozen = flask(
        tmp_path, "arca-sandbox", "clock", "--freeze", "2026-12-01T10:00:00-03:00", "--url", url
    )
    assert frozen.returncode == 0, frozen.stderr
    assert frozen.stdout.strip() == "2026-12-01T10:00:00-03:00 (frozen)"
    assert sandbox.clock.now().isoformat().startswith("2026-12-01T")
    nobody = flask(tmp_path, "arca-sandbox", "fault", "list", "--url", "http://127.0.0.1:9")
    assert nobody.returncode == 1
    assert "did not answer" in nobody.stderr
