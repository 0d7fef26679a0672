"""Types every resource uses: money as decimal strings, cursor pages, problem details."""

from __future__ import annotations

import base64
import binascii
import json
import re
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar, get_args

from flask_babel import gettext as _
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from core.errors import ValidationFailed

MONEY_PATTERN = r"^-?[0-9]{1,15}(\.[0-9]{1,6})?$"
_MONEY = re.compile(MONEY_PATTERN, re.ASCII)


def _parse_money(value: Any) -> Decimal:
    # Strings only: a JSON number would already have gone through a float in most clients.
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    # The documented pattern, enforced: Decimal() alone takes "NaN", "Infinity" and "1e3".
    if not isinstance(value, str) or not _MONEY.fullmatch(value):
        raise ValueError(_('Escribí el importe como texto, por ejemplo "1500.50".'))
    return Decimal(value)


# A decimal amount, as a string both ways: "1500.50". Never a float.
Money = Annotated[
    Decimal,
    BeforeValidator(_parse_money),
    PlainSerializer(lambda value: format(value, "f"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["1500.50"]}),
]

T = TypeVar("T")


def admits_bool(annotation: Any) -> bool:
    """Whether a field's type takes true/false: bool itself, inside Optional or Annotated."""
    return annotation is bool or any(admits_bool(inner) for inner in get_args(annotation))


class ApiModel(BaseModel):
    """Base of request models: unknown fields are refused rather than silently ignored, and
    true/false is not a number (pydantic's lax mode would store `true` as 1)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_as_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name is not None:
            annotation = cls.model_fields[info.field_name].annotation
            if not admits_bool(annotation):
                raise ValueError(_("Se esperaba un número o un texto, no true/false."))
        return value


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` for the next, until it is null."""

    data: list[T]
    next_cursor: str | None = None


class CursorQuery(BaseModel):
    cursor: str | None = Field(None, description="`next_cursor` of the previous page.")
    limit: int = Field(50, ge=1, le=200, description="Items per page (1-200).")


class CodeName(BaseModel):
    """An ARCA code with its name (voucher type 6 "Factura B", document type 80 "CUIT")."""

    code: int
    name: str


class FieldError(BaseModel):
    field: str = Field(description='Where, e.g. "lines.0.quantity"; "" for the whole body.')
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every error under /api/."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


def encode_cursor(*values: str | int) -> str:
    """An opaque cursor for the position after the last row shown (its sort key values)."""
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """The values `encode_cursor` was given; ValidationFailed (422, field "cursor") otherwise."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != arity:
        raise ValidationFailed(_("El cursor no es válido: usá el next_cursor recibido."), "cursor")
    return values
