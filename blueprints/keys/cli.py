"""`flask --app app keys generate` and `flask --app app keys rotate`.

Neither prints a secret other than the new key `generate` is asked for: rotation reports counts
and key ids (a key id is a digest that names a key without revealing it).
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from blueprints.audit.services import record_event
from blueprints.auth.secrets import SECRET_COLUMNS as ACCOUNT_SECRETS
from blueprints.certificates.secrets import SECRET_COLUMNS as CERTIFICATE_SECRETS
from blueprints.webhooks.secrets import SECRET_COLUMNS as WEBHOOK_SECRETS
from core.cache import get_cache
from core.crypto import KeyRing, generate_key, get_keyring
from core.db import db
from core.secrets import RotationFailed, column_totals, rotate_secrets

# Every column of `core.crypto` tokens in the app; a slice with new secrets adds its own here.
SECRET_COLUMNS = (*CERTIFICATE_SECRETS, *WEBHOOK_SECRETS, *ACCOUNT_SECRETS)

keys_cli = click.Group(
    "keys", help="Encryption keys for secrets at rest (TALONARIO_ENCRYPTION_KEYS)."
)


@keys_cli.command("generate")
def generate_command() -> None:
    """Print a new key on stdout; how to put it in use goes to stderr."""
    key = generate_key()
    click.echo(key)
    click.echo(
        f"\nNew key id {KeyRing.parse(key).primary_id}. To rotate:\n"
        "  1. Put it FIRST in TALONARIO_ENCRYPTION_KEYS, keeping the current keys after it\n"
        "     (new,old; or as the first line of instance/encryption_keys in the embedded\n"
        "     default), and restart every web and worker process.\n"
        "  2. Run: flask --app app keys rotate\n"
        "  3. Remove the old keys and restart again.",
        err=True,
    )


@keys_cli.command("rotate")
@with_appcontext
def rotate_command() -> None:
    """Re-encrypt every secret under the first key of TALONARIO_ENCRYPTION_KEYS."""
    keyring = get_keyring()
    try:
        counts = rotate_secrets(db.session, keyring, SECRET_COLUMNS, record_event, get_cache())
    except RotationFailed as error:
        raise click.ClickException(str(error)) from error
    totals = column_totals(counts)
    for column in SECRET_COLUMNS:
        click.echo(f"{column.name}: {totals.get(column.name, 0)} re-encrypted")
    click.echo(
        f"{len(counts)} organizations affected. Every secret is now under key {keyring.primary_id}."
    )
    if len(keyring.keys) > 1:
        click.echo(
            "Once every process runs with this key first, remove the other keys from "
            "TALONARIO_ENCRYPTION_KEYS and restart."
        )
