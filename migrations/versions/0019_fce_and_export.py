"""FCE MiPyME and Factura E: the issuer's CBU for FCE, foreign customers, each voucher's FCE
optionals and export data, and the type codes of both

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 00:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# 0007's rule with the FCE MiPyME (201-213) and export (19-21) codes of each kind.
OLD_TYPES = (
    "({row}kind = 'invoice' AND {row}invoice_type IN (1, 6, 11, 51))"
    " OR ({row}kind = 'debit_note' AND {row}invoice_type IN (2, 7, 12, 52))"
    " OR ({row}kind = 'credit_note' AND {row}invoice_type IN (3, 8, 13, 53))"
)
NEW_TYPES = (
    "({row}kind = 'invoice' AND {row}invoice_type IN (1, 6, 11, 51, 201, 206, 211, 19))"
    " OR ({row}kind = 'debit_note' AND {row}invoice_type IN (2, 7, 12, 52, 202, 207, 212, 20))"
    " OR ({row}kind = 'credit_note' AND {row}invoice_type IN (3, 8, 13, 53, 203, 208, 213, 21))"
)
INVOICE_COLUMNS = (
    ("fce_cbu", sa.String(length=22)),
    ("fce_alias", sa.String(length=60)),
    ("fce_transfer", sa.String(length=3)),
    ("fce_cancels_rejected", sa.Boolean()),
    ("export_type", sa.Integer()),
    ("destination_country", sa.Integer()),
    ("receiver_country_cuit", sa.String(length=11)),
    ("receiver_tax_id", sa.String(length=30)),
    ("incoterms", sa.String(length=3)),
    ("incoterms_detail", sa.String(length=20)),
    ("language", sa.Integer()),
    ("export_payment_terms", sa.String(length=50)),
    ("permit_existing", sa.Boolean()),
    ("export_request_id", sa.BigInteger()),
)


def upgrade():
    # Plain ADD COLUMN, not a batch copy: on SQLite a copy would drop the tables' triggers.
    op.add_column("organizations", sa.Column("cbu", sa.String(length=22), nullable=True))
    op.add_column("organizations", sa.Column("cbu_alias", sa.String(length=60), nullable=True))
    op.add_column(
        "organizations",
        sa.Column("fce_transfer", sa.String(length=3), server_default="SCA", nullable=False),
    )
    op.add_column("customers", sa.Column("country", sa.Integer(), nullable=True))
    op.add_column("customers", sa.Column("foreign_tax_id", sa.String(length=30), nullable=True))
    _unique_documents("doc_type <> 99 AND country IS NULL")
    for name, type_ in INVOICE_COLUMNS:
        op.add_column("invoices", sa.Column(name, type_, nullable=True))
    op.add_column("invoices", sa.Column("permits", sa.JSON(), server_default="[]", nullable=False))
    _replace_type_rule(OLD_TYPES, NEW_TYPES)


def downgrade():
    _replace_type_rule(NEW_TYPES, OLD_TYPES)
    op.drop_column("invoices", "permits")
    for name, _ in reversed(INVOICE_COLUMNS):
        op.drop_column("invoices", name)
    _unique_documents("doc_type <> 99")
    op.drop_column("customers", "foreign_tax_id")
    op.drop_column("customers", "country")
    op.drop_column("organizations", "fce_transfer")
    op.drop_column("organizations", "cbu_alias")
    op.drop_column("organizations", "cbu")


def _replace_type_rule(old, new):
    """0007's check on PostgreSQL, its triggers on SQLite (which can't alter a constraint)."""
    del old  # the constraint and the triggers are dropped by name
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("type_matches_kind", "invoices", type_="check")
        op.create_check_constraint("type_matches_kind", "invoices", new.format(row=""))
        return
    for operation in ("INSERT", "UPDATE"):
        op.execute(f"DROP TRIGGER IF EXISTS invoices_type_matches_kind_{operation.lower()}")
        op.execute(
            f"CREATE TRIGGER invoices_type_matches_kind_{operation.lower()} "
            f"BEFORE {operation} ON invoices "
            f"WHEN NOT ({new.format(row='NEW.')}) "
            "BEGIN SELECT RAISE(ABORT, 'check constraint failed: ck_invoices_type_matches_kind'); "
            "END"
        )


def _unique_documents(where):
    """0003's unique document index, leaving out customers abroad (whose document is their
    country's CUIT, shared by all of that country's companies)."""
    op.drop_index("uq_customers_document", table_name="customers")
    op.create_index(
        "uq_customers_document",
        "customers",
        ["organization_id", "doc_type", "doc_number"],
        unique=True,
        postgresql_where=sa.text(where),
        sqlite_where=sa.text(where),
    )
