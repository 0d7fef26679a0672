from __future__ import annotations

import ssl
from http.client import RemoteDisconnected

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError, ProtocolError

from arca.environments import ENVIRONMENTS, get_environment, sandbox_environment
from arca.transport import (
    ArcaTlsAdapter,
    WSGIAdapter,
    build_session,
    request_may_have_arrived,
)


def test_environments_use_arca_urls_and_the_sandbox_mirrors_their_paths() -> None:
    assert (
        ENVIRONMENTS["produccion"].wsfe_url == "https://servicios1.afip.gov.ar/wsfev1/service.asmx"
    )
    assert (
        ENVIRONMENTS["homologacion"].wsaa_url == "https://wsaahomo.afip.gov.ar/ws/services/LoginCms"
    )
    sandbox = sandbox_environment("http://127.0.0.1:8099/")
    assert sandbox.wsaa_url == "http://127.0.0.1:8099/ws/services/LoginCms"
    assert sandbox.wsfe_url == "http://127.0.0.1:8099/wsfev1/service.asmx"
    assert get_environment("sandbox").base_urls == ("http://arca-sandbox.invalid/",)
    with pytest.raises(ValueError):
        get_environment("staging")


def test_legacy_tls_is_mounted_on_arca_hosts_only() -> None:
    with build_session(get_environment("produccion")) as session:
        assert isinstance(
            session.get_adapter("https://servicios1.afip.gov.ar/wsfev1/service.asmx"),
            ArcaTlsAdapter,
        )
        assert isinstance(
            session.get_adapter("https://wsaa.afip.gov.ar/ws/services/LoginCms"), ArcaTlsAdapter
        )
        assert not isinstance(
            session.get_adapter("https://servicios1.afip.gov.ar.evil.com/"), ArcaTlsAdapter
        )
        assert not isinstance(session.get_adapter("https://example.com/"), ArcaTlsAdapter)
        context = session.get_adapter("https://wsaa.afip.gov.ar/")._ssl_context
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        assert context.security_level == 1
    with build_session(get_environment("sandbox", "https://sandbox.example")) as session:
        assert not isinstance(session.get_adapter("https://sandbox.example/"), ArcaTlsAdapter)


def test_wsgi_adapter_is_mounted_on_the_sandbox() -> None:
    def app(environ, start_response):  # type: ignore[no-untyped-def]
        start_response(
            "201 Created",
            [("Content-Type", "text/plain; charset=utf-8"), ("X-Path", environ["PATH_INFO"])],
        )
        return [b"hola ", environ["wsgi.input"].read()]

    with build_session(sandbox_environment(), wsgi_app=app) as session:
        assert isinstance(session.get_adapter("http://arca-sandbox.invalid/x"), WSGIAdapter)
        response = session.post("http://arca-sandbox.invalid/admin/reset?x=1", data=b"mundo")
    assert response.status_code == 201 and response.text == "hola mundo"
    assert response.headers["X-Path"] == "/admin/reset"


def _wrapped(reason: Exception) -> requests.ConnectionError:
    return requests.ConnectionError(MaxRetryError(None, "/", reason))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "arrived"),
    [
        (requests.ConnectTimeout(), False),
        (_wrapped(NewConnectionError(None, "refused")), False),  # type: ignore[arg-type]
        (_wrapped(NameResolutionError("h", None, OSError())), False),  # type: ignore[arg-type]
        (requests.exceptions.SSLError(ssl.SSLCertVerificationError("bad cert")), False),
        (requests.ReadTimeout(), True),
        (
            requests.ConnectionError(ProtocolError("Connection aborted.", RemoteDisconnected("x"))),
            True,
        ),
        (requests.exceptions.ChunkedEncodingError(), True),
        (requests.exceptions.SSLError(ssl.SSLEOFError("eof")), True),
    ],
)
def test_request_may_have_arrived(exc: requests.RequestException, arrived: bool) -> None:
    assert request_may_have_arrived(exc) is arrived
