"""Certificates, access tickets, points of sale, parameter tables, audit events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 03:11:23.817541

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('arca_parameter_tables',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('environment', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('rows', sa.JSON(), nullable=False),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arca_parameter_tables')),
    sa.UniqueConstraint('environment', 'name', name=op.f('uq_arca_parameter_tables_environment_name'))
    )
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=40), nullable=True),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_audit_events_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_events_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_organization_id_created_at', ['organization_id', 'created_at'], unique=False)

    op.create_table('certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('environment', sa.String(length=16), nullable=False),
    sa.Column('alias', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('public_key_sha256', sa.String(length=64), nullable=False),
    sa.Column('private_key', sa.Text(), nullable=False),
    sa.Column('csr_pem', sa.Text(), nullable=True),
    sa.Column('certificate_pem', sa.Text(), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('issuer', sa.String(length=300), nullable=True),
    sa.Column('serial_number', sa.String(length=64), nullable=True),
    sa.Column('not_valid_before', sa.DateTime(timezone=True), nullable=True),
    sa.Column('not_valid_after', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('installed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("environment IN ('sandbox', 'homologacion', 'produccion')", name=op.f('ck_certificates_environment')),
    sa.CheckConstraint("status = 'pending' OR certificate_pem IS NOT NULL", name=op.f('ck_certificates_issued_has_certificate')),
    sa.CheckConstraint("status IN ('pending', 'active', 'replaced')", name=op.f('ck_certificates_status')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_certificates_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_certificates_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('organization_id', 'public_key_sha256', name=op.f('uq_certificates_organization_id_public_key_sha256'))
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_fingerprint'), ['fingerprint'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index('uq_certificates_one_active', ['organization_id', 'environment'], unique=True, postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'"))

    op.create_table('points_of_sale',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('emission_type', sa.String(length=40), nullable=False),
    sa.Column('blocked', sa.Boolean(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_points_of_sale_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_of_sale')),
    sa.UniqueConstraint('organization_id', 'number', name=op.f('uq_points_of_sale_organization_id_number'))
    )
    with op.batch_alter_table('points_of_sale', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_points_of_sale_organization_id'), ['organization_id'], unique=False)

    op.create_table('access_tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=32), nullable=False),
    sa.Column('environment', sa.String(length=16), nullable=False),
    sa.Column('ticket', sa.Text(), nullable=False),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_access_tickets_certificate_id_certificates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_access_tickets_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_tickets')),
    sa.UniqueConstraint('certificate_id', 'service', 'environment', name=op.f('uq_access_tickets_certificate_id_service_environment'))
    )
    with op.batch_alter_table('access_tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_tickets_certificate_id'), ['certificate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_tickets_organization_id'), ['organization_id'], unique=False)

    op.create_table('voucher_counters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('point_of_sale_id', sa.Integer(), nullable=False),
    sa.Column('invoice_type', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_voucher_counters_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['point_of_sale_id'], ['points_of_sale.id'], name=op.f('fk_voucher_counters_point_of_sale_id_points_of_sale'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voucher_counters')),
    sa.UniqueConstraint('point_of_sale_id', 'invoice_type', name=op.f('uq_voucher_counters_point_of_sale_id_invoice_type'))
    )
    with op.batch_alter_table('voucher_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voucher_counters_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voucher_counters_point_of_sale_id'), ['point_of_sale_id'], unique=False)



def downgrade():
    with op.batch_alter_table('voucher_counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voucher_counters_point_of_sale_id'))
        batch_op.drop_index(batch_op.f('ix_voucher_counters_organization_id'))

    op.drop_table('voucher_counters')
    with op.batch_alter_table('access_tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_tickets_organization_id'))
        batch_op.drop_index(batch_op.f('ix_access_tickets_certificate_id'))

    op.drop_table('access_tickets')
    with op.batch_alter_table('points_of_sale', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_points_of_sale_organization_id'))

    op.drop_table('points_of_sale')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('uq_certificates_one_active', postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'"))
        batch_op.drop_index(batch_op.f('ix_certificates_organization_id'))
        batch_op.drop_index(batch_op.f('ix_certificates_fingerprint'))

    op.drop_table('certificates')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_organization_id_created_at')

    op.drop_table('audit_events')
    op.drop_table('arca_parameter_tables')
