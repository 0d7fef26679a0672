"""Helpers for API tests: a key for an organization, and its Authorization header."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import requests
from flask import Flask

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
