"""Organización → Webhooks in Chromium: an owner adds an endpoint pointing at a real receiver
on 127.0.0.1, reveals its secret, sends a test event, watches it delivered in the log (which
polls), resends it; the receiver verifies both with the reference Standard Webhooks library.
A member sees no way in, and is refused at the door."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from blueprints.organizations.models import Role
from core.db import db
from core.tasks import run_worker
from tests.browser.conftest import Problems
from tests.browser.test_auth_flow import expect_dashboard, sign_up
from tests.factories import PASSWORD, add_member, make_organization, make_user
from tests.webhook_receiver import FaultyReceiver, faulty_receiver
from tests.webhooks_world import endpoint_and_delivery

POLL_MS = 15_000  # the log polls every 5 s
REFUSED = "Tu rol en esta organización no permite esta acción."


@pytest.fixture
def receiver(live_app: Flask) -> Iterator[FaultyReceiver]:
    """A receiver on 127.0.0.1, which the live app may call only while this test runs (the
    app refuses private addresses unless WEBHOOKS_ALLOW_PRIVATE; the live server reads its
    config per request, in this process)."""
    allowed = live_app.config.get("WEBHOOKS_ALLOW_PRIVATE", False)
    live_app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    try:
        with faulty_receiver() as started:
            yield started
    finally:
        live_app.config["WEBHOOKS_ALLOW_PRIVATE"] = allowed


def deliver(live_app: Flask) -> None:
    """What a `flask worker` would do now: run the queued deliveries."""
    with live_app.app_context():
        run_worker(burst=True)


def test_owner_adds_a_webhook_sends_a_test_event_and_resends_it(
    page: Page, live_app: Flask, receiver: FaultyReceiver
) -> None:
    sign_up(page)
    expect_dashboard(page)
    page.get_by_role("navigation", name="Principal").get_by_role(
        "link", name="Organización"
    ).click()
    page.get_by_role("link", name="Webhooks", exact=True).click()
    expect(page).to_have_url(re.compile(r"/webhooks/$"))
    expect(page.get_by_text("Todavía no hay webhooks.")).to_be_visible()

    page.get_by_label("URL", exact=True).fill(receiver.url)
    page.get_by_label("Descripción (opcional)").fill("ERP del depósito")
    page.get_by_label(re.compile(r"\(invoice\.authorized\)")).check()
    page.get_by_role("button", name="Agregar webhook").click()
    expect(page.get_by_text("Creaste el webhook.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/webhooks/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhook")

    secret_box = page.get_by_label("Secreto de firma")
    expect(secret_box).to_have_count(0)  # shown on demand only
    page.get_by_role("button", name="Mostrar secreto").click()
    expect(secret_box).to_have_value(re.compile(r"^whsec_[A-Za-z0-9+/=]+$"))
    secret = secret_box.input_value()

    page.get_by_role("button", name="Enviar evento de prueba").click()
    expect(page.get_by_text("Enviamos un evento de prueba")).to_be_visible()
    log = page.locator("[id^='webhook-'][id$='-deliveries']")
    expect(log.locator("tbody tr")).to_have_count(1)
    expect(log).to_contain_text("webhook.test")
    expect(log.locator(".badge-warning")).to_have_text("Pendiente")
    deliver(live_app)
    expect(log.locator(".badge-success")).to_have_text("Entregado", timeout=POLL_MS)
    expect(log).to_contain_text("HTTP 204", timeout=POLL_MS)
    assert len(receiver.seen()) == 1

    log.get_by_role("button", name="Reenviar").click()
    expect(page.get_by_text("Reenviamos el evento.")).to_be_visible()
    expect(log.locator("tbody tr")).to_have_count(2)
    deliver(live_app)
    expect(log.locator(".badge-success")).to_have_count(2, timeout=POLL_MS)

    documents = receiver.verified(secret)  # raises on a bad signature
    assert [document["type"] for document in documents] == ["webhook.test"] * 2
    assert documents[0]["data"] == documents[1]["data"]  # the same event …
    first, second = (request.webhook_id for request in receiver.seen())
    assert first != second  # … as a new delivery, with its own webhook-id
    expect(log).to_contain_text(first)
    expect(log).to_contain_text(second)


def log_in(page: Page, email: str, organization: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Ingresar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(organization)


def test_a_member_gets_no_webhooks_link_and_no_webhooks_page(
    page: Page, live_app: Flask, browser_problems: Problems
) -> None:
    with live_app.test_request_context():
        organization = make_organization(owner=make_user(), legal_name="Ferretería Sur SRL")
        member = make_user(name="Mario Miembro")
        add_member(organization, member, Role.MEMBER)
        endpoint_id, _delivery_id = endpoint_and_delivery(organization.id)
        email = member.email
        db.session.remove()
    log_in(page, email, "Ferretería Sur SRL")
    nav = page.get_by_role("navigation", name="Principal")
    expect(nav.get_by_role("link", name="Equipo")).to_be_visible()
    expect(nav.get_by_role("link", name="Organización")).to_have_count(0)
    expect(page.locator("a[href*='/webhooks']")).to_have_count(0)

    for path in ("/webhooks/", f"/webhooks/{endpoint_id}", f"/webhooks/{endpoint_id}/deliveries"):
        browser_problems.allow_http_error(403, path)
        answer = page.goto(path)
        assert answer is not None and answer.status == 403, path
        expect(
            page.get_by_text("Tu rol en esta organización no permite esta acción.")
        ).to_be_visible()
        expect(page.locator("body")).not_to_contain_text("93.184.216.34")

    # Nor the secret, with a valid CSRF token of the member's own session.
    page.goto("/")
    token = page.locator("input[name=csrf_token]").first.input_value()
    refused = page.request.post(f"/webhooks/{endpoint_id}/secret", form={"csrf_token": token})
    assert refused.status == 403
    assert "whsec_" not in refused.text()
