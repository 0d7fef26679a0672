"""ARCA's parameter tables: refresh through FEParamGet*, cache → database → shipped defaults."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select

from arca.cuit import format_cuit
from arca.defaults import PARAMETER_NAMES, ParameterName, default_parameters
from arca.sandbox.faults import Fault, http_500, wsaa_unavailable
from blueprints.arca.models import ParameterTable
from blueprints.arca.parameters import (
    ParametersUnavailable,
    cache_key,
    parameter_table,
    refresh_parameters,
)
from blueprints.certificates.services import generate_request, issue_with_sandbox_ca
from blueprints.organizations.models import Organization, Role
from core.arca import get_arca
from core.cache import get_cache
from core.crypto import get_keyring
from core.db import db
from tests.factories import add_member, make_organization, make_user
from tests.web import csrf_token, htmx_headers, login, text_of

PAGE = "/arca/parameters"
REFRESH = "/arca/parameters/refresh"
BUENOS_AIRES = ZoneInfo("America/Argentina/Buenos_Aires")


@dataclass
class Shop:
    organization_id: int
    cuit: str
    client: FlaskClient


@pytest.fixture
def shop(app: Flask) -> Iterator[Shop]:
    """An organization whose owner is logged in; no certificate yet. Faults are cleared after."""
    with app.app_context():
        owner = make_user(email="ana@example.com", name="Ana")
        organization = make_organization(legal_name="Almacén Demo SRL")
        add_member(organization, owner, Role.OWNER)
        found = Shop(organization.id, organization.cuit, app.test_client())
    login(found.client, "ana@example.com")
    yield found
    with app.app_context():
        get_arca().sandbox().faults.clear()


@pytest.fixture
def certified(app: Flask, shop: Shop) -> Shop:
    """The shop with an active certificate from the sandbox's CA."""
    with app.app_context():
        organization = db.session.get(Organization, shop.organization_id)
        assert organization is not None
        environment = get_arca().environment_name
        certificate = generate_request(
            db.session, organization, None, environment, "parametros", get_keyring()
        )
        issue_with_sandbox_ca(db.session, organization, None, certificate, get_arca())
    return shop


def stored_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ParameterTable)) or 0


def flush_cache() -> None:
    for name in PARAMETER_NAMES:
        get_cache().delete(cache_key(get_arca().environment_name, name))


def refresh_as_htmx(client: FlaskClient) -> tuple[int, str, str]:
    token = csrf_token(client, PAGE)
    response = client.post(REFRESH, headers=htmx_headers(token))
    return response.status_code, response.get_data(as_text=True), text_of(response)


def test_refresh_stores_the_six_tables_and_caches_them(app: Flask, certified: Shop) -> None:
    with app.app_context():
        result = refresh_parameters(db.session, certified.organization_id, get_arca())
        assert result.environment == "sandbox"
        assert set(result.counts) == set(ParameterName)
        assert all(count > 0 for count in result.counts.values())
        stored = {t.name: t for t in db.session.scalars(select(ParameterTable))}
        assert set(stored) == {str(name) for name in ParameterName}
        assert {t.environment for t in stored.values()} == {"sandbox"}
        assert {row["id"] for row in stored["currencies"].rows} >= {"PES", "DOL", "060"}
        vat = {row["id"]: row["description"] for row in stored["vat_rates"].rows}
        assert vat[5] == "21%"
        conditions = {row["id"]: row for row in stored["receiver_iva_conditions"].rows}
        assert conditions[5]["voucher_classes"] == ["B", "C", "49"]
        for name in ParameterName:
            assert get_cache().get(cache_key("sandbox", name)) is not None
            assert len(stored[name].rows) == result.counts[name]


