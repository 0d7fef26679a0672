"""CAEA contingency (RG 5782): the fortnights' CAEA codes, vouchers issued with one, and where
each stands with ARCA until FECAEARegInformativo accepted it

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 21:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

CURRENT_ORGANIZATION = "nullif(current_setting('talonario.organization_id', true), '')::integer"
NEW_TABLES = ("caea_codes", "caea_reports")
# An invoice says how it was authorized; a CAEA voucher keeps when it was generated
# (CbteFchHsGen). The CAEA itself goes in `cae`/`cae_due`, so 0004's "authorized has a CAE"
# and the immutability triggers hold for both modes unchanged.
CHECKS = {
    "authorization_mode": "{row}authorization_mode IN ('CAE', 'CAEA')",
    "caea_has_generated_at": "{row}authorization_mode = 'CAE' OR {row}generated_at IS NOT NULL",
}


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "caea_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("fortnight", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=14), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("report_deadline", sa.Date(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("no_movement", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_caea_codes_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caea_codes")),
    )
    with op.batch_alter_table("caea_codes", schema=None) as batch_op:
        batch_op.create_index(
            "uq_caea_codes_organization_id_period_fortnight",
            ["organization_id", "period", "fortnight"],
            unique=True,
        )
    op.create_table(
        "caea_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("caea_code_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("informed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'informed', 'rejected')", name=op.f("ck_caea_reports_status")
        ),
        sa.ForeignKeyConstraint(
            ["caea_code_id"],
            ["caea_codes.id"],
            name=op.f("fk_caea_reports_caea_code_id_caea_codes"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_caea_reports_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_caea_reports_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caea_reports")),
        sa.UniqueConstraint("invoice_id", name=op.f("uq_caea_reports_invoice_id")),
    )
    with op.batch_alter_table("caea_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_caea_reports_caea_code_id"), ["caea_code_id"], unique=False
        )
        batch_op.create_index(
            "ix_caea_reports_organization_id_status", ["organization_id", "status"], unique=False
        )
    # Plain ADD COLUMN, not a batch copy: on SQLite a copy would drop the invoices' triggers.
    op.add_column(
        "invoices",
        sa.Column("authorization_mode", sa.String(length=4), server_default="CAE", nullable=False),
    )
    op.add_column("invoices", sa.Column("generated_at", sa.DateTime(timezone=True), nullable=True))
    if postgresql:
        for name, condition in CHECKS.items():
            op.create_check_constraint(name, "invoices", condition.format(row=""))
        for table in NEW_TABLES:
            protect(table, f"organization_id = {CURRENT_ORGANIZATION}")
        return
    for name, condition in CHECKS.items():
        for operation in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER invoices_{name}_{operation.lower()} "
                f"BEFORE {operation} ON invoices "
                f"WHEN NOT ({condition.format(row='NEW.')}) "
                f"BEGIN SELECT RAISE(ABORT, 'check constraint failed: ck_invoices_{name}'); END"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in CHECKS:
            op.drop_constraint(f"ck_invoices_{name}", "invoices", type_="check")
    else:
        for name in CHECKS:
            for operation in ("insert", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS invoices_{name}_{operation}")
    op.drop_column("invoices", "generated_at")
    op.drop_column("invoices", "authorization_mode")
    with op.batch_alter_table("caea_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_caea_reports_organization_id_status")
        batch_op.drop_index(batch_op.f("ix_caea_reports_caea_code_id"))
    op.drop_table("caea_reports")
    with op.batch_alter_table("caea_codes", schema=None) as batch_op:
        batch_op.drop_index("uq_caea_codes_organization_id_period_fortnight")
    op.drop_table("caea_codes")


def protect(table, condition):
    """Row-level security as migration 0017 sets it (the grants come from its default
    privileges: this runs as the same migrating role)."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} USING ({condition}) WITH CHECK ({condition})"
    )
