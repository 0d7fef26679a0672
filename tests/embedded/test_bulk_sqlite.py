"""Bulk authorization on the embedded default (SQLite): a batch's reserve and record are
set-based there too (executemany, INSERT … RETURNING)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade

from app import create_app
from core.db import db
from tests.batches import check_batches_are_set_based

pytestmark = pytest.mark.embedded


@pytest.fixture
def embedded_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    for name in list(os.environ):
        if name.startswith("TALONARIO_"):
            monkeypatch.delenv(name)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_a_batch_of_250_is_reserved_and_recorded_in_a_few_statements(
    embedded_app: Flask,
) -> None:
    with embedded_app.app_context():
        assert db.engine.dialect.name == "sqlite"
        check_batches_are_set_based()
