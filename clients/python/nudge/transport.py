"""Keep-alive HTTP/1.1 connections to one hub, shared safely between threads.

A request takes an idle connection from a small pool (or opens one) and puts it
back once the whole answer has been read, so a process emitting many events
pays for one TCP handshake, not one per event. The hub closes connections that
stay idle longer than its ``--http-idle-timeout``; when a reused connection
turns out to be closed that way, the request goes out once more on a fresh
connection (this is not counted as a retry: the hub never read the request).
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urlsplit

from .errors import NudgeValidationError

# Errors meaning the peer had closed a kept-alive connection before reading our request.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
          ConnectionAbortedError)


@dataclass(frozen=True)
class Response:
    status: int
    headers: Message
    body: bytes


class Transport:
    """POSTs to one base URL over pooled keep-alive connections.

    Network failures propagate as ``OSError`` / ``http.client.HTTPException``;
    the caller decides whether to retry.
    """

    def __init__(self, url: str, timeout: float, max_idle: int = 4) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise NudgeValidationError(
                f"hub URL must look like http://host:port, got {url!r}")
        if parts.query or parts.fragment:
            raise NudgeValidationError(f"hub URL must not have a query or fragment: {url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        try:
            self._port = parts.port
        except ValueError as error:
            raise NudgeValidationError(f"hub URL has a bad port: {url!r}") from error
        # A path prefix lets the hub sit behind a reverse proxy (http://proxy/nudge).
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._max_idle = max_idle
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> Response:
        conn, reused = self._checkout()
        try:
            return self._round_trip(conn, path, body, headers)
        except _STALE:
            if not reused:
                raise
        # The kept-alive connection had been closed by the hub: once more, fresh.
        return self._round_trip(self._connect(), path, body, headers)

    def close(self) -> None:
        """Closes the idle connections; requests in flight finish normally."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _round_trip(self, conn: http.client.HTTPConnection, path: str, body: bytes,
                    headers: dict[str, str]) -> Response:
        try:
            conn.request("POST", self._prefix + path, body=body, headers=headers)
            answer = conn.getresponse()
            response = Response(answer.status, answer.headers, answer.read())
        except BaseException:
            conn.close()
            raise
        if answer.will_close:
            conn.close()
        else:
            self._checkin(conn)
        return response

    def _checkout(self) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._connect(), False

    def _checkin(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        conn.close()

    def _connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return cls(self._host, self._port, timeout=self._timeout)
