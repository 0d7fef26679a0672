"""loginCms over raw SOAP: the TA and every fault the sandbox produces."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from werkzeug.test import Client

from arca.sandbox import Sandbox
from arca.sandbox.ca import SandboxCA
from arca.sandbox.clock import SandboxClock
from tests.sandbox.helpers import (
    ISSUER,
    build_tra,
    fault_code,
    login_envelope,
    post_login,
    sign_tra,
    ticket_from,
)


def test_login_returns_a_12_hour_ta(
    client: Client, sandbox: Sandbox, issuer: tuple[bytes, bytes]
) -> None:
    response = post_login(client, sign_tra(*issuer, build_tra(sandbox.clock.now())))
    assert response.status_code == 200
    ticket = ticket_from(response)
    # ARCA's certificates name CN and serialNumber only, so the TA's destination is just those.
    assert ticket.findtext("header/destination") == f"SERIALNUMBER=CUIT {ISSUER}, CN=tests"
    assert ticket.findtext("header/source", "").startswith("CN=wsaasandbox")
    assert ticket.findtext("credentials/token") and ticket.findtext("credentials/sign")
    assert sandbox.login_count(ISSUER) == 1


def test_already_authenticated_within_the_window(
    client: Client, sandbox: Sandbox, issuer: tuple[bytes, bytes]
) -> None:
    assert post_login(client, sign_tra(*issuer, build_tra(sandbox.clock.now()))).status_code == 200
    again = post_login(client, sign_tra(*issuer, build_tra(sandbox.clock.now())))
    assert again.status_code == 500
    assert fault_code(again) == "ns1:coe.alreadyAuthenticated"
    sandbox.clock.advance(601)
    assert post_login(client, sign_tra(*issuer, build_tra(sandbox.clock.now()))).status_code == 200
    assert sandbox.login_count() == 3


@pytest.mark.parametrize(
    ("service", "fault"), [("wsmtxca", "ns1:coe.notAuthorized"), ("nada", "ns1:wsn.notFound")]
)
def test_service_names(
    client: Client, sandbox: Sandbox, issuer: tuple[bytes, bytes], service: str, fault: str
) -> None:
    response = post_login(client, sign_tra(*issuer, build_tra(sandbox.clock.now(), service)))
    assert fault_code(response) == fault


def test_cms_faults(client: Client, sandbox: Sandbox, issuer: tuple[bytes, bytes]) -> None:
    assert fault_code(post_login(client, "@@not base64@@")) == "ns1:cms.bad.base64"
    assert fault_code(post_login(client, base64.b64encode(b"garbage").decode())) == "ns1:cms.bad"
    foreign = SandboxCA(SandboxCA.new_key_pem(), SandboxClock()).issue_key_and_certificate(ISSUER)
    untrusted = post_login(client, sign_tra(*foreign, build_tra(sandbox.clock.now())))
    assert fault_code(untrusted) == "ns1:cms.cert.untrusted"


def test_certificate_dates(client: Client, sandbox: Sandbox, issuer: tuple[bytes, bytes]) -> None:
    sandbox.clock.freeze(sandbox.clock.now() + timedelta(days=800))
    expired = post_login(client, sign_tra(*issuer, build_tra(sandbox.clock.now())))
    assert fault_code(expired) == "ns1:cms.cert.expired"
    sandbox.clock.freeze(sandbox.clock.now() - timedelta(days=900))
    early = post_login(client, sign_tra(*issuer, build_tra(sandbox.clock.now())))
    assert fault_code(early) == "ns1:cms.cert.invalid"


def test_tra_faults(client: Client, sandbox: Sandbox, issuer: tuple[bytes, bytes]) -> None:
    now = sandbox.clock.now()
    cases = {
        "ns1:xml.generationTime.invalid": build_tra(now + timedelta(hours=1)),
        "ns1:xml.expirationTime.expired": build_tra(now - timedelta(hours=2)),
        "ns1:xml.bad": b"<loginTicketRequest><nada/></loginTicketRequest>",
        "ns1:xml.version.notSupported": build_tra(now).replace(
            b'Request version="1.0"', b'Request version="9"'
        ),
    }
    # A TRA without UTC offsets is accepted (tests/sandbox/test_fidelity.py, item 3).
    for fault, tra in cases.items():
        assert fault_code(post_login(client, sign_tra(*issuer, tra))) == fault.strip(), fault
    assert sandbox.login_count(ISSUER) == len(cases)


def test_soap_action_is_required_and_wsdl_is_served(client: Client) -> None:
    response = client.post(
        "/ws/services/LoginCms", data=login_envelope("x"), content_type="text/xml"
    )
    assert response.status_code == 500 and fault_code(response) == "ns1:Client.NoSOAPAction"
    wsdl = client.get("/ws/services/LoginCms?wsdl", base_url="http://sandbox.test:8085")
    text = wsdl.get_data(as_text=True)
    assert 'location="http://sandbox.test:8085/ws/services/LoginCms"' in text
    assert 'targetNamespace="https://wsaahomo.afip.gov.ar/ws/services/LoginCms"' in text
