"""Bulk authorization on PostgreSQL: a batch's reserve and record are set-based."""

from __future__ import annotations

from flask import Flask

from core.db import db
from tests.batches import check_batches_are_set_based


def test_a_batch_of_250_is_reserved_and_recorded_in_a_few_statements(app: Flask) -> None:
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"
        check_batches_are_set_based()
