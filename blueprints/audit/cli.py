"""`flask --app app audit verify [--organization CUIT]`: does every organization's chain hold?"""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from blueprints.audit.chain import verify_chain
from blueprints.audit.models import AuditEvent, AuditHead
from blueprints.organizations.lookup import organization_option
from core.db import db

audit_cli = click.Group("audit", help="The tamper-evident audit log.")


@audit_cli.command("verify")
@organization_option
def verify_command(organization_id: int | None) -> None:
    """Recompute every hash; name each entry edited, removed or out of order. Exit 1 if any."""
    organizations = [organization_id] if organization_id else chained_organizations()
    broken = 0
    for organization_id in organizations:
        breaks = verify_chain(db.session, organization_id)
        broken += len(breaks)
        for found in breaks:
            click.echo(f"BROKEN {found}")
        if not breaks:
            click.echo(f"ok organization {organization_id}")
    click.echo(f"{len(organizations)} organization(s) checked, {broken} break(s)")
    if broken:
        sys.exit(1)


def chained_organizations() -> list[int]:
    """Organizations with entries or a head (a head without entries means they were removed)."""
    with_entries = select(AuditEvent.organization_id).distinct()
    with_head = select(AuditHead.organization_id)
    query = with_entries.union(with_head)
    return sorted(db.session.scalars(select(query.subquery().c[0])))
