"""Events on the embedded default (SQLite, no Redis, no worker): an authorization's events are
fanned out and delivered, signed, before the call that caused them returns; a certificate
alert, asked for twice, is one event."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import func, select

from blueprints.certificates.models import Certificate
from blueprints.webhooks import services
from core.arca import get_arca
from core.db import db
from core.events import Event
from core.scheduler import run_now
from tests.integration.test_invoices import COFFEE, authorize, certified, draft
from tests.webhook_receiver import faulty_receiver

pytestmark = pytest.mark.embedded


def test_events_are_delivered_inline_without_redis(embedded_app: Flask) -> None:
    embedded_app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    with faulty_receiver() as receiver, embedded_app.app_context():
        assert db.engine.dialect.name == "sqlite"
        organization_id = certified()
        events = ["invoice.authorized", "certificate.expiring"]
        endpoint = services.create_endpoint(db.session, organization_id, receiver.url, events)
        secret = services.reveal_secret(endpoint)
        invoice = authorize(draft(organization_id, [COFFEE]).id)
        assert invoice.cae
        certificate = db.session.scalars(select(Certificate)).one()
        certificate.not_valid_after = get_arca().now() + dt.timedelta(days=20)
        db.session.commit()
        run_now("certificates.expiry")
        run_now("certificates.expiry")
        types = [document["type"] for document in receiver.verified(secret)]
        assert types == ["invoice.authorized", "certificate.expiring"]
        count = db.session.scalar(select(func.count()).select_from(Event))
        assert count == 3  # created, authorized, one alert
