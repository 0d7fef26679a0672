"""API keys and bearer authentication: the page, scopes, revoke, expiry, cookies, rate limits,
problem details, the OpenAPI document and the reference page."""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import re

import pytest
import redis
import requests
from flask import Flask, Response, g
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select

from blueprints.api import schemas
from blueprints.api.auth import api_actor
from blueprints.api.limits import SCRATCH_RETRY_AFTER, finish_headers
from blueprints.api.models import ApiKey, ApiKeyUsage
from blueprints.api.problems import handle_domain_error, validation_problem
from blueprints.api.services import (
    KeyIdentity,
    KeyRequest,
    cache_key,
    create_api_key,
    hash_secret,
    resolve_secret,
)
from blueprints.api.usage import usage_by_day
from blueprints.audit.models import AuditEvent
from blueprints.audit.services import record_event
from blueprints.organizations.models import Role
from core.cache import get_cache
from core.db import db, utcnow
from core.errors import NotFound, TooManyRequests, ValidationFailed
from tests.api import ALL_SCOPES, bearer, make_api_key
from tests.factories import add_member, make_organization, make_user
from tests.web import csrf_token, login, text_of

ORGANIZATION = "/api/v1/organization"
SECRET = re.compile(r"tal_[A-Za-z0-9_-]{43}")


def organization_id(app: Flask, legal_name: str = "Propia SRL") -> int:
    with app.app_context():
        return make_organization(owner=make_user(), legal_name=legal_name).id


def owner_client(app: Flask, role: Role = Role.OWNER) -> tuple[object, int]:
    """A browser-like client logged in as someone with `role` in a new organization."""
    with app.app_context():
        user = make_user()
        organization = make_organization(legal_name="Propia SRL")
        add_member(organization, user, role)
        db.session.commit()
        email, org_id = user.email, organization.id
    client = app.test_client()
    login(client, email)
    return client, org_id


def create_on_page(client, **fields: object):  # type: ignore[no-untyped-def]
    data = {"name": "Tienda online", "scopes": ["organization:read"], "rate_limit": "120"}
    data.update(fields)
    token = csrf_token(client, "/organizations/api")
    return client.post("/organizations/api/keys", data={"csrf_token": token, **data})


def assert_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["type"] == "about:blank"
    return body


# --- the page ------------------------------------------------------------------------------


def test_a_key_made_on_the_page_shows_its_secret_once_and_works(app: Flask) -> None:
    client, org_id = owner_client(app)
    response = create_on_page(client, scopes=["organization:read", "invoices:read"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    secrets_shown = SECRET.findall(response.get_data(as_text=True))
    assert len(set(secrets_shown)) == 1
    secret = secrets_shown[0]
    page = client.get("/organizations/api").get_data(as_text=True)
    assert secret not in page and secret[:12] in page and "Tienda online" in page
    with app.app_context():
        key = db.session.scalar(select(ApiKey))
        assert key is not None
        assert key.secret_hash == hash_secret(secret) and secret not in str(key.__dict__)
        assert key.scopes == ["organization:read", "invoices:read"]
        assert key.environment == "sandbox" and key.rate_limit == 120
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_key.created"))
        assert event is not None and event.user_id is not None and "@" in event.actor
    api = app.test_client().get(ORGANIZATION, headers=bearer(secret))
    assert api.status_code == 200 and api.get_json()["id"] == org_id


def test_the_page_refuses_bad_input_with_422(app: Flask) -> None:
    client, _org = owner_client(app)
    response = create_on_page(client, name="", scopes=[], expires_on="2001-01-01")
    assert response.status_code == 422
    text = text_of(response)
    assert "Poné un nombre" in text and "Elegí al menos un permiso" in text
    assert not SECRET.search(response.get_data(as_text=True))


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ACCOUNTANT])
def test_only_owners_and_admins_manage_keys(app: Flask, role: Role) -> None:
    client, _org = owner_client(app, role)
    assert client.get("/organizations/api").status_code == 403


def test_an_admin_manages_keys(app: Flask) -> None:
    client, _org = owner_client(app, Role.ADMIN)
    assert client.get("/organizations/api").status_code == 200


def test_a_key_of_another_organization_cannot_be_revoked(app: Flask) -> None:
    client, _org = owner_client(app)
    other = make_api_key(app, organization_id(app, "Ajena SA"))
    with app.app_context():
        other_id = db.session.scalar(select(ApiKey.id))
    token = csrf_token(client, "/organizations/api")
    response = client.post(f"/organizations/api/keys/{other_id}/revoke", data={"csrf_token": token})
    assert response.status_code == 404
    assert app.test_client().get(ORGANIZATION, headers=bearer(other)).status_code == 200


