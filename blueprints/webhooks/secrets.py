"""The webhooks slice's secrets at rest, for `flask keys rotate` (see `core.secrets`): each
endpoint's signing secret and, during a rotation's overlap, the previous one."""

from __future__ import annotations

from blueprints.webhooks.models import WebhookEndpoint
from core.secrets import SecretColumn


def endpoint_aad(endpoint: WebhookEndpoint) -> bytes:
    return f"webhook_endpoint:{endpoint.id}".encode()


SECRET_COLUMNS = (
    SecretColumn(WebhookEndpoint, "secret_encrypted", endpoint_aad),
    SecretColumn(WebhookEndpoint, "previous_secret_encrypted", endpoint_aad),
)
