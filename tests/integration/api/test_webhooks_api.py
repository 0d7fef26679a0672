"""Webhook endpoints over the API (`webhooks:manage`), on PostgreSQL and Redis: the scope, the
SSRF guard and validation as 422s on their field, tenancy, idempotent writes, and signatures
checked by the reference Standard Webhooks library on a real HTTP receiver."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from blueprints.api.models import SCOPES, ApiKey
from blueprints.webhooks.models import WebhookDelivery, WebhookEndpoint
from blueprints.webhooks.services import create_endpoint, send_test_event
from core import events
from core.db import db
from tests.api import Api, assert_problem, fields_in, make_api_key
from tests.factories import make_organization, make_user
from tests.integration.webhooks import conftest as webhook_fixtures
from tests.integration.webhooks.conftest import Receiver
from tests.tasks import run_until_settled
from tests.web import csrf_token, login
from tests.webhooks_world import PUBLIC_URL

WEBHOOKS = "/api/v1/webhooks"
SCOPE = "webhooks:manage"
# The webhooks tests' receiver: a threaded HTTP server on 127.0.0.1 recording each request.
receiver = webhook_fixtures.receiver


def organization(app: Flask, name: str) -> int:
    with app.app_context():
        return make_organization(owner=make_user(), legal_name=name).id


@pytest.fixture
def shop(app: Flask) -> int:
    return organization(app, "Almacén Demo SRL")


@pytest.fixture
def api(app: Flask, shop: int) -> Api:
    return Api(app, make_api_key(app, shop, [SCOPE]))


@pytest.fixture
def private_allowed(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Receivers listen on 127.0.0.1, which the SSRF guard refuses unless told otherwise."""
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", True)


def stored(app: Flask, model: type[Any]) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def created(api: Api, url: str = PUBLIC_URL, **fields: Any) -> dict[str, Any]:
    body = {"url": url, "events": ["invoice.authorized"], "description": "ERP", **fields}
    response = api.post(WEBHOOKS, body)
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.get_json()
    return document


def verified(receiver: Receiver, secret: str) -> list[dict[str, Any]]:
    """Every request the receiver got, checked by the reference library (raises if not)."""
    return [dict(Webhook(secret).verify(r.body, r.headers)) for r in receiver.requests]


# --- the scope -----------------------------------------------------------------------------------


def test_the_scope_is_one_a_key_can_hold(app: Flask, shop: int) -> None:
    assert SCOPE in SCOPES
    only = Api(app, make_api_key(app, shop, [SCOPE]))
    assert only.get(WEBHOOKS).status_code == 200


def test_the_api_page_offers_the_scope(app: Flask) -> None:
    with app.app_context():
        user = make_user()
        make_organization(owner=user, legal_name="Propia SRL")
        email = user.email
    client = app.test_client()
    login(client, email)
    page = client.get("/organizations/api")
    assert page.status_code == 200 and SCOPE in page.get_data(as_text=True)
    token = csrf_token(client, "/organizations/api")
    data = {"csrf_token": token, "name": "ERP", "scopes": [SCOPE], "rate_limit": "120"}
    assert client.post("/organizations/api/keys", data=data).status_code in (200, 201, 303)
    with app.app_context():
        assert db.session.scalars(select(ApiKey.scopes)).one() == [SCOPE]


def test_a_key_without_the_scope_is_forbidden_and_changes_nothing(app: Flask, shop: int) -> None:
    others = [scope for scope in SCOPES if scope != SCOPE]
    api = Api(app, make_api_key(app, shop, others))
    with app.app_context():
        endpoint_id = create_endpoint(db.session, shop, PUBLIC_URL, ["invoice.authorized"]).id
    calls = [
        api.get(WEBHOOKS),
        api.post(WEBHOOKS, {"url": PUBLIC_URL, "events": ["invoice.authorized"]}),
        api.get(f"{WEBHOOKS}/{endpoint_id}/secret"),
        api.post(f"{WEBHOOKS}/{endpoint_id}/rotate-secret"),
        api.delete(f"{WEBHOOKS}/{endpoint_id}"),
    ]
    for response in calls:
        assert SCOPE in assert_problem(response, 403)["detail"]
    assert stored(app, WebhookEndpoint) == 1


# --- create, read, change, delete ----------------------------------------------------------------


