"""`GET /api/v1/padron/{cuit}`: the same lookup as the customer form, as JSON; errors as problem
details."""

from __future__ import annotations

import pytest
from flask import Flask

from blueprints.certificates.services import generate_request, issue_with_sandbox_ca
from core.arca import get_arca
from core.crypto import get_keyring
from core.db import db
from tests.api import Api, assert_problem, make_api_key
from tests.factories import make_organization, make_user


@pytest.fixture
def api(app: Flask) -> Api:
    with app.app_context():
        owner = make_user()
        organization = make_organization(owner=owner)
        request = generate_request(db.session, organization, owner, "sandbox", "api", get_keyring())
        issue_with_sandbox_ca(db.session, organization, owner, request, get_arca())
        organization_id = organization.id
    return Api(app, make_api_key(app, organization_id, ["customers:read"]))


def test_a_cuit_gives_name_address_and_condition(api: Api):
    response = api.get("/api/v1/padron/30-71234567-1")
    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "TALLERES DEL PLATA S.A."
    assert body["iva_condition"] == 1 and body["active"] is True
    assert body["address"]["postal_code"] == "1043"
    assert body["looked_up_at"]
    again = api.get("/api/v1/padron/30712345671").get_json()
    assert again["looked_up_at"] == body["looked_up_at"]  # from the cache


def test_deceased_has_a_warning(api: Api):
    body = api.get("/api/v1/padron/27298765433").get_json()
    assert body["deceased_on"] == "2024-03-15" and not body["active"]
    assert "falleció" in body["warning"]


def test_unknown_cuit_is_a_404_problem(api: Api):
    problem = assert_problem(api.get("/api/v1/padron/20301112220"), 404)
    assert "20301112220" in problem["detail"]


def test_a_wrong_check_digit_is_a_422_problem(api: Api):
    assert_problem(api.get("/api/v1/padron/30712345672"), 422)


def test_without_a_certificate_is_a_409_problem(app: Flask):
    with app.app_context():
        organization_id = make_organization(owner=make_user()).id
    api = Api(app, make_api_key(app, organization_id, ["customers:read"]))
    assert_problem(api.get("/api/v1/padron/30712345671"), 409)


def test_the_operation_is_in_the_openapi_document(app: Flask):
    spec = app.test_client().get("/api/v1/openapi.json")
    if spec.status_code != 200:
        spec = app.test_client().get("/openapi/openapi.json")
    paths = spec.get_json()["paths"]
    operation = paths["/api/v1/padron/{cuit}"]["get"]
    assert operation["operationId"] == "get_padron"
    assert {"200", "404", "409", "503"} <= set(operation["responses"])
