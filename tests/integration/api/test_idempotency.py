"""Idempotency-Key on the API's creating and authorizing POSTs: the first answer replayed, another
request refused, a running one reported; over a served HTTP stack, 20 concurrent identical
authorize calls make exactly one FECAESolicitar and all get the same final answer."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from flask import Flask
from sqlalchemy import func, select

from blueprints.invoices.models import Invoice
from blueprints.invoices.preflight_adapter import arca_today
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import db
from core.tasks import run_worker
from tests.api import bearer, make_api_key
from tests.conftest import temporary_app
from tests.integration.api.test_invoices_api import SHOP, Api, api_for
from tests.integration.test_invoices import certified

KEY = {"Idempotency-Key": "2f1c7a52-0d7e-4c1e-9a55-7d1e0c6f1b10"}


def invoice_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Invoice.id))) or 0


def fecae_calls(app: Flask, organization_id: int) -> int:
    with app.app_context():
        cuit = db.session.get_one(Organization, organization_id).cuit
        log = get_arca().sandbox().ledger.requests()
    return len([r for r in log if r.operation == "FECAESolicitar" and r.cuit == cuit])


def test_a_retried_create_replays_the_first_answer(app: Flask) -> None:
    api = api_for(app)
    first = api.post("/invoices", SHOP, **KEY)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    # The same request, serialized differently (JSON compared by value), is the same request.
    reordered = json.dumps(dict(reversed(list(SHOP.items()))), indent=2)
    replay = api.client.post(
        "/api/v1/invoices",
        data=reordered,
        headers={**api.headers, **KEY, "Content-Type": "application/json"},
    )
    assert replay.status_code == 201, replay.text
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.data == first.data and replay.headers["Location"] == first.headers["Location"]
    assert invoice_count(app) == 1

    other = api.post("/invoices", {**SHOP, "notes": "otra"}, **KEY)
    assert other.status_code == 422 and other.content_type == "application/problem+json"
    assert "Idempotency-Key" in other.get_json()["detail"]
    elsewhere = api.post(f"/invoices/{first.get_json()['id']}/authorize", {}, **KEY)
    assert elsewhere.status_code == 422  # the same key on another path is another request
    assert invoice_count(app) == 1
    # Without the header, or with another key, each POST creates.
    assert api.post("/invoices", SHOP).status_code == 201
    assert api.post("/invoices", SHOP, **{"Idempotency-Key": "otra"}).status_code == 201
    assert invoice_count(app) == 3


def test_keys_belong_to_their_organization_and_refusals_are_not_kept(app: Flask) -> None:
    ours, theirs = api_for(app), api_for(app)
    assert ours.post("/invoices", SHOP, **KEY).status_code == 201
    assert theirs.post("/invoices", {**SHOP, "notes": "suya"}, **KEY).status_code == 201
    assert invoice_count(app) == 2
    # A refusal leaves the key free: once the draft is fixed, the same key goes through.
    draft = ours.create({**SHOP, "issue_date": "2020-01-02"})["id"]
    key = {"Idempotency-Key": "autorizar-1"}
    assert ours.post(f"/invoices/{draft}/authorize", {}, **key).status_code == 422
    with app.app_context():
        today = arca_today(get_arca()).isoformat()
    assert ours.patch(f"/invoices/{draft}", {"issue_date": today}).status_code == 200
    queued = ours.post(f"/invoices/{draft}/authorize", {}, **key)
    assert queued.status_code == 202, queued.text
    again = ours.post(f"/invoices/{draft}/authorize", {}, **key)
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.data == queued.data


def test_without_redis_the_key_is_kept_in_process_and_jobs_run_inline(
    app: Flask, database_url: str, tmp_path: Any
) -> None:
    with temporary_app(database_url, None, tmp_path) as embedded:
        api = api_for(embedded)
        draft = api.create()["id"]
        done = api.post(f"/invoices/{draft}/authorize", {}, **KEY)
        assert done.status_code == 200, done.text  # the job ran in the request: final at once
        assert done.get_json()["status"] == "authorized"
        replay = api.post(f"/invoices/{draft}/authorize", {}, **KEY)
        assert replay.headers["Idempotent-Replayed"] == "true" and replay.data == done.data
        assert fecae_calls(embedded, api.organization_id) == 1


# --- over a served HTTP stack ------------------------------------------------------------------


def work_until(app: Flask, done: Callable[[], bool], timeout: float = 60) -> None:
    """Run the queued jobs (RQ, in this thread) until `done()` or the timeout."""
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        with app.app_context():
            run_worker(burst=True)
        time.sleep(0.05)


def test_a_key_still_running_answers_409_then_the_same_answer(app: Flask, served: str) -> None:
    with app.app_context():
        organization_id = certified()
    headers = {**bearer(make_api_key(app, organization_id)), **KEY}
    draft = Api(app, organization_id).create()["id"]
    url = f"{served}/api/v1/invoices/{draft}/authorize"
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(requests.post, url, json={}, params={"wait": 20}, headers=headers)
        # Once the job is queued the first call is waiting for ARCA's answer: still running.
        status_url = f"{served}/api/v1/invoices/{draft}/status"
        deadline = time.monotonic() + 10
        while not requests.get(status_url, headers=headers, timeout=5).json()["queued"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        running = requests.post(url, json={}, headers=headers, timeout=10)
        assert running.status_code == 409, running.text
        assert running.headers["Content-Type"] == "application/problem+json"
        assert int(running.headers["Retry-After"]) >= 1
        work_until(app, first.done)
        answer = first.result()
    assert answer.status_code == 200 and answer.json()["status"] == "authorized", answer.text
    replay = requests.post(url, json={}, headers=headers, timeout=10)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == answer.content
    assert fecae_calls(app, organization_id) == 1


def test_20_concurrent_identical_authorize_calls_make_one_voucher(app: Flask, served: str) -> None:
    with app.app_context():
        organization_id = certified()
    headers = {**bearer(make_api_key(app, organization_id)), **KEY}
    draft = Api(app, organization_id).create()["id"]
    url = f"{served}/api/v1/invoices/{draft}/authorize"
    start = threading.Barrier(20)

    def call() -> requests.Response:
        start.wait()
        return requests.post(url, json={}, params={"wait": 25}, headers=headers, timeout=60)

    with ThreadPoolExecutor(20) as pool:
        calls = [pool.submit(call) for _ in range(20)]
        work_until(app, lambda: all(c.done() for c in calls))
        answers = [c.result() for c in calls]
    assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers]
    assert len({a.content for a in answers}) == 1  # every caller: the same final answer
    assert answers[0].json()["status"] == "authorized" and answers[0].json()["number"] == 1
    replayed = [a.headers.get("Idempotent-Replayed") for a in answers]
    assert replayed.count("true") == 19  # one ran the view; the others waited for its answer
    assert fecae_calls(app, organization_id) == 1
