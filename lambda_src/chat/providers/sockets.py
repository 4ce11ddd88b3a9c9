"""The socket under a urllib3 response, to bound one read by the idle limit and to stop a stream from
another thread at once (a read blocked in one thread returns when the socket is shut down in another;
closing the response instead would wait for the reader's lock)."""

from __future__ import annotations

import contextlib
import socket
from typing import Any


def socket_of(response: Any) -> socket.socket | None:
    """While the connection is kept alive the socket is the connection's; a response that ends by
    closing (no Content-Length, as streams often are) has taken it over, and only http.client's
    buffered reader still holds it."""
    connection = getattr(response, "connection", None) or getattr(response, "_connection", None)
    sock = getattr(connection, "sock", None)
    if not isinstance(sock, socket.socket):
        reader = getattr(getattr(response, "_fp", None), "fp", None)
        sock = getattr(getattr(reader, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


def shut_down(response: Any) -> None:
    sock = socket_of(response)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
