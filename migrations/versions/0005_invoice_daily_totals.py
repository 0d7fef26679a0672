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
    op.create_table('invoice_customer_daily_totals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('invoice_type', sa.Integer(), nullable=False),
    sa.Column('point_of_sale_number', sa.Integer(), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('net_cents', sa.BigInteger(), nullable=False),
    sa.Column('vat_cents', sa.BigInteger(), nullable=False),
    sa.Column('total_cents', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_invoice_customer_daily_totals_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_invoice_customer_daily_totals_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_customer_daily_totals'))
    )
    op.create_index('uq_invoice_customer_daily_totals_key', 'invoice_customer_daily_totals', ['organization_id', 'customer_id', 'issue_date', 'invoice_type', 'point_of_sale_number'], unique=True)
    op.drop_index('ix_invoices_organization_id_status', table_name='invoices')
    op.create_index('ix_invoices_organization_id_customer_id_issue_date', 'invoices', ['organization_id', 'customer_id', 'issue_date', 'id'], unique=False, postgresql_include=['status', 'kind', 'currency_rate', 'net', 'vat_total', 'total'])
    op.create_index('ix_invoices_organization_id_status_issue_date', 'invoices', ['organization_id', 'status', 'issue_date', 'id'], unique=False)
    op.create_index('ix_invoices_organization_id_total', 'invoices', ['organization_id', 'total'], unique=False, postgresql_include=['status', 'kind', 'currency_rate', 'net', 'vat_total'])
    create_daily_total_triggers()
    op.execute(backfill("invoice_daily_totals", KEY))
    op.execute(backfill("invoice_customer_daily_totals", CUSTOMER_KEY, "AND customer_id IS NOT NULL"))


def downgrade():
    drop_daily_total_triggers()
    op.drop_index('ix_invoices_organization_id_total', table_name='invoices')
    op.drop_index('ix_invoices_organization_id_status_issue_date', table_name='invoices')
    op.drop_index('ix_invoices_organization_id_customer_id_issue_date', table_name='invoices')
    op.create_index('ix_invoices_organization_id_status', 'invoices', ['organization_id', 'status'], unique=False)
    op.drop_index('uq_invoice_customer_daily_totals_key', table_name='invoice_customer_daily_totals')
    op.drop_table('invoice_customer_daily_totals')
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


CUSTOMER_KEY = "organization_id, customer_id, issue_date, invoice_type, point_of_sale_number"


def upsert(table, key):
    values = ", ".join(f"NEW.{column.strip()}" for column in key.split(","))
    return (
        f"INSERT INTO {table} ({key}, count, net_cents, vat_cents, total_cents) "
        f"VALUES ({values}, 1, {cents('net')}, {cents('vat_total')}, {cents('total')}) "
        f"ON CONFLICT ({key}) DO UPDATE SET count = {table}.count + 1, "
        f"net_cents = {table}.net_cents + excluded.net_cents, "
        f"vat_cents = {table}.vat_cents + excluded.vat_cents, "
        f"total_cents = {table}.total_cents + excluded.total_cents"
    )


UPSERT = upsert("invoice_daily_totals", KEY)
UPSERT_CUSTOMER = upsert("invoice_customer_daily_totals", CUSTOMER_KEY)


def create_daily_total_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION talonario_invoice_daily_total() RETURNS trigger AS $$\n"
            "BEGIN\n"
            "    IF NEW.status = 'authorized'"
            " AND (TG_OP = 'INSERT' OR OLD.status <> 'authorized') THEN\n"
            f"        {UPSERT};\n"
            "        IF NEW.customer_id IS NOT NULL THEN\n"
            f"            {UPSERT_CUSTOMER};\n"
            "        END IF;\n"
            "    END IF;\n"
            "    RETURN NEW;\n"
            "END\n$$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER invoices_daily_total AFTER INSERT OR UPDATE OF status ON invoices "
            "FOR EACH ROW EXECUTE FUNCTION talonario_invoice_daily_total()"
        )
        return
    # SQLite: a statement per table; the customer one skips anonymous consumers by its WHERE.
    customer = UPSERT_CUSTOMER.replace(
        "VALUES (", "SELECT ", 1
    ).replace(") ON CONFLICT", " WHERE NEW.customer_id IS NOT NULL ON CONFLICT", 1)
    op.execute(
        "CREATE TRIGGER invoices_daily_total_insert AFTER INSERT ON invoices "
        f"WHEN NEW.status = 'authorized' BEGIN {UPSERT}; {customer}; END"
    )
    op.execute(
        "CREATE TRIGGER invoices_daily_total_update AFTER UPDATE OF status ON invoices "
        "WHEN NEW.status = 'authorized' AND OLD.status <> 'authorized' "
        f"BEGIN {UPSERT}; {customer}; END"
    )


def drop_daily_total_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS invoices_daily_total ON invoices")
        op.execute("DROP FUNCTION IF EXISTS talonario_invoice_daily_total()")
        return
    op.execute("DROP TRIGGER IF EXISTS invoices_daily_total_insert")
    op.execute("DROP TRIGGER IF EXISTS invoices_daily_total_update")


def backfill(table, key, condition=""):
    sums = ", ".join(
        f"SUM(CAST(ROUND((CASE WHEN kind = 'credit_note' THEN -1 ELSE 1 END) * {column} "
        "* currency_rate * 100) AS BIGINT))"
        for column in ("net", "vat_total", "total")
    )
    return (
        f"INSERT INTO {table} ({key}, count, net_cents, vat_cents, total_cents) "
        f"SELECT {key}, COUNT(*), {sums} FROM invoices "
        f"WHERE status = 'authorized' {condition} GROUP BY {key}"
    )
