"""The client against the standalone sandbox, over real HTTP and real SOAP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from arca.environments import Environment, sandbox_environment
from arca.sandbox import Sandbox, create_sandbox
from arca.tickets import Credential
from arca.transport import Timeouts, build_session
from arca.wsaa import AccessTicket, WsaaClient, build_tra, sign_tra
from arca.wsfe import CaeRequest, VatAmount, VoucherDetail, WsfeClient, static_auth
from tests.conftest import base_config, served_sandbox

ISSUER_CUIT = "30712345671"  # Almacén Demo SRL, Responsable Inscripto
TIMEOUTS = Timeouts(connect=2, read=5)


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[tuple[Sandbox, str]]:
    sandbox = create_sandbox()
    try:
        with served_sandbox(sandbox) as url:
            yield sandbox, url
    finally:
        sandbox.close()


@pytest.fixture
def http_config(
    database_url: str, redis_url: str, sandbox_server: tuple[Sandbox, str], tmp_path: Path
) -> dict[str, Any]:
    """An app's configuration over the standalone sandbox (real HTTP and SOAP)."""
    return base_config(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        ARCA_SANDBOX_URL=sandbox_server[1],
        INSTANCE_PATH=str(tmp_path),
    )


@pytest.fixture
def sandbox(sandbox_server: tuple[Sandbox, str]) -> Iterator[Sandbox]:
    sandbox, _url = sandbox_server
    sandbox.reset()
    sandbox.clock.unfreeze()
    yield sandbox
    sandbox.faults.clear()


@pytest.fixture
def environment(sandbox_server: tuple[Sandbox, str]) -> Environment:
    return sandbox_environment(sandbox_server[1])


@pytest.fixture
def http(environment: Environment) -> Iterator[requests.Session]:
    session = build_session(environment)
    yield session
    session.close()


@pytest.fixture
def credential(sandbox: Sandbox) -> Credential:
    key, certificate = sandbox.ca.issue_key_and_certificate(ISSUER_CUIT, alias="almacen")
    return Credential(cuit=ISSUER_CUIT, certificate_pem=certificate, private_key_pem=key)


def login(
    environment: Environment, http: requests.Session, credential: Credential, sandbox: Sandbox
) -> AccessTicket:
    tra = build_tra("wsfe", sandbox.clock.now())
    cms = sign_tra(tra, credential.certificate_pem, credential.private_key_pem)
    return WsaaClient(environment, http, TIMEOUTS).login(cms)


@pytest.fixture
def ticket(
    environment: Environment, http: requests.Session, credential: Credential, sandbox: Sandbox
) -> AccessTicket:
    return login(environment, http, credential, sandbox)


@pytest.fixture
def wsfe(environment: Environment, http: requests.Session, ticket: AccessTicket) -> WsfeClient:
    return WsfeClient(
        environment, http, TIMEOUTS, static_auth(ticket.token, ticket.sign, ISSUER_CUIT)
    )


def factura_b(
    number: int,
    today: dt.date,
    net: Decimal = Decimal("100.00"),
    vat: Decimal = Decimal("21.00"),
    total: Decimal | None = None,
) -> VoucherDetail:
    """A Factura B for products to an unidentified final consumer, at 21 %."""
    return VoucherDetail(
        concept=1,
        doc_type=99,
        doc_number=0,
        number_from=number,
        number_to=number,
        date=today,
        total=net + vat if total is None else total,
        untaxed=Decimal("0"),
        net=net,
        exempt=Decimal("0"),
        vat_total=vat,
        other_taxes_total=Decimal("0"),
        receiver_iva_condition=5,
        vat=[VatAmount(rate_id=5, base=net, amount=vat)],
    )


NextInvoice = Callable[..., CaeRequest]


@pytest.fixture
def next_factura_b(wsfe: WsfeClient, sandbox: Sandbox) -> NextInvoice:
    """A one-voucher request for the next Factura B number on point of sale 1."""

    def build(**changes: object) -> CaeRequest:
        number = wsfe.last_authorized(1, 6) + 1
        detail = factura_b(number, sandbox.clock.now().date(), **changes)  # type: ignore[arg-type]
        return CaeRequest(point_of_sale=1, invoice_type=6, details=[detail])

    return build
