"""Points of sale: page and fragments, sync and last numbers against the sandbox, by hand."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from arca.codes import IssuerCondition
from arca.sandbox import drop_before, http_500
from arca.wsfe import CaeRequest
from blueprints.audit.models import AuditEvent
from blueprints.certificates.connection import arca_client
from blueprints.certificates.services import generate_request, issue_with_sandbox_ca
from blueprints.organizations.models import Organization, Role
from blueprints.points_of_sale.models import PointOfSale, VoucherCounter
from core.arca import get_arca
from core.crypto import get_keyring
from core.db import db
from tests.factories import add_member, make_organization, make_user
from tests.integration.arca.conftest import factura_b
from tests.web import csrf_token, htmx_headers, login, text_of

PAGE = "/points-of-sale/"


def client_for(app: Flask, role: Role = Role.OWNER, condition: str | None = None) -> FlaskClient:
    """Ana, with `role` in Almacén Demo SRL (Responsable Inscripto unless told otherwise)."""
    with app.app_context():
        ana = make_user(email="ana@example.com", name="Ana")
        organization = make_organization(
            legal_name="Almacén Demo SRL",
            condition=IssuerCondition(condition or IssuerCondition.RESPONSABLE_INSCRIPTO),
        )
        add_member(organization, ana, role)
    client = app.test_client()
    login(client, "ana@example.com")
    return client


@pytest.fixture
def owner(app: Flask) -> FlaskClient:
    return client_for(app)


@pytest.fixture
def sandbox(app: Flask) -> Iterator[None]:
    """Faults a test adds never outlive it."""
    yield
    with app.app_context():
        get_arca().sandbox().faults.clear()


def the_organization() -> Organization:
    return db.session.scalars(select(Organization)).one()


def with_certificate(app: Flask) -> None:
    """An active certificate from the sandbox CA, as 'Emitir con la CA de prueba' does."""
    with app.app_context():
        organization = the_organization()
        gateway = get_arca()
        certificate = generate_request(
            db.session, organization, None, gateway.environment_name, "prueba", get_keyring()
        )
        issue_with_sandbox_ca(db.session, organization, None, certificate, gateway)


def post(client: FlaskClient, path: str, data: dict[str, object] | None = None) -> TestResponse:
    """As htmx posts: the token in the header, the form fields in the body."""
    return client.post(path, data=data or {}, headers=htmx_headers(csrf_token(client, PAGE)))


def add_by_hand(client: FlaskClient, number: object, **fields: str) -> TestResponse:
    return post(client, f"{PAGE}add", {"number": number, **fields})


def point(number: int) -> PointOfSale:
    return db.session.scalars(select(PointOfSale).where(PointOfSale.number == number)).one()


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def starts_with(response: TestResponse, prefix: str) -> bool:
    return response.get_data(as_text=True).lstrip().startswith(prefix)


def test_page_and_fragment(app: Flask, owner: FlaskClient) -> None:
    page = owner.get(PAGE)
    assert page.status_code == 200
    assert "<html" in page.get_data(as_text=True)
    assert "HX-Request" in page.headers["Vary"]
    assert "Todavía no hay puntos de venta" in text_of(page)
    assert "Sincronizar con ARCA" in text_of(page) and "Agregar a mano" in text_of(page)
    fragment = owner.get(PAGE, headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)
    assert starts_with(fragment, '<div id="points-of-sale"')
    assert "HX-Request" in fragment.headers["Vary"]


def test_sync_against_the_sandbox(app: Flask, owner: FlaskClient) -> None:
    assert 'class="step " id="setup-step-point_of_sale"' in owner.get("/").get_data(as_text=True)
    with_certificate(app)
    response = post(owner, f"{PAGE}sync")
    assert response.status_code == 200, text_of(response)
    assert starts_with(response, '<div id="points-of-sale"')
    # The sandbox's five CAE points of sale and its CAEA (contingency) one, 6.
    assert "ARCA informó 6 puntos de venta; 6 nuevos en la lista." in text_of(response)
    assert all(f"0000{n}" in text_of(response) for n in range(1, 7))
    with app.app_context():
        points = db.session.scalars(select(PointOfSale).order_by(PointOfSale.number)).all()
        assert [p.number for p in points] == [1, 2, 3, 4, 5, 6]
        regimes = {(p.emission_type.split()[0], p.blocked, p.closed_on) for p in points}
        assert regimes == {("CAE", False, None), ("CAEA", False, None)}
        assert all(p.synced_at is not None for p in points)
        assert "points_of_sale.sync" in db.session.scalars(select(AuditEvent.action)).all()
    again = post(owner, f"{PAGE}sync")
    assert "0 nuevos" in text_of(again)
    page = owner.get(PAGE)
    assert "Última sincronización con ARCA" in text_of(page)
    assert "No figura en ARCA" not in text_of(page)
    assert 'class="step is-done" id="setup-step-point_of_sale"' in owner.get("/").get_data(
        as_text=True
    )


def test_sync_without_javascript_redirects_with_a_flash(app: Flask, owner: FlaskClient) -> None:
    with_certificate(app)
    token = csrf_token(owner, PAGE)
    response = owner.post(f"{PAGE}sync", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(PAGE)
    assert "ARCA informó 6 puntos de venta" in text_of(owner.get(PAGE))


def test_add_by_hand_and_duplicates_refused(app: Flask, owner: FlaskClient) -> None:
    response = add_by_hand(owner, 7, name="Local centro", address="Av. Corrientes 1234, CABA")
    assert response.status_code == 200, text_of(response)
    assert starts_with(response, '<div id="points-of-sale"')
    assert "Agregaste el punto de venta 00007." in text_of(response)
    assert "Local centro" in text_of(response) and "Nunca: lo agregaste a mano" in text_of(response)
    duplicate = add_by_hand(owner, 7, name="Otro")
    assert duplicate.status_code == 422
    assert starts_with(duplicate, '<div id="points-of-sale"')
    assert "El punto de venta 00007 ya está en la lista." in text_of(duplicate)
    for bad, message in [(0, "El número va de 1 a 99999."), ("", "Escribí el número")]:
        refused = add_by_hand(owner, bad)
        assert refused.status_code == 422
        assert message in text_of(refused)
    with app.app_context():
        stored = point(7)
        assert (stored.name, stored.address, stored.synced_at) == (
            "Local centro",
            "Av. Corrientes 1234, CABA",
            None,
        )
        assert count(PointOfSale) == 1
        assert "point_of_sale.add" in db.session.scalars(select(AuditEvent.action)).all()


def test_a_number_arca_does_not_list_is_marked_after_a_sync(app: Flask, owner: FlaskClient) -> None:
    add_by_hand(owner, 42)
    assert "No figura en ARCA" not in text_of(owner.get(PAGE))
    with_certificate(app)
    post(owner, f"{PAGE}sync")
    with app.app_context():
        unlisted = point(42).id
        listed = point(1).id
    page = owner.get(PAGE).get_data(as_text=True)
    card = page.split(f'id="point-of-sale-{unlisted}"')[1].split("</article>")[0]
    assert "No figura en ARCA" in card
    other = page.split(f'id="point-of-sale-{listed}"')[1].split("</article>")[0]
    assert "No figura en ARCA" not in other


def test_edit_name_and_address(app: Flask, owner: FlaskClient) -> None:
    add_by_hand(owner, 3)
    with app.app_context():
        point_id = point(3).id
    prefix = f"point-{point_id}-"
    response = post(
        owner,
        f"{PAGE}{point_id}/edit",
        {prefix + "name": " Sucursal Norte ", prefix + "address": "San Martín 50, Rosario"},
    )
    assert response.status_code == 200
    assert starts_with(
        response, f'<article class="card point-of-sale" id="point-of-sale-{point_id}"'
    )
    assert "<html" not in response.get_data(as_text=True)
    assert "Guardamos el punto de venta 00003." in text_of(response)
    assert "San Martín 50, Rosario" in text_of(response)
    with app.app_context():
        assert (point(3).name, point(3).address) == ("Sucursal Norte", "San Martín 50, Rosario")
    cleared = post(owner, f"{PAGE}{point_id}/edit", {prefix + "name": "", prefix + "address": ""})
    assert "El de la organización" in text_of(cleared)
    too_long = post(owner, f"{PAGE}{point_id}/edit", {prefix + "address": "x" * 301})
    assert too_long.status_code == 422
    assert '<details class="point-edit" open>' in too_long.get_data(as_text=True)
    with app.app_context():
        assert point(3).address is None


def counters_of(number: int) -> dict[int, int]:
    query = select(VoucherCounter.invoice_type, VoucherCounter.last_number).join(
        PointOfSale, VoucherCounter.point_of_sale_id == PointOfSale.id
    )
    return {row[0]: row[1] for row in db.session.execute(query.where(PointOfSale.number == number))}


def authorize_factura_b(app: Flask, point_of_sale: int, number: int) -> None:
    with app.app_context():
        gateway = get_arca()
        detail = factura_b(number, gateway.now().date())
        with arca_client(db.session, the_organization().id, gateway) as arca:
            answer = arca.wsfe.authorize(CaeRequest(point_of_sale, 6, [detail]))
        assert answer.details[0].result == "A", answer


def test_refresh_last_authorized_numbers(app: Flask, owner: FlaskClient) -> None:
    with_certificate(app)
    post(owner, f"{PAGE}sync")
    with app.app_context():
        point_id = point(1).id
    before = owner.get(PAGE)
    assert "Sin consultar" in text_of(before)
    response = post(owner, f"{PAGE}{point_id}/refresh")
    assert response.status_code == 200, text_of(response)
    assert starts_with(
        response, f'<article class="card point-of-sale" id="point-of-sale-{point_id}"'
    )
    assert "ARCA informó los últimos números de 00001." in text_of(response)
    assert "Factura A" in text_of(response) and "Nota de Crédito B" in text_of(response)
    assert text_of(response).count("próximo: 1") == 6
    with app.app_context():
        assert counters_of(1) == {1: 0, 2: 0, 3: 0, 6: 0, 7: 0, 8: 0}
        first_check = db.session.scalar(select(func.max(VoucherCounter.checked_at)))
    authorize_factura_b(app, 1, 1)
    again = post(owner, f"{PAGE}{point_id}/refresh")
    assert "próximo: 2" in text_of(again)
    with app.app_context():
        assert counters_of(1)[6] == 1
        assert count(VoucherCounter) == 6
        assert db.session.scalar(select(func.min(VoucherCounter.checked_at))) >= first_check


def test_a_monotributista_follows_class_c(app: Flask) -> None:
    client = client_for(app, condition=IssuerCondition.MONOTRIBUTO)
    with_certificate(app)
    post(client, f"{PAGE}sync")
    with app.app_context():
        point_id = point(2).id
    response = post(client, f"{PAGE}{point_id}/refresh")
    assert "Factura C" in text_of(response) and "Factura A" not in text_of(response)
    with app.app_context():
        assert counters_of(2) == {11: 0, 12: 0, 13: 0}


@pytest.mark.usefixtures("sandbox")
def test_arca_failures_change_nothing(app: Flask, owner: FlaskClient) -> None:
    with_certificate(app)
    post(owner, f"{PAGE}sync")
    add_by_hand(owner, 42)
    with app.app_context():
        get_arca().sandbox().faults.add(drop_before("wsfe", "FEParamGetPtosVenta"))
        synced = {p.number: p.synced_at for p in db.session.scalars(select(PointOfSale))}
        events = count(AuditEvent)
    failed = post(owner, f"{PAGE}sync")
    assert failed.status_code == 502
    assert starts_with(failed, '<div id="points-of-sale"')
    assert "ARCA no responde en este momento." in text_of(failed)
    with app.app_context():
        assert {p.number: p.synced_at for p in db.session.scalars(select(PointOfSale))} == synced
        assert count(AuditEvent) == events
        point_id, unlisted_id = point(1).id, point(42).id
        # The second of the six questions fails: the first answer is not kept either.
        get_arca().sandbox().faults.add(http_500("wsfe", "FECompUltimoAutorizado", every=2))
    refused = post(owner, f"{PAGE}{point_id}/refresh")
    assert refused.status_code == 502
    assert starts_with(
        refused, f'<article class="card point-of-sale" id="point-of-sale-{point_id}"'
    )
    assert "ARCA respondió con un error" in text_of(refused)
    not_enabled = post(owner, f"{PAGE}{unlisted_id}/refresh")
    assert not_enabled.status_code == 502
    assert "11002" in text_of(not_enabled)
    with app.app_context():
        assert count(VoucherCounter) == 0


def test_without_a_certificate_arca_is_not_called(app: Flask, owner: FlaskClient) -> None:
    add_by_hand(owner, 1)
    with app.app_context():
        point_id = point(1).id
    response = post(owner, f"{PAGE}sync")
    assert response.status_code == 409
    assert "Todavía no hay un certificado activo" in text_of(response)
    refresh = post(owner, f"{PAGE}{point_id}/refresh")
    assert refresh.status_code == 409
    with app.app_context():
        assert point(1).synced_at is None and count(VoucherCounter) == 0


def test_a_member_sees_but_cannot_change(app: Flask) -> None:
    member = client_for(app, Role.MEMBER)
    with app.app_context():
        organization = the_organization()
        db.session.add(PointOfSale(organization_id=organization.id, number=4))
        db.session.commit()
        point_id = point(4).id
    page = member.get(PAGE)
    assert page.status_code == 200 and "00004" in text_of(page)
    assert "Sincronizar con ARCA" not in text_of(page) and "Agregar a mano" not in text_of(page)
    assert "Editar nombre y domicilio" not in text_of(page)
    assert post(member, f"{PAGE}sync").status_code == 403
    assert add_by_hand(member, 9).status_code == 403
    edit = post(member, f"{PAGE}{point_id}/edit", {f"point-{point_id}-name": "Mío"})
    assert edit.status_code == 403
    # Asking ARCA for the last numbers is open to every member (here: no certificate yet).
    assert post(member, f"{PAGE}{point_id}/refresh").status_code == 409
    with app.app_context():
        assert count(PointOfSale) == 1 and point(4).name is None