def test_reads_come_from_the_cache_then_the_database_then_the_defaults(
    app: Flask, certified: Shop
) -> None:
    with app.app_context():
        result = refresh_parameters(db.session, certified.organization_id, get_arca())
        # The database changes behind the cache's back: the cache still answers.
        stored = db.session.scalars(
            select(ParameterTable).where(ParameterTable.name == "vat_rates")
        ).one()
        stored.rows = [{"id": 5, "description": "21% (guardado)", "valid_from": None}]
        db.session.commit()
        cached = parameter_table(ParameterName.VAT_RATES)
        assert cached.source == "arca" and cached.fetched_at == result.fetched_at
        assert "21%" in [row.description for row in cached.rows]

        flush_cache()
        from_database = parameter_table("vat_rates")
        assert from_database.source == "arca"
        assert [row.description for row in from_database.rows] == ["21% (guardado)"]
        assert from_database.fetched_at == result.fetched_at
        assert get_cache().get(cache_key("sandbox", ParameterName.VAT_RATES)) is not None

        db.session.execute(delete(ParameterTable))
        db.session.commit()
        assert parameter_table("vat_rates").source == "arca"  # still cached for the hour
        flush_cache()
        defaults = parameter_table(ParameterName.VAT_RATES)
        assert defaults.source == "defaults" and defaults.fetched_at is None
        assert defaults.rows == default_parameters()[ParameterName.VAT_RATES]
        assert get_cache().get(cache_key("sandbox", ParameterName.VAT_RATES)) is None
        # Tables are per environment: another one has nothing stored.
        assert parameter_table("currencies", "produccion").source == "defaults"


def test_unknown_table_name_is_refused(app: Flask) -> None:
    with app.app_context(), pytest.raises(ValueError):
        parameter_table("colores")


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (wsaa_unavailable(), "El servicio de autenticación de ARCA (WSAA) no responde"),
        # The fourth of six calls fails: the three answers already in hand are not stored.
        (http_500("wsfe", "FEParamGetTiposMonedas"), "No pudimos actualizar las tablas de ARCA"),
    ],
)
def test_arca_down_keeps_the_defaults_writes_nothing_and_says_so(
    app: Flask, certified: Shop, fault: Fault, message: str
) -> None:
    with app.app_context():
        get_arca().sandbox().faults.add(fault)
    status, body, text = refresh_as_htmx(certified.client)
    assert status == 503
    assert body.lstrip().startswith('<div id="arca-parameters"')
    assert "No pudimos actualizar las tablas de ARCA" in text and message in text
    assert body.count('data-source="defaults"') == len(PARAMETER_NAMES)
    assert "Factura A" in text and "Consumidor Final" in text
    with app.app_context():
        assert stored_count() == 0
        assert get_cache().get(cache_key("sandbox", ParameterName.CURRENCIES)) is None


def test_a_failed_refresh_keeps_what_arca_said_before(app: Flask, certified: Shop) -> None:
    with app.app_context():
        before = refresh_parameters(db.session, certified.organization_id, get_arca())
        get_arca().sandbox().faults.add(http_500("wsfe", "FEParamGetTiposDoc"))
        with pytest.raises(ParametersUnavailable):
            refresh_parameters(db.session, certified.organization_id, get_arca())
        db.session.rollback()
        flush_cache()
        fetched = {t.fetched_at for t in db.session.scalars(select(ParameterTable))}
        assert fetched == {before.fetched_at}
        assert parameter_table("document_types").source == "arca"


def test_page_and_fragment_show_the_defaults_before_any_refresh(shop: Shop) -> None:
    page = shop.client.get(PAGE)
    assert page.status_code == 200
    assert "HX-Request" in page.headers["Vary"]
    html = page.get_data(as_text=True)
    assert "<html" in html and 'id="arca-parameters"' in html
    assert "Actualizar desde ARCA" in text_of(page)
    assert html.count('data-source="defaults"') == len(PARAMETER_NAMES)
    assert "Valores de fábrica" in text_of(page)
    fragment = shop.client.get(PAGE, headers=htmx_headers())
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="arca-parameters"')
    assert "<html" not in body
    for code in ("Factura A", "CUIT", "21%", "Pesos Argentinos", "Consumidor Final", "IIBB"):
        assert code in text_of(fragment)