# --- authentication ------------------------------------------------------------------------


def test_a_key_reads_only_its_own_organization(app: Flask) -> None:
    own = make_api_key(app, organization_id(app, "Propia SRL"), ["organization:read"])
    other = make_api_key(app, organization_id(app, "Ajena SA"), ["organization:read"])
    client = app.test_client()
    body = client.get(ORGANIZATION, headers=bearer(own)).get_json()
    assert body["legal_name"] == "Propia SRL"
    assert body["key"] == {
        "name": "Integración de prueba",
        "prefix": own[:12],
        "scopes": ["organization:read"],
        "environment": "sandbox",
        "rate_limit": 10_000,
        "expires_at": None,
    }
    assert body["iva_condition"]["code"] == "responsable_inscripto"
    assert body["certificate"] is None and body["arca_environment"] == "sandbox"
    assert client.get(ORGANIZATION, headers=bearer(other)).get_json()["legal_name"] == "Ajena SA"


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer tal_nope", "Basic dXNlcjpwYXNz", "Bearer tal_" + "A" * 43],
)
def test_missing_or_unknown_keys_get_401(app: Flask, authorization: str) -> None:
    response = app.test_client().get(ORGANIZATION, headers={"Authorization": authorization})
    body = assert_problem(response, 401)
    assert "Bearer" in body["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_key_without_the_scope_gets_403(app: Flask) -> None:
    secret = make_api_key(app, organization_id(app), ["invoices:read"])
    body = assert_problem(app.test_client().get(ORGANIZATION, headers=bearer(secret)), 403)
    assert "organization:read" in body["detail"]


def test_a_revoked_key_gets_401_on_its_next_request_even_with_the_cache_warm(
    app: Flask, redis_url: str
) -> None:
    client, _org = owner_client(app)
    secret = SECRET.findall(create_on_page(client).get_data(as_text=True))[0]
    api = app.test_client()
    assert api.get(ORGANIZATION, headers=bearer(secret)).status_code == 200
    cached = app.config["CACHE_KEY_PREFIX"] + cache_key(hash_secret(secret))
    with redis.Redis.from_url(redis_url) as connection:
        assert connection.exists(cached)  # the validation is cached in Redis
        with app.app_context():
            key_id = db.session.scalar(select(ApiKey.id))
        token = csrf_token(client, "/organizations/api")
        revoked = client.post(
            f"/organizations/api/keys/{key_id}/revoke", data={"csrf_token": token}
        )
        assert revoked.status_code == 303
        assert not connection.exists(cached)
    assert_problem(api.get(ORGANIZATION, headers=bearer(secret)), 401)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_key.revoked"))
        assert event is not None and event.user_id is not None
    assert "Revocada" in text_of(client.get("/organizations/api"))


def test_an_expired_key_gets_401(app: Flask) -> None:
    org_id = organization_id(app)
    long_ago = utcnow() - dt.timedelta(days=30)
    request = KeyRequest("Vieja", ("organization:read",), long_ago.date(), 120)
    with app.app_context():
        _key, secret = create_api_key(db.session, org_id, None, request, "sandbox", now=long_ago)
    assert_problem(app.test_client().get(ORGANIZATION, headers=bearer(secret)), 401)


def test_a_cached_key_still_stops_at_its_expiry(app: Flask) -> None:
    org_id = organization_id(app)
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    with app.app_context():
        request = KeyRequest("Corta", ("organization:read",), tomorrow, 120)
        _key, secret = create_api_key(db.session, org_id, None, request, "sandbox")
        now = utcnow()
        assert isinstance(resolve_secret(db.session, get_cache(), secret, now), KeyIdentity)
        assert get_cache().get(cache_key(hash_secret(secret))) is not None
        assert resolve_secret(db.session, get_cache(), secret, now + dt.timedelta(days=3)) is None


def test_a_browser_session_never_authenticates_the_api(app: Flask) -> None:
    client, _org = owner_client(app)
    assert client.get("/organizations/api").status_code == 200  # logged in for the pages
    assert_problem(client.get(ORGANIZATION), 401)
    # No CSRF token either: an unknown method is a 405 problem, not a CSRF page.
    assert_problem(client.post(ORGANIZATION), 405)


def test_bearer_requests_need_no_csrf_token(app: Flask) -> None:
    secret = make_api_key(app, organization_id(app))
    response = app.test_client().post(ORGANIZATION, headers=bearer(secret))
    assert_problem(response, 405)


# --- rate limits ---------------------------------------------------------------------------


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(app: Flask) -> None:
    secret = make_api_key(app, organization_id(app), rate_limit=3)
    client = app.test_client()
    remaining = []
    for _ in range(3):
        response = client.get(ORGANIZATION, headers=bearer(secret))
        assert response.status_code == 200
        assert response.headers["RateLimit-Limit"] == "3"
        remaining.append(response.headers["RateLimit-Remaining"])
        assert "Retry-After" not in response.headers  # only on a 429
        assert 0 <= int(response.headers["RateLimit-Reset"]) <= 61
    assert remaining == ["2", "1", "0"]
    response = client.get(ORGANIZATION, headers=bearer(secret))
    body = assert_problem(response, 429)
    assert "3" in body["detail"]
    assert 0 < int(response.headers["Retry-After"]) <= 61
    assert response.headers["RateLimit-Remaining"] == "0"
    # Another key of the same organization has its own budget.
    other = make_api_key(app, organization_id(app, "Otra SA"), rate_limit=3)
    assert client.get(ORGANIZATION, headers=bearer(other)).status_code == 200


def test_a_views_own_retry_after_is_kept(app: Flask) -> None:
    """A 202's "poll again in 2 s" is not replaced by the rate limit window's end."""
    with app.test_request_context(ORGANIZATION):
        accepted = Response(status=202, headers={"Retry-After": "2", SCRATCH_RETRY_AFTER: "59"})
        assert finish_headers(accepted).headers["Retry-After"] == "2"
        assert SCRATCH_RETRY_AFTER not in accepted.headers


def test_an_address_failing_authentication_is_stopped(app: Flask) -> None:
    secret = make_api_key(app, organization_id(app))
    app.config["API_FAILED_AUTH_PER_MINUTE"] = 3
    try:
        client = app.test_client()
        guesser = {"REMOTE_ADDR": "203.0.113.9"}
        wrong = bearer("tal_" + "B" * 43)
        for _ in range(3):
            assert client.get(ORGANIZATION, headers=wrong, environ_base=guesser).status_code == 401
        response = client.get(ORGANIZATION, headers=wrong, environ_base=guesser)
        assert_problem(response, 429)
        assert int(response.headers["Retry-After"]) > 0
        # The address is stopped before any key is looked up; other addresses are not.
        assert (
            client.get(ORGANIZATION, headers=bearer(secret), environ_base=guesser).status_code
            == 429
        )
        other = {"REMOTE_ADDR": "203.0.113.10"}
        assert (
            client.get(ORGANIZATION, headers=bearer(secret), environ_base=other).status_code == 200
        )
    finally:
        app.config["API_FAILED_AUTH_PER_MINUTE"] = 20


# --- problems ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/", "/api", "/api/v2/organization"])
def test_unknown_api_paths_are_404_problems(app: Flask, path: str) -> None:
    client = app.test_client()
    assert_problem(client.get(path), 404)
    assert_problem(client.post(path), 404)  # not a CSRF refusal


def test_a_wrong_method_is_a_405_problem_with_allow(app: Flask) -> None:
    secret = make_api_key(app, organization_id(app))
    response = app.test_client().delete(ORGANIZATION, headers=bearer(secret))
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_problems_speak_the_clients_language(app: Flask) -> None:
    client = app.test_client()
    spanish = assert_problem(client.get(ORGANIZATION), 401)
    english = assert_problem(client.get(ORGANIZATION, headers={"Accept-Language": "en-US,en"}), 401)
    assert spanish["title"] == "No autenticado"
    assert english["title"] == "Not authenticated"
    assert english["detail"] != spanish["detail"]


class Line(BaseModel):
    quantity: int = Field(gt=0)
    description: str = Field(min_length=1)


class Draft(BaseModel):
    lines: list[Line]
    date: dt.date


@pytest.mark.parametrize(
    ("language", "expected"),
    [("es", "Tiene que ser mayor que 0."), ("en", "Must be greater than 0.")],
)
def test_validation_problems_list_each_field(app: Flask, language: str, expected: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Draft.model_validate({"lines": [{"quantity": 0, "description": ""}], "nope": 1})
    with app.test_request_context(ORGANIZATION, headers={"Accept-Language": language}):
        response = validation_problem(raised.value)
    body = assert_problem(response, 422)
    fields = {error["field"]: error["message"] for error in body["errors"]}
    assert set(fields) == {"lines.0.quantity", "lines.0.description", "date"}
    assert fields["lines.0.quantity"] == expected


def test_service_refusals_under_the_api_are_problems_naming_the_field(app: Flask) -> None:
    with app.test_request_context("/api/v1/customers", headers={"Accept-Language": "en"}):
        body = assert_problem(handle_domain_error(ValidationFailed("Bad CUIT", "document")), 422)
        assert body["detail"] == "Bad CUIT"
        assert body["errors"] == [{"field": "document", "message": "Bad CUIT"}]
        assert body["title"] == "Invalid data"
        assert "errors" not in assert_problem(handle_domain_error(NotFound("Gone")), 404)
        slow_down = handle_domain_error(TooManyRequests("Wait", retry_after=7))
        assert_problem(slow_down, 429)
        assert slow_down.headers["Retry-After"] == "7"


# --- audit and usage -----------------------------------------------------------------------


def test_actions_by_a_key_are_recorded_as_that_key(app: Flask) -> None:
    org_id = organization_id(app)
    secret = make_api_key(app, org_id, name="Tienda online")
    with app.test_request_context(ORGANIZATION, headers=bearer(secret)):
        key = db.session.scalar(select(ApiKey))
        assert key is not None
        g.api_key = KeyIdentity.of(key)
        record_event(db.session, org_id, "customer.created", api_actor(), ("customer", 1))
        db.session.commit()
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "customer.created"))
        assert event is not None
        assert event.actor == f"API: Tienda online ({secret[:12]}…)"
        assert event.user_id is None and event.details["api_key_id"] == key.id


