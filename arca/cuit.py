"""CUIT/CUIL: normalising, formatting and the modulo-11 check digit (pure)."""

from __future__ import annotations

import re

WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
PERSON_PREFIXES = ("20", "23", "24", "27")
ENTITY_PREFIXES = ("30", "33", "34")


_SEPARATORS = re.compile(r"[\s.\-]")


def normalize_cuit(value: str) -> str:
    """Separators out: `20-11111111-2`, `20 11111111 2` and `20111111112` are the same CUIT."""
    return _SEPARATORS.sub("", value)


def compute_check_digit(first_ten: str) -> int | None:
    """The check digit for ten digits, or None where the result is 10.

    ARCA never issues a number whose digit would be 10: it changes the prefix (20 -> 23) instead,
    so "10" means no valid CUIT has those ten digits. Mapping 10 to 9, as some snippets do, would
    accept numbers ARCA never issued.
    """
    total = sum(int(digit) * weight for digit, weight in zip(first_ten, WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def is_valid_cuit(value: str) -> bool:
    digits = normalize_cuit(value)
    # ASCII only: str.isdigit() also takes "²", which int() refuses.
    if len(digits) != 11 or not (digits.isascii() and digits.isdigit()):
        return False
    return compute_check_digit(digits[:10]) == int(digits[10])


def format_cuit(value: str) -> str:
    """`20-11111111-2`; anything that is not 11 digits is returned unchanged."""
    digits = normalize_cuit(value)
    if len(digits) != 11:
        return value
    return f"{digits[:2]}-{digits[2:10]}-{digits[10]}"
