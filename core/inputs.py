"""What a request may carry before any of it reaches the database.

Ids (in a URL, a query string or a form) are ASCII digits within the range of the columns they
name: PostgreSQL INTEGER, 1..2**31-1. Anything else is "no id": a route does not match (404) and
a filter or a list of ids ignores it, instead of PostgreSQL failing on an overflow or `int()` on
a digit like "²" that `str.isdigit()` accepts.

Text is refused (400, before any view runs) when it holds characters PostgreSQL cannot store
(NUL) or that XML 1.0, hence ARCA's SOAP, cannot carry (the other control characters).
"""

from __future__ import annotations

import re

from flask import Flask, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter, Map

from core.errors import DomainError

MAX_ID = 2**31 - 1  # ids are PostgreSQL INTEGER (SERIAL)
_DIGITS = re.compile(r"[0-9]{1,10}")
# C0 controls but tab and newlines, DEL and C1 controls, surrogates and the two non-characters.
UNSAFE_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def parse_int(text: object, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """ASCII digits (surrounding spaces allowed) within [minimum, maximum], or None."""
    if not isinstance(text, str) or not _DIGITS.fullmatch(text.strip()):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def parse_id(text: object) -> int | None:
    """A database id, or None for anything that cannot be one."""
    return parse_int(text, 1, MAX_ID)


def parse_ids(values: list[str]) -> list[int]:
    """The ids among `values`, each once, in their order; the rest ignored."""
    ids = (parse_id(value) for value in values)
    return list(dict.fromkeys(value for value in ids if value is not None))


def has_unsafe_characters(text: str) -> bool:
    return UNSAFE_CHARACTERS.search(text) is not None


def up_to(maximum: int) -> str:
    """A regex matching exactly the numbers 1..maximum written without leading zeros.

    Routing needs the bound in the pattern itself: a converter that refuses a matched value
    lets the router try the path's other methods, and `PATCH /x/2147483648` would answer 405
    where `GET` answers 404."""
    digits = str(maximum)
    shorter = f"[1-9][0-9]{{0,{len(digits) - 2}}}" if len(digits) > 1 else ""
    same_length = []
    for position, digit in enumerate(digits):
        head, rest = digits[:position], len(digits) - position - 1
        low = "1" if position == 0 else "0"
        if position == len(digits) - 1:
            same_length.append(f"{head}[{low}-{digit}]")
        elif int(digit) > int(low):
            same_length.append(f"{head}[{low}-{int(digit) - 1}][0-9]{{{rest}}}")
    return "|".join(filter(None, (shorter, *same_length)))


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: only ids the columns can hold match; anything else is a 404."""

    regex = f"(?:{up_to(MAX_ID)})"

    def __init__(self, map: Map, *args: object, **kwargs: object) -> None:
        super().__init__(map, min=1, max=MAX_ID)


class UnsafeText(DomainError):
    status = 400


def refuse_unsafe_text() -> None:
    """Every query argument, form field (name and value), file name and path segment, checked
    once before the view: the view never sees a NUL byte, so PostgreSQL never does."""
    texts = [request.path]
    for source in (request.args, request.form):
        for key, values in source.lists():
            texts += [key, *values]
    for key, storage in request.files.items(multi=True):
        texts += [key, storage.filename or ""]
    # A malformed multipart part may parse to a None value: nothing to check in it.
    if any(has_unsafe_characters(text) for text in texts if isinstance(text, str)):
        raise UnsafeText(
            _(
                "Lo que enviaste tiene caracteres de control o invisibles (por ejemplo, un "
                "carácter nulo) que no se pueden guardar. Borralos y volvé a intentarlo; no se "
                "guardó nada."
            )
        )


def init_inputs(app: Flask) -> None:
    """Before the blueprints are registered: their routes compile with this `int` converter."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_unsafe_text)
