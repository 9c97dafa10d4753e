"""Event versions from Django's database (issue 22): the position an event's change is at, so a
client's refetch can ask for data at least that new (``Nudge-Min-Version``) and a replica, an
HTTP cache or a fetch already in flight can no longer answer with data older than the event.

PostgreSQL: ``pg_current_wal_lsn()``, read on the connection that committed, *after* the COMMIT
returned. Why a position at or after the commit is the right one: a reader compares it with how
far its database has applied the WAL (a standby's ``pg_last_wal_replay_lsn()``, the primary's
own ``pg_current_wal_lsn()``) and reads once that is at least the version. The commit record of
our transaction ends at or before the position read after COMMIT returned (the WAL is written
up to and past our commit record by then), so a database that has applied up to the version has
applied our transaction: its reads see the change. A position read *before* the commit (or
inside the transaction) could be reached by a standby that has not replayed the commit yet, and
the refetch would get the old data this is all about. The position may also cover later
transactions of other sessions; that only makes a reader wait for a little more WAL, never
accept too little.

Other databases (SQLite, MySQL...): an integer from a counter row (table ``nudge_version``, one
row) that the emit bumps *in the caller's transaction*, so the new value commits exactly with
the change: a reader that sees the counter at >= the version sees the change, and a rollback
takes the bump back with the change. The row lock the bump takes orders the transactions that
emit (on SQLite writers are serialized anyway; on MySQL emitting transactions wait on that row
until the one before commits: the price of an order that needs no replication positions). Needs
``"nudge.django"`` in ``INSTALLED_APPS`` (its migration creates the table); without it events
carry no version. ``committed_version()`` reads the current position of either kind, for a
backend's answer (``Nudge-Version``).

A version the caller gives (``version=`` on emit) is always used as given.
"""

from __future__ import annotations

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import F

__all__ = ["bump_counter", "committed_version", "is_postgres", "wal_position"]

_COUNTER_ID = 1


def is_postgres(using: str | None = None) -> bool:
    return connections[using or DEFAULT_DB_ALIAS].vendor == "postgresql"


def wal_position(using: str | None = None) -> str:
    """The primary's current WAL position (``"0/16B3748"``); call it after the COMMIT."""
    with connections[using or DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return str(cursor.fetchone()[0])


def bump_counter(using: str | None = None) -> int | None:
    """Raises the version counter by one in the current transaction of ``using`` (its own
    transaction in autocommit) and returns the new value; None without the nudge app."""
    if not apps.is_installed("nudge.django"):
        return None
    from .models import VersionCounter

    alias = using or DEFAULT_DB_ALIAS
    rows = VersionCounter.objects.using(alias)
    with transaction.atomic(using=alias):
        if not rows.filter(pk=_COUNTER_ID).update(value=F("value") + 1):
            # The migration inserts the row; a table emptied by hand starts again above zero.
            rows.get_or_create(pk=_COUNTER_ID, defaults={"value": 0})
            rows.filter(pk=_COUNTER_ID).update(value=F("value") + 1)
        return int(rows.values_list("value", flat=True).get(pk=_COUNTER_ID))


def committed_version(using: str | None = None) -> str | int | None:
    """What a read on ``using`` sees now: the WAL position on PostgreSQL (a standby's replay
    position), else the counter's committed value; None when there is neither."""
    alias = using or DEFAULT_DB_ALIAS
    if is_postgres(alias):
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
                           "ELSE pg_current_wal_lsn() END::text")
            return str(cursor.fetchone()[0])
    if not apps.is_installed("nudge.django"):
        return None
    from .models import VersionCounter

    value = (VersionCounter.objects.using(alias).filter(pk=_COUNTER_ID)
             .values_list("value", flat=True).first())
    return None if value is None else int(value)
