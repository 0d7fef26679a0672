"""The embedded default: SQLite in a temporary instance folder, no Redis, whatever the env says."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade

from app import create_app
from core.db import db


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
