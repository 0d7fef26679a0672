"""WSAA through the client against the standalone sandbox: tickets and every typed failure."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from pathlib import Path

import pytest
import redis
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from arca.environments import Environment, sandbox_environment
from arca.errors import (
    AlreadyAuthenticated,
    CertificateExpired,
    CertificateUntrusted,
    InvalidLoginRequest,
    TicketUnavailable,
    WsaaUnavailable,
)
from arca.sandbox import Sandbox, wsaa_unavailable
from arca.tickets import Credential, FileTicketStore, RedisTicketLock, get_ticket
from arca.transport import build_session
from arca.wsaa import WsaaClient, build_tra, sign_tra
from tests.integration.arca.conftest import ISSUER_CUIT, TIMEOUTS, login


def test_a_ticket_lasts_twelve_hours(ticket, sandbox: Sandbox) -> None:  # type: ignore[no-untyped-def]
    lifetime = ticket.expiration_time - ticket.generation_time
    assert dt.timedelta(hours=11, minutes=59) < lifetime <= dt.timedelta(hours=12, seconds=1)
    assert ticket.token and ticket.sign
    assert sandbox.login_count(ISSUER_CUIT) == 1


def test_a_second_login_while_the_ticket_is_valid_is_refused(
    environment: Environment, http: requests.Session, credential: Credential, sandbox: Sandbox
) -> None:
    login(environment, http, credential, sandbox)
    with pytest.raises(AlreadyAuthenticated):
        login(environment, http, credential, sandbox)


def test_a_certificate_from_another_ca_is_untrusted(
    environment: Environment, http: requests.Session, sandbox: Sandbox
) -> None:
    key, certificate = self_signed(ISSUER_CUIT)
    cms = sign_tra(build_tra("wsfe", sandbox.clock.now()), certificate, key)
    with pytest.raises(CertificateUntrusted):
        WsaaClient(environment, http, TIMEOUTS).login(cms)


def test_an_expired_certificate_is_refused(
    environment: Environment, http: requests.Session, credential: Credential, sandbox: Sandbox
) -> None:
    sandbox.clock.freeze(sandbox.clock.now() + dt.timedelta(days=3 * 365))
    with pytest.raises(CertificateExpired):
        login(environment, http, credential, sandbox)


def test_a_stale_login_request_is_refused(
    environment: Environment, http: requests.Session, credential: Credential, sandbox: Sandbox
) -> None:
    tra = build_tra("wsfe", sandbox.clock.now() - dt.timedelta(days=2))
    cms = sign_tra(tra, credential.certificate_pem, credential.private_key_pem)
    with pytest.raises(InvalidLoginRequest):
        WsaaClient(environment, http, TIMEOUTS).login(cms)


def test_wsaa_unavailable(
    environment: Environment, http: requests.Session, credential: Credential, sandbox: Sandbox
) -> None:
    sandbox.faults.add(wsaa_unavailable())
    with pytest.raises(WsaaUnavailable):
        login(environment, http, credential, sandbox)


def test_already_authenticated_without_a_stored_ticket_says_when_to_retry(
    environment: Environment,
    http: requests.Session,
    credential: Credential,
    sandbox: Sandbox,
    tmp_path: Path,
    redis_url: str,
) -> None:
    login(environment, http, credential, sandbox)  # a ticket this process then "lost"
    client = redis.Redis.from_url(redis_url)
    with pytest.raises(TicketUnavailable) as raised:
        get_ticket(
            credential,
            "wsfe",
            "sandbox",
            FileTicketStore(tmp_path),
            RedisTicketLock(client, prefix=f"talonario-test:{tmp_path.name}"),
            WsaaClient(environment, http, TIMEOUTS).login,
            sandbox.clock.now,
        )
    client.close()
    assert "retry" in str(raised.value).lower() or "reintent" in str(raised.value).lower()


def ask_for_ticket(base_url: str, credential: Credential, folder: str, redis_url: str) -> str:
    """One worker process: the app's contract, from scratch, as a separate gunicorn/RQ process."""
    environment = sandbox_environment(base_url)
    session = build_session(environment)
    client = redis.Redis.from_url(redis_url)
    try:
        ticket = get_ticket(
            credential,
            "wsfe",
            "sandbox",
            FileTicketStore(folder),
            RedisTicketLock(client, prefix=f"talonario-test:{Path(folder).name}"),
            WsaaClient(environment, session, TIMEOUTS).login,
            lambda: dt.datetime.now(dt.UTC),
        )
    finally:
        session.close()
        client.close()
    return ticket.token


def test_eight_processes_asking_at_once_cause_exactly_one_login(
    sandbox_server: tuple[Sandbox, str],
    sandbox: Sandbox,
    credential: Credential,
    tmp_path: Path,
    redis_url: str,
) -> None:
    _sandbox, base_url = sandbox_server
    arguments = [(base_url, credential, str(tmp_path), redis_url)] * 8
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        tokens = pool.starmap(ask_for_ticket, arguments)
    assert len(set(tokens)) == 1
    assert sandbox.login_count(ISSUER_CUIT) == 1


def self_signed(cuit: str) -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "AR"),
            x509.NameAttribute(NameOID.COMMON_NAME, "impostor"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, f"CUIT {cuit}"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)
