"""Standard Webhooks signatures (https://www.standardwebhooks.com/), by the reference library.

Secrets are "whsec_" + base64 of 24 random bytes. During a rotation's overlap both the new and
the previous secret sign: the `webhook-signature` header carries both, space-separated."""

from __future__ import annotations

import base64
import datetime as dt
import os

from standardwebhooks.webhooks import Webhook


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def headers(
    message_id: str, timestamp: dt.datetime, body: str, secrets: list[str]
) -> dict[str, str]:
    signatures = [Webhook(secret).sign(message_id, timestamp, body) for secret in secrets]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
    }
