"""Each fault knob at the HTTP level against the standalone server, and the admin API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests
from werkzeug.test import Client

from arca.sandbox import (
    Sandbox,
    drop_after,
    drop_before,
    http_500,
    latency,
    reject_next,
    wsaa_unavailable,
)
from tests.sandbox.helpers import (
    FEV1,
    ISSUER,
    build_tra,
    cae_request,
    consultar_xml,
    detail_xml,
    login_envelope,
    sign_tra,
)

ULTIMO = "<PtoVta>1</PtoVta><CbteTipo>6</CbteTipo>"


@pytest.fixture
def http() -> Iterator[requests.Session]:
    session = requests.Session()
    yield session
    session.close()


def wsfe(
    http: requests.Session, url: str, operation: str, inner: str, timeout: float = 10
) -> requests.Response:
    envelope = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        f'<{operation} xmlns="{FEV1}">{inner}</{operation}></soap:Body></soap:Envelope>'
    )
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{FEV1}{operation}"'}
    return http.post(f"{url}/wsfev1/service.asmx", data=envelope, headers=headers, timeout=timeout)


def test_http_500(sandbox: Sandbox, base_url: str, http: requests.Session) -> None:
    sandbox.faults.add(http_500(service="wsfe", operation="FEDummy"))
    assert wsfe(http, base_url, "FEDummy", "").status_code == 500
    assert wsfe(http, base_url, "FEDummy", "").status_code == 200
    assert [e.outcome for e in sandbox.request_log] == ["http_500", "ok"]


def test_drop_before_closes_without_a_response(
    sandbox: Sandbox, base_url: str, http: requests.Session
) -> None:
    sandbox.faults.add(drop_before(operation="FEDummy"))
    with pytest.raises(requests.ConnectionError):
        wsfe(http, base_url, "FEDummy", "")
    assert wsfe(http, base_url, "FEDummy", "").status_code == 200


def test_drop_after_keeps_the_cae(
    sandbox: Sandbox, base_url: str, http: requests.Session, auth: str
) -> None:
    sandbox.faults.add(drop_after())
    with pytest.raises(requests.ConnectionError):
        wsfe(http, base_url, "FECAESolicitar", cae_request(auth, [detail_xml(1)]))
    assert sandbox.ledger.last_voucher(ISSUER, 1, 6)[0] == 1
    assert sandbox.request_log[-1].outcome == "A+dropped_after"
    consultar = consultar_xml(1)
    assert b"<CodAutorizacion>" in wsfe(http, base_url, "FECompConsultar", auth + consultar).content


def test_latency(sandbox: Sandbox, base_url: str, http: requests.Session) -> None:
    sandbox.faults.add(latency(0.5, service="wsfe"))
    started = time.monotonic()
    assert wsfe(http, base_url, "FEDummy", "").status_code == 200
    assert time.monotonic() - started >= 0.5
    with pytest.raises(requests.Timeout):
        sandbox.faults.add(latency(1.0))
        wsfe(http, base_url, "FEDummy", "", timeout=0.2)


def test_reject_next(sandbox: Sandbox, base_url: str, http: requests.Session, auth: str) -> None:
    sandbox.faults.add(reject_next(10048))
    sandbox.faults.add(reject_next(502, operation="FECompUltimoAutorizado"))
    rejected = wsfe(http, base_url, "FECAESolicitar", cae_request(auth, [detail_xml(1)])).content
    assert b"<Obs><Code>10048</Code>" in rejected and b"<CAE />" in rejected
    assert (
        b"<Err><Code>502</Code>"
        in wsfe(http, base_url, "FECompUltimoAutorizado", auth + ULTIMO).content
    )
    approved = wsfe(http, base_url, "FECAESolicitar", cae_request(auth, [detail_xml(1)])).content
    assert b"<Resultado>A</Resultado>" in approved


def test_every_nth_request(sandbox: Sandbox, base_url: str, http: requests.Session) -> None:
    sandbox.faults.add(http_500(operation="FEDummy", count=None, every=5))
    statuses = [wsfe(http, base_url, "FEDummy", "").status_code for _ in range(10)]
    assert statuses.count(500) == 2 and statuses[0] == 500 and statuses[5] == 500


def test_wsaa_unavailable(
    sandbox: Sandbox, base_url: str, http: requests.Session, issuer: tuple[bytes, bytes]
) -> None:
    sandbox.faults.add(wsaa_unavailable())
    envelope = login_envelope(sign_tra(*issuer, build_tra(sandbox.clock.now())))
    headers = {"Content-Type": "text/xml", "SOAPAction": '""'}
    refused = http.post(
        f"{base_url}/ws/services/LoginCms", data=envelope, headers=headers, timeout=10
    )
    assert refused.status_code == 500 and b"ns1:wsaa.unavailable" in refused.content
    ok = http.post(f"{base_url}/ws/services/LoginCms", data=envelope, headers=headers, timeout=10)
    assert ok.status_code == 200 and sandbox.login_count(ISSUER) == 2


def test_admin_api(client: Client, sandbox: Sandbox) -> None:
    added = client.post("/_sandbox/faults", json={"kind": "latency", "seconds": 0.01, "count": 3})
    assert added.status_code == 201
    assert client.get("/_sandbox/faults").get_json()[0]["count"] == 3
    bad = client.post("/_sandbox/faults", json={"kind": "meteor"})
    assert bad.status_code == 400 and bad.content_type == "application/problem+json"
    assert client.delete("/_sandbox/faults").get_json() == []
    frozen = client.post("/_sandbox/clock", json={"freeze": "2026-05-01T10:00:00-03:00"}).get_json()
    assert frozen == {"now": "2026-05-01T10:00:00-03:00", "frozen": True}
    advanced = client.post("/_sandbox/clock", json={"advance_seconds": 60}).get_json()
    assert advanced["now"] == "2026-05-01T10:01:00-03:00"
    assert client.post("/_sandbox/clock", json={"unfreeze": True}).get_json()["frozen"] is False
    issued = client.post("/_sandbox/certificates", json={"cuit": "20111111112"})
    assert "BEGIN CERTIFICATE" in issued.get_json()["certificate"]
    refused = client.post("/_sandbox/certificates", json={"csr": "nope"})
    assert refused.status_code == 422
    assert client.get("/_sandbox/ca.pem").get_data() == sandbox.ca.certificate_pem
    client.post("/ws/services/LoginCms", data=b"x", headers={"SOAPAction": '""'})
    assert json.loads(client.get("/_sandbox/stats").get_data())["requests"] == 0
    assert client.get("/_sandbox/requests").get_json() == []
    assert client.post("/_sandbox/reset").status_code == 200
    assert client.get("/_sandbox/nothing").status_code == 404


def test_state_survives_a_restart(tmp_path: object, ca_key_pem: bytes) -> None:
    from pathlib import Path

    from arca.sandbox import create_sandbox

    path = str(Path(str(tmp_path)) / "arca.db")
    first = create_sandbox(path)
    try:
        ca_pem = first.ca.certificate_pem
        first.ledger.set_meta("probe", "1")
    finally:
        first.close()
    second = create_sandbox(path)
    try:
        assert second.ca.certificate_pem == ca_pem and second.ledger.get_meta("probe") == "1"
    finally:
        second.close()
