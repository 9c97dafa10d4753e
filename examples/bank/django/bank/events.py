"""After-commit events through the seed's ``utils.realtime.emit_event`` (unchanged), which
``group_send``s on the channel layer, here ``nudge.channels.NudgeChannelLayer``.

``after_commit`` must be called inside the ``transaction.atomic()`` that makes the change: the
event leaves only once that transaction has committed (nothing on a rollback), so the browser's
refetch always reads the new rows.

The request does not wait for the hub, as in the Node backend: on commit the event is queued to
one sender thread, which sends in commit order. A failure (after the layer's retries) is logged
on the ``bank`` logger, never lost silently; the data is saved by then, and the browsers catch up
on their next refetch.

With ``BANK_EMITS`` off (``serve.py --no-emits``) nothing is sent from here: nudge-cdc reads the
committed changes from PostgreSQL and publishes the same events (examples/bank/cdc-rules.toml).

On PostgreSQL each event carries its version: the primary's ``pg_current_wal_lsn()`` read right
after the commit (at or past the commit record), so a browser's refetch can ask for data at
least that new (``Nudge-Min-Version``; nudge.django.fresh and docs/fresh-data.md). It is sent
with nudge's client directly: the seed's ``emit_event`` has no place for it.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import transaction

from nudge.django import get_client
from nudge.django.versions import is_postgres, wal_position

from utils.realtime import emit_event

log = logging.getLogger("bank")

# One thread: events reach the hub in the order their transactions committed.
_sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bank-events")


def _send(user_id: str, event_type: str, metadata: dict | None, version: str | None) -> None:
    try:
        if version is None:
            emit_event(user_id, event_type, metadata)
        else:
            get_client().emit(f"user_{user_id}", event_type, metadata or {}, version=version)
    except Exception as error:  # noqa: BLE001 - a thread pool would swallow it otherwise
        log.error("an event was not delivered: %s to user_%s: %s", event_type, user_id, error)


def after_commit(user_id: int, event_type: str, metadata: dict | None = None) -> None:
    """Sends ``event_type`` to every socket of ``user_id`` once the current transaction commits
    (unless ``BANK_EMITS`` is off)."""
    if not settings.BANK_EMITS:
        return
    # The position is read here, in the committing thread right after the COMMIT.
    transaction.on_commit(lambda: _sender.submit(
        _send, str(user_id), event_type, metadata, wal_position() if is_postgres() else None))


def drain(timeout: float = 5.0) -> None:
    """Waits until every event queued so far has been sent (or has failed)."""
    _sender.submit(lambda: None).result(timeout)
