"""Talonario's application factory: `flask --app app run`, `gunicorn 'app:create_app()'`."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from flask_openapi3 import OpenAPI
from flask_session import Session
from werkzeug.middleware.proxy_fix import ProxyFix

# Modules that add routes to a blueprint or register chores and listeners when imported.
import blueprints.auth.recovery_views  # password reset, email verification pages
import blueprints.certificates.alerts  # the certificate expiry job, its emails
import blueprints.customers.padron_refresh  # the nightly padrón refresh job
import blueprints.customers.privacy_views  # a customer's data export and erasure
import blueprints.exports.organization_views  # the whole organization's export
import blueprints.invoices.mail_views  # POST /invoices/<id>/email on invoices_bp
import blueprints.organizations.closing_views  # closing, and the read-only rule
import blueprints.retention.services  # noqa: F401  (the daily retention job)
import core.canary  # noqa: F401  (the encryption keys' canary table)
from blueprints.account.views import bp as account_bp
from blueprints.api import init_api, openapi_options
from blueprints.arca.cli import arca_cli, sandbox_cli
from blueprints.arca.views import bp as arca_bp
from blueprints.audit.cli import audit_cli
from blueprints.audit.views import bp as audit_bp
from blueprints.auth.two_factor_views import bp as two_factor_bp
from blueprints.auth.views import bp as auth_bp
from blueprints.backups.cli import backup_cli
from blueprints.certificates.views import bp as certificates_bp
from blueprints.customers.views import bp as customers_bp
from blueprints.dashboard.views import bp as dashboard_bp
from blueprints.demo.cli import demo_command
from blueprints.exports.views import bp as exports_bp
from blueprints.health.views import bp as health_bp
from blueprints.invoices.cli import invoices_cli
from blueprints.invoices.views import bp as invoices_bp
from blueprints.keys.cli import keys_cli
from blueprints.organizations.views import bp as organizations_bp
from blueprints.points_of_sale.views import bp as points_of_sale_bp
from blueprints.retention.cli import archive_cli, retention_cli
from blueprints.webhooks.views import bp as webhooks_bp
from core.arca import init_arca
from core.cache import init_cache, redis_client
from core.config import load_config
from core.crypto import init_crypto
from core.db import db, migrate
from core.i18n import init_i18n
from core.inputs import init_inputs
from core.logging import init_logging
from core.metrics import init_metrics
from core.rowsecurity import init_row_security
from core.scheduler import init_scheduler, scheduler_cli
from core.security import init_security
from core.tasks import tasks_cli, worker_command
from core.web import init_web

BLUEPRINTS = (
    auth_bp,
    account_bp,
    dashboard_bp,
    organizations_bp,
    two_factor_bp,  # after organizations_bp: its check reads g.membership
    certificates_bp,
    points_of_sale_bp,
    customers_bp,
    invoices_bp,
    exports_bp,
    webhooks_bp,
    audit_bp,
    arca_bp,
    health_bp,
)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    # Where SQLite, generated secrets and the sandbox's state live unless configured otherwise.
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "TALONARIO_INSTANCE_PATH"
    )
    app = OpenAPI(
        __name__, instance_path=instance_path, instance_relative_config=True, **openapi_options()
    )
    load_config(app, test_config)
    init_logging(app)  # first: the request id and the timer start before any other hook
    init_metrics(app)
    db.init_app(app)
    migrate.init_app(app, db)
    init_cache(app)
    init_crypto(app)
    init_arca(app)
    init_sessions(app)
    init_security(app)
    init_i18n(app)
    init_inputs(app)
    init_web(app)
    init_row_security(app)
    init_scheduler(app)  # without Redis: due periodic jobs run after a response
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    init_api(app)
    app.cli.add_command(sandbox_cli)
    app.cli.add_command(arca_cli)
    app.cli.add_command(keys_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(tasks_cli)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(invoices_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(retention_cli)
    app.cli.add_command(archive_cli)
    app.cli.add_command(backup_cli)
    if proxies := int(app.config["TRUSTED_PROXIES"]):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    return app


def init_sessions(app: Flask) -> None:
    """Server-side sessions in Redis when configured; Flask's signed cookie otherwise."""
    if not app.config["REDIS_URL"]:
        return
    app.config.update(
        SESSION_TYPE="redis",
        SESSION_REDIS=redis_client(app.config["REDIS_URL"]),
        SESSION_KEY_PREFIX=app.config["CACHE_KEY_PREFIX"] + "sessions:",
        SESSION_PERMANENT=False,  # a browser-session cookie unless the login asked otherwise
    )
    Session(app)
