"""HTTP transport for ARCA's SOAP services (timeouts, TLS, and the in-process sandbox)."""

from __future__ import annotations


class ConnectionDropped(Exception):  # noqa: N818 - it names the event, like ConnectionResetError
    """Raised by the sandbox's WSGI app to drop the connection without answering.

    `after_processing` says whether the sandbox had already acted on the request (e.g. granted a
    CAE) before dropping it: the client cannot tell the two apart, which is the point. The
    in-process transport turns it into a connection error raised after the request was sent;
    the standalone sandbox server closes the socket without writing a response.
    """

    def __init__(self, after_processing: bool) -> None:
        super().__init__("connection dropped by the ARCA sandbox")
        self.after_processing = after_processing