def test_refresh_with_htmx_rerenders_the_tables_from_arca(app: Flask, certified: Shop) -> None:
    status, body, text = refresh_as_htmx(certified.client)
    assert status == 200, text
    assert body.lstrip().startswith('<div id="arca-parameters"')
    assert body.count('data-source="arca"') == len(PARAMETER_NAMES)
    assert "Valores de fábrica" not in text
    with app.app_context():
        fetched_at = db.session.scalars(select(ParameterTable.fetched_at)).first()
    assert fetched_at is not None
    shown = fetched_at.astimezone(BUENOS_AIRES).strftime("%d/%m/%Y %H:%M")
    assert f"ARCA, actualizado el {shown}" in text
    assert "Actualizamos las 6 tablas desde ARCA" in text


def test_refresh_without_htmx_redirects_with_a_flash(app: Flask, certified: Shop) -> None:
    token = csrf_token(certified.client, PAGE)
    response = certified.client.post(REFRESH, data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(PAGE)
    page = certified.client.get(PAGE)
    assert "Actualizamos las 6 tablas desde ARCA" in text_of(page)
    assert 'data-source="defaults"' not in page.get_data(as_text=True)


def test_refresh_without_a_certificate_says_what_to_do(app: Flask, shop: Shop) -> None:
    status, body, text = refresh_as_htmx(shop.client)
    assert status == 409
    assert body.lstrip().startswith('<div id="arca-parameters"')
    assert "Todavía no hay un certificado activo" in text
    assert "Valores de fábrica" in text


def test_a_member_sees_the_tables_but_cannot_refresh(app: Flask, certified: Shop) -> None:
    with app.app_context():
        organization = db.session.get(Organization, certified.organization_id)
        assert organization is not None
        add_member(organization, make_user(email="beto@example.com"), Role.MEMBER)
    member = app.test_client()
    login(member, "beto@example.com")
    page = member.get(PAGE)
    assert page.status_code == 200
    assert "Actualizar desde ARCA" not in text_of(page)
    token = csrf_token(member, PAGE)
    refused = member.post(REFRESH, headers=htmx_headers(token))
    assert refused.status_code == 403
    with app.app_context():
        assert stored_count() == 0


def test_anonymous_visitors_are_sent_to_log_in(app: Flask) -> None:
    response = app.test_client().get(PAGE)
    assert response.status_code in (302, 303)
    assert "/auth/login" in response.headers["Location"]


def test_cli_refreshes_as_the_organization(app: Flask, certified: Shop) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["arca", "refresh-parameters", "--organization", format_cuit(certified.cuit)]
    )
    assert result.exit_code == 0, result.output
    assert "Parameters for sandbox" in result.output
    assert "vat_rates: 6 rows" in result.output
    for name in PARAMETER_NAMES:
        assert f"  {name}: " in result.output
    with app.app_context():
        assert stored_count() == len(PARAMETER_NAMES)


def test_cli_refuses_an_unknown_cuit_and_reports_arca_errors(app: Flask, certified: Shop) -> None:
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["arca", "refresh-parameters", "--organization", "20-1-2"])
    assert unknown.exit_code == 2
    assert "no organization has CUIT 20-1-2" in unknown.output
    with app.app_context():
        get_arca().sandbox().faults.add(wsaa_unavailable())
    failed = runner.invoke(args=["arca", "refresh-parameters", "--organization", certified.cuit])
    assert failed.exit_code == 1
    assert "No pudimos actualizar las tablas de ARCA" in failed.output
    with app.app_context():
        assert stored_count() == 0


def test_fetched_at_is_aware(app: Flask, certified: Shop) -> None:
    with app.app_context():
        result = refresh_parameters(db.session, certified.organization_id, get_arca())
        assert result.fetched_at.tzinfo is not None
        flush_cache()
        assert parameter_table("tax_types").fetched_at == result.fetched_at
        assert abs(result.fetched_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
