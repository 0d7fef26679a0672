"""The API on the embedded default: SQLite, the in-process cache and in-memory rate limits."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from blueprints.api.models import ApiKey, ApiKeyUsage
from core.db import db
from tests.api import bearer, make_api_key
from tests.factories import make_organization, make_user

pytestmark = pytest.mark.embedded


def test_keys_limits_and_usage_on_sqlite(embedded_app: Flask) -> None:
    with embedded_app.app_context():
        organization_id = make_organization(owner=make_user(), legal_name="Ana García").id
    secret = make_api_key(embedded_app, organization_id, rate_limit=2)
    client = embedded_app.test_client()
    for _ in range(2):
        response = client.get("/api/v1/organization", headers=bearer(secret))
        assert response.status_code == 200
        assert response.get_json()["legal_name"] == "Ana García"
    limited = client.get("/api/v1/organization", headers=bearer(secret))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    with embedded_app.app_context():
        assert db.engine.dialect.name == "sqlite"
        key = db.session.scalar(select(ApiKey))
        assert key is not None and key.last_used_at is not None
        assert db.session.scalar(select(ApiKeyUsage.count)) == 1  # the first request's flush
    assert client.get("/api/v1/nope").status_code == 404
