"""Verify checkpoints: per sequence, the highest number verified against ARCA

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:10:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


# A plain new table: the same DDL on PostgreSQL and SQLite (nothing to add to an existing table,
# so no batch copy and no trigger as in 0007).
def upgrade():
    op.create_table(
        "verify_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("point_of_sale", sa.Integer(), nullable=False),
        sa.Column("invoice_type", sa.Integer(), nullable=False),
        sa.Column("verified_through", sa.Integer(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_verify_checkpoints_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verify_checkpoints")),
    )
    with op.batch_alter_table("verify_checkpoints", schema=None) as batch_op:
        batch_op.create_index(
            "ix_verify_checkpoints_sequence",
            ["organization_id", "point_of_sale", "invoice_type"],
            unique=True,
        )


def downgrade():
    with op.batch_alter_table("verify_checkpoints", schema=None) as batch_op:
        batch_op.drop_index("ix_verify_checkpoints_sequence")

    op.drop_table("verify_checkpoints")
