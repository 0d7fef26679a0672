"""Invoices: a note always has its original, and its type code agrees with its kind

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 22:50:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# Whatever a form posts, the database keeps a credit note a credit note: a note without the
# voucher it corrects (CbtesAsoc), or a type code of another kind, is refused. The codes are
# ARCA's classes A, B, C and A con leyenda (NOTES §7.1), as blueprints/invoices/letters.py.
NOTE_HAS_ORIGINAL = "{row}kind = 'invoice' OR {row}associated_invoice_id IS NOT NULL"
TYPE_MATCHES_KIND = (
    "({row}kind = 'invoice' AND {row}invoice_type IN (1, 6, 11, 51))"
    " OR ({row}kind = 'debit_note' AND {row}invoice_type IN (2, 7, 12, 52))"
    " OR ({row}kind = 'credit_note' AND {row}invoice_type IN (3, 8, 13, 53))"
)
CHECKS = {"note_has_original": NOTE_HAS_ORIGINAL, "type_matches_kind": TYPE_MATCHES_KIND}


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name, condition in CHECKS.items():
            op.create_check_constraint(name, "invoices", condition.format(row=""))
        return
    # SQLite can't add a constraint to a table (a batch copy would drop the invoices'
    # triggers): triggers refuse the same rows.
    for name, condition in CHECKS.items():
        for operation in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER invoices_{name}_{operation.lower()} BEFORE {operation} ON invoices "
                f"WHEN NOT ({condition.format(row='NEW.')}) "
                f"BEGIN SELECT RAISE(ABORT, 'check constraint failed: ck_invoices_{name}'); END"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in CHECKS:
            op.drop_constraint(f"ck_invoices_{name}", "invoices", type_="check")
        return
    for name in CHECKS:
        for operation in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS invoices_{name}_{operation}")
