"""Helpers for API tests: a key for an organization, and its Authorization header."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient

from blueprints.api.models import SCOPES
from blueprints.api.services import KeyRequest, create_api_key
from core.db import db

ALL_SCOPES = SCOPES


def make_api_key(
    app: Flask,
    organization_id: int,
    scopes: tuple[str, ...] | list[str] = ALL_SCOPES,
    *,
    name: str = "Integración de prueba",
    rate_limit: int = 10_000,
    expires_on: dt.date | None = None,
) -> str:
    """A new key of the organization with these scopes; returns its secret (`tal_…`)."""
    request = KeyRequest(
        name=name, scopes=tuple(scopes), expires_on=expires_on, rate_limit=rate_limit
    )
    with app.app_context():
        environment = app.config["ARCA_ENVIRONMENT"]
        _key, secret = create_api_key(db.session, organization_id, None, request, environment)
    return secret


class Api:
    """A test client that sends one key's bearer header with every request."""

    def __init__(self, app: Flask, secret: str) -> None:
        self.client: FlaskClient = app.test_client()
        self.secret = secret

    def get(self, url: str, **params: Any) -> Any:
        return self.client.get(url, query_string=params, headers=bearer(self.secret))

    def post(self, url: str, json: Any = None, **headers: str) -> Any:
        return self.client.post(url, json=json, headers=bearer(self.secret, **headers))

    def patch(self, url: str, json: Any = None, **headers: str) -> Any:
        return self.client.patch(url, json=json, headers=bearer(self.secret, **headers))

    def delete(self, url: str) -> Any:
        return self.client.delete(url, headers=bearer(self.secret))


def bearer(secret: str, **headers: str) -> dict[str, str]:
    """`Authorization: Bearer …` (plus any other headers, e.g. Accept-Language)."""
    return {
        "Authorization": f"Bearer {secret}",
        **{k.replace("_", "-"): v for k, v in headers.items()},
    }


class HttpResponse:
    """A `requests` response read through the names Flask's test responses use."""

    def __init__(self, response: requests.Response) -> None:
        self.status_code = response.status_code
        self.headers = response.headers
        self.data = response.content
        self.text = response.text
        self.content_type = response.headers.get("Content-Type", "")
        self.mimetype = self.content_type.split(";")[0].strip()

    def get_json(self) -> Any:
        return json.loads(self.data)


class HttpClient:
    """A client over a real HTTP server, with the test client's call shapes (paths relative to
    the server's origin; `json`, `data`, `headers`, `query_string`)."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.session = requests.Session()

    def open(self, method: str, path: str, **kwargs: Any) -> HttpResponse:
        if "query_string" in kwargs:
            kwargs["params"] = kwargs.pop("query_string")
        response = self.session.request(method, self.origin + path, timeout=60, **kwargs)
        return HttpResponse(response)

    def get(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.open("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.open("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.open("PATCH", path, **kwargs)


PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """A problem-details answer with this status, a title and a detail; its body."""
    assert response.status_code == status, response.text
    assert response.content_type == PROBLEM
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def fields_in(problem: dict[str, Any]) -> list[str]:
    return [error["field"] for error in problem.get("errors") or []]
