"""Fresh reads for Django: a refetch is never older than the event that asked for it.

A browser that got an event at version V (the Postgres LSN its transaction committed at, or an
integer sequence) refetches with ``Nudge-Min-Version: V`` (or ``?nudge_v=V`` in the
version-keyed URL mode, for shared caches); ``@nudge/query-core/fresh`` sends it. This module
makes the backend honour it (docs/fresh-data.md):

    DATABASES = {"default": {...primary...}, "replica": {...hot standby...}}
    DATABASE_ROUTERS = ["nudge.django.fresh.ReplicaRouter"]
    MIDDLEWARE = ["nudge.django.fresh.FreshDataMiddleware", ...]

``ReplicaRouter`` sends reads to the replica and writes (and every read inside a write
transaction) to the primary. ``FreshDataMiddleware``, given a minimum version, asks the replica
how far it has replayed (``pg_last_wal_replay_lsn()``) and waits until it has reached the
version, up to ``NUDGE_FRESH_TIMEOUT`` seconds; past that, the request's reads go to the primary.
Requests that change data (not GET/HEAD/OPTIONS) read from the primary. Every answer says the
position it read at (``Nudge-Version``: the replica's replay position, or the primary's
``pg_current_wal_lsn()``, taken before the view runs, so the data is at least that new) and
``Vary: Nudge-Min-Version``, so a shared cache never gives an answer meant for one minimum to a
request with another; ``Server-Timing: nudge;dur=<ms>;desc="<alias>[, waited]"`` says what
choosing the database cost (reading the positions, and waiting for the replica if it did; not
opening the replica's connection, which the view's reads would open anyway). An answer to a version-keyed URL may be cached (the URL names a state at
least that new): one without a ``Cache-Control`` of its own gets ``max-age``
``NUDGE_FRESH_CACHE_SECONDS``.

Settings: ``NUDGE_FRESH_REPLICA`` (the replica's alias, default ``"replica"``; without such a
database every read goes to the primary), ``NUDGE_FRESH_PRIMARY`` (default ``"default"``),
``NUDGE_FRESH_TIMEOUT`` (seconds, default 1.0), ``NUDGE_FRESH_POLL`` (seconds between two looks
at the replica, default 0.005), ``NUDGE_FRESH_MAX_WAITING`` (requests of this process that may
wait for the replica at once, default 4; a wait holds a server thread, so past it a request
reads from the primary without waiting), ``NUDGE_FRESH_CACHE_SECONDS`` (default 60). On a database that is
not PostgreSQL there is no replica to wait for; ``Nudge-Version`` is then nudge's version counter
(``nudge.django.versions``) when ``"nudge.django"`` is installed, else absent.
"""

from __future__ import annotations

import contextvars
import re
import threading
import time
from typing import Any, Callable

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers

from .versions import committed_version

__all__ = ["FreshDataMiddleware", "ReplicaRouter", "current_alias", "version_value"]

HEADER = "Nudge-Min-Version"
PARAM = "nudge_v"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

# The alias this request's reads go to (None: the router's default, the replica).
_route: contextvars.ContextVar[str | None] = contextvars.ContextVar("nudge_fresh_route",
                                                                   default=None)

_LSN = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")
_DECIMAL = re.compile(r"^[0-9]{1,20}$")

def version_value(version: str) -> int:
    """A version (LSN ``H/L`` or decimal digits) as one unsigned 64-bit number (H * 2^32 + L);
    ValueError on anything else."""
    lsn = _LSN.match(version)
    if lsn:
        return (int(lsn.group(1), 16) << 32) + int(lsn.group(2), 16)
    if _DECIMAL.match(version) and int(version) < 2 ** 64:
        return int(version)
    raise ValueError(f"{version!r} is not a version (a Postgres LSN like 0/16B3748, or decimal "
                     "digits below 2^64)")


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def _primary() -> str:
    return _setting("NUDGE_FRESH_PRIMARY", "default")


def _replica() -> str | None:
    alias = _setting("NUDGE_FRESH_REPLICA", "replica")
    return alias if alias in settings.DATABASES else None