def test_requests_are_counted_per_day_without_a_write_per_request(app: Flask) -> None:
    secret = make_api_key(app, organization_id(app))
    client = app.test_client()
    for _ in range(4):
        assert client.get(ORGANIZATION, headers=bearer(secret)).status_code == 200
    with app.app_context():
        key = db.session.scalar(select(ApiKey))
        assert key is not None and key.last_used_at is not None
        stored = db.session.scalars(select(ApiKeyUsage.count)).all()
        assert stored == [1]  # the first request flushed; the next ones wait in the cache
        series = usage_by_day(db.session, get_cache(), [key.id], utcnow())[key.id]
        assert len(series) == 14 and series[-1][1] == 4 and sum(n for _d, n in series) == 4


# --- the document and the reference --------------------------------------------------------


def test_the_openapi_document(app: Flask) -> None:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] == "Talonario API"
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key, tal_…",
    }
    assert "Problem" in document["components"]["schemas"]
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    ids = [operation["operationId"] for _p, _m, operation in operations]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    for path, method, operation in operations:
        assert path.startswith("/api/v1/")
        scopes = operation["security"][0]["bearer"]
        assert scopes and set(scopes) <= set(ALL_SCOPES), (path, method)
        for status in ("401", "403", "422", "429"):
            content = operation["responses"][status]["content"]
            assert content["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
    get_org = document["paths"][ORGANIZATION]["get"]
    assert get_org["security"] == [{"bearer": ["organization:read"]}]


def test_schema_names_are_unique() -> None:
    """The document names each model's schema by its class name: two alike, one is lost."""
    names: dict[str, str] = {}
    for module_info in pkgutil.iter_modules(schemas.__path__, "blueprints.api.schemas."):
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            defined_here = getattr(value, "__module__", None) == module.__name__
            if isinstance(value, type) and issubclass(value, BaseModel) and defined_here:
                assert name not in names, f"{name} in {module.__name__} and {names[name]}"
                names[name] = module.__name__


def test_the_reference_page(app: Flask) -> None:
    response = app.test_client().get("/api/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "style=" not in html and "<script>" not in html and "//cdn" not in html
    text = text_of(response)
    assert "GET /api/v1/organization" in text and "organization:read" in text
    assert "OrganizationOut" in text and "arca_environment" in text and "Problem" in text


# --- over a real HTTP server ---------------------------------------------------------------


def test_over_http_a_key_works_until_it_is_revoked(app: Flask, served: str) -> None:
    client, _org = owner_client(app)
    secret = SECRET.findall(create_on_page(client).get_data(as_text=True))[0]
    with requests.Session() as http:
        answer = http.get(served + ORGANIZATION, headers=bearer(secret), timeout=10)
        assert answer.status_code == 200 and answer.json()["legal_name"] == "Propia SRL"
        assert answer.headers["RateLimit-Limit"] == "120"
        with app.app_context():
            key_id = db.session.scalar(select(ApiKey.id))
        token = csrf_token(client, "/organizations/api")
        client.post(f"/organizations/api/keys/{key_id}/revoke", data={"csrf_token": token})
        refused = http.get(served + ORGANIZATION, headers=bearer(secret), timeout=10)
        assert refused.status_code == 401
        assert refused.headers["Content-Type"] == "application/problem+json"
        missing = http.get(served + "/api/v1/nope", timeout=10)
        assert missing.status_code == 404 and missing.json()["status"] == 404
