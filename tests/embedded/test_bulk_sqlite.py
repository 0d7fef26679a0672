"""Bulk authorization on the embedded default (SQLite): a batch's reserve and record are
set-based there too (executemany, INSERT … RETURNING)."""

from __future__ import annotations

import pytest
from flask import Flask

from core.db import db
from tests.batches import check_batches_are_set_based

pytestmark = pytest.mark.embedded


def test_a_batch_of_250_is_reserved_and_recorded_in_a_few_statements(
    embedded_app: Flask,
) -> None:
    with embedded_app.app_context():
        assert db.engine.dialect.name == "sqlite"
        check_batches_are_set_based()
