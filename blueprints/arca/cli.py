"""`flask --app app arca-sandbox …` and `flask --app app arca …`.

No command prints a private key, a token or a sign: they go to files (mode 0600) or nowhere.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, is_dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import click
import requests
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from arca.cuit import format_cuit, normalize_cuit
from arca.errors import ArcaError
from arca.sandbox import create_sandbox
from arca.sandbox.faults import KINDS as FAULT_KINDS
from arca.sandbox.server import serve
from arca.tickets import Credential, FileTicketLock, FileTicketStore, get_ticket
from arca.wsaa import AccessTicket, build_tra, sign_tra
from arca.wsfe import WsfeClient, static_auth
from blueprints.arca.parameters import refresh_parameters
from blueprints.certificates.connection import organization_signer
from blueprints.organizations.lookup import organization_id_by_cuit
from blueprints.organizations.models import Organization
from core.arca import ArcaGateway, get_arca
from core.db import db
from core.errors import DomainError
from core.rowsecurity import tenant_scope

sandbox_cli = click.Group("arca-sandbox", help="The local ARCA (WSAA + WSFEv1 simulator).")
arca_cli = click.Group(
    "arca", help="Talk to ARCA: login, dummy, last authorized, parameters (and refresh them)."
)

PARAMS: dict[str, Callable[[WsfeClient], Any]] = {
    "voucher-types": WsfeClient.voucher_types,
    "document-types": WsfeClient.document_types,
    "vat-rates": WsfeClient.vat_rates,
    "concepts": WsfeClient.concepts,
    "currencies": WsfeClient.currencies,
    "tax-types": WsfeClient.tax_types,
    "optional-types": WsfeClient.optional_types,
    "points-of-sale": WsfeClient.points_of_sale,
    "receiver-iva-conditions": WsfeClient.receiver_iva_conditions,
    "max-batch": WsfeClient.max_batch_size,
}


def sandbox_state() -> str:
    return str(get_arca().sandbox_state)


@sandbox_cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8085, show_default=True, type=int)
@click.option("--memory", is_flag=True, help="Keep nothing: state lives in memory only.")
@with_appcontext
def serve_command(host: str, port: int, memory: bool) -> None:
    """Serve the sandbox over HTTP at ARCA's paths (state in instance/ unless --memory)."""
    serve(create_sandbox(None if memory else sandbox_state()), host=host, port=port)


@sandbox_cli.command("reset")
@with_appcontext
def reset_command() -> None:
    """Forget every voucher, ticket, fault and logged request (the CA is kept)."""
    sandbox = create_sandbox(sandbox_state())
    try:
        sandbox.reset()
    finally:
        sandbox.close()
    click.echo(f"Sandbox reset: {sandbox_state()}")


@sandbox_cli.command("issue-certificate")
@click.option("--cuit", required=True, help="The taxpayer's CUIT (11 digits).")
@click.option("--key-out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--cert-out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--alias", default="talonario", show_default=True)
@with_appcontext
def issue_certificate_command(cuit: str, key_out: Path, cert_out: Path, alias: str) -> None:
    """A new RSA key and a certificate from the sandbox CA, as ARCA's portal would issue."""
    sandbox = create_sandbox(sandbox_state())
    try:
        key_pem, cert_pem = sandbox.ca.issue_key_and_certificate(cuit, alias=alias)
    finally:
        sandbox.close()
    write_secret(key_out, key_pem)
    cert_out.write_bytes(cert_pem)
    click.echo(f"Key: {key_out} (0600)  Certificate: {cert_out}")


# Faults and the clock belong to a running sandbox: these talk to its admin API.
admin_url_option = click.option(
    "--url",
    default="http://127.0.0.1:8085",
    show_default=True,
    help="The standalone sandbox (flask arca-sandbox serve).",
)


