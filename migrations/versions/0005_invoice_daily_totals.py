"""Invoice totals per day, indexes for the list's filters

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 03:46:23.121098

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('invoice_daily_totals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('invoice_type', sa.Integer(), nullable=False),
    sa.Column('point_of_sale_number', sa.Integer(), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('net_cents', sa.BigInteger(), nullable=False),
    sa.Column('vat_cents', sa.BigInteger(), nullable=False),
    sa.Column('total_cents', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_invoice_daily_totals_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_daily_totals'))
    )
    op.create_index('uq_invoice_daily_totals_key', 'invoice_daily_totals', ['organization_id', 'issue_date', 'invoice_type', 'point_of_sale_number'], unique=True)
    op.drop_index('ix_invoices_organization_id_status', table_name='invoices')
    op.create_index('ix_invoices_organization_id_customer_id_issue_date', 'invoices', ['organization_id', 'customer_id', 'issue_date', 'id'], unique=False, postgresql_include=['status', 'kind', 'currency_rate', 'net', 'vat_total', 'total'])
    op.create_index('ix_invoices_organization_id_status_issue_date', 'invoices', ['organization_id', 'status', 'issue_date', 'id'], unique=False)
    op.create_index('ix_invoices_organization_id_total', 'invoices', ['organization_id', 'total'], unique=False, postgresql_include=['status', 'kind', 'currency_rate', 'net', 'vat_total'])
    create_daily_total_triggers()
    op.execute(BACKFILL)


def downgrade():
    drop_daily_total_triggers()
    op.drop_index('ix_invoices_organization_id_total', table_name='invoices')
    op.drop_index('ix_invoices_organization_id_status_issue_date', table_name='invoices')
    op.drop_index('ix_invoices_organization_id_customer_id_issue_date', table_name='invoices')
    op.create_index('ix_invoices_organization_id_status', 'invoices', ['organization_id', 'status'], unique=False)
    op.drop_index('uq_invoice_daily_totals_key', table_name='invoice_daily_totals')
    op.drop_table('invoice_daily_totals')


# Authorized invoices never change, so when one becomes authorized its amounts are added to
# its day's row, and that is all the upkeep there is. Each voucher counts in pesos cents
# (amount x rate, rounded to the cent) with credit notes negative, as the list's totals do.
KEY = "organization_id, issue_date, invoice_type, point_of_sale_number"
SIGN = "(CASE WHEN NEW.kind = 'credit_note' THEN -1 ELSE 1 END)"


def cents(column):
    # CAST(... AS BIGINT) reads the same in PostgreSQL and SQLite.
    return f"CAST(ROUND({SIGN} * NEW.{column} * NEW.currency_rate * 100) AS BIGINT)"


UPSERT = (
    f"INSERT INTO invoice_daily_totals ({KEY}, count, net_cents, vat_cents, total_cents) "
    "VALUES (NEW.organization_id, NEW.issue_date, NEW.invoice_type, NEW.point_of_sale_number, "
    f"1, {cents('net')}, {cents('vat_total')}, {cents('total')}) "
    f"ON CONFLICT ({KEY}) DO UPDATE SET count = invoice_daily_totals.count + 1, "
    "net_cents = invoice_daily_totals.net_cents + excluded.net_cents, "
    "vat_cents = invoice_daily_totals.vat_cents + excluded.vat_cents, "
    "total_cents = invoice_daily_totals.total_cents + excluded.total_cents"
)


def create_daily_total_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION talonario_invoice_daily_total() RETURNS trigger AS $$\n"
            "BEGIN\n"
            "    IF NEW.status = 'authorized'"
            " AND (TG_OP = 'INSERT' OR OLD.status <> 'authorized') THEN\n"
            f"        {UPSERT};\n"
            "    END IF;\n"
            "    RETURN NEW;\n"
            "END\n$$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER invoices_daily_total AFTER INSERT OR UPDATE OF status ON invoices "
            "FOR EACH ROW EXECUTE FUNCTION talonario_invoice_daily_total()"
        )
        return
    op.execute(
        "CREATE TRIGGER invoices_daily_total_insert AFTER INSERT ON invoices "
        f"WHEN NEW.status = 'authorized' BEGIN {UPSERT}; END"
    )
    op.execute(
        "CREATE TRIGGER invoices_daily_total_update AFTER UPDATE OF status ON invoices "
        "WHEN NEW.status = 'authorized' AND OLD.status <> 'authorized' "
        f"BEGIN {UPSERT}; END"
    )


def drop_daily_total_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS invoices_daily_total ON invoices")
        op.execute("DROP FUNCTION IF EXISTS talonario_invoice_daily_total()")
        return
    op.execute("DROP TRIGGER IF EXISTS invoices_daily_total_insert")
    op.execute("DROP TRIGGER IF EXISTS invoices_daily_total_update")


BACKFILL = (
    f"INSERT INTO invoice_daily_totals ({KEY}, count, net_cents, vat_cents, total_cents) "
    f"SELECT {KEY}, COUNT(*), "
    + ", ".join(
        f"SUM(CAST(ROUND((CASE WHEN kind = 'credit_note' THEN -1 ELSE 1 END) * {column} "
        "* currency_rate * 100) AS BIGINT))"
        for column in ("net", "vat_total", "total")
    )
    + f" FROM invoices WHERE status = 'authorized' GROUP BY {KEY}"
)