def test_create_list_get_update_delete(app: Flask, api: Api) -> None:
    response = api.post(
        WEBHOOKS, {"url": PUBLIC_URL, "events": ["invoice.authorized"], "description": " ERP "}
    )
    assert response.status_code == 201, response.text
    body = response.get_json()
    assert response.headers["Location"] == f"{WEBHOOKS}/{body['id']}"
    assert response.headers["Cache-Control"] == "no-store"
    assert body["secret"].startswith("whsec_")
    assert body["url"] == PUBLIC_URL and body["events"] == ["invoice.authorized"]
    assert body["description"] == "ERP" and body["enabled"] is True
    assert body["previous_secret_expires_at"] is None and body["disabled_reason"] is None

    shown = api.get(response.headers["Location"]).get_json()
    assert "secret" not in shown
    assert shown == {name: value for name, value in body.items() if name != "secret"}
    assert api.get(WEBHOOKS).get_json() == {"data": [shown], "next_cursor": None}
    secret = api.get(f"{WEBHOOKS}/{body['id']}/secret")
    assert secret.get_json()["secret"] == body["secret"]
    assert secret.headers["Cache-Control"] == "no-store"

    everything = list(events.EVENT_TYPES)  # read, not copied: it grows
    changed = api.patch(
        response.headers["Location"], {"events": everything, "enabled": False, "description": ""}
    )
    assert changed.status_code == 200, changed.text
    assert changed.get_json()["events"] == everything
    assert changed.get_json()["enabled"] is False and changed.get_json()["description"] == ""
    assert changed.get_json()["url"] == PUBLIC_URL  # not sent: kept

    assert api.delete(response.headers["Location"]).status_code == 204
    assert_problem(api.get(response.headers["Location"]), 404)
    assert stored(app, WebhookEndpoint) == 0


def test_enabling_again_forgets_the_failures(app: Flask, api: Api) -> None:
    endpoint_id = created(api)["id"]
    with app.app_context():
        row = db.session.get_one(WebhookEndpoint, endpoint_id)
        row.enabled, row.disabled_reason = False, "failing"
        row.failing_since = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        db.session.commit()
    shown = api.get(f"{WEBHOOKS}/{endpoint_id}").get_json()
    assert shown["disabled_reason"] == "failing" and shown["failing_since"].startswith("2025")
    enabled = api.patch(f"{WEBHOOKS}/{endpoint_id}", {"enabled": True}).get_json()
    assert enabled["enabled"] is True
    assert enabled["disabled_reason"] is None and enabled["failing_since"] is None


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hooks",
        "http://[::1]/hooks",
        "ftp://93.184.216.34/hooks",
        "https://user:pass@93.184.216.34/hooks",
    ],
)
def test_an_unsafe_url_is_a_422_on_url(app: Flask, api: Api, url: str) -> None:
    refused = api.post(WEBHOOKS, {"url": url, "events": ["invoice.authorized"]})
    problem = assert_problem(refused, 422)
    assert fields_in(problem) == ["url"] and problem["errors"][0]["message"]
    assert stored(app, WebhookEndpoint) == 0


def test_a_change_to_an_unsafe_url_is_refused_and_nothing_changes(app: Flask, api: Api) -> None:
    endpoint = created(api)
    location = f"{WEBHOOKS}/{endpoint['id']}"
    refused = api.patch(location, {"url": "http://192.168.0.1/", "description": "nuevo"})
    assert fields_in(assert_problem(refused, 422)) == ["url"]
    after = api.get(location).get_json()
    assert after["url"] == PUBLIC_URL and after["description"] == "ERP"


