"""Numbers as a shopkeeper types them, read and shown the active locale's way: one parser and
one formatter for every number field in the app.

Rules (es-AR, the default; `en` swaps the two marks, so "1,500.50" there):

* "." groups thousands and "," is the decimal mark: "1.500" = 1500, "1.500,50" = 1500.50,
  "1500,5" = 1500.5, "-1.500,00" = -1500. Grouping is checked: groups of exactly three digits
  after a first group of 1-3 digits that does not start with 0.
* A numeric keypad types a ".": a single "." that is not valid grouping is a decimal point
  ("1500.50", "0.5", "0.500"), since nobody writes 1500 as "1500.5" or 500 as "0.500".
* Spaces around the number, a leading "$" ("$ 1.500", "-$ 5") and a leading "+" or "-" (also
  the typographic minus "−") are accepted; nothing else. Only the ASCII digits 0-9: Python's
  `Decimal` would take "١٢٣" or other Unicode digits, a person did not mean them.
* Empty or blank text is None (the caller decides whether the field is required); anything
  else that is not read exactly (two decimal marks, "1.50.0", "1e3", "NaN", "Infinity",
  letters, "²") raises `NumberNotUnderstood`, whose message says what was expected.

`format_decimal_input` writes a Decimal back for an input (or a page) the same locale's way,
with every significant decimal and never an exponent; it round-trips through the parser.
"""

from __future__ import annotations

import re
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import get_decimal_symbol, get_group_symbol
from flask_babel import get_locale
from flask_babel import gettext as _

from core.errors import ValidationFailed

DEFAULT_LOCALE = "es_AR"
MAX_LENGTH = 40  # characters: far beyond any amount, short enough to refuse garbage cheaply
# Sign, an optional "$" (before or after the sign), sign again, then digits and marks.
_SHAPE = re.compile(r"^([-+−]?)\s*(?:\$\s*)?([-+−]?)\s*([0-9.,]+)$", re.ASCII)


class NumberNotUnderstood(ValidationFailed):
    """Text that is not a number the way the locale writes one; `message` says what to type."""


def number_symbols(locale: Locale | str | None = None) -> tuple[str, str]:
    """The (decimal mark, group separator) of `locale`, else the request's, else es-AR."""
    chosen = _locale(locale)
    return get_decimal_symbol(chosen), get_group_symbol(chosen)


def parse_decimal_input(text: str | None, locale: Locale | str | None = None) -> Decimal | None:
    """`text` as a Decimal (exactly as typed, never via float); None when blank.

    Raises `NumberNotUnderstood` for anything that is not one number written the locale's way
    (see the module's rules)."""
    stripped = (text or "").strip()
    if not stripped:
        return None
    decimal, group = number_symbols(locale)
    match = _SHAPE.match(stripped) if len(stripped) <= MAX_LENGTH else None
    if match is None or (match[1] and match[2]):
        raise _not_understood(stripped, decimal, group)
    sign = "-" if (match[1] or match[2]) in ("-", "−") else ""
    whole, fraction = _split(match[3], decimal, group, stripped)
    value = Decimal(sign + (whole or "0") + (f".{fraction}" if fraction is not None else ""))
    return value.copy_abs() if value.is_zero() else value


def _split(body: str, decimal: str, group: str, text: str) -> tuple[str, str | None]:
    """The integer digits and the decimal digits (None without a decimal mark) of `body`."""
    if body.count(decimal) > 1:
        raise _not_understood(text, decimal, group, twice=True)
    if decimal in body:
        whole, fraction = body.split(decimal)
        if not fraction.isdigit() or (group in whole and not _grouped(whole, group)):
            raise _not_understood(text, decimal, group)
        return whole.replace(group, ""), fraction
    if group not in body:
        return body, None
    if _grouped(body, group):
        return body.replace(group, ""), None
    whole, _mark, fraction = body.partition(group)
    # The keypad's mark ("1500.50" in es-AR), unless it could be a mistyped thousands group:
    # "1500.000" may be 1.500.000 with a dot missing ("0.500" cannot).
    if not fraction.isdigit() or (len(fraction) == 3 and whole.strip("0")):
        raise _not_understood(text, decimal, group, grouping=True)
    return whole, fraction


def _grouped(digits: str, group: str) -> bool:
    """Valid thousands grouping: "1.500", "12.345.678"; not "1.50", "0.500" or "1500.000"."""
    pattern = rf"[1-9][0-9]{{0,2}}(?:{re.escape(group)}[0-9]{{3}})+"
    return re.fullmatch(pattern, digits, re.ASCII) is not None


def _not_understood(
    text: str, decimal: str, group: str, twice: bool = False, grouping: bool = False
) -> NumberNotUnderstood:
    example = f"1{group}500{decimal}50"
    if twice:
        message = _(
            "No entendimos «%(text)s»: tiene más de un «%(decimal)s» decimal. Escribí el "
            "número como %(example)s.",
            text=text,
            decimal=decimal,
            example=example,
        )
    elif grouping:
        message = _(
            "No entendimos «%(text)s»: los miles van separados con «%(group)s» de a tres "
            "cifras. Escribí el número como %(example)s.",
            text=text,
            group=group,
            example=example,
        )
    else:
        message = _(
            "No entendimos «%(text)s»: escribí el número con las cifras 0 a 9, como %(example)s.",
            text=text,
            example=example,
        )
    return NumberNotUnderstood(message)


def format_decimal_input(value: Decimal | int | None, locale: Locale | str | None = None) -> str:
    """`value` the locale's way, for an input or a page: grouped, every significant decimal,
    no exponent ("10", "1.500,5", "-0,000001" in es-AR); "" for None."""
    if value is None:
        return ""
    decimal, group = number_symbols(locale)
    number = Decimal(value)
    if number.is_zero():
        return "0"
    plain = f"{number.normalize():f}"  # ":f" never prints an exponent ("1E+1" -> "10")
    sign, plain = ("-", plain[1:]) if plain.startswith("-") else ("", plain)
    whole, _mark, fraction = plain.partition(".")
    groups = [whole[max(end - 3, 0) : end] for end in range(len(whole), 0, -3)][::-1]
    return sign + group.join(groups) + (decimal + fraction if fraction else "")


def _locale(locale: Locale | str | None) -> Locale:
    if isinstance(locale, Locale):
        return locale
    if locale:
        try:
            return Locale.parse(locale)
        except (ValueError, UnknownLocaleError):
            return Locale.parse(DEFAULT_LOCALE)
    try:
        current = get_locale()
    except RuntimeError:  # outside a request or app context
        current = None
    return current or Locale.parse(DEFAULT_LOCALE)
