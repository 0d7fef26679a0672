"""Alembic environment for Flask-Migrate: the app's engine and metadata, online or offline."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def get_metadata():
    return current_app.extensions["migrate"].db.metadata


def render_item(type_, obj, autogen_context):
    """Write the project's column types as plain SQLAlchemy types, so revisions import nothing
    from the app (a revision must keep working after the model code moves on)."""
    from core.db import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def skip_empty_revisions(context_, revision, directives):
    # `flask db migrate` with no model change writes no file.
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def configure_args():
    args = dict(current_app.extensions["migrate"].configure_args)
    args.setdefault("process_revision_directives", skip_empty_revisions)
    args.setdefault("render_item", render_item)
    return args


def run_migrations_offline():
    url = current_app.extensions["migrate"].db.engine.url.render_as_string(hide_password=False)
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True, **configure_args()
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = current_app.extensions["migrate"].db.engine
    # Migrations run as the tables' owner, never in a row-security scope (core/rowsecurity.py).
    with engine.connect().execution_options(talonario_owner=True) as connection:
        context.configure(connection=connection, target_metadata=get_metadata(), **configure_args())
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