def test_production_needs_https(app: Flask, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "ARCA_ENVIRONMENT", "produccion")
    refused = api.post(WEBHOOKS, {"url": "http://93.184.216.34/", "events": ["invoice.created"]})
    assert "https" in assert_problem(refused, 422)["errors"][0]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["invoice.authorized"]}, "url"),
        ({"url": PUBLIC_URL}, "events"),
        ({"url": PUBLIC_URL, "events": []}, "events"),
        ({"url": PUBLIC_URL, "events": ["invoice.authorised"]}, "events"),
        ({"url": PUBLIC_URL, "events": ["*"]}, "events"),
        ({"url": "http://[93.184.216.34/", "events": ["invoice.created"]}, "url"),
        ({"url": "http://93.184.216.34:99999/", "events": ["invoice.created"]}, "url"),
        ({"url": "https://e.example/" + "a" * 2000, "events": ["invoice.created"]}, "url"),
        (
            {"url": PUBLIC_URL, "events": ["invoice.created"], "description": "x" * 201},
            "description",
        ),
        ({"url": PUBLIC_URL, "events": ["invoice.created"], "secret": "whsec_mine"}, "secret"),
    ],
)
def test_invalid_bodies_are_a_422_on_their_field(
    app: Flask, api: Api, body: dict[str, Any], field: str
) -> None:
    problem = assert_problem(api.post(WEBHOOKS, body), 422)
    assert field in fields_in(problem), problem
    assert stored(app, WebhookEndpoint) == 0


def test_unknown_events_are_named_in_the_message(api: Api) -> None:
    problem = assert_problem(api.post(WEBHOOKS, {"url": PUBLIC_URL, "events": ["nope"]}), 422)
    assert all(event in problem["errors"][0]["message"] for event in events.EVENT_TYPES)


@pytest.mark.parametrize(
    "changes",
    [{"url": None}, {"events": None}, {"enabled": "true"}, {"enabled": 1}, {"events": ["nope"]}],
)
def test_invalid_changes_are_a_422_and_change_nothing(
    app: Flask, api: Api, changes: dict[str, Any]
) -> None:
    endpoint = created(api)
    location = f"{WEBHOOKS}/{endpoint['id']}"
    problem = assert_problem(api.patch(location, changes), 422)
    assert fields_in(problem) == list(changes)
    after = api.get(location).get_json()
    assert after == {name: value for name, value in endpoint.items() if name != "secret"}


def test_another_organizations_ids_are_404s(app: Flask, api: Api) -> None:
    other = organization(app, "Otra Tienda SA")
    with app.app_context():
        theirs = create_endpoint(db.session, other, PUBLIC_URL, ["invoice.authorized"])
        their_id = theirs.id
        their_delivery = send_test_event(db.session, theirs)
    mine = created(api)["id"]
    with app.app_context():
        my_delivery = send_test_event(db.session, db.session.get_one(WebhookEndpoint, mine))
    base = f"{WEBHOOKS}/{their_id}"
    calls = [
        api.get(base),
        api.patch(base, {"description": "mío"}),
        api.get(f"{base}/secret"),
        api.post(f"{base}/rotate-secret"),
        api.post(f"{base}/test"),
        api.get(f"{base}/deliveries"),
        api.post(f"{base}/deliveries/{their_delivery}/resend"),
        api.post(f"{WEBHOOKS}/{mine}/deliveries/{their_delivery}/resend"),
        api.post(f"{base}/deliveries/{my_delivery}/resend"),  # my delivery, not their endpoint's
        api.delete(base),
    ]
    nowhere = assert_problem(api.get(f"{WEBHOOKS}/2000000000"), 404)
    for response in calls:
        assert assert_problem(response, 404)["status"] == nowhere["status"]
    assert api.get(WEBHOOKS).get_json()["data"][0]["id"] == mine
    with app.app_context():
        row = db.session.get_one(WebhookEndpoint, their_id)
        assert row.description == "" and row.previous_secret_encrypted is None
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 2


# --- signatures on a real receiver ---------------------------------------------------------------


@pytest.mark.usefixtures("private_allowed")
def test_the_secret_shown_at_creation_verifies_a_delivery(
    app: Flask, api: Api, receiver: Receiver
) -> None:
    endpoint = created(api, receiver.url)
    response = api.post(f"{WEBHOOKS}/{endpoint['id']}/test")
    assert response.status_code == 202, response.text
    queued = response.get_json()
    assert queued["status"] == "pending" and queued["event_type"] == "webhook.test"
    assert queued["webhook_id"] == endpoint["id"] and queued["attempts"] == 0
    with app.app_context():
        run_until_settled()
    (document,) = verified(receiver, endpoint["secret"])
    assert document["type"] == "webhook.test"
    assert receiver.requests[0].headers["webhook-id"] == queued["message_id"]
    (logged,) = api.get(f"{WEBHOOKS}/{endpoint['id']}/deliveries").get_json()["data"]
    assert logged["id"] == queued["id"] and logged["status"] == "delivered"
    assert logged["attempts"] == 1 and logged["response_status"] == 204
    assert logged["delivered_at"] is not None and logged["latency_ms"] is not None


