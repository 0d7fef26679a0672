"""Schemathesis against the served OpenAPI document: the API keeps the contract it publishes.

The document is read from `/api/v1/openapi.json` of the app (PostgreSQL, Redis, the in-process
ARCA sandbox), and every operation in it is driven with generated requests, valid and invalid
(Schemathesis' examples, coverage and fuzzing phases), by a key holding every scope. Checked on
every response:

- `not_a_server_error`: no response is >= 500;
- `status_code_conformance`: its status is one the operation documents;
- `content_type_conformance` and `response_schema_conformance`: its media type is documented and
  its body validates against the documented schema (problem details included);
- `response_headers_conformance`: documented headers have their documented form;
- `negative_data_rejection`: a request that breaks the schema is refused with a 4xx.

The organization has data (a customer, an archived one, a draft, an authorized invoice, a credit
note, a bulk job), and path ids are swapped for those ids in most cases, so the operations run on
real objects rather than answering 404 to random numbers.

Bounded for `make test`: `TALONARIO_API_EXAMPLES` examples per operation in the fuzzing phase
(default 12: the file runs in well under a minute on two cores). Reproducible: a fixed seed,
unless `TALONARIO_API_SEED` says otherwise (any integer; "random" for a new one each run).
"""

from __future__ import annotations

import copy
import itertools
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from flask import Flask
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from arca.codes import VoucherKind
from blueprints.api.idempotency import MAX_WAIT_SECONDS
from blueprints.customers.models import Customer
from blueprints.customers.services import set_archived
from blueprints.invoices.bulk import start_bulk_authorization
from blueprints.invoices.preflight_adapter import arca_today
from blueprints.invoices.services import note_from
from blueprints.invoices.totals import Line
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import db
from tests.api import bearer, make_api_key
from tests.conftest import base_config, wipe
from tests.factories import next_cuit
from tests.integration.test_invoices import authorize, certified, customer, draft
from tests.webhooks_world import endpoint_and_delivery

OPENAPI = "/api/v1/openapi.json"
EXAMPLES = int(os.environ.get("TALONARIO_API_EXAMPLES", "12"))
SEED = os.environ.get("TALONARIO_API_SEED", "20261203")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
LINE = Line("Yerba mate 1 kg", Decimal("3"), Decimal("4500.00"), vat=5)


@dataclass
class Seeded:
    """The key and the organization's objects; each path id cycles through them and the
    generated value (so unknown ids are tried too)."""

    secret: str
    ids: dict[str, Iterator[int | str | None]]

    def swap(self, path_parameters: dict[str, Any] | None) -> None:
        for name, value in (path_parameters or {}).items():
            cycle = self.ids.get(name)
            if cycle is None or not isinstance(value, int | str) or isinstance(value, bool):
                continue  # a negative case's odd value (a list, null…) is left as generated
            chosen = next(cycle)
            if chosen is not None:
                path_parameters[name] = chosen  # type: ignore[index]


def shorten_waits(query: dict[str, Any] | None) -> None:
    """`?wait=N` holds an authorization's answer up to N seconds, and no worker runs here:
    valid waits are cut to one second, to keep the run bounded (invalid ones stay invalid)."""
    wait = (query or {}).get("wait")
    if isinstance(wait, int) and not isinstance(wait, bool) and 1 < wait <= MAX_WAIT_SECONDS:
        query["wait"] = 1  # type: ignore[index]


def seed(app: Flask) -> Seeded:
    """A certified organization with a customer, an archived one, a draft, two authorized
    invoices (one of them credited by an authorized credit note), a bulk job and a webhook
    endpoint with a delivery."""
    with app.app_context():
        organization_id = certified()
        customer_id = customer(organization_id, next_cuit("30"), "1", "Distribuidora Norte SA")
        archived = db.session.get_one(
            Customer, customer(organization_id, next_cuit("20"), "6", "Monotributista Archivado")
        )
        set_archived(db.session, archived, True, None)
        draft_id = draft(organization_id, [LINE], customer_id=customer_id).id
        credited = authorize(draft(organization_id, [LINE], customer_id=customer_id).id)
        organization = db.session.get_one(Organization, organization_id)
        today = arca_today(get_arca())
        note = note_from(db.session, organization, credited, VoucherKind.CREDIT_NOTE, today, None)
        note_id = authorize(note.id).id
        authorized_id = authorize(draft(organization_id, [LINE]).id).id
        batch, _progress = start_bulk_authorization(
            db.session, organization_id, [draft(organization_id, [LINE]).id], get_arca()
        )
        webhook_id, delivery_id = endpoint_and_delivery(organization_id)
        ids: dict[str, list[int | str | None]] = {
            "customer_id": [customer_id, archived.id, None],
            "invoice_id": [draft_id, authorized_id, credited.id, note_id, None],
            "key": [batch, None],
            "webhook_id": [webhook_id, None],
            "delivery_id": [delivery_id, None],
        }
        db.session.remove()
    secret = make_api_key(app, organization_id, rate_limit=10_000, name="Schemathesis")
    return Seeded(secret, {name: itertools.cycle(values) for name, values in ids.items()})


def config() -> schemathesis.Config:
    settings: dict[str, Any] = {
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES,
            "database": "none",  # no .hypothesis/ directory in the tree
            "with-security-parameters": False,  # the test sends the key itself
        },
        "phases": {"stateful": {"enabled": False}},
        "warnings": False,
    }
    if SEED != "random":
        settings["seed"] = int(SEED)
    return schemathesis.Config.from_dict(settings)


def served_document() -> dict[str, Any]:
    """The document the app serves, read at collection time (an app over an empty SQLite file:
    writing the document reads no table). `test_the_document_is_the_one_served` checks that the
    app under test serves the same."""
    with tempfile.TemporaryDirectory() as instance:
        app = create_app(
            base_config(
                DATABASE_URL=f"sqlite:///{instance}/document.db",
                REDIS_URL=None,
                INSTANCE_PATH=instance,
            )
        )
        document: dict[str, Any] = app.test_client().get(OPENAPI).get_json()
        with app.app_context():
            db.engine.dispose()
    return document


# Loaded at import rather than from a fixture: schemathesis' `from_fixture` reads pytest's
# private `Node._nodeid`, which pytest 9.2 no longer has.
DOCUMENT = served_document()
schema = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT), config=config())


@pytest.fixture(scope="module")
def seeded(migrated_app: Flask, redis_url: str) -> Iterator[Seeded]:
    """Seeded once for the module's operations (each is one test), emptied after them."""
    yield seed(migrated_app)
    wipe(migrated_app, redis_url)


def test_the_document_is_the_one_served(app: Flask) -> None:
    assert app.test_client().get(OPENAPI).get_json() == DOCUMENT


@schema.parametrize()
def test_every_response_keeps_the_documented_contract(
    case: Any, seeded: Seeded, migrated_app: Flask
) -> None:
    seeded.swap(case.path_parameters)
    shorten_waits(case.query)
    case.call_and_validate(headers=bearer(seeded.secret), checks=CHECKS, app=migrated_app)
