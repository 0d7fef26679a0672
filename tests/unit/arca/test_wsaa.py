from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from arca import errors
from arca.environments import get_environment
from arca.transport import ConnectionDropped, Timeouts, build_session
from arca.wsaa import AccessTicket, WsaaClient, build_tra, parse_ticket, sign_tra
from tests.unit.arca.conftest import Pki
from tests.unit.arca.soap import AXIS, WSAA, Responder, element, envelope, fault

NOW = datetime(2026, 11, 21, 13, 0, 0, tzinfo=UTC)  # 10:00 in Buenos Aires

TICKET_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<loginTicketResponse version="1">
  <header>
    <source>CN=wsaahomo, O=AFIP, C=AR, SERIALNUMBER=CUIT 33693450239</source>
    <destination>SERIALNUMBER=CUIT 20111111112, CN=talonario-test</destination>
    <uniqueId>1732212345</uniqueId>
    <generationTime>2026-11-21T10:00:05.123-03:00</generationTime>
    <expirationTime>2026-11-21T22:00:05.123-03:00</expirationTime>
  </header>
  <credentials><token>PD94bWwgdG9rZW4=</token><sign>lOc0Zq==</sign></credentials>
</loginTicketResponse>"""


def test_tra_has_the_documented_fields_offset_and_window() -> None:
    root = etree.fromstring(build_tra("wsfe", NOW, unique_id=4294967295))
    assert root.tag == "loginTicketRequest" and root.get("version") == "1.0"
    assert root.findtext("header/uniqueId") == "4294967295"
    assert root.findtext("header/generationTime") == "2026-11-21T09:50:00-03:00"
    assert root.findtext("header/expirationTime") == "2026-11-21T10:10:00-03:00"
    assert root.findtext("service") == "wsfe"
    assert root.find("header/source") is None and root.find("header/destination") is None


def test_tra_converts_any_offset_and_drops_microseconds() -> None:
    moment = datetime(2026, 1, 1, 3, 0, 0, 999, tzinfo=timezone(timedelta(hours=2)))
    root = etree.fromstring(build_tra("wsfe", moment, ttl=timedelta(minutes=5), unique_id=1))
    assert root.findtext("header/generationTime") == "2025-12-31T21:55:00-03:00"


def test_tra_default_unique_id_is_unsigned_32_bit() -> None:
    value = int(etree.fromstring(build_tra("wsfe", NOW)).findtext("header/uniqueId"))
    assert 0 <= value < 2**32


@pytest.mark.parametrize(
    ("now", "kwargs"),
    [
        (datetime(2026, 1, 1), {}),
        (NOW, {"unique_id": 2**32}),
        (NOW, {"unique_id": -1}),
        (NOW, {"ttl": timedelta(0)}),
        (NOW, {"ttl": timedelta(hours=13)}),
    ],
)
def test_tra_refuses_bad_input(now: datetime, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        build_tra("wsfe", now, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def signed(pki: Pki, tmp_path: Path) -> Iterator[tuple[bytes, Path]]:
    tra = build_tra("wsfe", NOW, unique_id=7)
    cms = sign_tra(tra, pki.certificate_pem, pki.key_pem)
    assert "\n" not in cms
    path = tmp_path / "tra.cms"
    path.write_bytes(base64.b64decode(cms, validate=True))
    yield tra, path


OPENSSL = shutil.which("openssl")


def _openssl(*args: str, text: bool = False) -> subprocess.CompletedProcess[Any]:
    if OPENSSL is None:
        pytest.skip("openssl CLI not installed")
    return subprocess.run([OPENSSL, "cms", *args], capture_output=True, text=text)  # noqa: S603


def test_signature_encapsulates_the_tra(signed: tuple[bytes, Path]) -> None:
    tra, path = signed
    result = _openssl("-verify", "-inform", "DER", "-in", str(path), "-noverify")
    assert result.returncode == 0, result.stderr
    assert result.stdout == tra


def test_signature_verifies_against_the_issuing_ca(
    signed: tuple[bytes, Path], pki: Pki, tmp_path: Path
) -> None:
    tra, path = signed
    ca = tmp_path / "ca.pem"
    ca.write_bytes(pki.ca_pem)
    result = _openssl(
        "-verify", "-inform", "DER", "-in", str(path), "-CAfile", str(ca), "-purpose", "any"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == tra
    assert b"Verification successful" in result.stderr


def test_signature_uses_sha256_and_carries_the_certificate(signed: tuple[bytes, Path]) -> None:
    _, path = signed
    dump = _openssl("-cmsout", "-print", "-inform", "DER", "-in", str(path), text=True).stdout
    assert "sha256" in dump
    assert "CUIT 20111111112" in dump  # the signer certificate is inside


def test_sign_refuses_an_encrypted_key(pki: Pki) -> None:
    with pytest.raises((TypeError, ValueError)):
        sign_tra(b"<x/>", pki.certificate_pem, b"not a key")


def test_parse_ticket() -> None:
    ticket = parse_ticket(TICKET_XML)
    assert ticket.token == "PD94bWwgdG9rZW4=" and ticket.sign == "lOc0Zq=="
    assert ticket.expiration_time == datetime(2026, 11, 22, 1, 0, 5, 123000, tzinfo=UTC)
    assert ticket.generation_time.utcoffset() == timedelta(hours=-3)
    assert ticket.destination.startswith("SERIALNUMBER=CUIT 20111111112")
    assert "PD94" not in repr(ticket)


def test_ticket_validity_with_margin() -> None:
    ticket = parse_ticket(TICKET_XML)
    expires = ticket.expiration_time
    assert ticket.is_valid(expires - timedelta(minutes=11), timedelta(minutes=10))
    assert not ticket.is_valid(expires - timedelta(minutes=9), timedelta(minutes=10))
    assert not ticket.is_valid(expires)


@pytest.mark.parametrize(
    "xml",
    [
        "not xml",
        "<loginTicketResponse><credentials><token>t</token></credentials></loginTicketResponse>",
        TICKET_XML.replace("-03:00</expirationTime>", "</expirationTime>"),
    ],
)
def test_parse_ticket_refuses_incomplete_tickets(xml: str) -> None:
    with pytest.raises(ValueError):
        parse_ticket(xml)


def _login(responder: Responder) -> AccessTicket:
    environment = get_environment("sandbox")
    with build_session(environment, wsgi_app=responder) as session:
        return WsaaClient(environment, session, Timeouts()).login("Q01TIGJhc2U2NA==")


def test_login_returns_the_ticket_and_sends_axis_what_it_wants() -> None:
    payload = element(WSAA, "loginCmsResponse", [("loginCmsReturn", TICKET_XML)])
    responder = Responder(body=envelope(payload))
    ticket = _login(responder)
    assert ticket.token == "PD94bWwgdG9rZW4="
    (request,) = responder.received
    assert request.path == "/ws/services/LoginCms"
    assert request.headers["SOAPACTION"] == '""'  # present though empty: Axis insists
    assert request.headers["CONTENT_TYPE"].startswith("text/xml")
    body = etree.fromstring(request.body)
    assert body.findtext(f".//{{{WSAA}}}loginCms/{{{WSAA}}}in0") == "Q01TIGJhc2U2NA=="


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("coe.alreadyAuthenticated", errors.AlreadyAuthenticated),
        ("cms.cert.expired", errors.CertificateExpired),
        ("cms.cert.invalid", errors.CertificateNotYetValid),
        ("cms.cert.untrusted", errors.CertificateUntrusted),
        ("cms.bad", errors.BadSignature),
        ("cms.bad.base64", errors.BadSignature),
        ("cms.sign.invalid", errors.BadSignature),
        ("cms.cert.notFound", errors.BadSignature),
        ("xml.bad", errors.InvalidLoginRequest),
        ("xml.source.invalid", errors.InvalidLoginRequest),
        ("xml.destination.invalid", errors.InvalidLoginRequest),
        ("xml.version.notSupported", errors.InvalidLoginRequest),
        ("xml.generationTime.invalid", errors.InvalidLoginRequest),
        ("xml.expirationTime.expired", errors.InvalidLoginRequest),
        ("xml.expirationTime.invalid", errors.InvalidLoginRequest),
        ("coe.notAuthorized", errors.ServiceNotAuthorized),
        ("wsn.notFound", errors.ServiceNotAuthorized),
        ("wsn.unavailable", errors.WsaaUnavailable),
        ("wsaa.unavailable", errors.WsaaUnavailable),
        ("wsaa.internalError", errors.WsaaUnavailable),
        ("something.new", errors.WsaaError),
    ],
)
def test_each_wsaa_fault_maps_to_its_error(code: str, expected: type[errors.WsaaError]) -> None:
    body = fault(f"ns1:{code}", "texto de ARCA", ("ns1", AXIS))
    with pytest.raises(expected) as caught:
        _login(Responder(status="500 Internal Server Error", body=body))
    assert type(caught.value) is expected
    assert caught.value.code == code and caught.value.message == "texto de ARCA"


def test_already_authenticated_carries_the_window_per_environment() -> None:
    for name, seconds in (("homologacion", 600), ("produccion", 120), ("sandbox", 600)):
        error = errors.wsaa_error_for("ns1:coe.alreadyAuthenticated", "x", name)
        assert isinstance(error, errors.AlreadyAuthenticated)
        assert error.retry_after_seconds == seconds and error.retryable


def test_transport_failures_become_wsaa_unavailable() -> None:
    def drop() -> None:
        raise ConnectionDropped(after_processing=True)

    with pytest.raises(errors.WsaaUnavailable):
        _login(Responder(action=drop))
    with pytest.raises(errors.WsaaUnavailable) as caught:
        _login(Responder(status="503 Service Unavailable", body=b"<html>down</html>"))
    assert caught.value.code == "http.503"


def test_unreadable_ticket_is_a_wsaa_error() -> None:
    payload = element(WSAA, "loginCmsResponse", [("loginCmsReturn", "<oops/>")])
    with pytest.raises(errors.WsaaError) as caught:
        _login(Responder(body=envelope(payload)))
    assert caught.value.code == "ticket.invalid"
