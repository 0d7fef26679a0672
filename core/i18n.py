"""Language and formatting: Spanish (es-AR) by default, English per user; Buenos Aires time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel.numbers import format_decimal
from flask import Flask, request, session
from flask_babel import Babel, format_date, format_datetime, get_locale
from flask_login import current_user

from arca.codes import ISSUER_CONDITION_LABELS, IssuerCondition
from arca.cuit import format_cuit
from core.numbers import format_decimal_input

LANGUAGES = {"es": "Español", "en": "English"}
DEFAULT_LOCALE = "es"
TIME_ZONE = "America/Argentina/Buenos_Aires"

babel = Babel()


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated later, where it is shown."""
    return message


def select_locale() -> str:
    """The user's choice, else the anonymous visitor's choice, else Spanish.

    The browser's Accept-Language is deliberately not consulted: the product speaks es-AR to
    everyone until they pick English, so a shop's staff all see the same screens. The API
    (no user, no session) speaks the client's Accept-Language.
    """
    path = request.path if request else ""
    if (path == "/api" or path.startswith("/api/")) and not path.startswith("/api/docs"):
        return api_locale()
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return str(current_user.locale)
    chosen = session.get("locale") if request else None
    return chosen if chosen in LANGUAGES else DEFAULT_LOCALE


def api_locale() -> str:
    """An API client's Accept-Language when it names a language the app speaks, else Spanish."""
    return request.accept_languages.best_match(tuple(LANGUAGES)) or DEFAULT_LOCALE


def format_money(value: Decimal | int | None, currency_symbol: str = "$") -> str:
    """`$ 1.234,56`: Argentine grouping whatever the UI language, as on every Argentine invoice."""
    if value is None:
        return ""
    amount = format_decimal(Decimal(value), format="#,##0.00", locale="es_AR")
    return f"{currency_symbol} {amount}"


def format_day(value: dt.date | None) -> str:
    """dd/mm/aaaa, the Argentine way, in both languages."""
    return format_date(value, "dd/MM/yyyy") if value else ""


def format_moment(value: dt.datetime | None) -> str:
    """dd/mm/aaaa hh:mm in Buenos Aires time."""
    return format_datetime(value, "dd/MM/yyyy HH:mm") if value else ""


def format_clock(value: dt.datetime | str | None) -> str:
    """hh:mm:ss in Buenos Aires time (an ISO string, as kept in JSON, too)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return format_datetime(value, "HH:mm:ss") if value else ""


def iva_label(condition: str) -> str:
    return ISSUER_CONDITION_LABELS.get(IssuerCondition(condition), condition)


def init_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", TIME_ZONE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["number"] = format_decimal_input  # "1.500,5", never "1E+1"
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["moment"] = format_moment
    app.jinja_env.filters["clock"] = format_clock
    app.jinja_env.filters["cuit"] = format_cuit
    app.jinja_env.globals["iva_label"] = iva_label
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["get_locale"] = get_locale
