"""`flask arca login|dummy|last-authorized|params --organization CUIT`: the organization's stored
certificate signs, and the ticket is the one the app itself keeps (no second WSAA login)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from arca.cuit import format_cuit
from arca.sandbox import Sandbox
from blueprints.certificates.services import generate_request, issue_with_sandbox_ca
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.crypto import get_keyring
from core.db import db
from tests.factories import make_organization


def certify(organization_id: int) -> None:
    organization = db.session.get(Organization, organization_id)
    assert organization is not None
    environment = get_arca().environment_name
    request = generate_request(db.session, organization, None, environment, "cli", get_keyring())
    issue_with_sandbox_ca(db.session, organization, None, request, get_arca())


@pytest.fixture
def cuit(app: Flask) -> str:
    with app.app_context():
        organization = make_organization(legal_name="Ferretería del Sur SA")
        certify(organization.id)
        return organization.cuit


def test_every_client_command_signs_as_the_organization(
    app: Flask, runner: FlaskCliRunner, cuit: str
) -> None:
    sandbox = get_arca_sandbox(app)
    logins_before = sandbox.login_count(cuit)
    login = runner.invoke(args=["arca", "login", "--organization", format_cuit(cuit)])
    assert login.exit_code == 0, login.output
    assert "Ticket for wsfe in sandbox: valid until" in login.output
    assert "BEGIN" not in login.output

    last = runner.invoke(
        args=["arca", "last-authorized", "--organization", cuit, "--pos", "1", "--type", "6"]
    )
    assert last.exit_code == 0, last.output
    assert last.output.strip() == "0"
    rates = runner.invoke(args=["arca", "params", "vat-rates", "--organization", cuit])
    assert rates.exit_code == 0, rates.output
    assert "21%" in rates.output
    dummy = runner.invoke(args=["arca", "dummy", "--organization", cuit])
    assert dummy.output.strip() == "AppServer=OK DbServer=OK AuthServer=OK"
    # One WSAA login for the three signed commands: they reuse the ticket the app stores.
    assert sandbox.login_count(cuit) == logins_before + 1
    signed = [r for r in sandbox.request_log if r.service == "wsfe" and r.cuit == cuit]
    assert {r.operation for r in signed} >= {"FECompUltimoAutorizado", "FEParamGetTiposIva"}


def test_clear_errors_for_unknown_uncertified_or_doubly_named_signers(
    app: Flask, runner: FlaskCliRunner, cuit: str
) -> None:
    unknown = runner.invoke(args=["arca", "login", "--organization", "20-1-2"])
    assert unknown.exit_code == 2
    assert "no organization has CUIT 20-1-2" in unknown.output

    with app.app_context():
        bare = make_organization(legal_name="Sin Certificado SRL").cuit
    uncertified = runner.invoke(args=["arca", "params", "vat-rates", "--organization", bare])
    assert uncertified.exit_code == 1
    assert "Todavía no hay un certificado activo" in uncertified.output

    both = runner.invoke(
        args=["arca", "login", "--organization", cuit, "--cuit", cuit], catch_exceptions=False
    )
    assert both.exit_code == 2
    assert "Use either --organization or --cert/--key/--cuit" in both.output


def get_arca_sandbox(app: Flask) -> Sandbox:
    with app.app_context():
        return get_arca().sandbox()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()
