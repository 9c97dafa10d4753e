"""Durable events: an outbox row written in the caller's transaction, and the relay that
publishes the rows to the hub.

    emit_event(user_id, "balance_updated", durable=True)   # or NUDGE_DURABLE = True

inserts one ``nudge_outbox`` row in the current transaction of the database. The event exists
exactly when the change it announces does: a rollback removes both, a commit keeps both, and a
process killed right after the commit leaves the row for the relay to publish later.

The relay (``manage.py nudge_relay``, or ``start_relay_thread()`` inside the app) reads the rows
oldest first, publishes them in batches (``POST /api/v1/emit``) with the id
``<prefix><row id>`` and deletes a batch only after the hub answered 202. A relay that dies
between the 202 and the delete publishes those rows again on restart; the hub drops them by
id (within its ``--idempotency-window``, 5 minutes by default). While the hub is unreachable
the rows stay in the table and the relay retries with backoff, forever.

Versions: a row keeps the version it was written with (given by the caller, or the counter of
``nudge.django.versions`` on databases other than PostgreSQL) and the relay sends that one, on
every attempt. On PostgreSQL the commit's WAL position is not known inside the transaction, so
a row is written without one and the relay gives it ``pg_current_wal_lsn()`` read after it read
the row: the row is visible, so its transaction committed before, and the position is at or past
that commit (a later one only makes a reader wait for a little more WAL).

Order: rows go out in primary-key order. Within one transaction that is the order of the
calls; across transactions committed at the same moment by different connections, a row with
a smaller id may commit after the relay published a larger one: it is then published next,
never lost, but out of order.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction

from ..client import Nudge
from ..errors import NudgeError, NudgeRequestError, NudgeValidationError
from .versions import is_postgres, wal_position

__all__ = ["Relay", "start_relay_thread", "write"]

logger = logging.getLogger("nudge")

DEFAULT_BATCH = 100
DEFAULT_POLL = 1.0
DEFAULT_BACKOFF = 0.5
DEFAULT_MAX_BACKOFF = 30.0
# Statuses meaning "this request can never be accepted": the batch is split to find the event
# at fault, which is logged and dropped so that it cannot block the rows behind it forever.
_REJECTED = (400, 413, 422)

# The wake-up events of the relays running in this process: a durable write's commit sets them,
# so an event does not wait for the next poll.
_relays: set[threading.Event] = set()
_relays_lock = threading.Lock()


def _setting(name: str, default: Any) -> Any:
    value = getattr(settings, name, None)
    return default if value is None else value


def write(client: Nudge, body: dict[str, Any], using: str | None = None) -> None:
    """Inserts ``body`` (the hub's JSON for one event, validated) into the outbox in the
    current transaction of ``using``, and wakes this process's relays once it commits."""
    if not apps.is_installed("nudge.django"):
        raise NudgeValidationError(
            "nudge: durable events are written to the outbox table, which needs the app: "
            "add 'nudge.django' to INSTALLED_APPS and run `manage.py migrate`")
    from .models import OutboxEvent

    text = client._dumps(body).decode("utf-8")  # raises NudgeValidationError in the caller
    OutboxEvent.objects.using(using or DEFAULT_DB_ALIAS).create(body=text)
    transaction.on_commit(_wake_relays, using=using)


def _wake_relays() -> None:
    with _relays_lock:
        for wake in _relays:
            wake.set()


def id_prefix(using: str) -> str:
    """What the relay puts before a row id to make the event's idempotency id: the setting
    ``NUDGE_OUTBOX_ID_PREFIX``, else one derived from the database's identity, so that two
    databases (two apps, or a test database) publishing to one hub never share ids."""
    configured = getattr(settings, "NUDGE_OUTBOX_ID_PREFIX", None)
    if configured is not None:
        return str(configured)
    db = connections[using].settings_dict
    identity = f"{db['ENGINE']}|{db.get('HOST')}|{db.get('PORT')}|{db['NAME']}"
    return f"outbox-{hashlib.sha256(identity.encode()).hexdigest()[:12]}-"


class Relay:
    """Publishes the outbox rows of database ``using`` to the hub of ``nudge.django``'s
    settings (``get_client()``: ``NUDGE_URL``, ``NUDGE_API_KEY``, the retry budget...).

    ``publish_pending()`` does one pass; ``run()`` loops until ``stop()``. Settings:
    ``NUDGE_RELAY_BATCH`` rows read and published per request (100), ``NUDGE_RELAY_POLL``
    seconds between looks at the table (1; a commit in this process wakes the relay at once),
    ``NUDGE_RELAY_BACKOFF`` / ``NUDGE_RELAY_MAX_BACKOFF`` the wait after a failed pass,
    doubling (0.5 s to 30 s). Counters: ``published``, ``dropped`` (events the hub can never
    accept, logged at ERROR with their row), ``failures`` (failed passes).
    """

    def __init__(self, using: str | None = None, *, batch_size: int | None = None,
                 poll_interval: float | None = None, backoff: float | None = None,
                 max_backoff: float | None = None) -> None:
        self.using = using or DEFAULT_DB_ALIAS
        self.batch_size = int(batch_size or _setting("NUDGE_RELAY_BATCH", DEFAULT_BATCH))
        self.poll_interval = float(poll_interval or _setting("NUDGE_RELAY_POLL", DEFAULT_POLL))
        self.backoff = float(backoff or _setting("NUDGE_RELAY_BACKOFF", DEFAULT_BACKOFF))
        self.max_backoff = float(max_backoff or _setting("NUDGE_RELAY_MAX_BACKOFF",
                                                         DEFAULT_MAX_BACKOFF))
        if self.batch_size < 1 or self.poll_interval <= 0 or self.backoff <= 0:
            raise NudgeValidationError(
                "nudge relay: batch size must be >= 1, poll interval and backoff > 0")
        self.published = 0
        self.dropped = 0
        self.failures = 0
        self._wake = threading.Event()
        self._stop = threading.Event()

    def pending(self) -> int:
        """Rows waiting in the outbox."""
        from .models import OutboxEvent

        return OutboxEvent.objects.using(self.using).count()

    def publish_pending(self) -> int:
        """Publishes every row in the table, oldest first; returns how many. Raises the
        ``NudgeError`` (or ``DatabaseError``) that stopped it: the rows not yet published stay
        for the next pass."""
        from .models import OutboxEvent

        # Imported here: nudge.django imports this module.
        from . import get_client

        before = self.published
        while True:
            rows = list(OutboxEvent.objects.using(self.using).order_by("id")
                        .values_list("id", "body")[:self.batch_size])
            if not rows:
                return self.published - before
            client = get_client()
            prefix = id_prefix(self.using)
            # Read after the rows: at or past the commit of every row read (module docstring).
            position = wal_position(self.using) if is_postgres(self.using) else None
            ids: list[int] = []
            items: list[bytes] = []
            for row_id, body in rows:
                try:
                    items.append(_with_id(body, f"{prefix}{row_id}", position))
                    ids.append(row_id)
                except (ValueError, TypeError) as error:  # written by hand, never by write()
                    logger.error("nudge relay: outbox row %s is not an event (%s), dropped: %r",
                                 row_id, error, body[:200])
                    self._delete([row_id])
                    self.dropped += 1
            start = 0
            for chunk in client._chunks(items):
                self._publish(client, ids[start:start + len(chunk)], chunk)
                start += len(chunk)

    def _publish(self, client: Nudge, ids: list[int], chunk: list[bytes]) -> None:
        try:
            client._post(b'{"events":[' + b",".join(chunk) + b"]}")
        except NudgeRequestError as error:
            if error.status not in _REJECTED:
                raise  # 401, 404...: the settings are wrong; the rows wait for them to be fixed
            if len(chunk) > 1:  # find the event at fault; the others go out, in order
                for row_id, item in zip(ids, chunk):
                    self._publish(client, [row_id], [item])
                return
            logger.error("nudge relay: the hub can never accept outbox row %s, dropped: %s "
                         "(the row was %s)", ids[0], error, chunk[0].decode("utf-8", "replace"))
            self._delete(ids)
            self.dropped += 1
            return
        self._delete(ids)
        self.published += len(ids)

    def _delete(self, ids: list[int]) -> None:
        from .models import OutboxEvent

        OutboxEvent.objects.using(self.using).filter(id__in=ids).delete()

    def run(self) -> None:
        """Publishes until ``stop()``: at once when this process commits a durable event, else
        every ``poll_interval``; after a failure, again after a backoff that doubles up to
        ``max_backoff`` (commits do not shorten it: a down hub is not hammered)."""
        with _relays_lock:
            _relays.add(self._wake)
        delay = 0.0
        try:
            while not self._stop.is_set():
                try:
                    self.publish_pending()
                    delay = 0.0
                except (NudgeError, DatabaseError) as error:
                    self.failures += 1
                    delay = min(self.max_backoff, delay * 2 or self.backoff)
                    if isinstance(error, DatabaseError):
                        connections[self.using].close()  # reconnect on the next pass
                    logger.warning("nudge relay: %s; the outbox rows stay and are published on "
                                   "the next try, in %.1f s", error, delay)
                    self._stop.wait(delay)
                    continue
                except Exception:  # noqa: BLE001 - a dead relay thread would publish nothing
                    self.failures += 1
                    delay = min(self.max_backoff, delay * 2 or self.backoff)
                    logger.exception("nudge relay: unexpected failure; retrying in %.1f s", delay)
                    self._stop.wait(delay)
                    continue
                self._wake.wait(self.poll_interval)
                self._wake.clear()
        finally:
            with _relays_lock:
                _relays.discard(self._wake)
            connections[self.using].close()

    def stop(self) -> None:
        """Makes ``run()`` return after the request in flight (at most the retry budget)."""
        self._stop.set()
        self._wake.set()


class RelayThread(threading.Thread):
    """``Relay.run`` in a daemon thread; ``stop()`` ends it."""

    def __init__(self, relay: Relay) -> None:
        super().__init__(name=f"nudge-relay-{relay.using}", daemon=True)
        self.relay = relay

    def run(self) -> None:
        self.relay.run()

    def stop(self, timeout: float | None = None) -> None:
        self.relay.stop()
        self.join(timeout)


def start_relay_thread(using: str | None = None, **options: Any) -> RelayThread:
    """Starts a relay for database ``using`` in a thread of this process (``Relay``'s
    options). Start it once per process that should publish, e.g. in ``wsgi.py``; a second
    relay on the same table is harmless (the hub drops the duplicates by id) but can reorder."""
    thread = RelayThread(Relay(using, **options))
    thread.start()
    return thread


def _with_id(body: str, event_id: str, version: str | None = None) -> bytes:
    """The row's event with its id, and ``version`` unless the row recorded one."""
    event = json.loads(body)
    if not isinstance(event, dict):
        raise TypeError(f"a JSON {type(event).__name__}, not an object")
    event["id"] = event_id
    if version is not None:
        event.setdefault("version", version)
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
