"""Event keys (an event emitted once: certificate alerts), the event a mail answers, one row
per webhook attempt, and the organization's "email invoices on authorization" setting

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 17:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(op.f("uq_events_key"), ["key"])

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "email_invoices", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )

    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_mail_messages_event_id_events"),
            "events",
            ["event_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_mail_messages_event_id", ["event_id"])

    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("request_headers", sa.JSON(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_webhook_attempts_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_attempts_organization_id_id", ["organization_id", "id"]
        )
        batch_op.create_index("ix_webhook_attempts_delivery_id_id", ["delivery_id", "id"])
        batch_op.create_index("ix_webhook_attempts_created_at", ["created_at"])
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_deliveries_created_at", ["created_at"])


def downgrade():
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_created_at")
    op.drop_table("webhook_attempts")
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_messages_event_id")
        batch_op.drop_constraint(op.f("fk_mail_messages_event_id_events"), type_="foreignkey")
        batch_op.drop_column("event_id")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("email_invoices")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_events_key"), type_="unique")
        batch_op.drop_column("key")
