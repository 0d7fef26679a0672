"""The archive (issue #16): audit entries past the online year leave in whole months to
gzipped JSONL with a manifest, the chain's anchor moves with them so `audit verify` still
passes; `archive verify` passes, and fails naming the file or entry after any change."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from blueprints.audit.chain import GENESIS, verify_chain
from blueprints.audit.models import AuditAnchor, AuditEvent
from blueprints.audit.services import record_event
from blueprints.retention import policy
from blueprints.retention.archive import (
    AUDIT_FILE,
    MANIFEST,
    build_manifest,
    file_digest,
    gzip_jsonl,
    read_jsonl,
    write_month,
)
from blueprints.retention.cli import archive_cli, retention_cli
from blueprints.retention.services import run_retention
from core.db import db
from core.scheduler import SCHEDULE
from tests.factories import make_organization, make_user
from tests.integration.test_retention import TODAY, retention_app  # noqa: F401  (fixture)


def months_back(months: int, day: int = 10) -> dt.datetime:
    """Noon on `day` of the month `months` before TODAY's."""
    index = TODAY.year * 12 + TODAY.month - 1 - months
    return dt.datetime(index // 12, index % 12 + 1, day, 12, tzinfo=dt.UTC)


def backdated(organization_id: int, when: dt.datetime, action: str) -> None:
    """An entry written `when` (chained as it is flushed, with that time in its hash)."""
    event = record_event(db.session, organization_id, action, None, details={"at": str(when)})
    event.created_at = when
    db.session.commit()


def organization_with_history() -> tuple[int, str]:
    """Entries #1-#3 in one month two years ago, #4-#5 the next month, #6 half a year ago and
    #7 now: #1-#5 are due."""
    organization = make_organization(owner=make_user())
    moments = [(25, 3), (25, 9), (25, 28), (24, 1), (24, 20), (6, 10), (0, 1)]
    for seq, (months, day) in enumerate(moments, start=1):
        when = months_back(months, day)
        backdated(organization.id, when, f"test.entry_{seq}")
    return organization.id, organization.cuit


def month_name(months: int) -> str:
    return policy.month_of(months_back(months))


def test_audit_entries_past_a_year_move_to_the_archive_and_the_chain_holds(
    retention_app: Flask,  # noqa: F811
) -> None:
    root = Path(retention_app.config["ARCHIVE_PATH"])
    runner = retention_app.test_cli_runner()
    with retention_app.app_context():
        organization_id, cuit = organization_with_history()
        fifth = db.session.scalar(
            select(AuditEvent.hash).where(
                AuditEvent.organization_id == organization_id, AuditEvent.seq == 5
            )
        )
        dry = run_retention(db.session, TODAY, dry_run=True)
        assert dry.by_organization[cuit]["audit_entries"] == 5
        assert not root.exists()
        assert db.session.get(AuditAnchor, organization_id) is None

        report = run_retention(db.session, TODAY)
        assert report.counts == dry.counts
        online = db.session.scalars(
            select(AuditEvent.seq).where(AuditEvent.organization_id == organization_id)
        )
        assert sorted(online) == [6, 7]
        anchor = db.session.get_one(AuditAnchor, organization_id)
        assert (anchor.seq, anchor.hash) == (5, fifth)
        assert anchor.location == f"{cuit}/{month_name(24)}/{AUDIT_FILE}"
        assert verify_chain(db.session, organization_id) == []

    first, second = root / cuit / month_name(25), root / cuit / month_name(24)
    entries = read_jsonl(first / AUDIT_FILE)
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert entries[0]["prev_hash"] == GENESIS and entries[0]["action"] == "test.entry_1"
    assert [e["seq"] for e in read_jsonl(second / AUDIT_FILE)] == [4, 5]
    manifest = json.loads((second / MANIFEST).read_bytes())
    assert manifest["audit"]["last_seq"] == 5 and manifest["audit"]["last_hash"] == fifth
    assert manifest["files"][AUDIT_FILE] == file_digest(second / AUDIT_FILE)

    audit = runner.invoke(args=["audit", "verify"])
    assert audit.exit_code == 0, audit.output
    verified = runner.invoke(archive_cli, ["verify"])
    assert verified.exit_code == 0, verified.output
    assert "2 month(s) checked" in verified.output

    # Again: nothing is due; the files are byte for byte what they were.
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    again = runner.invoke(retention_cli, ["run", "--today", TODAY.isoformat()])
    assert again.exit_code == 0 and "removed 0 rows" in again.output, again.output
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_archive_verify_names_a_changed_byte_and_an_edited_entry(
    retention_app: Flask,  # noqa: F811
) -> None:
    root = Path(retention_app.config["ARCHIVE_PATH"])
    runner = retention_app.test_cli_runner()
    with retention_app.app_context():
        _organization_id, cuit = organization_with_history()
        run_retention(db.session, TODAY)
    first, second = root / cuit / month_name(25), root / cuit / month_name(24)
    assert runner.invoke(archive_cli, ["verify", str(root)]).exit_code == 0

    # One byte of a file: its hash no longer matches the manifest.
    path = second / AUDIT_FILE
    original = path.read_bytes()
    path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    broken = runner.invoke(archive_cli, ["verify", str(root)])
    assert broken.exit_code == 1
    assert f"{cuit}/{month_name(24)}/{AUDIT_FILE}: its sha256" in broken.output
    path.write_bytes(original)

    # An entry edited and the manifest rewritten to match: the chain names the entry.
    entries = read_jsonl(first / AUDIT_FILE)
    entries[1]["action"] = "test.innocent"
    (first / AUDIT_FILE).write_bytes(gzip_jsonl(entries))
    manifest = build_manifest(first, cuit, month_name(25))
    (first / MANIFEST).write_text(json.dumps(manifest))
    broken = runner.invoke(archive_cli, ["verify", str(root)])
    assert broken.exit_code == 1
    assert f"{month_name(25)}/{AUDIT_FILE} entry #2: its hash does not match" in broken.output

    # An entry removed (hashes and manifest recomputed): the next one does not follow.
    entries = read_jsonl(second / AUDIT_FILE)
    (second / AUDIT_FILE).write_bytes(gzip_jsonl(entries[1:]))
    (second / MANIFEST).write_text(json.dumps(build_manifest(second, cuit, month_name(24))))
    broken = runner.invoke(archive_cli, ["verify", str(root)])
    assert f"{month_name(24)}/{AUDIT_FILE} entry #5: does not follow entry #3" in broken.output


def test_writing_a_month_again_merges_without_duplicates(tmp_path: Path) -> None:
    record = {"seq": 1, "prev_hash": GENESIS, "hash": "a" * 64, "action": "x"}
    later = {"seq": 2, "prev_hash": "a" * 64, "hash": "b" * 64, "action": "y"}
    folder = write_month(tmp_path, "30712345678", "2024-01", audit=[record])
    first = (folder / AUDIT_FILE).read_bytes()
    write_month(tmp_path, "30712345678", "2024-01", audit=[record])
    assert (folder / AUDIT_FILE).read_bytes() == first  # the same bytes: no time in gzip
    write_month(tmp_path, "30712345678", "2024-01", audit=[later, record])
    assert [e["seq"] for e in read_jsonl(folder / AUDIT_FILE)] == [1, 2]
    assert gzip.decompress((folder / AUDIT_FILE).read_bytes()).count(b"\n") == 2
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary left


def test_retention_is_a_daily_job() -> None:
    assert SCHEDULE["retention"].cron == "0 4 * * *"  # every night
