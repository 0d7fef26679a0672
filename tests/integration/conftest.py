from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import db
from tests.factories import add_member, make_user
from tests.integration.test_invoices import certified
from tests.web import login

pytestmark = pytest.mark.integration


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def faults(app: Flask) -> Iterator[None]:
    """Whatever a test leaves in the (process-wide) sandbox's fault book is cleared after it."""
    yield
    with app.app_context():
        get_arca().sandbox().faults.clear()


@pytest.fixture
def cashier(app: Flask) -> tuple[FlaskClient, int]:
    """A member of a certified Responsable Inscripto, signed in: (client, organization id)."""
    with app.app_context():
        organization_id = certified()
        user = make_user()
        add_member(db.session.get_one(Organization, organization_id), user, "member")
        email = user.email
    client = app.test_client()
    login(client, email)
    return client, organization_id
