"""A webhook endpoint with one delivery, for the tests that need one of each kind of id."""

from __future__ import annotations

from blueprints.webhooks.services import create_endpoint, send_test_event
from core.db import db

# A public address literal: accepted without a DNS lookup, and never called by these tests
# (the delivery's job waits in a queue that no worker drains).
PUBLIC_URL = "https://93.184.216.34/talonario"


def endpoint_and_delivery(organization_id: int) -> tuple[int, int]:
    """(endpoint id, delivery id) of a new endpoint of the organization and its test event."""
    endpoint = create_endpoint(db.session, organization_id, PUBLIC_URL, ["invoice.authorized"])
    return endpoint.id, send_test_event(db.session, endpoint)
