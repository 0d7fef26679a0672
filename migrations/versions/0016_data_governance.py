"""Data governance: the audit log hash-chained and append-only, its archive anchors, closed
organizations, erased customers, and vouchers that cannot be deleted within their retention

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 16:00:00

"""

import datetime as dt
import hashlib
import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

GENESIS = "0" * 64

AUDIT_APPEND_ONLY = """
CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        -- Retention removes entries only after archiving them with the chain head.
        IF current_setting('talonario.audit_purge', true) = 'on' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_events is append-only: entry % of organization % cannot be deleted',
            OLD.seq, OLD.organization_id USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- A deleted user's entries keep the actor's name: the foreign key may only go to NULL.
    IF NEW.user_id IS NULL AND (to_jsonb(NEW) - 'user_id') = (to_jsonb(OLD) - 'user_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: entry % of organization % cannot be changed',
        OLD.seq, OLD.organization_id USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
"""

# A voucher that took a number may exist at ARCA. Migration 0004 refused its deletion forever;
# the law asks to keep it 7 years from the end of its fiscal year (the calendar year of its
# date): from then on retention may archive and delete it, and no path may do so before.
KEEP_FISCAL_POSTGRESQL = """
CREATE FUNCTION fiscal_retention_end(issue_date date) RETURNS date AS $$
    SELECT make_date(extract(year FROM issue_date)::integer + 7, 12, 31)
$$ LANGUAGE sql IMMUTABLE;

CREATE OR REPLACE FUNCTION talonario_invoice_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF (OLD.status = 'authorized' OR OLD.number IS NOT NULL OR OLD.cae IS NOT NULL)
                AND current_date <= fiscal_retention_end(OLD.issue_date) THEN
            RAISE EXCEPTION 'invoice % holds a number: it is kept until %',
                OLD.id, fiscal_retention_end(OLD.issue_date);
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'authorized' THEN
        RAISE EXCEPTION 'invoice % is authorized: it cannot be changed', OLD.id;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION authorization_attempts_keep_fiscal() RETURNS trigger AS $$
DECLARE
    kept invoices%ROWTYPE;
BEGIN
    -- A cascade from an invoice's deletion finds no invoice left: that deletion was checked.
    SELECT * INTO kept FROM invoices WHERE id = OLD.invoice_id;
    IF FOUND AND (kept.number IS NOT NULL OR kept.cae IS NOT NULL)
            AND current_date <= fiscal_retention_end(kept.issue_date) THEN
        RAISE EXCEPTION 'the attempts of invoice % are kept until %',
            kept.id, fiscal_retention_end(kept.issue_date);
    END IF;
    RETURN OLD;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER authorization_attempts_keep_fiscal BEFORE DELETE ON authorization_attempts
FOR EACH ROW EXECUTE FUNCTION authorization_attempts_keep_fiscal();
"""

PREVIOUS_INVOICE_IMMUTABLE = """
CREATE OR REPLACE FUNCTION talonario_invoice_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status = 'authorized' OR OLD.number IS NOT NULL THEN
            RAISE EXCEPTION 'invoice % holds a number: it cannot be deleted', OLD.id;
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'authorized' THEN
        RAISE EXCEPTION 'invoice % is authorized: it cannot be changed', OLD.id;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
"""

SQLITE_NO_DELETE = (
    "CREATE TRIGGER invoices_no_delete BEFORE DELETE ON invoices "
    "WHEN (OLD.status = 'authorized' OR OLD.number IS NOT NULL OR OLD.cae IS NOT NULL) "
    "AND date('now') <= printf('%04d-12-31', CAST(strftime('%Y', OLD.issue_date) AS INTEGER) + 7) "
    "BEGIN SELECT RAISE(ABORT, 'invoice holds a number: it is kept 7 years'); END"
)
SQLITE_PREVIOUS_NO_DELETE = (
    "CREATE TRIGGER invoices_no_delete BEFORE DELETE ON invoices "
    "WHEN OLD.status = 'authorized' OR OLD.number IS NOT NULL "
    "BEGIN SELECT RAISE(ABORT, 'invoice holds a number: it cannot be deleted'); END"
)


def upgrade():
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("user_agent", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    op.create_table(
        "audit_heads",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_audit_heads_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_audit_heads")),
    )
    chain_existing_entries(bind)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_audit_events_organization_id_seq"), ["organization_id", "seq"]
        )

    op.create_table(
        "audit_anchors",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_audit_anchors_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_audit_anchors")),
    )
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))

    if postgresql:
        op.execute(AUDIT_APPEND_ONLY)
        op.execute(KEEP_FISCAL_POSTGRESQL)
    else:
        op.execute("DROP TRIGGER invoices_no_delete")
        op.execute(SQLITE_NO_DELETE)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER authorization_attempts_keep_fiscal ON authorization_attempts")
        op.execute("DROP FUNCTION authorization_attempts_keep_fiscal()")
        op.execute(PREVIOUS_INVOICE_IMMUTABLE)
        op.execute("DROP FUNCTION fiscal_retention_end(date)")
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
    else:
        op.execute("DROP TRIGGER invoices_no_delete")
        op.execute(SQLITE_PREVIOUS_NO_DELETE)
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
    op.drop_table("audit_anchors")
    op.drop_table("audit_heads")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_events_organization_id_seq"), type_="unique")
        for column in ("hash", "prev_hash", "seq", "user_agent", "address"):
            batch_op.drop_column(column)


def chain_existing_entries(bind):
    """Chain the entries written before the chain existed, per organization in the order
    they were written. The hash is a frozen copy of blueprints/audit/chain.py's version 1
    (revisions import nothing from the app)."""
    rows = bind.execute(
        sa.text(
            "SELECT id, organization_id, created_at, actor, action, subject_type, subject_id,"
            " details FROM audit_events ORDER BY organization_id, created_at, id"
        )
    ).mappings()
    heads = {}
    for row in rows:
        seq, prev = heads.get(row["organization_id"], (0, GENESIS))
        seq += 1
        details = row["details"]
        if isinstance(details, str):
            details = json.loads(details)
        digest = entry_hash_v1(
            {
                "organization_id": row["organization_id"],
                "seq": seq,
                "created_at": utc_iso(row["created_at"]),
                "actor": row["actor"],
                "action": row["action"],
                "subject_type": row["subject_type"],
                "subject_id": row["subject_id"],
                "details": details or {},
                "address": None,
                "user_agent": None,
            },
            prev,
        )
        bind.execute(
            sa.text(
                "UPDATE audit_events SET seq = :seq, prev_hash = :prev, hash = :hash WHERE id = :id"
            ),
            {"seq": seq, "prev": prev, "hash": digest, "id": row["id"]},
        )
        heads[row["organization_id"]] = (seq, digest)
    for organization_id, (seq, digest) in heads.items():
        bind.execute(
            sa.text("INSERT INTO audit_heads (organization_id, seq, hash) VALUES (:o, :s, :h)"),
            {"o": organization_id, "s": seq, "h": digest},
        )


def utc_iso(value):
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def entry_hash_v1(fields, prev_hash):
    payload = dict(fields, v=1, prev_hash=prev_hash)
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
