"""Domain errors. Services raise these; `core.web` maps them to HTTP in one place."""

from __future__ import annotations


class DomainError(Exception):
    """Something the user can fix; `message` is shown to them as is (already translated)."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(DomainError):
    status = 422


class Conflict(DomainError):
    status = 409


class NotFound(DomainError):
    """The object does not exist *for this organization*; another tenant's data looks absent."""

    status = 404


class Forbidden(DomainError):
    """Inside the user's own organization, a role that may not do this."""

    status = 403


class TooManyRequests(DomainError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