def admin_call(url: str, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
    try:
        response = requests.request(
            method, url.rstrip("/") + "/_sandbox/" + path, json=payload, timeout=10
        )
    except requests.RequestException as error:
        raise click.ClickException(f"The sandbox at {url} did not answer: {error}") from error
    if response.status_code >= 400:
        raise click.ClickException(f"The sandbox refused it: {response.text}")
    return response.json()


@sandbox_cli.group("fault")
def fault_group() -> None:
    """Inject failures into a running sandbox (latency, HTTP 500, dropped connections…)."""


@fault_group.command("add")
@click.argument("kind", type=click.Choice(FAULT_KINDS))
@click.option("--service", type=click.Choice(["wsaa", "wsfe"]))
@click.option("--operation", help="e.g. FECAESolicitar (default: every operation).")
@click.option(
    "--count", type=int, default=1, show_default=True, help="Requests it affects; 0 = all."
)
@click.option("--every", type=int, default=1, show_default=True, help="Hit one request in N.")
@click.option("--seconds", type=float, help="latency: how long to wait.")
@click.option("--code", type=int, help="reject_next: ARCA's code, e.g. 10016.")
@click.option("--message", help="reject_next: the message (default: ARCA's).")
@admin_url_option
def fault_add(kind: str, url: str, count: int, **options: Any) -> None:
    """Add a fault: KIND is one of latency, http_500, drop_before, drop_after, reject_next,
    wsaa_unavailable."""
    payload = {"kind": kind, "count": count or None}
    payload.update({key: value for key, value in options.items() if value is not None})
    click.echo(json.dumps(admin_call(url, "POST", "faults", payload)))


@fault_group.command("list")
@admin_url_option
def fault_list(url: str) -> None:
    """The faults not used up yet."""
    for fault in admin_call(url, "GET", "faults"):
        click.echo(json.dumps(fault))


@fault_group.command("clear")
@admin_url_option
def fault_clear(url: str) -> None:
    """Remove every fault."""
    admin_call(url, "DELETE", "faults")
    click.echo("No faults.")


@sandbox_cli.command("clock")
@click.option("--freeze", help="Stop the clock at this ISO time, e.g. 2026-12-01T10:00:00-03:00.")
@click.option("--advance", type=float, help="Move the clock forward this many seconds.")
@click.option("--unfreeze", is_flag=True, help="Back to real time.")
@admin_url_option
def clock_command(freeze: str | None, advance: float | None, unfreeze: bool, url: str) -> None:
    """Show or move the running sandbox's clock (its WSAA and WSFEv1 windows follow it)."""
    payload: dict[str, Any] | None = None
    if freeze:
        payload = {"freeze": freeze}
    elif advance is not None:
        payload = {"advance_seconds": advance}
    elif unfreeze:
        payload = {"unfreeze": True}
    answer = admin_call(url, "POST" if payload else "GET", "clock", payload)
    click.echo(f"{answer['now']}{' (frozen)' if answer['frozen'] else ''}")


def write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    path.chmod(0o600)


# --- the diagnostic client ----------------------------------------------------------------------


def client_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.option("--cuit", help="Auth/Cuit: the issuing (or represented) taxpayer."),
        click.option(
            "--environment",
            type=click.Choice(["sandbox", "homologacion", "produccion"]),
            help="Default: TALONARIO_ARCA_ENVIRONMENT.",
        ),
        click.option("--url", help="Base URL of the services (e.g. a standalone sandbox)."),
        click.option(
            "--organization",
            help="Sign in with this organization's stored certificate (its CUIT), "
            "instead of --cert/--key/--cuit.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def gateway_for(environment: str | None, url: str | None) -> ArcaGateway:
    """The app's gateway, or one for the environment and URL the options name."""
    app_gateway = get_arca()
    if environment is None and url is None:
        return app_gateway
    name = environment or app_gateway.environment_name
    return ArcaGateway(name, url, app_gateway.sandbox_state, app_gateway.timeouts)


def credential_from(cert: Path | None, key: Path | None, cuit: str | None) -> Credential:
    if not (cert and key and cuit):
        raise click.UsageError(
            "--cert, --key and --cuit are needed to log in to WSAA (or --organization CUIT)."
        )
    return Credential(
        cuit=cuit, certificate_pem=cert.read_bytes(), private_key_pem=key.read_bytes()
    )


@dataclass(frozen=True)
class Signer:
    """Who signs the command's requests: certificate files, or an organization's stored one."""

    cuit: str
    ticket: Callable[[str], AccessTicket]  # service name -> a valid ticket


@dataclass
class Connection:
    """One command's way to ARCA: the gateway, an HTTP session and, when asked, the signer."""

    gateway: ArcaGateway
    session: Any
    options: dict[str, Any]
    organization_id: int | None

    @cached_property
    def signer(self) -> Signer:
        """--organization's stored certificate, or --cert/--key/--cuit (dummy never asks)."""
        if self.organization_id is not None:
            signer = organization_signer(
                db.session, self.organization_id, self.gateway, self.session
            )
            return Signer(signer.credential.cuit, signer.ticket)
        options = self.options
        credential = credential_from(options["cert"], options["key"], options["cuit"])
        return Signer(
            credential.cuit,
            lambda service: ticket_for(self.gateway, self.session, credential, service),
        )

    def wsfe(self) -> WsfeClient:
        ticket = self.signer.ticket("wsfe")
        auth = static_auth(ticket.token, ticket.sign, self.signer.cuit)
        return self.gateway.wsfe(self.session, auth)


@contextmanager
def connected(options: dict[str, Any]) -> Iterator[Connection]:
    """The command's connection; ARCA and app errors become a clean exit 1. With --organization
    the command runs confined to that organization's rows and signs with its certificate."""
    gateway = gateway_for(options["environment"], options["url"])
    session = gateway.session()
    try:
        organization_id = organization_id_by_cuit(db.session, options.get("organization"))
        connection = Connection(gateway, session, options, organization_id)
        if organization_id is None:
            yield connection
        else:
            if options["cert"] or options["key"] or options["cuit"]:
                raise click.UsageError("Use either --organization or --cert/--key/--cuit.")
            with tenant_scope(organization_id, db.session):
                yield connection
    except ArcaError as error:
        raise click.ClickException(f"ARCA: {error}") from error
    except DomainError as error:
        raise click.ClickException(error.message) from error
    finally:
        session.close()
        if gateway is not get_arca():
            gateway.close()


def ticket_for(gateway: ArcaGateway, session: Any, credential: Credential, service: str) -> Any:
    """A ticket from the CLI's cache (instance/arca-tickets, 0600); logs in only when needed."""
    folder = Path(current_app.instance_path) / "arca-tickets"
    clock = gateway.sandbox().clock.now if gateway.in_process else _now
    return get_ticket(
        credential,
        service,
        gateway.environment_name,
        FileTicketStore(folder),
        FileTicketLock(folder),
        gateway.wsaa(session).login,
        clock,
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@arca_cli.command("tra")
@click.option("--cert", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--service", default="wsfe", show_default=True)
def tra_command(cert: Path, key: Path, service: str) -> None:
    """Print the base64 CMS (signed TRA) that loginCms expects."""
    tra = build_tra(service, _now())
    click.echo(sign_tra(tra, cert.read_bytes(), key.read_bytes()))


@arca_cli.command("login")
@client_options
@click.option("--service", default="wsfe", show_default=True)
@with_appcontext
def login_command(**options: Any) -> None:
    """Get (or reuse) an access ticket; prints its validity, never the token or sign."""
    with connected(options) as connection:
        ticket = connection.signer.ticket(options["service"])
    click.echo(
        f"Ticket for {options['service']} in {connection.gateway.environment_name}: "
        f"valid until {ticket.expiration_time.isoformat()}"
    )


@arca_cli.command("dummy")
@client_options
@with_appcontext
def dummy_command(**options: Any) -> None:
    """FEDummy: are WSFEv1's application, database and authentication servers up?"""
    with connected(options) as connection:
        status = connection.gateway.wsfe(connection.session, static_auth("", "", "")).dummy()
    click.echo(
        f"AppServer={status.app_server} DbServer={status.db_server} AuthServer={status.auth_server}"
    )
    if not status.ok:
        raise SystemExit(1)


@arca_cli.command("last-authorized")
@client_options
@click.option("--pos", "point_of_sale", required=True, type=int, help="Point of sale.")
@click.option("--type", "invoice_type", required=True, type=int, help="CbteTipo, e.g. 6.")
@with_appcontext
def last_authorized_command(point_of_sale: int, invoice_type: int, **options: Any) -> None:
    """FECompUltimoAutorizado: the last number ARCA authorized for that point of sale and type."""
    with connected(options) as connection:
        number = connection.wsfe().last_authorized(point_of_sale, invoice_type)
    click.echo(str(number))


@arca_cli.command("params")
@client_options
@click.argument("name", type=click.Choice(sorted(PARAMS)))
@with_appcontext
def params_command(name: str, **options: Any) -> None:
    """A WSFEv1 parameter table (FEParamGet*), one row per line."""
    with connected(options) as connection:
        result = PARAMS[name](connection.wsfe())
    for row in result if isinstance(result, list) else [result]:
        click.echo(format_row(row))


def format_row(row: Any) -> str:
    if is_dataclass(row) and not isinstance(row, type):
        return "  ".join(f"{key}={value}" for key, value in asdict(row).items())
    return str(row)


# --- the app's stored parameter tables ----------------------------------------------------------


@arca_cli.command("refresh-parameters")
@click.option(
    "--organization",
    "cuit",
    required=True,
    help="CUIT of the organization whose certificate asks ARCA (dashes optional).",
)
@with_appcontext
def refresh_parameters_command(cuit: str) -> None:
    """Fetch the six FEParamGet* tables and store them for the configured environment."""
    organization_id = db.session.scalar(
        select(Organization.id).where(Organization.cuit == normalize_cuit(cuit))
    )
    if organization_id is None:
        raise click.BadParameter(f"no organization has CUIT {cuit}.", param_hint="--organization")
    try:
        result = refresh_parameters(db.session, organization_id, get_arca())
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(
        f"Parameters for {result.environment} as {format_cuit(normalize_cuit(cuit))}, "
        f"fetched at {result.fetched_at.isoformat(timespec='seconds')}:"
    )
    for name, count in result.counts.items():
        click.echo(f"  {name}: {count} rows")
