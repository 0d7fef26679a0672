"""The accounts' secrets at rest, for `flask keys rotate` (see `core.secrets`): each person's
TOTP secret."""

from __future__ import annotations

from blueprints.auth.models import User
from blueprints.auth.two_factor import secret_aad
from core.secrets import ACCOUNTS, SecretColumn

SECRET_COLUMNS = (
    SecretColumn(User, "totp_secret", lambda user: secret_aad(user.id), None, lambda _u: ACCOUNTS),
)
