"""The password policy: what a new password must not be, one rule and one message at a time.

Guessability comes from zxcvbn (Dropbox's estimator: it knows the common-password lists, names,
keyboard walks, repeats, dates and l33t), told about the account's own words so that "ana2024"
for ana@… counts as guessable. The explicit rules before it (length, the email, the business's
name) give a person a precise reason instead of a score.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from flask_babel import gettext as _
from zxcvbn import zxcvbn

MIN_LENGTH = 12
# zxcvbn's scale: 3 = "safely unguessable" (about 10⁸ guesses), the usual bar for an account
# behind which sit a business's tax credentials.
MIN_SCORE = 3
# zxcvbn's matching grows fast with the length; past this many characters a password is long
# enough, and only its start is judged.
MAX_JUDGED = 72
# Words of a legal form that a business name carries without being its name.
LEGAL_FORMS = frozenset({"srl", "sa", "sas", "sh", "sau", "sc", "sca", "scs", "coop", "ltda"})
SHORTEST_WORD = 3  # shorter pieces of an email or a name occur in too many passwords
# zxcvbn's lists are English: the words Argentines reach for first, handed to it as a dictionary
# of their own (they are ranked like the account's own words: guessed first).
LOCAL_WORDS = (
    "contraseña", "contrasena", "clave", "password", "talonario", "factura", "facturas", "arca",
    "afip", "argentina", "buenosaires", "bocajuniors", "boca", "riverplate", "river", "racing",
    "independiente", "sanlorenzo", "messi", "maradona", "futbol", "teamo", "tequiero", "hola",
    "princesa", "mariposa", "estrella", "dragon", "amor", "secreto",
)  # fmt: skip


def fold(text: str) -> str:
    """Lower case, accents and everything but letters and digits dropped: "Almacén Demo" and
    "almacen-demo" fold alike."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def name_variants(name: str) -> set[str]:
    """The folded name, and the same without its legal form ("Almacén Demo SRL" → also
    "almacendemo")."""
    words = [w for w in re.split(r"[\s.,]+", name.casefold()) if w]
    bare = [w for w in words if fold(w) not in LEGAL_FORMS]
    variants = {fold(name), fold(" ".join(bare))}
    return {v for v in variants if len(v) > SHORTEST_WORD}


def contains_email(folded_password: str, email: str) -> bool:
    local = fold(email.partition("@")[0])
    return len(local) >= SHORTEST_WORD and local in folded_password


def contained_name(folded_password: str, names: Iterable[str | None]) -> str | None:
    """The first of `names` that the password contains (folded), or None."""
    for name in names:
        if name and any(v in folded_password for v in name_variants(name)):
            return name
    return None


def is_guessable(password: str, hints: list[str]) -> bool:
    words = [*hints, *LOCAL_WORDS]
    return int(zxcvbn(password[:MAX_JUDGED], user_inputs=words)["score"]) < MIN_SCORE


def password_problem(
    password: str, email: str = "", names: Iterable[str | None] = ()
) -> str | None:
    """Why this password can't be used, in the user's language; None when it can.

    `email` is the account's address, `names` the businesses it belongs to (and the person's
    own name, if known)."""
    known = [n for n in names if n]
    folded = fold(password)
    if len(password) < MIN_LENGTH:
        return too_short()
    if email and contains_email(folded, email):
        return _("La contraseña no puede contener tu email (ni la parte antes de la @).")
    if name := contained_name(folded, known):
        return _("La contraseña no puede contener el nombre %(name)s.", name=name)
    if is_guessable(password, [email, email.partition("@")[0], *known]):
        return _(
            "Esa contraseña es muy común o fácil de adivinar. Probá con una frase de tres o "
            "cuatro palabras que no tengan que ver entre sí."
        )
    return None


def too_short() -> str:
    return _("La contraseña es muy corta: tiene que tener al menos %(n)d caracteres.", n=MIN_LENGTH)