def current_alias() -> str:
    """The database this request reads from (for raw SQL: ``connections[current_alias()]``)."""
    chosen = _route.get()
    if chosen is not None:
        return chosen
    primary = _primary()
    # Inside a write transaction every read sees that transaction's own writes: the primary.
    if connections[primary].in_atomic_block:
        return primary
    return _replica() or primary


class ReplicaRouter:
    """Reads from the replica (unless the middleware chose the primary for this request),
    writes and migrations on the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return current_alias()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return _primary()

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database, two copies of it

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == _primary()


def _position(alias: str) -> str | None:
    """What a read on ``alias`` sees now: a standby's replay position, a primary's WAL
    position, or on other databases nudge's version counter (None without it)."""
    position = committed_version(alias)
    return None if position is None else str(position)


def _reached(position: str | None, wanted: int) -> bool:
    return position is not None and version_value(position) >= wanted


def _bad_version(source: str, error: ValueError) -> JsonResponse:
    return JsonResponse({"error": {"code": "invalid_field", "message":
                                   f"nudge: {source}: {error}; send the version of the event "
                                   "as nudge delivered it, or nothing"}}, status=400)


class FreshDataMiddleware:
    """Reads at least as new as ``Nudge-Min-Version`` / ``?nudge_v=``; see the module's note."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # Requests waiting for the replica now. A wait holds a server thread: past
        # NUDGE_FRESH_MAX_WAITING of them the next one reads from the primary at once, so a
        # lagging replica cannot take every thread of the process.
        self._waiting = 0
        self._lock = threading.Lock()

    def _enter_wait(self) -> bool:
        with self._lock:
            if self._waiting >= int(_setting("NUDGE_FRESH_MAX_WAITING", 4)):
                return False
            self._waiting += 1
            return True

    def _leave_wait(self) -> None:
        with self._lock:
            self._waiting -= 1

    def _choose(self, wanted: int | None, safe: bool) -> tuple[str, str | None, bool]:
        """The alias to read from, its position, and whether the replica was waited for."""
        primary = _primary()
        replica = _replica()
        if replica is None or not safe:
            return primary, _position(primary), False
        position = _position(replica)
        if wanted is None or _reached(position, wanted):
            return replica, position, False
        if not self._enter_wait():
            return primary, _position(primary), False
        try:
            deadline = time.monotonic() + float(_setting("NUDGE_FRESH_TIMEOUT", 1.0))
            poll = float(_setting("NUDGE_FRESH_POLL", 0.005))
            while time.monotonic() + poll < deadline:
                time.sleep(poll)
                position = _position(replica)
                if _reached(position, wanted):
                    return replica, position, True
        finally:
            self._leave_wait()
        return primary, _position(primary), True

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = request.headers.get(HEADER)
        keyed = request.GET.get(PARAM)
        wanted = None
        for source, raw in ((HEADER, header), (f"?{PARAM}=", keyed)):
            if raw is None:
                continue
            try:
                value = version_value(raw.strip())
            except ValueError as error:
                return _bad_version(source, error)
            wanted = value if wanted is None else max(wanted, value)
        safe = request.method in SAFE_METHODS
        replica = _replica()
        if replica is not None and safe:
            # The view reads from the replica whether or not this middleware is there: opening
            # that connection (a new server thread's first request) is not what choosing costs.
            connections[replica].ensure_connection()
        started = time.perf_counter()
        alias, position, waited = self._choose(wanted, safe)
        spent_ms = (time.perf_counter() - started) * 1000
        token = _route.set(alias)
        try:
            response = self.get_response(request)
        finally:
            _route.reset(token)
        if position is not None:
            response["Nudge-Version"] = position
        patch_vary_headers(response, (HEADER,))
        # What choosing the database cost this request (reading the positions, waiting).
        timing = f'nudge;dur={spent_ms:.2f};desc="{alias}{", waited" if waited else ""}"'
        previous = response.get("Server-Timing")
        response["Server-Timing"] = f"{previous}, {timing}" if previous else timing
        if keyed is not None and 200 <= response.status_code < 300 \
                and not response.has_header("Cache-Control"):
            response["Cache-Control"] = f"max-age={int(_setting('NUDGE_FRESH_CACHE_SECONDS', 60))}"
        return response
