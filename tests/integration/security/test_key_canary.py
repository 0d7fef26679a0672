"""A well-formed but wrong TALONARIO_ENCRYPTION_KEYS (issue #15, finding 7; deliver 8): the app
started normally, `/healthz` said 200, every ARCA action was a generic 500, and it sealed a new
private key that the right key could not open. Now a canary sealed at the first start is opened
at every start (wrong keys: the app refuses to start, naming the variable) and at every
`/readyz` (keys that can't open it: 503 "degraded"). PostgreSQL + Redis; the not-yet-migrated
database on the embedded default's SQLite.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import delete, func, select, update

from core.canary import KeyCanary
from core.crypto import (
    CANARY_ASSOCIATED_DATA,
    CANARY_PLAINTEXT,
    KeyRing,
    WrongKeys,
    get_keyring,
    keys_open_canary,
)
from core.db import db
from tests.conftest import TEST_ENCRYPTION_KEY, close_connections, make_app, temporary_app

OTHER_KEY = base64.urlsafe_b64encode(b"o" * 32).decode()
NEW_KEY = base64.urlsafe_b64encode(b"n" * 32).decode()


def canaries(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(KeyCanary.token).order_by(KeyCanary.id)))


def seal_canary_with(app: Flask, key: str) -> None:
    """The canary as another installation (other keys) would have sealed it."""
    token = KeyRing.parse(key).encrypt(CANARY_PLAINTEXT, CANARY_ASSOCIATED_DATA)
    with app.app_context():
        db.session.execute(update(KeyCanary).values(token=token))
        db.session.commit()


def test_the_first_start_seals_the_canary(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    with app.app_context():
        db.session.execute(delete(KeyCanary))
        db.session.commit()
    with temporary_app(database_url, redis_url, tmp_path):
        pass
    [token] = canaries(app)
    assert KeyRing.parse(TEST_ENCRYPTION_KEY).decrypt(token, CANARY_ASSOCIATED_DATA) == (
        CANARY_PLAINTEXT
    )
    # Starting again with the same keys neither refuses nor adds a second canary.
    with temporary_app(database_url, redis_url, tmp_path):
        pass
    assert canaries(app) == [token]


def test_wrong_keys_refuse_to_start_with_a_clear_message(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    with app.app_context():
        assert keys_open_canary(get_keyring())  # sealed with the test key
    with pytest.raises(RuntimeError, match="TALONARIO_ENCRYPTION_KEYS") as refused:
        make_app(database_url, redis_url, tmp_path, ENCRYPTION_KEYS=OTHER_KEY)
    assert isinstance(refused.value, WrongKeys)
    assert "cannot open" in str(refused.value)


def test_rotation_with_the_old_key_kept_second_starts_and_reseals_under_the_new(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    with app.app_context():
        assert keys_open_canary(get_keyring())
    with temporary_app(
        database_url, redis_url, tmp_path, ENCRYPTION_KEYS=f"{NEW_KEY},{TEST_ENCRYPTION_KEY}"
    ):
        pass
    [token] = canaries(app)
    assert not KeyRing.parse(NEW_KEY).needs_rotation(token)
    # After `keys rotate`, the old key is removed: the new one alone still opens the canary.
    with temporary_app(database_url, redis_url, tmp_path, ENCRYPTION_KEYS=NEW_KEY) as rotated:
        assert rotated.test_client().get("/readyz").json["keys"] == {"ok": True}
    seal_canary_with(app, TEST_ENCRYPTION_KEY)  # as it was, for the tests after this one


def test_readyz_says_ok_with_the_right_keys(app: Flask) -> None:
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["keys"] == {"ok": True}


def test_readyz_is_degraded_when_the_keys_no_longer_open_the_canary(app: Flask) -> None:
    """Keys and database parted under a running app (a restore from another installation)."""
    client = app.test_client()
    assert client.get("/readyz").status_code == 200  # seals the canary if the table was empty
    seal_canary_with(app, OTHER_KEY)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "degraded"
    assert response.json["database"]["ok"] is True and response.json["cache"]["ok"] is True
    assert response.json["keys"]["ok"] is False
    assert "TALONARIO_ENCRYPTION_KEYS" in response.json["keys"]["error"]
    assert response.headers["Cache-Control"] == "no-store"


def test_a_database_not_migrated_yet_still_starts_and_the_first_use_checks(
    tmp_path: Path, redis_url: str
) -> None:
    """`flask db upgrade` creates the app before the table exists: it must start. Keys that
    could not be checked at start are checked before their first use, so an app started with
    the wrong ones never seals anything."""
    database = f"sqlite:///{tmp_path / 'nuevo.db'}"
    right = make_app(database, None, tmp_path / "right")
    wrong = make_app(database, None, tmp_path / "wrong", ENCRYPTION_KEYS=OTHER_KEY)
    try:
        with right.app_context():
            upgrade()
            assert db.session.scalar(select(func.count()).select_from(KeyCanary)) == 0
            get_keyring()  # first use: checked, and the canary sealed
            assert db.session.scalar(select(func.count()).select_from(KeyCanary)) == 1
        with wrong.app_context(), pytest.raises(WrongKeys):
            get_keyring()
    finally:
        close_connections(right)
        close_connections(wrong)
