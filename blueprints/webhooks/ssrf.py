"""The SSRF guard: a webhook may only reach the public Internet.

Checked twice: when the URL is saved (scheme, and every address its host resolves to), and
when the delivery connects (the address the socket actually reached: a name that resolved to
a public address at save time and to 127.0.0.1 now is refused; no re-resolution gap). Redirects
are never followed. `WEBHOOKS_ALLOW_PRIVATE` (tests, development) lifts the address checks;
https is required when ARCA_ENVIRONMENT is "produccion"."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import current_app
from flask_babel import gettext as _
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from core.errors import DomainError

METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class UnsafeUrl(DomainError):
    """A webhook URL we refuse to call."""


def forbidden(address: str) -> bool:
    """Loopback, private, link-local (cloud metadata), multicast, reserved, unspecified."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip in METADATA
        or ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def allow_private() -> bool:
    return bool(current_app.config.get("WEBHOOKS_ALLOW_PRIVATE", False))


def check_url(url: str) -> str:
    """The URL, stripped, if we may call it; raises UnsafeUrl otherwise (save time)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        explicit_port = parts.port  # raises on a port that is not 0-65535
    except ValueError as error:
        raise UnsafeUrl(_("No es una URL válida.")) from error
    production = current_app.config["ARCA_ENVIRONMENT"] == "produccion"
    schemes = ("https",) if production else ("https", "http")
    if parts.scheme not in schemes or not parts.hostname:
        if production:
            raise UnsafeUrl(_("La URL tiene que empezar con https://."))
        raise UnsafeUrl(_("La URL tiene que empezar con https:// o http://."))
    if parts.username or parts.password:
        raise UnsafeUrl(_("La URL no puede llevar usuario ni contraseña."))
    if allow_private():
        return url
    try:
        port = explicit_port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as error:
        message = _("No pudimos resolver el nombre %(host)s.", host=parts.hostname)
        raise UnsafeUrl(message) from error
    if any(forbidden(str(info[4][0])) for info in infos):
        raise UnsafeUrl(_("La URL apunta a una dirección privada o interna: no la llamamos."))
    return url


class RefusedAddress(ConnectionError):
    """The socket reached an address the guard forbids (connect time)."""


def _checked(sock: socket.socket) -> socket.socket:
    address = str(sock.getpeername()[0])
    if not allow_private() and forbidden(address):
        sock.close()
        raise RefusedAddress(f"refused to call a private address ({address})")
    return sock


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _checked(super()._new_conn())


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _checked(super()._new_conn())


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }
        self.poolmanager.key_fn_by_scheme = dict(self.poolmanager.key_fn_by_scheme)


def guarded_session() -> requests.Session:
    """A requests session whose every connection passes the guard; ignores proxy settings."""
    session = requests.Session()
    session.trust_env = False
    adapter = _GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
