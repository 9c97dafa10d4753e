"""Emit from Django once the database transaction commits.

    from nudge.django import emit_event

    with transaction.atomic():
        account.save()
        emit_event(account.user_id, "balance_updated")   # sent after COMMIT

The event goes out through ``transaction.on_commit``: a rolled-back transaction
sends nothing, and browsers never refetch before the new rows are visible.
Outside an atomic block (autocommit) it is sent at once. Arguments are checked
and the data encoded at the call, so mistakes raise in the code that made them.

Durable events (``durable=True``, or ``NUDGE_DURABLE = True`` for every call) are
written to an outbox table in the same transaction instead, and a relay publishes them
(``manage.py nudge_relay`` or ``start_relay_thread()``): no event is lost when the process
dies after the commit or the hub is down for longer than the retry budget. They need
``"nudge.django"`` in ``INSTALLED_APPS``; see ``nudge.django.outbox``.

Each event carries a ``version`` (its position in the database, issue 22) unless the caller
gives one: on PostgreSQL ``pg_current_wal_lsn()`` read after the COMMIT, elsewhere a counter
bumped in the transaction (the latter needs ``"nudge.django"`` installed and migrated); see
``nudge.django.versions`` for why. ``spread`` (ms) is passed through.

Settings (each falls back to the environment variable of the same name):
``NUDGE_URL``, ``NUDGE_API_KEY``, ``NUDGE_USER_ROOM``; and ``NUDGE_TIMEOUT``,
``NUDGE_RETRY_BUDGET``, ``NUDGE_RETRIES``, ``NUDGE_BACKOFF`` (settings only).
While the hub is unreachable a send blocks for up to the retry budget (30 s
by default) in the thread that commits; lower ``NUDGE_RETRY_BUDGET`` if a
request must not wait that long.

A send that still fails after the retries happens after the commit, when
the data is saved and raising can no longer undo anything. By default it is
logged on the ``nudge`` logger at ERROR with the cause, and the request goes on
(other on_commit callbacks still run). With ``NUDGE_RAISE_ERRORS = True`` the
``NudgeError`` propagates instead: out of the ``atomic`` block's exit, or out of
``emit_event`` itself in autocommit; Django then skips the on_commit
callbacks registered after it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, DatabaseError, transaction

from ..client import Nudge, _event_body
from ..errors import NudgeError
from ..fields import add_fields
from . import outbox
from .outbox import Relay, start_relay_thread
from .versions import bump_counter, is_postgres, wal_position

__all__ = ["Relay", "emit", "emit_event", "get_client", "is_durable", "start_relay_thread"]

logger = logging.getLogger("nudge")

_client: Nudge | None = None
_client_key: tuple[Any, ...] | None = None
_client_lock = threading.Lock()


def _setting(name: str, env: bool = True) -> Any:
    value = getattr(settings, name, None)
    if value is None and env:
        value = os.environ.get(name)
    return value


def get_client() -> Nudge:
    """The client for the current settings (rebuilt when they change, e.g. in tests)."""
    global _client, _client_key
    options = {
        "timeout": _setting("NUDGE_TIMEOUT", env=False),
        "retries": _setting("NUDGE_RETRIES", env=False),
        "backoff": _setting("NUDGE_BACKOFF", env=False),
        "retry_budget": _setting("NUDGE_RETRY_BUDGET", env=False),
    }
    options = {name: value for name, value in options.items() if value is not None}
    key = (_setting("NUDGE_URL"), _setting("NUDGE_API_KEY"), _setting("NUDGE_USER_ROOM"),
           tuple(sorted(options.items())))
    with _client_lock:
        if _client is None or key != _client_key:
            previous = _client
            _client = Nudge(key[0], key[1], user_room=key[2], json_encoder=DjangoJSONEncoder,
                            **options)
            _client_key = key
            if previous is not None:
                previous.close()
        return _client


def emit_event(user_id: object, event: str, metadata: Any = None,
               using: str | None = None, durable: bool | None = None, *,
               version: str | int | None = None, spread: int | None = None) -> None:
    """The seed's ``emit_event`` (``event`` to the room of ``user_id``, with
    ``metadata or {}``), sent when the transaction on database ``using`` commits, or
    written to the outbox in that transaction if ``durable`` (default ``NUDGE_DURABLE``)."""
    client = get_client()
    emit(client.room_for(user_id), event, metadata or {}, using=using, durable=durable,
         version=version, spread=spread)


def emit(rooms: str | Iterable[str], event: str, data: Any = None,
         except_: str | Iterable[str] | None = None, using: str | None = None,
         durable: bool | None = None, *, version: str | int | None = None,
         spread: int | None = None) -> None:
    """``Nudge.emit``, sent when the transaction on database ``using`` commits; with
    ``durable`` (default ``NUDGE_DURABLE``), an outbox row in that transaction. The event's
    ``version`` is filled from the database unless given (see the module's docstring)."""
    client = get_client()
    alias = using or DEFAULT_DB_ALIAS
    fields = add_fields(_event_body(rooms, event, data, except_), version, spread)
    # PostgreSQL's position is only known after the COMMIT (read then, or by the relay for a
    # durable event); the counter is bumped now, in the transaction, to commit with the change.
    after_commit = "version" not in fields and is_postgres(alias)
    if "version" not in fields and not after_commit:
        counted = bump_counter(alias)
        if counted is not None:
            fields["version"] = counted
    if is_durable(durable):
        outbox.write(client, fields, using)
        return
    body = client._encode(fields)  # checked and encoded at the call; the id is fixed here

    def send() -> None:
        nonlocal body
        try:
            if after_commit:
                try:
                    body = client._dumps({**fields, "version": wal_position(alias)})
                except DatabaseError as error:
                    # Sent without a version: clients then refetch as before, unchecked.
                    logger.warning("nudge: event %r to %s goes without a version: the WAL "
                                   "position could not be read after commit: %s",
                                   event, rooms, error)
            client._post(body)
        except NudgeError as error:
            if _setting("NUDGE_RAISE_ERRORS", env=False):
                raise
            logger.error("nudge: event %r to %s was not delivered after commit: %s",
                         event, rooms, error)

    transaction.on_commit(send, using=using)


def is_durable(durable: bool | None = None) -> bool:
    """``durable`` if given, else the ``NUDGE_DURABLE`` setting (off by default)."""
    return bool(_setting("NUDGE_DURABLE", env=False)) if durable is None else durable