@pytest.mark.usefixtures("private_allowed")
def test_a_rotation_signs_with_both_secrets(app: Flask, api: Api, receiver: Receiver) -> None:
    endpoint = created(api, receiver.url)
    old = endpoint["secret"]
    rotated = api.post(f"{WEBHOOKS}/{endpoint['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["Cache-Control"] == "no-store"
    new = rotated.get_json()["secret"]
    assert new.startswith("whsec_") and new != old
    overlap = dt.datetime.fromisoformat(rotated.get_json()["previous_secret_expires_at"])
    hours = (overlap - dt.datetime.now(dt.UTC)).total_seconds() / 3600
    assert 23.9 < hours <= 24
    assert api.get(f"{WEBHOOKS}/{endpoint['id']}/secret").get_json()["secret"] == new
    assert api.post(f"{WEBHOOKS}/{endpoint['id']}/test").status_code == 202
    with app.app_context():
        run_until_settled()
    signatures = receiver.requests[0].headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    assert verified(receiver, old) == verified(receiver, new)


@pytest.mark.usefixtures("private_allowed")
def test_a_resend_is_a_new_delivery_with_a_new_webhook_id(
    app: Flask, api: Api, receiver: Receiver
) -> None:
    endpoint = created(api, receiver.url)
    first = api.post(f"{WEBHOOKS}/{endpoint['id']}/test").get_json()
    with app.app_context():
        run_until_settled()
    resent = api.post(f"{WEBHOOKS}/{endpoint['id']}/deliveries/{first['id']}/resend")
    assert resent.status_code == 202, resent.text
    again = resent.get_json()
    assert again["id"] != first["id"] and again["message_id"] != first["message_id"]
    assert again["event_id"] == first["event_id"] and again["status"] == "pending"
    with app.app_context():
        run_until_settled()
    ids = [request.headers["webhook-id"] for request in receiver.requests]
    assert ids == [first["message_id"], again["message_id"]]
    documents = verified(receiver, endpoint["secret"])
    assert documents[0] == documents[1]  # the same event, the same body


# --- idempotency and pages -----------------------------------------------------------------------


def test_writes_honour_the_idempotency_key(app: Flask, api: Api) -> None:
    body = {"url": PUBLIC_URL, "events": ["invoice.created"]}
    first = api.post(WEBHOOKS, body, **{"Idempotency-Key": "alta-erp-1"})
    again = api.post(WEBHOOKS, body, **{"Idempotency-Key": "alta-erp-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert stored(app, WebhookEndpoint) == 1
    other = api.post(WEBHOOKS, {**body, "description": "otro"}, **{"Idempotency-Key": "alta-erp-1"})
    assert_problem(other, 422)

    test_url = f"{WEBHOOKS}/{first.get_json()['id']}/test"
    sent = [api.post(test_url, **{"Idempotency-Key": "prueba-1"}) for _ in range(2)]
    assert [response.status_code for response in sent] == [202, 202]
    assert sent[0].get_json() == sent[1].get_json()
    assert stored(app, WebhookDelivery) == 1


def test_deliveries_come_newest_first_a_page_at_a_time(app: Flask, api: Api) -> None:
    endpoint_id = created(api)["id"]
    with app.app_context():
        row = db.session.get_one(WebhookEndpoint, endpoint_id)
        made = [send_test_event(db.session, row) for _ in range(5)]
    url = f"{WEBHOOKS}/{endpoint_id}/deliveries"
    seen: list[int] = []
    page = api.get(url, limit=2).get_json()
    while True:
        assert len(page["data"]) <= 2
        seen += [delivery["id"] for delivery in page["data"]]
        if page["next_cursor"] is None:
            break
        with app.app_context():  # a delivery made between pages does not shift them
            send_test_event(db.session, db.session.get_one(WebhookEndpoint, endpoint_id))
        page = api.get(url, limit=2, cursor=page["next_cursor"]).get_json()
    assert seen == sorted(made, reverse=True)
    for cursor in ("nonsense", "WyJhIl0", "WzAsMV0"):  # junk, ["a"], [0, 1]
        assert fields_in(assert_problem(api.get(url, cursor=cursor), 422)) == ["cursor"]
