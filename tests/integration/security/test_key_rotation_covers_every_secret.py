"""`flask keys rotate` re-encrypts every secret at rest, not only the certificates': webhook
signing secrets (current and previous) and the people's TOTP secrets too — after removing the
old key, deliveries still sign and two-factor logins still work."""

from __future__ import annotations

import base64
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from blueprints.auth.models import User
from blueprints.auth.two_factor import begin_enrolment, enrolment_secret
from blueprints.keys.cli import SECRET_COLUMNS
from blueprints.webhooks import services
from blueprints.webhooks.models import WebhookEndpoint
from core.crypto import KeyRing, get_keyring
from core.db import db
from tests.conftest import TEST_ENCRYPTION_KEY, temporary_app
from tests.factories import make_organization, make_user

NEW_KEY = base64.urlsafe_b64encode(b"r" * 32).decode()
PUBLIC_URL = "https://93.184.216.34/hooks"


def test_every_secret_column_is_rotated(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    names = {column.name for column in SECRET_COLUMNS}
    assert {
        "webhook_endpoints.secret_encrypted",
        "webhook_endpoints.previous_secret_encrypted",
        "users.totp_secret",
    } <= names
    with app.app_context():
        owner = make_user()
        organization = make_organization(owner=owner)
        endpoint = services.create_endpoint(
            db.session, organization.id, PUBLIC_URL, ["invoice.authorized"]
        )
        services.rotate_secret(db.session, endpoint)  # a previous secret too
        secret = services.reveal_secret(endpoint)
        begin_enrolment(db.session, get_keyring(), owner)
        totp = enrolment_secret(get_keyring(), owner)
        user_id, endpoint_id = owner.id, endpoint.id
    both = f"{NEW_KEY},{TEST_ENCRYPTION_KEY}"
    with temporary_app(database_url, redis_url, tmp_path / "both", ENCRYPTION_KEYS=both) as moving:
        result = moving.test_cli_runner().invoke(args=["keys", "rotate"])
        assert result.exit_code == 0, result.output
        assert "users.totp_secret: 1 re-encrypted" in result.output
        assert "webhook_endpoints.previous_secret_encrypted: 1 re-encrypted" in result.output
    fresh = tmp_path / "new"
    with (
        temporary_app(database_url, redis_url, fresh, ENCRYPTION_KEYS=NEW_KEY) as new,
        new.app_context(),
    ):
        assert KeyRing.parse(NEW_KEY) == get_keyring()
        endpoint = db.session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
        ).one()
        assert services.reveal_secret(endpoint) == secret
        user = db.session.get_one(User, user_id)
        assert enrolment_secret(get_keyring(), user) == totp
