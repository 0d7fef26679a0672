"""Row-level security on PostgreSQL: every table that belongs to an organization shows and
accepts only the rows of the transaction's organization (core/rowsecurity.py), for the app's
role; a maintenance role bypasses them for work across organizations

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 17:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# Tables with their own organization_id column.
OWNED = (
    "access_tickets",
    "api_keys",
    "audit_anchors",
    "audit_events",
    "audit_heads",
    "certificates",
    "customer_imports",
    "customers",
    "events",
    "exports",
    "invoice_customer_daily_totals",
    "invoice_daily_totals",
    "invoices",
    "mail_messages",
    "points_of_sale",
    "tasks",
    "verify_checkpoints",
    "voucher_counters",
    "webhook_attempts",
    "webhook_deliveries",
    "webhook_endpoints",
)
# Tables that belong to an organization through their parent row (whose policy applies in
# the subquery, as the same role).
CHILDREN = {
    "invoice_lines": ("invoice_id", "invoices"),
    "invoice_vat": ("invoice_id", "invoices"),
    "invoice_taxes": ("invoice_id", "invoices"),
    "authorization_attempts": ("invoice_id", "invoices"),
    "api_key_usage": ("api_key_id", "api_keys"),
}

CURRENT_ORGANIZATION = "nullif(current_setting('talonario.organization_id', true), '')::integer"
CURRENT_USER = "nullif(current_setting('talonario.user_id', true), '')::integer"

# Roles are the cluster's: made once, by a migrating role that may (a superuser, or one with
# CREATEROLE for the app role); otherwise a notice, and the app runs without switching roles.
ROLES = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'talonario_app') THEN
        CREATE ROLE talonario_app NOLOGIN NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'talonario_maintenance') THEN
        CREATE ROLE talonario_maintenance NOLOGIN BYPASSRLS;
    END IF;
    EXECUTE format('GRANT talonario_app, talonario_maintenance TO %I', current_user);
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'roles talonario_app/talonario_maintenance not created: %', SQLERRM;
END
$$;
"""

GRANTS = """
DO $$
BEGIN
    IF (SELECT count(*) FROM pg_roles
        WHERE rolname IN ('talonario_app', 'talonario_maintenance')) = 2 THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public
            TO talonario_app, talonario_maintenance;
        GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO talonario_maintenance;
        GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public
            TO talonario_app, talonario_maintenance;
        -- Tables and sequences later migrations make (as this same role) are granted too.
        ALTER DEFAULT PRIVILEGES IN SCHEMA public
            GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO talonario_app, talonario_maintenance;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public
            GRANT TRUNCATE ON TABLES TO talonario_maintenance;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public
            GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO talonario_app, talonario_maintenance;
    END IF;
END
$$;
"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(ROLES)
    op.execute(GRANTS)
    for table in OWNED:
        protect(table, f"organization_id = {CURRENT_ORGANIZATION}")
    for table, (column, parent) in CHILDREN.items():
        protect(table, f"EXISTS (SELECT FROM {parent} WHERE {parent}.id = {table}.{column})")
    # A user sees their own memberships in every organization (to pick one), and the
    # current organization's members.
    protect(
        "memberships",
        f"organization_id = {CURRENT_ORGANIZATION} OR user_id = {CURRENT_USER}",
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in (*OWNED, *CHILDREN, "memberships"):
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


def protect(table, condition):
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} USING ({condition}) WITH CHECK ({condition})"
    )
