"""The audit log is tamper-evident: `audit verify` names any entry edited, removed or
reordered directly in the database, and the database itself refuses edits and deletions."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import func, select

from blueprints.audit.chain import GENESIS, verify_chain
from blueprints.audit.models import AuditEvent, AuditHead
from blueprints.audit.services import record_event
from blueprints.demo.services import create_demo
from core.arca import get_arca
from core.crypto import get_keyring
from core.db import db
from tests.database import owner_connection
from tests.factories import make_organization, make_user


def entries(organization_id: int, count: int) -> list[AuditEvent]:
    """`count` new entries, oldest first (their ids are read before the session goes)."""
    user = make_user()
    for index in range(count):
        subject = ("invoice", index)
        record_event(db.session, organization_id, "test.step", user, subject, {"n": index})
        db.session.commit()
    query = select(AuditEvent).where(AuditEvent.organization_id == organization_id)
    chained = list(db.session.scalars(query.order_by(AuditEvent.seq)))
    for entry in chained:
        db.session.expunge(entry)
    return chained


def tamper(*statements: tuple[str, int]) -> None:
    """What someone with the owner's password could do: switch the guard off, change rows.
    Each statement names the row as `:id`."""
    with owner_connection() as connection:
        connection.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        for statement, entry_id in statements:
            connection.execute(sa.text(statement), {"id": entry_id})
        connection.execute(sa.text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
    db.session.expire_all()


def verify(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def test_the_demo_data_verifies(app: Flask) -> None:
    with app.app_context():
        create_demo(db.session, get_arca(), get_keyring())
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) > 0
    code, output = verify(app)
    assert code == 0, output
    assert "0 break(s)" in output


def test_entries_chain_from_genesis_and_the_head_follows(app: Flask) -> None:
    with app.app_context():
        organization = make_organization()
        chained = entries(organization.id, 3)
        assert [entry.seq for entry in chained] == [1, 2, 3]
        assert chained[0].prev_hash == GENESIS
        assert [entry.prev_hash for entry in chained[1:]] == [e.hash for e in chained[:2]]
        head = db.session.get_one(AuditHead, organization.id)
        assert (head.seq, head.hash) == (3, chained[-1].hash)
        assert verify_chain(db.session, organization.id) == []


def test_an_edited_entry_is_named(app: Flask) -> None:
    with app.app_context():
        organization = make_organization()
        edited = entries(organization.id, 4)[1]
        tamper(("UPDATE audit_events SET actor = 'otra persona' WHERE id = :id", edited.id))
    code, output = verify(app)
    assert code == 1
    assert f"entry #2 (id {edited.id}): its content was changed" in output


def test_a_removed_entry_is_named(app: Flask) -> None:
    with app.app_context():
        organization = make_organization()
        chained = entries(organization.id, 4)
        tamper(("DELETE FROM audit_events WHERE id = :id", chained[1].id))
    code, output = verify(app)
    assert code == 1
    assert f"entry #3 (id {chained[2].id}): entries #2 before it were removed" in output


def test_removing_the_newest_entry_is_seen_against_the_head(app: Flask) -> None:
    with app.app_context():
        organization = make_organization()
        chained = entries(organization.id, 3)
        tamper(("DELETE FROM audit_events WHERE id = :id", chained[-1].id))
    code, output = verify(app)
    assert code == 1
    assert "entry #3: the newest entries are missing" in output
    assert "the chain ends at #2, its head is #3" in output


def test_swapped_entries_are_named(app: Flask) -> None:
    with app.app_context():
        organization = make_organization()
        chained = entries(organization.id, 4)
        second, third = chained[1].id, chained[2].id
        tamper(
            ("UPDATE audit_events SET seq = -1 WHERE id = :id", second),
            ("UPDATE audit_events SET seq = 2 WHERE id = :id", third),
            ("UPDATE audit_events SET seq = 3 WHERE id = :id", second),
        )
    code, output = verify(app)
    assert code == 1
    assert f"entry #2 (id {third}): it does not follow the entry before it" in output
    assert f"entry #3 (id {second})" in output


def test_one_organization_can_be_checked_alone(app: Flask) -> None:
    with app.app_context():
        sound, broken = make_organization(), make_organization()
        entries(sound.id, 2)
        edited = entries(broken.id, 2)[0]
        tamper(("UPDATE audit_events SET action = 'x' WHERE id = :id", edited.id))
        sound_cuit = sound.cuit
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--organization", sound_cuit])
    assert result.exit_code == 0, result.output
    code, output = verify(app)
    assert code == 1 and "1 break(s)" in output


def test_the_database_refuses_updates_and_deletes(app: Flask) -> None:
    with app.app_context():
        organization = make_organization()
        first = entries(organization.id, 1)[0]
        for statement in (
            ("UPDATE audit_events SET actor = 'x' WHERE id = :id", first.id),
            ("DELETE FROM audit_events WHERE id = :id", first.id),
        ):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as c:
                c.execute(sa.text(statement[0]), {"id": statement[1]})


def test_deleting_a_user_keeps_their_entries_and_the_chain(app: Flask) -> None:
    with app.app_context():
        organization = make_organization()
        user = make_user()
        record_event(db.session, organization.id, "test.step", user)
        db.session.commit()
        db.session.delete(user)
        db.session.commit()
        entry = db.session.scalars(select(AuditEvent)).one()
        assert entry.user_id is None and entry.actor == user.email
        assert verify_chain(db.session, organization.id) == []


def test_concurrent_writers_never_share_a_seq(app: Flask) -> None:
    with app.app_context():
        organization_id = make_organization().id
    errors: list[BaseException] = []

    def write(count: int) -> None:
        try:
            with app.app_context():
                for index in range(count):
                    record_event(db.session, organization_id, "test.race", None, None, {"i": index})
                    db.session.commit()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(15,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        seqs = db.session.scalars(
            select(AuditEvent.seq).where(AuditEvent.organization_id == organization_id)
        ).all()
        assert sorted(seqs) == list(range(1, 46))
        assert verify_chain(db.session, organization_id) == []
