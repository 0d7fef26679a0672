"""Customers and customer imports

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 02:18:18.109866

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # The customers' active search uses a trigram index. pg_trgm is a trusted extension
        # (PostgreSQL 13+), so the database owner may create it without superuser rights.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table('customer_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=True),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('valid_rows', sa.Integer(), nullable=False),
    sa.Column('new_rows', sa.Integer(), nullable=False),
    sa.Column('existing_rows', sa.Integer(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("mode IS NULL OR mode IN ('skip', 'update')", name=op.f('ck_customer_imports_mode')),
    sa.CheckConstraint("status IN ('previewed', 'queued', 'running', 'done', 'failed')", name=op.f('ck_customer_imports_status')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_customer_imports_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_customer_imports_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_imports'))
    )
    with op.batch_alter_table('customer_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_imports_organization_id'), ['organization_id'], unique=False)

    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('doc_type', sa.Integer(), nullable=False),
    sa.Column('doc_number', sa.String(length=20), nullable=False),
    sa.Column('legal_name', sa.String(length=200), nullable=False),
    sa.Column('iva_condition', sa.Integer(), nullable=False),
    sa.Column('emails', sa.String(length=600), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('payment_terms_days', sa.Integer(), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sort_name', sa.String(length=200), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_customers_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index('ix_customers_organization_id_created_at', ['organization_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_customers_organization_id_doc_number', ['organization_id', 'doc_number', 'id'], unique=False)
        batch_op.create_index('ix_customers_organization_id_sort_name', ['organization_id', 'sort_name', 'id'], unique=False)
        batch_op.create_index('ix_customers_search_text_trgm', ['search_text'], unique=False, postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'})
        batch_op.create_index('uq_customers_document', ['organization_id', 'doc_type', 'doc_number'], unique=True, postgresql_where=sa.text('doc_type <> 99'), sqlite_where=sa.text('doc_type <> 99'))



def downgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index('uq_customers_document', postgresql_where=sa.text('doc_type <> 99'), sqlite_where=sa.text('doc_type <> 99'))
        batch_op.drop_index('ix_customers_search_text_trgm', postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'})
        batch_op.drop_index('ix_customers_organization_id_sort_name')
        batch_op.drop_index('ix_customers_organization_id_doc_number')
        batch_op.drop_index('ix_customers_organization_id_created_at')

    op.drop_table('customers')
    with op.batch_alter_table('customer_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_imports_organization_id'))

    op.drop_table('customer_imports')
