"""The API page in Chromium: make a key, see its secret once, use it, watch it counted, revoke."""

from __future__ import annotations

import re

import requests
from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.test_auth_flow import LEGAL_NAME, sign_up

SECRET = re.compile(r"^tal_[A-Za-z0-9_-]{43}$")


def test_make_use_and_revoke_a_key(page: Page, live_app: Flask, live_server: str) -> None:
    sign_up(page, app=live_app)
    nav = page.get_by_role("navigation", name="Principal")
    nav.get_by_role("link", name="Organización").click()
    page.get_by_role("link", name="API: claves e integraciones").click()
    expect(page).to_have_url(re.compile(r"/organizations/api$"))
    expect(page.get_by_text("Todavía no hay claves.")).to_be_visible()

    page.get_by_label("Nombre").fill("Tienda online")
    page.get_by_label("Ver los datos de la organización (organization:read)").check()
    page.get_by_label("Ver clientes (customers:read)").check()
    page.get_by_label("Vence (opcional)").fill("2030-12-31")
    page.get_by_label("Límite de pedidos por minuto").fill("60")
    page.get_by_role("button", name="Crear clave").click()

    expect(page.get_by_text("Copiala ahora y guardala en un lugar seguro")).to_be_visible()
    secret = page.get_by_label("Clave secreta").input_value()
    assert SECRET.match(secret)
    page.get_by_role("button", name="Copiar").click()
    row = page.locator("tr", has_text="Tienda online")
    expect(row).to_contain_text(secret[:12])
    expect(row).to_contain_text("31/12/2030")
    expect(row).to_contain_text("60 pedidos/min")
    expect(row).to_contain_text("Nunca")

    # The browser's own session is no way into the API; the key is.
    assert page.request.get("/api/v1/organization").status == 401
    with requests.Session() as http:
        for _ in range(3):
            answer = http.get(
                live_server + "/api/v1/organization",
                headers={"Authorization": f"Bearer {secret}"},
                timeout=10,
            )
            assert answer.status_code == 200
        assert answer.json()["legal_name"] == LEGAL_NAME
        assert answer.json()["key"]["scopes"] == ["organization:read", "customers:read"]

    page.goto("/organizations/api")
    expect(page.get_by_label("Clave secreta")).to_have_count(0)  # shown once
    assert secret not in page.content()
    row = page.locator("tr", has_text="Tienda online")
    expect(row.get_by_role("img", name="3 pedidos en 14 días")).to_be_visible()
    expect(row).not_to_contain_text("Nunca")

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revocar").click()
    expect(page.get_by_text("Revocaste la clave «Tienda online»: ya no funciona.")).to_be_visible()
    expect(page.locator("tr", has_text="Tienda online")).to_contain_text("Revocada")
    refused = requests.get(
        live_server + "/api/v1/organization",
        headers={"Authorization": f"Bearer {secret}"},
        timeout=10,
    )
    assert refused.status_code == 401

    page.get_by_role("link", name="Referencia de la API").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Talonario API")
    expect(page.locator("#get_organization")).to_contain_text("organization:read")
