"""Exports built in the background; the invoice list's text search

The exports (CSV files, the accountant's package) keep their file in the row until it expires.
The search finds a voucher number, or part of the receiver's name or document.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 23:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# As blueprints/invoices/models.py RECEIVER_SEARCH (and listing.search_expression) read it.
FOLD_FROM = "áàâäãéèêëíìîïóòôöõúùûüñç"
FOLD_TO = "aaaaaeeeeiiiiooooouuuunc"
RECEIVER_SEARCH = (
    f"translate(lower((receiver_name || ' ') || receiver_doc_number), '{FOLD_FROM}', '{FOLD_TO}')"
)


def upgrade():
    op.create_table('exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=True),
    sa.Column('mimetype', sa.String(length=100), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_exports_status')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_exports_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_exports_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exports'))
    )
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.create_index('ix_exports_organization_id_created_at', ['organization_id', 'created_at'], unique=False)

    # Not in batch mode: on SQLite a table rebuild would drop the invoices' triggers.
    op.create_index('ix_invoices_organization_id_number', 'invoices', ['organization_id', 'number'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm is there since 0003 (the customers' search). SQLite has no trigram index
        # (nor translate()): the embedded default searches by scanning, fine at its sizes.
        op.execute(
            "CREATE INDEX ix_invoices_receiver_search_trgm ON invoices "
            f"USING gin ({RECEIVER_SEARCH} gin_trgm_ops)"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_invoices_receiver_search_trgm")
    op.drop_index('ix_invoices_organization_id_number', table_name='invoices')

    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.drop_index('ix_exports_organization_id_created_at')

    op.drop_table('exports')
