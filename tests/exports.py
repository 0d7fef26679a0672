"""Exports as a browser gets them: post the form, follow the export's page while a worker
builds the file, download it."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from core.tasks import run_worker
from tests.web import post_form, text_of


def start(client: FlaskClient, path: str, data: dict[str, Any], token_from: str) -> str:
    """Post an export's form; returns the export's page (where the 303 goes)."""
    response = post_form(client, path, data, token_from=token_from)
    assert response.status_code == 303, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.startswith("/exports/"), location
    return location


def exported(
    app: Flask, client: FlaskClient, path: str, data: dict[str, Any], token_from: str
) -> TestResponse:
    """The file an export's form produces, once a worker has built it."""
    page = start(client, path, data, token_from)
    waiting = client.get(page).get_data(as_text=True)
    assert 'id="export-progress"' in waiting and 'hx-trigger="every 1s"' in waiting
    with app.app_context():
        run_worker(burst=True)
    ready = client.get(f"{page}/status", headers={"HX-Request": "true"})
    assert 'id="export-download"' in ready.get_data(as_text=True), text_of(ready)
    assert "hx-trigger" not in ready.get_data(as_text=True)
    download = client.get(f"{page}/download")
    assert download.status_code == 200, download.status_code
    assert "attachment" in download.headers["Content-Disposition"]
    return download
