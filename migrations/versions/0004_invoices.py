"""Invoices, lines, VAT and tax rows, authorization attempts; authorized invoices immutable

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 02:54:23.062884

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('invoices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('point_of_sale_id', sa.Integer(), nullable=False),
    sa.Column('point_of_sale_number', sa.Integer(), nullable=False),
    sa.Column('invoice_type', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('letter', sa.String(length=4), nullable=False),
    sa.Column('concept', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('receiver_name', sa.String(length=200), nullable=False),
    sa.Column('receiver_doc_type', sa.Integer(), nullable=False),
    sa.Column('receiver_doc_number', sa.String(length=20), nullable=False),
    sa.Column('receiver_condition', sa.Integer(), nullable=False),
    sa.Column('receiver_address', sa.String(length=300), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('service_from', sa.Date(), nullable=True),
    sa.Column('service_to', sa.Date(), nullable=True),
    sa.Column('payment_due', sa.Date(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('currency_rate', sa.Numeric(precision=18, scale=6), nullable=False),
    sa.Column('same_currency_payment', sa.Boolean(), nullable=False),
    sa.Column('prices_include_vat', sa.Boolean(), nullable=False),
    sa.Column('untaxed', sa.Numeric(precision=15, scale=2), nullable=False),
    sa.Column('net', sa.Numeric(precision=15, scale=2), nullable=False),
    sa.Column('exempt', sa.Numeric(precision=15, scale=2), nullable=False),
    sa.Column('vat_total', sa.Numeric(precision=15, scale=2), nullable=False),
    sa.Column('other_taxes_total', sa.Numeric(precision=15, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=15, scale=2), nullable=False),
    sa.Column('associated_invoice_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('cae', sa.String(length=14), nullable=True),
    sa.Column('cae_due', sa.Date(), nullable=True),
    sa.Column('authorized_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('observations', sa.JSON(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status <> 'authorized' OR (number IS NOT NULL AND cae IS NOT NULL)", name=op.f('ck_invoices_authorized_has_cae')),
    sa.CheckConstraint("status IN ('draft', 'authorizing', 'authorized', 'rejected', 'unknown')", name=op.f('ck_invoices_status')),
    sa.CheckConstraint('concept IN (1, 2, 3)', name=op.f('ck_invoices_concept')),
    sa.ForeignKeyConstraint(['associated_invoice_id'], ['invoices.id'], name=op.f('fk_invoices_associated_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_invoices_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_invoices_customer_id_customers')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_invoices_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['point_of_sale_id'], ['points_of_sale.id'], name=op.f('fk_invoices_point_of_sale_id_points_of_sale')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices'))
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoices_associated_invoice_id'), ['associated_invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_invoices_organization_id_issue_date', ['organization_id', 'issue_date', 'id'], unique=False)
        batch_op.create_index('ix_invoices_organization_id_status', ['organization_id', 'status'], unique=False)
        batch_op.create_index('uq_invoices_number', ['organization_id', 'point_of_sale_number', 'invoice_type', 'number'], unique=True, postgresql_where=sa.text('number IS NOT NULL'), sqlite_where=sa.text('number IS NOT NULL'))

    op.create_table('authorization_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('request_xml', sa.Text(), nullable=True),
    sa.Column('response_xml', sa.Text(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_authorization_attempts_invoice_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authorization_attempts'))
    )
    with op.batch_alter_table('authorization_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_authorization_attempts_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('invoice_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=6), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=True),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('vat', sa.String(length=8), nullable=False),
    sa.Column('net', sa.Numeric(precision=15, scale=2), nullable=False),
    sa.Column('vat_amount', sa.Numeric(precision=15, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=15, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_lines_invoice_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_lines')),
    sa.UniqueConstraint('invoice_id', 'position', name=op.f('uq_invoice_lines_invoice_id_position'))
    )
    op.create_table('invoice_taxes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('tax_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=100), nullable=False),
    sa.Column('base', sa.Numeric(precision=15, scale=2), nullable=False),
    sa.Column('rate', sa.Numeric(precision=7, scale=4), nullable=False),
    sa.Column('amount', sa.Numeric(precision=15, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_taxes_invoice_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_taxes'))
    )
    op.create_table('invoice_vat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('rate_id', sa.Integer(), nullable=False),
    sa.Column('base', sa.Numeric(precision=15, scale=2), nullable=False),
    sa.Column('amount', sa.Numeric(precision=15, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_vat_invoice_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_vat')),
    sa.UniqueConstraint('invoice_id', 'rate_id', name=op.f('uq_invoice_vat_invoice_id_rate_id'))
    )
    create_immutability_triggers()


def downgrade():
    drop_immutability_triggers()
    op.drop_table('invoice_vat')
    op.drop_table('invoice_taxes')
    op.drop_table('invoice_lines')
    with op.batch_alter_table('authorization_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_authorization_attempts_invoice_id'))

    op.drop_table('authorization_attempts')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('uq_invoices_number', postgresql_where=sa.text('number IS NOT NULL'), sqlite_where=sa.text('number IS NOT NULL'))
        batch_op.drop_index('ix_invoices_organization_id_status')
        batch_op.drop_index('ix_invoices_organization_id_issue_date')
        batch_op.drop_index(batch_op.f('ix_invoices_customer_id'))
        batch_op.drop_index(batch_op.f('ix_invoices_associated_invoice_id'))

    op.drop_table('invoices')


# An authorized invoice is a fiscal record: the database itself refuses to change or delete it
# (and its lines, VAT and tax rows), whatever code runs. A row holding a number (authorizing,
# unknown) is not deleted either. TRUNCATE (tests) is not a row operation and passes.
CHILD_TABLES = ("invoice_lines", "invoice_vat", "invoice_taxes")


def create_immutability_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_FUNCTIONS)
        op.execute(
            "CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON invoices "
            "FOR EACH ROW EXECUTE FUNCTION talonario_invoice_immutable()"
        )
        for table in CHILD_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION talonario_invoice_child_immutable()"
            )
        return
    op.execute(
        "CREATE TRIGGER invoices_no_update BEFORE UPDATE ON invoices "
        "WHEN OLD.status = 'authorized' "
        "BEGIN SELECT RAISE(ABORT, 'invoice is authorized: it cannot be changed'); END"
    )
    op.execute(
        "CREATE TRIGGER invoices_no_delete BEFORE DELETE ON invoices "
        "WHEN OLD.status = 'authorized' OR OLD.number IS NOT NULL "
        "BEGIN SELECT RAISE(ABORT, 'invoice holds a number: it cannot be deleted'); END"
    )
    for table in CHILD_TABLES:
        for operation, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            op.execute(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"WHEN (SELECT status FROM invoices WHERE id = {row}.invoice_id) = 'authorized' "
                "BEGIN SELECT RAISE(ABORT, 'invoice is authorized: its rows cannot change'); END"
            )


def drop_immutability_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS invoices_immutable ON invoices")
        for table in CHILD_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
        op.execute("DROP FUNCTION IF EXISTS talonario_invoice_immutable()")
        op.execute("DROP FUNCTION IF EXISTS talonario_invoice_child_immutable()")
        return
    op.execute("DROP TRIGGER IF EXISTS invoices_no_update")
    op.execute("DROP TRIGGER IF EXISTS invoices_no_delete")
    for table in CHILD_TABLES:
        for operation in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation}")


POSTGRESQL_FUNCTIONS = """
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

CREATE OR REPLACE FUNCTION talonario_invoice_child_immutable() RETURNS trigger AS $$
DECLARE
    parent_status text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT status INTO parent_status FROM invoices WHERE id = OLD.invoice_id;
    ELSE
        SELECT status INTO parent_status FROM invoices WHERE id = NEW.invoice_id;
    END IF;
    IF parent_status = 'authorized' THEN
        RAISE EXCEPTION 'invoice is authorized: its rows cannot change';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
"""
